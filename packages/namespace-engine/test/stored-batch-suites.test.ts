/**
 * The crash, mutation, compaction, sharing and query suites again, with
 * carried batches off (every write batch stored as its own object before its
 * manifest, the path a batch over `carriedBatches.maxBatchBytes` takes):
 * every guarantee they check must hold for stored batches too.
 */
import { harnessDefaults } from "./support/harness.ts";

(harnessDefaults as { carriedBatches?: boolean }).carriedBatches = false;

await import("./crash-points.test.ts");
await import("./mutation-crash-points.test.ts");
await import("./sharing-crash-points.test.ts");
await import("./compaction.test.ts");
await import("./predicate-mutations.test.ts");
await import("./tombstones.test.ts");
await import("./lifecycle.test.ts");
await import("./namespace-query.test.ts");
await import("./sim-regressions.test.ts");
