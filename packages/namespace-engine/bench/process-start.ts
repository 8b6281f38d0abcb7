/**
 * The whole process, node start to first answer (issue 13, goal <= 500 ms on
 * local-fs): a fresh `node` running the BUILT packages (dist, as a user of
 * the npm packages runs them: no tsx, no source condition) opens an engine
 * on a compacted local-fs namespace and answers one cold ANN top-10 query
 * (bench/first-answer.mjs). Printed beside a bare `node` process that
 * imports nothing (the floor of any process) and beside the same script's
 * imports alone (module loading), each the median of RUNS fresh processes.
 *
 * The namespace is the cold-ann bench's (same name and layout, 1,000,000 x
 * 128 by default plus a 1,000-doc tail): `BENCH_DIR` shares it with
 * bench/cold-ann.ts; without it one is built in a temporary directory.
 * Builds the packages first (`pnpm build`: tsc into each package's dist).
 * `BENCH_BASELINE=<checkout>` (another checkout of the repository, built with
 * `pnpm -w build`) also runs that checkout's first-answer.mjs and imports,
 * alternating with this one's, and prints each figure beside its.
 *
 *   node --conditions=@skerry/source --import tsx bench/process-start.ts
 *   BENCH_DOCS=200000 BENCH_DIR=/path BENCH_RUNS=7
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalFsStorage } from "@skerry/storage-providers";
import { type DocumentInput, NamespaceEngine } from "@skerry/namespace-engine";
import { dataset } from "../../query/bench/dataset.ts";
import { upsertDataset } from "./upsert-dataset.ts";

const NS = "bench/coldann/docs";
const RUNS = Number(process.env["BENCH_RUNS"] ?? 7);
const here = fileURLToPath(new URL(".", import.meta.url));

async function build(dir: string, n: number): Promise<void> {
  const engine = new NamespaceEngine({ storage: new LocalFsStorage({ root: dir }), stateCacheEntries: 1, stateCacheBytes: 1, compaction: { auto: false } });
  await engine.createNamespace(NS);
  await upsertDataset(engine, NS, n);
  await engine.compact(NS, { force: true });
  await engine.upsert(
    NS,
    [...dataset(1_000, 77).documents()].map((d, i) => ({ ...(d as DocumentInput), id: `tail-${i}` })),
  );
  await engine.close();
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Wall time of a fresh process, and what it printed. */
function timed(args: string[], cwd = here): { wall: number; out: string } {
  const started = performance.now();
  const run = spawnSync(process.execPath, args, { encoding: "utf8", cwd, env: { ...process.env, NODE_OPTIONS: "" } });
  const wall = performance.now() - started;
  if (run.status !== 0) throw new Error(`${args.join(" ")} failed: ${run.stderr}`);
  return { wall, out: run.stdout };
}

const n = Number(process.env["BENCH_DOCS"] ?? 1_000_000);
const keep = process.env["BENCH_DIR"];
const dir = keep ?? mkdtempSync(join(tmpdir(), "skerry-process-start-"));
try {
  console.log(`# Node start to first answer, from the built packages: ${n.toLocaleString("en")} docs x 128-dim compacted + a 1,000-doc tail, local-fs`);
  execFileSync("pnpm", ["-w", "build"], { cwd: here, stdio: ["ignore", "ignore", "inherit"] });
  if (keep === undefined || !existsSync(join(dir, ".built"))) {
    await build(dir, n);
    if (keep !== undefined) writeFileSync(join(dir, ".built"), "");
  }
  const vector = JSON.stringify(dataset(10).query(0));
  const baseline = process.env["BENCH_BASELINE"];
  const baseHere = baseline === undefined ? undefined : join(baseline, "packages/namespace-engine/bench");
  const bare: number[] = [];
  const sides = (baseHere === undefined ? [here] : [here, baseHere]).map((cwd) => ({ cwd, imports: [] as number[], walls: [] as number[], answered: [] as number[] }));
  for (let i = 0; i < RUNS; i++) {
    bare.push(timed(["-e", "0"]).wall);
    for (const side of sides) {
      side.imports.push(timed(["--input-type=module", "-e", 'await import("@skerry/namespace-engine"); await import("@skerry/storage-providers");'], side.cwd).wall);
      const run = timed([join(side.cwd, "first-answer.mjs"), dir, NS, vector], side.cwd);
      const printed = JSON.parse(run.out.trim().split("\n").at(-1) as string) as { answered: number; rows: number };
      if (printed.rows !== 10) throw new Error(`expected 10 rows, got ${printed.rows}`);
      side.walls.push(run.wall);
      side.answered.push(printed.answered);
    }
  }
  const ms = (x: number) => `${x.toFixed(1).padStart(8)} ms`;
  const [mine, before] = sides as [(typeof sides)[number], (typeof sides)[number] | undefined];
  const p = median(mine.answered);
  console.log(`node start to first answer (dist)   ${ms(p)} | bare node process (node -e 0)        ${ms(median(bare))} | x${(p / median(bare)).toFixed(1)}; goal <= 500 ms: ${p <= 500 ? "met" : "NOT met"}`);
  console.log(`whole process, spawn to exit        ${ms(median(mine.walls))} | importing the packages only           ${ms(median(mine.imports))} | x${(median(mine.walls) / median(mine.imports)).toFixed(1)}  (median of ${RUNS})`);
  if (before !== undefined) {
    const b = median(before.answered);
    console.log(`node start to first answer (dist)   ${ms(p)} | before (${baseline})  ${ms(b)} | x${(p / b).toFixed(2)}`);
    console.log(`importing the packages only         ${ms(median(mine.imports))} | before                                ${ms(median(before.imports))} | x${(median(mine.imports) / median(before.imports)).toFixed(2)}`);
  }
} finally {
  if (keep === undefined) rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
