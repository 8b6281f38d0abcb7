/**
 * A fresh process's first query, this checkout beside another (issue 13):
 * the first cold ANN top-10 of `BENCH_RUNS` fresh processes (default 7) per
 * checkout, alternating, each process bench/cold-ann.ts's `first` child of
 * its own checkout (the storage client is made before the clock starts;
 * nothing cached: manifest, eager regions, tail), on the cold-ann bench's
 * namespace with 20 ms added to every storage request. Printed: the p50 of
 * each side and their ratio, the floor (round trips x 20 ms), and the same
 * for a second engine's first query in each of those processes (JIT and
 * client warm: what is left is the engine's own first-query work).
 *
 * `BENCH_BASELINE` is the other checkout's root (e.g. `git worktree add
 * /tmp/base main && (cd /tmp/base && pnpm install --offline)`); without it
 * only this checkout runs. The namespace must exist: `BENCH_DIR` (local-fs,
 * built by bench/cold-ann.ts or bench/process-start.ts with the same
 * `BENCH_DIR`), or with `BENCH_KIND=s3+20ms` the S3 server of S3_ENDPOINT /
 * S3_BUCKET under `BENCH_S3_PREFIX` (built by bench/cold-ann.ts).
 *
 *   BENCH_DIR=/path BENCH_BASELINE=/tmp/base node --conditions=@skerry/source --import tsx bench/first-query.ts
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

interface First {
  first: number;
  freshEngine: number;
  firstTrips: number;
}

const here = fileURLToPath(new URL("..", import.meta.url));
const runs = Number(process.env["BENCH_RUNS"] ?? 7);
const kind = process.env["BENCH_KIND"] ?? "local-fs+20ms";
const dir = process.env["BENCH_DIR"];
const prefix = process.env["BENCH_S3_PREFIX"] ?? "-";
const baseline = process.env["BENCH_BASELINE"];
if (kind.startsWith("local-fs") && dir === undefined) throw new Error("BENCH_DIR: the local-fs namespace (bench/cold-ann.ts with BENCH_DIR builds it)");

function first(packageDir: string, query: number): First {
  const out = execFileSync(
    process.execPath,
    ["--conditions=@skerry/source", "--import", "tsx", join(packageDir, "bench/cold-ann.ts"), "first", kind, dir ?? "-", prefix, "0", String(query)],
    { cwd: packageDir, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } },
  );
  return JSON.parse(out.trim().split("\n").at(-1) as string) as First;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const ms = (x: number) => `${x.toFixed(1).padStart(7)} ms`;
const mine: First[] = [];
const theirs: First[] = [];
for (let i = 0; i < runs; i++) {
  // Alternating, and the same query vectors on both sides, so load swings hit both alike.
  mine.push(first(here, 100 + i));
  if (baseline !== undefined) theirs.push(first(join(baseline, "packages/namespace-engine"), 100 + i));
}
const trips = median(mine.map((r) => r.firstTrips));
const floor = trips * 20;
console.log(`# A fresh process's first cold ANN top-10, ${kind}, p50 of ${runs} processes${baseline === undefined ? "" : ` per side, alternating with ${baseline}`}`);
const line = (label: string, pick: (r: First) => number) => {
  const p = median(mine.map(pick));
  if (baseline === undefined) {
    console.log(`${label} ${ms(p)} | floor: ${trips} round trips x 20 ms ${ms(floor)} | x${(p / floor).toFixed(2)} of the floor`);
    return;
  }
  const b = median(theirs.map(pick));
  console.log(`${label} ${ms(p)} | before (baseline checkout) ${ms(b)} | x${(p / b).toFixed(2)}; floor ${trips} x 20 ms = ${floor} ms: x${(p / floor).toFixed(2)} (before x${(b / floor).toFixed(2)})`);
};
line("first query of a fresh process          ", (r) => r.first);
line("a new engine's first query, same process", (r) => r.freshEngine);
console.log(`runs (ms, this | before): ${mine.map((r, i) => `${r.first.toFixed(0)}|${theirs[i]?.first.toFixed(0) ?? "-"}`).join(" ")}`);
process.exit(0);
