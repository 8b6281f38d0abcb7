/**
 * Cold BM25 and filter queries from object storage (issue 13): a fresh
 * process answers BM25 top-10 queries, filter listings, filtered BM25,
 * aggregations (Count + Sum, filtered, per group), exact kNN (plain and
 * filtered), BM25 sums, token, phrase, Fuzzy and Glob filters, BM25 with limitPer,
 * ranking expressions (attribute operands, with and without BM25) and
 * computed attributes on a compacted namespace by ranged reads of the stored query index (the
 * eager region, the vocabulary, postings, lengths, the returned rows'
 * clusters and row store entries), without loading it; each figure beside
 * loading the index first (the engine with `coldReads: false`, the
 * behaviour before) measured in the same run:
 *
 * - p50 of the queries after the first (each query new text / values);
 * - bytes read per cold query as a share of the namespace's stored bytes.
 *
 * Providers: local-fs, and local-fs with 20 ms added to every storage call.
 *
 *   node --conditions=@skerry/source --import tsx bench/cold-text.ts
 *   BENCH_DOCS=200000 ... (default 100,000); BENCH_DIR=/path keeps the built namespace;
 *   BENCH_KINDS=count+sum,exact\ kNN ... runs only those kinds
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FaultInjectingStorage, LocalFsStorage, type StorageProvider } from "@skerry/storage-providers";
import { type DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { dataset, WORDS } from "../../query/bench/dataset.ts";
import { upsertDataset } from "./upsert-dataset.ts";

const NS = "bench/coldtext/docs";
const queries = dataset(10);
const self = fileURLToPath(import.meta.url);
const QUERIES = 10;
const LATENCY_MS = 20;

const KINDS = {
  bm25: (i: number) => ({ rankBy: ["title", "BM25", `${WORDS[40 + i]} ${WORDS[300 + 7 * i]}`], topK: 10, includeAttributes: true }),
  listing: (i: number) => ({ filters: ["bucket", "Eq", i], topK: 10, includeAttributes: true }),
  "bm25+filter": (i: number) => ({ rankBy: ["title", "BM25", `${WORDS[40 + i]} ${WORDS[300 + 7 * i]}`], filters: ["category", "Eq", `cat-${i}`], topK: 10 }),
  // A 1% filter's matches lie in every cluster: loaded, as before (the line says how many were cold).
  "ann+1% filter": (i: number) => ({ rankBy: ["vector", "ANN", queries.query(i)], filters: ["bucket", "Eq", i], topK: 10 }),
  "ann+id In 20": (i: number) => ({
    rankBy: ["vector", "ANN", queries.query(i)],
    filters: ["id", "In", Array.from({ length: 20 }, (_, j) => `doc-${String((i * 7919 + j * 104_729) % 100_000).padStart(7, "0")}`)],
    topK: 10,
  }),
  // Aggregations: the columns they name, read by range (cold-aggregate.ts).
  "count+sum": (_: number) => ({ aggregateBy: { count: ["Count"], sum: ["Sum", "price"] } }),
  "sum+1% filter": (i: number) => ({ aggregateBy: { count: ["Count"], sum: ["Sum", "price"] }, filters: ["bucket", "Eq", i] }),
  "sum by category": (i: number) => ({ aggregateBy: { sum: ["Sum", "price"] }, groupBy: ["category"], topK: 10 + i }),
  // Exact kNN: every vector read once, in bounded batches (cold-exact-vector.ts).
  "exact kNN": (i: number) => ({ rankBy: ["vector", "kNN", queries.query(i)], topK: 10 }),
  // A 1% filter: only the clusters holding a match are read.
  "kNN+1% filter": (i: number) => ({ rankBy: ["vector", "kNN", queries.query(i)], filters: ["bucket", "Eq", i], topK: 10 }),
  // Combinations of BM25 clauses (cold-text-combination.ts), token and phrase filters (cold-filter.ts), limitPer (cold-diversity.ts).
  "bm25 sum": (i: number) => ({ rankBy: ["Sum", [["title", "BM25", WORDS[40 + i]], ["Product", 2, ["title", "BM25", WORDS[300 + 7 * i]]]]], topK: 10 }),
  "all-tokens filter": (i: number) => ({ filters: ["title", "ContainsAllTokens", `${WORDS[40 + i]} ${WORDS[41 + i]}`], topK: 10 }),
  "phrase filter": (i: number) => ({ filters: ["title", "ContainsTokenSequence", `${WORDS[40 + i]} ${WORDS[41 + i]}`], topK: 10 }),
  "bm25 limitPer": (i: number) => ({ rankBy: ["title", "BM25", `${WORDS[40 + i]} ${WORDS[300 + 7 * i]}`], limitPer: { attributes: ["category"], limit: 1 }, topK: 10 }),
  // Ranking expressions (cold-text-combination.ts, cold-expression.ts): without BM25 every row is scored from the
  // columns it names (read whole: 9 bytes a row); with BM25 only the clauses' matches, from their columns' blocks.
  "attribute expr": (i: number) => ({ rankBy: ["Decay", ["Dist", ["Attribute", "price"], 100 * i], { midpoint: 5 }], topK: 10 }),
  "attribute expr+1% filter": (i: number) => ({ rankBy: ["Saturate", ["Attribute", "price"], { midpoint: 10 * i + 1 }], filters: ["bucket", "Eq", i], topK: 10 }),
  "bm25+attribute boost": (i: number) => ({
    rankBy: ["Sum", [["title", "BM25", `${WORDS[40 + i]} ${WORDS[300 + 7 * i]}`], ["Saturate", ["Attribute", "price"], { midpoint: 500 }], ["category", "Eq", `cat-${i}`]]],
    topK: 10,
  }),
  // computeAttributes on the returned rows only (cold-compute-attributes.ts).
  "bm25 computed": (i: number) => ({
    rankBy: ["title", "BM25", `${WORDS[40 + i]} ${WORDS[300 + 7 * i]}`],
    topK: 10,
    computeAttributes: { boost: ["Saturate", ["Attribute", "price"], { midpoint: 500 }], near: ["vector", "VectorDist", queries.query(i)] },
  }),
  // Fuzzy filters (cold-fuzzy.ts: the vocabulary in blocks, walked or, case-insensitive, scanned) and patterns (a Glob's prefix range).
  "fuzzy filter": (i: number) => ({ filters: ["title", "Fuzzy", typo(WORDS[40 + i] as string), { maxEditDistance: [{ distance: 1, minQueryChars: 6 }] }], topK: 10 }),
  "fuzzy ci+bm25": (i: number) => ({ rankBy: ["title", "BM25", WORDS[300 + 7 * i]], filters: ["title", "Fuzzy", typo(WORDS[40 + i] as string).toUpperCase(), { caseSensitive: false }], topK: 10 }),
  "glob filter": (i: number) => ({ filters: ["category", "Glob", `cat-${i + 1}*`], topK: 10 }),
} as const;

/** `word` with one letter changed (a Fuzzy operand one edit away), padded to 6 letters so it is allowed one edit. */
function typo(word: string): string {
  const w = word.padEnd(6, "x");
  const at = w.length >> 1;
  return `${w.slice(0, at)}${w[at] === "q" ? "z" : "q"}${w.slice(at + 1)}`;
}
type Kind = keyof typeof KINDS;

