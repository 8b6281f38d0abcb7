/**
 * The crash, mutation, compaction, sharing and query suites again, with
 * inline write batches on (every small write batch rides in its manifest):
 * every guarantee they check must hold for inline containers too.
 */
import { harnessDefaults } from "./support/harness.ts";

(harnessDefaults as { inlineBatches?: boolean }).inlineBatches = true;

await import("./crash-points.test.ts");
await import("./mutation-crash-points.test.ts");
await import("./sharing-crash-points.test.ts");
await import("./compaction.test.ts");
await import("./predicate-mutations.test.ts");
await import("./tombstones.test.ts");
await import("./lifecycle.test.ts");
await import("./namespace-query.test.ts");
await import("./sim-regressions.test.ts");
