/**
 * Write amplification of compaction (issue 13, item 4): total bytes written
 * by compaction (segments, and segments plus their query indexes) over the
 * bytes ingested (the log batches' framed bytes), for N single-batch
 * ingests compacted as the background trigger does (after every write,
 * `compact` without `force` until the policy has nothing due), full-fold
 * policy beside tiered, with the ratio. Goal: tiered <= 4. Also printed:
 * compactions run, segments left, and the largest number of containers a
 * manifest held.
 *
 * In-memory storage (bytes are counted from the compaction reports, so the
 * provider does not matter). The default compaction thresholds apply
 * (32 log batches per tail; tiered: merge factor 4, 1 MiB base tier).
 *
 *     pnpm --filter @skerry/namespace-engine bench:write-amp
 *     SKERRY_BENCH_WA_BATCHES=2000 SKERRY_BENCH_WA_DOCS=100 ... (defaults 1024 x 100, 32-dim vectors)
 */
import { MemoryStorage } from "@skerry/storage-providers";
import { type CompactionSettings, type DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";

const BATCHES = Number(process.env["SKERRY_BENCH_WA_BATCHES"] ?? 1024);
const DOCS = Number(process.env["SKERRY_BENCH_WA_DOCS"] ?? 100);
const DIM = 32;
const NS = "bench/wa/docs";

function batch(b: number): DocumentInput[] {
  return Array.from({ length: DOCS }, (_, i) => {
    const n = b * DOCS + i;
    const vector = new Float32Array(DIM);
    for (let d = 0; d < DIM; d++) vector[d] = Math.sin(n + d);
    return { id: `doc-${String(n).padStart(9, "0")}`, vector, attributes: { n, tag: "bench" } };
  });
}

interface Outcome {
  readonly ingested: number;
  readonly segmentBytes: number;
  readonly indexBytes: number;
  readonly compactions: number;
  readonly segments: number;
  readonly maxContainers: number;
  readonly seconds: number;
}

async function measure(compaction: Partial<CompactionSettings>): Promise<Outcome> {
  const engine = new NamespaceEngine({ storage: new MemoryStorage(), compaction: { ...compaction, auto: false }, retention: { keepVersions: 1, keepForMs: 0 } });
  await engine.createNamespace(NS);
  let ingested = 0;
  let segmentBytes = 0;
  let indexBytes = 0;
  let compactions = 0;
  let maxContainers = 0;
  const started = performance.now();
  for (let b = 0; b < BATCHES; b++) {
    await engine.upsert(NS, batch(b));
    const containers = (await engine.manifest(NS)).containers;
    ingested += containers[containers.length - 1]?.byteSize ?? 0;
    maxContainers = Math.max(maxContainers, containers.length);
    for (;;) {
      const report = await engine.compact(NS);
      if (!report.performed) break;
      compactions++;
      segmentBytes += report.segmentBytes;
      indexBytes += report.indexBytes;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const segments = (await engine.manifest(NS)).containers.filter((c) => c.kind === "SEGMENT").length;
  await engine.close();
  return { ingested, segmentBytes, indexBytes, compactions, segments, maxContainers, seconds };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export async function writeAmplification(): Promise<void> {
  console.log(`[write amplification] ${BATCHES} single-batch ingests of ${DOCS} documents (${DIM}-dim), compacted as the background trigger does`);
  const full = await measure({ policy: "full" });
  const tiered = await measure({ policy: "tiered" });
  for (const [name, o] of [
    ["full-fold", full],
    ["tiered", tiered],
  ] as const) {
    console.log(
      `  ${name.padEnd(9)} ingested ${mb(o.ingested)}, compaction wrote ${mb(o.segmentBytes)} segments + ${mb(o.indexBytes)} indexes: ` +
        `WA ${(o.segmentBytes / o.ingested).toFixed(2)} (segments), ${((o.segmentBytes + o.indexBytes) / o.ingested).toFixed(2)} (with indexes); ` +
        `${o.compactions} compactions, ${o.segments} segments left, <= ${o.maxContainers} containers; ${o.seconds.toFixed(1)} s`,
    );
  }
  const data = (o: Outcome) => o.segmentBytes / o.ingested;
  const all = (o: Outcome) => (o.segmentBytes + o.indexBytes) / o.ingested;
  const verdict = (value: number) => `${value.toFixed(2)} ${value <= 4 ? "met" : "NOT met"}`;
  console.log(
    `  full-fold / tiered: ${(data(full) / data(tiered)).toFixed(1)}x (segments), ${(all(full) / all(tiered)).toFixed(1)}x (with indexes); ` +
      `goal tiered <= 4: segments ${verdict(data(tiered))}, with indexes ${verdict(all(tiered))}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await writeAmplification();
