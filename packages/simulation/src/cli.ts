/**
 * `pnpm sim`: runs seeded simulations and prints one line per run
 * (`seed=... provider=... steps=... ops=... faults=... crashes=... ok|FAIL`)
 * and totals. A failing run prints its violation, the command that replays
 * it, and a minimal trace (the lines of the actors involved, up to the
 * failing step). Exit status 1 when any run failed.
 *
 *   pnpm sim [--seeds N] [--steps M] [--provider memory|local-fs|both]
 *            [--seed S] [--first F] [--random K] [--long] [--no-crashes] [--no-failures]
 *            [--exclude family,...] [--trace] [--known-bugs] [--as-found]
 *
 * Known-bug fences (ci-seeds.ts) apply unless --known-bugs (none are open).
 * --as-found: the harness as SIM-1 and SIM-2 were found with (zero backoffs,
 * default retention, no fork or repair actors), to replay those seeds.
 *
 * Default: the CI set: seeds 1..100 on both providers (200 runs) x 500
 * steps, plus 2 random seeds per provider. `--long`: a soak run (seeds
 * 1..1000 x 2,000 steps unless given).
 */
import { randomInt } from "node:crypto";
import { parseArgs } from "node:util";
import { fixedSeeds, KNOWN_BUG_EXCLUSIONS, KNOWN_BUG_FENCES } from "./ci-seeds.ts";
import type { KnownBugFence } from "./sim-process.ts";
import { emptyFaultCounts } from "./sim-process.ts";
import { type ActorFamily, type ProviderKind, runSimulation, type SimulationResult } from "./simulation.ts";
import { minimalTrace } from "./trace.ts";

interface Args {
  seeds: number[];
  random: number;
  steps: number;
  providers: ProviderKind[];
  crashes: boolean;
  failures: boolean;
  exclude: ActorFamily[];
  trace: boolean;
  fences: KnownBugFence[];
  asFound: boolean;
}

const USAGE = `usage: pnpm sim [--seeds N] [--steps M] [--provider memory|local-fs|both]
                [--seed S] [--first F] [--random K] [--long] [--no-crashes] [--no-failures]
                [--exclude family,...] [--trace] [--known-bugs] [--as-found] [--help]`;

/** Parses the command line strictly: an unknown flag or a bad number is an error, not a silent default. */
function parse(argv: readonly string[]): Args | "help" {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      seeds: { type: "string" },
      steps: { type: "string" },
      provider: { type: "string" },
      seed: { type: "string" },
      first: { type: "string" },
      random: { type: "string" },
      exclude: { type: "string" },
      long: { type: "boolean" },
      "no-crashes": { type: "boolean" },
      "no-failures": { type: "boolean" },
      trace: { type: "boolean" },
      "known-bugs": { type: "boolean" },
      "as-found": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help === true) return "help";
  const int = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    return n;
  };
  const long = values.long === true;
  const single = values.seed;
  const count = int("seeds", values.seeds, long ? 1000 : 100);
  const provider = values.provider ?? "both";
  const providers: ProviderKind[] = provider === "both" ? ["memory", "local-fs"] : [provider as ProviderKind];
  for (const p of providers) if (p !== "memory" && p !== "local-fs") throw new Error(`unknown provider ${p}`);
  const exclude = (values.exclude ?? "").split(",").filter((x) => x.length > 0) as ActorFamily[];
  return {
    seeds: single !== undefined ? [int("seed", single, 0)] : fixedSeeds(count, int("first", values.first, 1)),
    random: single !== undefined ? 0 : int("random", values.random, 2),
    steps: int("steps", values.steps, long ? 2000 : 500),
    providers,
    crashes: values["no-crashes"] !== true,
    failures: values["no-failures"] !== true,
    exclude: [...new Set([...exclude, ...KNOWN_BUG_EXCLUSIONS.map((k) => k.family)])],
    trace: values.trace === true,
    // --known-bugs: run without the fences, to reproduce (or confirm the fix of) the known bugs.
    fences: values["known-bugs"] === true ? [] : KNOWN_BUG_FENCES.map((k) => k.fence),
    asFound: values["as-found"] === true,
  };
}

function faultsOf(r: SimulationResult): number {
  return r.faults.failedBefore + r.faults.failedAfter;
}

async function main(): Promise<void> {
  let args: Args;
  try {
    const parsed = parse(process.argv.slice(2).filter((a) => a !== "--"));
    if (parsed === "help") {
      console.log(USAGE);
      return;
    }
    args = parsed;
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const randomSeeds = Array.from({ length: args.random }, () => randomInt(1_000_000, 2 ** 31));
  if (randomSeeds.length > 0) console.log(`random seeds this run: ${randomSeeds.join(" ")}`);
  for (const k of KNOWN_BUG_EXCLUSIONS) console.log(`excluded (known bug): ${k.family}: ${k.bug}`);
  for (const f of args.fences) console.log(`fenced (known bug): ${f}: ${KNOWN_BUG_FENCES.find((k) => k.fence === f)?.bug ?? ""}`);
  const started = performance.now();
  const totals = emptyFaultCounts();
  let runs = 0;
  let steps = 0;
  let ops = 0;
  let crashes = 0;
  const failed: SimulationResult[] = [];
  for (const provider of args.providers) {
    for (const seed of [...args.seeds, ...randomSeeds]) {
      const t0 = performance.now();
      const r = await runSimulation({ seed, provider, steps: args.steps, crashes: args.crashes, failures: args.failures, exclude: args.exclude, fences: args.fences, asFound: args.asFound });
      runs++;
      steps += r.steps;
      ops += r.operations;
      crashes += r.crashes;
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r.faults[k];
      const ms = Math.round(performance.now() - t0);
      console.log(
        `seed=${seed} provider=${provider} steps=${r.steps} ops=${r.operations} calls=${r.faults.calls} faults=${faultsOf(r)} crashes=${r.crashes} ${r.ok ? "ok" : "FAIL"} (${ms} ms)`,
      );
      if (args.trace) for (const line of r.trace) console.log(`  ${line}`);
      if (!r.ok) {
        failed.push(r);
        for (const v of r.violations) console.log(`  VIOLATION at step ${r.failedStep}: ${v.message}`);
        const kb = `${args.fences.length === 0 && KNOWN_BUG_FENCES.length > 0 ? " --known-bugs" : ""}${args.asFound ? " --as-found" : ""}`;
        console.log(`  replay: pnpm sim --seed ${seed} --provider ${provider} --steps ${r.failedStep ?? args.steps}${kb} --trace`);
        console.log("  minimal trace:");
        for (const line of minimalTrace(r)) console.log(`    ${line}`);
      }
    }
  }
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `runs=${runs} steps=${steps} ops=${ops} storage-calls=${totals.calls} faults: before=${totals.failedBefore} after=${totals.failedAfter} (conflict=${totals.conflict} unavailable=${totals.unavailable}) crashes=${crashes} calls-refused-after-crash=${totals.crashed} failed=${failed.length} in ${secs}s`,
  );
  if (failed.length > 0) {
    console.log(`FAILED seeds: ${failed.map((r) => `${r.seed}/${r.provider}`).join(" ")}`);
    process.exitCode = 1;
  }
}

await main();
