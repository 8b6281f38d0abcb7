/**
 * What the turbopuffer-compatible layer costs: the same queries and writes
 * through the official turbopuffer client (`/v2/...`) and through Skerry's
 * own API (`/v1/orgs/...`, plain fetch), against one server on local-fs,
 * printed as p50 beside p50 with their ratio.
 *
 *   node --conditions=@skerry/source --import tsx scripts/bench-turbopuffer.ts
 *   (BENCH_DOCS, default 5000; BENCH_ROUNDS, default 300)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFsStorage } from "@skerry/storage-providers";
import { Turbopuffer } from "@turbopuffer/turbopuffer";
import { pino } from "pino";
import { startServer } from "../src/server/server.ts";

const DOCS = Number(process.env["BENCH_DOCS"] ?? 5000);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 300);
const DIM = 64;
const ADMIN = "sk_bench_admin_key_0123456789abcdef";

let seed = 7;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const vector = () => Array.from({ length: DIM }, () => random() - 0.5);

function p50(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** p50 of `a` and of `b`, measured alternately (so background work, e.g. compaction, weighs on both alike). */
async function timePair(rounds: number, a: (i: number) => Promise<unknown>, b: (i: number) => Promise<unknown>): Promise<[number, number]> {
  const sa: number[] = [];
  const sb: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    await a(i);
    sa.push(performance.now() - t);
    t = performance.now();
    await b(i);
    sb.push(performance.now() - t);
  }
  return [p50(sa), p50(sb)];
}

function line(label: string, mine: number, baseLabel: string, base: number): void {
  console.log(`${label.padEnd(44)} ${mine.toFixed(2).padStart(8)} ms | ${baseLabel.padEnd(40)} ${base.toFixed(2).padStart(8)} ms | x${(mine / base).toFixed(2)}`);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "skerry-bench-tpuf-"));
  const server = await startServer({ storage: new LocalFsStorage({ root: dir }), port: 0, adminKey: ADMIN, logger: pino({ level: "silent" }), turbopufferProject: { org: "bench", project: "tpuf" } });
  try {
    const headers = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };
    const native = async (path: string, body: unknown) => {
      const res = await fetch(`${server.url}/v1/orgs/bench/projects/tpuf/namespaces${path}`, { method: "POST", headers, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
      return res.json();
    };
    const tpuf = new Turbopuffer({ apiKey: ADMIN, baseURL: server.url, logLevel: "off" });
    const tns = tpuf.namespace("t");
    const categories = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
    const rows = Array.from({ length: DOCS }, (_, i) => ({ id: i, vector: vector(), category: categories[i % 10] as string, price: i % 100 }));
    await native("", { name: "n" });
    for (let i = 0; i < rows.length; i += 1000) {
      const batch = rows.slice(i, i + 1000);
      await native("/n/upsert", { documents: batch.map((r) => ({ id: String(r.id).padStart(20, "0"), vector: r.vector, attributes: { category: r.category, price: r.price } })) });
      await tns.write({ upsert_rows: batch, distance_metric: "cosine_distance" });
    }
    const queries = Array.from({ length: ROUNDS }, () => vector());
    console.log(`# ${DOCS} docs x ${DIM} dims, local-fs, p50 of ${ROUNDS} (tail not compacted: exact scans)`);
    // Warm both paths once.
    await native("/n/query", { rankBy: ["vector", "ANN", queries[0]], topK: 10 });
    await tns.query({ rank_by: ["vector", "ANN", queries[0] as number[]], top_k: 10 });
    const [tq, nq] = await timePair(
      ROUNDS,
      (i) => tns.query({ rank_by: ["vector", "ANN", queries[i] as number[]], top_k: 10, filters: ["category", "Eq", "c"], include_attributes: ["price"] }),
      (i) => native("/n/query", { rankBy: ["vector", "ANN", queries[i]], topK: 10, filters: ["category", "Eq", "c"], includeAttributes: ["price"] }),
    );
    line("tpuf client: ANN top-10 + filter + attribute", tq, "Skerry /v1 query, fetch", nq);
    const [tw, nw] = await timePair(
      50,
      (i) => tns.write({ upsert_rows: rows.slice(i * 10, i * 10 + 10).map((r) => ({ ...r, price: r.price + 1 })) }),
      (i) => native("/n/upsert", { documents: rows.slice(i * 10, i * 10 + 10).map((r) => ({ id: String(r.id).padStart(20, "0"), vector: r.vector, attributes: { category: r.category, price: r.price + 1 } })) }),
    );
    line("tpuf client: write 10 rows", tw, "Skerry /v1 upsert 10 docs, fetch", nw);
    const [tp, np] = await timePair(
      50,
      (i) => tns.write({ patch_rows: [{ id: i, price: i }] }),
      (i) => native("/n/patch", { patches: [{ id: String(i).padStart(20, "0"), attributes: { price: i } }] }),
    );
    line("tpuf client: patch 1 row (existence lookup)", tp, "Skerry /v1 patch 1 doc, fetch", np);
  } finally {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