interface ChildResult {
  first: number;
  /** Bytes read by the first query (later ones may find blocks in the block cache). */
  firstBytes: number;
  p50: number;
  reads: number;
  bytes: number;
  stored: number;
  coldQueries: number;
}

async function storedBytes(storage: StorageProvider): Promise<number> {
  let total = 0;
  for await (const meta of storage.list("")) total += meta.size;
  return total;
}

/** One fresh process: `cold` (ranged reads, no background load) or `warm` (load first). */
async function child(mode: string, kind: Kind, latency: number, dir: string): Promise<void> {
  const inner = new LocalFsStorage({ root: dir });
  const storage = latency > 0 ? new FaultInjectingStorage(inner).addLatency(latency) : inner;
  const cold = mode === "cold";
  const engine = new NamespaceEngine({ storage, queryCache: { coldReads: cold, ...(cold ? { segmentIndexBytes: 0 } : {}) } });
  const t0 = performance.now();
  await engine.query(NS, KINDS[kind](0));
  const first = performance.now() - t0;
  const before = engine.queryStats();
  const times: number[] = [];
  for (let i = 1; i <= QUERIES; i++) {
    const s = performance.now();
    await engine.query(NS, KINDS[kind](i));
    times.push(performance.now() - s);
  }
  const after = engine.queryStats();
  times.sort((a, b) => a - b);
  const result: ChildResult = {
    first,
    firstBytes: before.coldBytes,
    p50: times[Math.floor(times.length / 2)] as number,
    reads: (after.coldReads - before.coldReads) / QUERIES,
    bytes: (after.coldBytes - before.coldBytes) / QUERIES,
    stored: await storedBytes(inner),
    coldQueries: after.coldQueries,
  };
  console.log(JSON.stringify(result));
  process.exit(0);
}

