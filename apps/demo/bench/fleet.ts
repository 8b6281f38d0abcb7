/**
 * Fleet benchmark (docs/fleet.md): the same load through HAProxy on a fleet
 * of 1, 2 and 3 Skerry servers (scripts/fleet/start-fleet.sh, the
 * configured S3 bucket under a unique prefix removed afterwards), printed
 * side by side:
 * - writes/s: upserts of 10 documents (each with an Idempotency-Key) by
 *   WRITERS concurrent clients over 8 namespaces;
 * - queries/s: top-10 attribute-ordered queries by READERS concurrent
 *   clients, at the same time; their p50 and p99;
 * - wasted work: compaction intents in the bucket, committed beside
 *   abandoned (work a conditional write fenced off), and manifest commit
 *   races lost (all nodes).
 * Every node runs on this one machine: with fewer cores than servers the
 * fleet cannot scale here, the numbers show the overhead instead.
 *
 *     pnpm --filter @skerry/demo bench            (needs S3_ENDPOINT and haproxy)
 *     SKERRY_BENCH_SECONDS=10 SKERRY_BENCH_FLEETS=1,3 ...
 */
import { call, type Fleet, haproxyAvailable, percentile, startFleet } from "../test/support/fleet.ts";
import { nodeCounters, removePrefix, tallyCompactions } from "../test/support/fleet-work.ts";

const SECONDS = Number(process.env["SKERRY_BENCH_SECONDS"] ?? 5);
const FLEETS = (process.env["SKERRY_BENCH_FLEETS"] ?? "1,2,3").split(",").map(Number);
const NAMESPACES = Array.from({ length: 8 }, (_, i) => `bench-${i}`);
const BASE = "/v1/orgs/bench/projects/fleet/namespaces";
const WRITERS = 8;
const READERS = 8;

interface Result {
  nodes: number;
  writesPerSec: number;
  queriesPerSec: number;
  queryP50: number;
  queryP99: number;
  failed: Map<string, number>;
  committed: number;
  abandoned: number;
  racesLost: number;
}

async function measure(nodes: number): Promise<Result> {
  const fleet: Fleet = await startFleet(nodes);
  try {
    const key = fleet.adminKey;
    for (const ns of NAMESPACES) {
      const res = await call(fleet.url, key, "POST", BASE, { name: ns });
      if (res.status !== 201) throw new Error(`create ${ns}: ${res.status} ${JSON.stringify(res.body)}`);
      const docs = Array.from({ length: 200 }, (_, i) => ({ id: `seed-${i}`, attributes: { n: i } }));
      await call(fleet.url, key, "POST", `${BASE}/${ns}/upsert`, { documents: docs });
    }
    let stop = false;
    let writes = 0;
    const failed = new Map<string, number>();
    const fail = (res: { status: number; body: unknown }) => {
      const code = res.status === 0 ? "no answer" : `${res.status} ${(res.body as { error?: { code?: string } })?.error?.code ?? ""}`.trim();
      failed.set(code, (failed.get(code) ?? 0) + 1);
    };
    const latencies: number[] = [];
    const writer = async (w: number) => {
      for (let seq = 0; !stop; seq++) {
        const ns = NAMESPACES[(w + seq) % NAMESPACES.length] as string;
        const docs = Array.from({ length: 10 }, (_, i) => ({ id: `w${w}-${seq}-${i}`, attributes: { n: seq } }));
        const res = await call(fleet.url, key, "POST", `${BASE}/${ns}/upsert`, { documents: docs }, { "idempotency-key": `w${w}-${seq}` });
        if (res.status === 200) writes++;
        else fail(res);
      }
    };
    const reader = async (r: number) => {
      for (let i = 0; !stop; i++) {
        const ns = NAMESPACES[(r * 3 + i) % NAMESPACES.length] as string;
        const t = performance.now();
        const res = await call(fleet.url, key, "POST", `${BASE}/${ns}/query`, { rankBy: ["n", "desc"], topK: 10 });
        if (res.status === 200) latencies.push(performance.now() - t);
        else fail(res);
      }
    };
    // One pass of queries first: every node's caches warm for its namespaces.
    for (const ns of NAMESPACES) await call(fleet.url, key, "POST", `${BASE}/${ns}/query`, { rankBy: ["n", "desc"], topK: 10 });
    const started = performance.now();
    const load = [...Array.from({ length: WRITERS }, (_, w) => writer(w)), ...Array.from({ length: READERS }, (_, r) => reader(r))];
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    stop = true;
    await Promise.all(load);
    const elapsed = (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 1_000)); // background compactions settle
    const tally = await tallyCompactions(fleet.prefix);
    const counters = await nodeCounters(fleet.nodeUrls, key);
    return {
      nodes,
      writesPerSec: writes / elapsed,
      queriesPerSec: latencies.length / elapsed,
      queryP50: percentile(latencies, 50),
      queryP99: percentile(latencies, 99),
      failed,
      committed: tally.committed,
      abandoned: tally.abandoned,
      racesLost: counters.reduce((sum, c) => sum + c.racesLost, 0),
    };
  } finally {
    await fleet.stop();
    await removePrefix(fleet.prefix);
  }
}

if (!process.env["S3_ENDPOINT"]) {
  console.log("fleet bench: S3_ENDPOINT not set; skipped (run it with scripts/s3/with-s3.sh)");
} else if (!(await haproxyAvailable())) {
  console.log("fleet bench: haproxy is not installed (and this is not root, to install it); skipped");
} else {
  const results: Result[] = [];
  for (const nodes of FLEETS) {
    process.stderr.write(`fleet bench: ${nodes} server(s), ${SECONDS}s of load...\n`);
    results.push(await measure(nodes));
  }
  const rows: [string, (r: Result) => string][] = [
    ["writes/s (10 docs each)", (r) => r.writesPerSec.toFixed(1)],
    ["queries/s", (r) => r.queriesPerSec.toFixed(1)],
    ["query p50 ms", (r) => r.queryP50.toFixed(2)],
    ["query p99 ms", (r) => r.queryP99.toFixed(2)],
    ["requests failed", (r) => String([...r.failed.values()].reduce((a, b) => a + b, 0))],
    ["compactions committed", (r) => String(r.committed)],
    ["compactions abandoned", (r) => String(r.abandoned)],
    ["manifest races lost", (r) => String(r.racesLost)],
  ];
  const width = 26;
  console.log(`\nFleet through HAProxy: ${WRITERS} writers + ${READERS} readers, ${NAMESPACES.length} namespaces, ${SECONDS}s each`);
  console.log("".padEnd(width) + results.map((r) => `${r.nodes} server${r.nodes > 1 ? "s" : ""}`.padStart(12)).join(""));
  for (const [label, cell] of rows) console.log(label.padEnd(width) + results.map((r) => cell(r).padStart(12)).join(""));
  for (const r of results) {
    if (r.failed.size > 0) console.log(`failures with ${r.nodes} server(s): ${[...r.failed].map(([code, n]) => `${n}x ${code}`).join(", ")}`);
  }
}