async function build(storage: StorageProvider, n: number): Promise<void> {
  const engine = new NamespaceEngine({ storage, stateCacheEntries: 1, stateCacheBytes: 1 });
  await engine.createNamespace(NS);
  await upsertDataset(engine, NS, n);
  const report = await engine.compact(NS, { force: true });
  console.log(`# compacted: segment ${(report.segmentBytes / 2 ** 20).toFixed(0)} MiB, query index ${(report.indexBytes / 2 ** 20).toFixed(0)} MiB`);
  // A small tail: 1,000 new documents and 100 rewrites of compacted ones.
  await engine.upsert(NS, [...dataset(1_000, 77).documents()].map((d, i) => ({ ...(d as DocumentInput), id: `tail-${i}` })));
  await engine.upsert(NS, [...dataset(100, 78).documents()].map((d, i) => ({ ...(d as DocumentInput), id: `doc-${String(i * 97).padStart(7, "0")}` })));
}

function run(args: string[]): ChildResult {
  const out = execFileSync(process.execPath, ["--conditions=@skerry/source", "--import", "tsx", self, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(out.trim().split("\n").at(-1) as string) as ChildResult;
}

/** Aggregations answer no rows: no "top-10" in their label. */
const label = (kind: Kind) => (/sum|count/.test(kind) ? kind : `${kind} top-10`);
const ms = (x: number) => `${x.toFixed(1).padStart(8)} ms`;

const [mode, kindArg, latencyArg, dirArg] = process.argv.slice(2);
if (mode === "cold" || mode === "warm") await child(mode, kindArg as Kind, Number(latencyArg), dirArg as string);
else {
  const n = Number(process.env["BENCH_DOCS"] ?? 100_000);
  const keep = process.env["BENCH_DIR"];
  const dir = keep ?? mkdtempSync(join(tmpdir(), "skerry-coldtext-bench-"));
  try {
    console.log(`# Cold BM25 / filter / aggregation / exact kNN queries through the engine: ${n.toLocaleString("en")} docs (128-dim vectors, a text title, attributes) compacted + a 1,100-doc tail`);
    if (keep === undefined || !existsSync(join(dir, ".built"))) {
      await build(new LocalFsStorage({ root: dir }), n);
      if (keep !== undefined) writeFileSync(join(dir, ".built"), "");
    }
    for (const latency of [0, LATENCY_MS]) {
      console.log(`## local-fs${latency > 0 ? `+${latency}ms` : ""}`);
      const only = process.env["BENCH_KINDS"]?.split(",");
      for (const kind of Object.keys(KINDS) as Kind[]) {
        if (only !== undefined && !only.includes(kind)) continue;
        const cold = run(["cold", kind, String(latency), dir]);
        const warm = run(["warm", kind, String(latency), dir]);
        const share = (cold.bytes / cold.stored) * 100;
        if (cold.coldQueries === 0) {
          console.log(`${label(kind).padEnd(26)} not served cold: loaded as before, first query ${ms(cold.first)} (load-first engine ${ms(warm.first)})`);
          continue;
        }
        console.log(
          `${`cold ${label(kind)} p50`.padEnd(26)} ${ms(cold.p50)} | load the index first (before), first query ${ms(warm.first)} | x${(warm.first / cold.p50).toFixed(1)}` +
            ` | read ${(cold.bytes / 2 ** 20).toFixed(2)} MiB in ${cold.reads.toFixed(0)} reads per query, ${share.toFixed(2)}% of ${(cold.stored / 2 ** 20).toFixed(0)} MiB stored` +
            ` | first cold query ${ms(cold.first)} reading ${(cold.firstBytes / 2 ** 20).toFixed(2)} MiB` +
            ` | warm p50 ${ms(warm.p50)}${cold.coldQueries === QUERIES + 1 ? "" : ` (only ${cold.coldQueries} cold)`}`,
        );
      }
    }
  } finally {
    if (keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}
