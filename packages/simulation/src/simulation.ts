/**
 * runSimulation: one seeded run of the whole stack.
 *
 * Setup (fault-free): the shared store (MemoryStorage on the simulated
 * clock, or LocalFsStorage in a fresh directory), the kv and bank
 * namespaces, the bank's coins. Then `steps` steps; each step:
 *   1. maybe arms a crash of one process (at its next storage call, before
 *      or after the call lands);
 *   2. starts one operation of an idle actor picked by weight;
 *   3. runs 1-6 scheduler events (a storage call's latency ends and it
 *      proceeds; everything that follows runs until all is quiet again),
 *      reaping crashed processes after each;
 *   4. audits: a fault-free strong read of one namespace (round robin),
 *      checked against the models; forks: baselines of new ones, one fork
 *      read; every 25 steps refcounts never below the truth; every 50
 *      steps the manifests' objects.
 * Then the end: in-flight operations finish, the clock passes every lease,
 * a fault-free engine recovers every live namespace and runs WAL GC, and
 * the auditor checks WALs COMPLETE, intents settled, manifests' objects
 * present, and every model, fork and the bank against fresh strong reads;
 * then a fault-free repair with sweep, refcounts exactly the truth, and
 * every read again.
 *
 * Everything is drawn from the seed: the fault profile, which actor runs,
 * its arguments, latencies and faults, crashes. The trace (every operation
 * and outcome, every crash) is the replay evidence: two runs of one seed
 * produce identical traces.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NamespaceEngine } from "@skerry/namespace-engine";
import { LocalFsStorage, MemoryStorage, type StorageProvider } from "@skerry/storage-providers";
import type { Actor } from "./actor.ts";
import { auditForks, ForkActor, readFork } from "./fork-actor.ts";
import { DeleterActor } from "./deleter-actor.ts";
import { LifecycleActor } from "./lifecycle-actor.ts";
import { MaintenanceActor, SIM_SWEEP_GRACE_MS } from "./maintenance-actor.ts";
import { MoverActor } from "./mover-actor.ts";
import { classify, errorText } from "./observation.ts";
import { ModelOverflowError } from "./owned-docs.ts";
import { checkBank, checkStrongRead, releaseWindows, startWindows } from "./read-checks.ts";
import { ReaderActor } from "./reader-actor.ts";
import { refcountProblems, type RefcountCheck } from "./refcount-audit.ts";
import { type EngineMode, emptyFaultCounts, engineFor, type FaultCounts, type FaultProfile, type KnownBugFence, SIM_LEASE_MS } from "./sim-process.ts";
import { SimRandom } from "./sim-random.ts";
import { SimScheduler } from "./sim-scheduler.ts";
import { BANK, COINS, EPH, HOLDERS, KV, NAMESPACES, ORG, PROJECT, SIM_EPOCH, SimWorld, type Violation } from "./sim-world.ts";
import { auditManifests, auditSettled } from "./storage-audit.ts";
import { WriterActor } from "./writer-actor.ts";

export type ProviderKind = "memory" | "local-fs";

/** Actor families a run may leave out (to fence off a known bug until it is fixed). */
export type ActorFamily = "writers" | "deleter" | "movers" | "readers" | "compactor" | "recovery" | "gc" | "lifecycle" | "forks" | "repair";

/** Families added after SIM-1 and SIM-2 were found: left out of `asFound` runs. */
export const LATER_FAMILIES: readonly ActorFamily[] = ["forks", "repair"];

export interface SimulationOptions {
  readonly seed: number;
  readonly provider: ProviderKind;
  readonly steps: number;
  /** Crash processes (default true). */
  readonly crashes?: boolean | undefined;
  /** Inject storage failures (default true); latency is always on. */
  readonly failures?: boolean | undefined;
  readonly exclude?: readonly ActorFamily[] | undefined;
  /** Known-bug fences to apply (default: none, so a plain run finds every known bug). */
  readonly fences?: readonly KnownBugFence[] | undefined;
  /**
   * Replay with the harness as it was when SIM-1 and SIM-2 were found: zero backoffs, default retention,
   * no fork or repair actors (the seed regression tests use it to replay those seeds step for step).
   */
  readonly asFound?: boolean | undefined;
  /** Parent directory of local-fs stores (default /dev/shm when present, else the OS temp dir). */
  readonly dir?: string | undefined;
}

export interface SimulationResult {
  readonly seed: number;
  readonly provider: ProviderKind;
  readonly steps: number;
  readonly ok: boolean;
  readonly violations: readonly Violation[];
  /** Step of the first violation. */
  readonly failedStep: number | undefined;
  readonly trace: readonly string[];
  readonly faults: FaultCounts;
  readonly crashes: number;
  readonly operations: number;
  readonly profile: FaultProfile;
}

const PROFILES: readonly FaultProfile[] = [
  { failureRate: 0.02, afterFraction: 0.5, conflictFraction: 0.25, latencyMs: [1, 20] },
  { failureRate: 0.05, afterFraction: 0.5, conflictFraction: 0.3, latencyMs: [1, 40] },
  { failureRate: 0.1, afterFraction: 0.6, conflictFraction: 0.3, latencyMs: [1, 10] },
];

function defaultDir(): string {
  try {
    rmSync(join("/dev/shm", ".skerry-sim-probe"), { force: true });
    return "/dev/shm";
  } catch {
    return tmpdir();
  }
}

function buildActors(world: SimWorld, random: SimRandom, exclude: ReadonlySet<ActorFamily>): Actor[] {
  const a = (name: string) => random.derive(`actor:${name}`);
  const actors: Actor[] = [];
  if (!exclude.has("writers")) {
    actors.push(new WriterActor("w0", "P1", a("w0"), world, KV, "k0_"));
    actors.push(new WriterActor("w1", "P1", a("w1"), world, KV, "k1_"));
    actors.push(new WriterActor("w2", "P2", a("w2"), world, KV, "k2_"));
  }
  if (!exclude.has("deleter")) actors.push(new DeleterActor("t0", "P2", a("t0"), world, KV, "t_"));
  if (!exclude.has("movers")) {
    actors.push(new MoverActor("m0", "P3", a("m0")));
    actors.push(new MoverActor("m1", "P4", a("m1")));
  }
  if (!exclude.has("readers")) {
    actors.push(new ReaderActor("r0", "P1", a("r0")));
    actors.push(new ReaderActor("r1", "P4", a("r1")));
  }
  if (!exclude.has("compactor")) {
    // Two compactors in two processes: tiered runs of one namespace may overlap (the seals decide).
    actors.push(new MaintenanceActor("c0", "P3", a("c0"), "compact"));
    actors.push(new MaintenanceActor("c1", "P4", a("c1"), "compact"));
  }
  if (!exclude.has("recovery")) actors.push(new MaintenanceActor("s0", "P4", a("s0"), "recover"));
  if (!exclude.has("gc")) actors.push(new MaintenanceActor("g0", "P3", a("g0"), "gc"));
  if (!exclude.has("lifecycle")) actors.push(new LifecycleActor("l0", "P4", a("l0"), world));
  if (!exclude.has("forks")) actors.push(new ForkActor("b0", "P5", a("b0")));
  if (!exclude.has("repair")) {
    actors.push(new MaintenanceActor("x0", "P5", a("x0"), "repair"));
    actors.push(new MaintenanceActor("y0", "P3", a("y0"), "manifest-gc"));
  }
  return actors;
}

function pickActor(actors: readonly Actor[], random: SimRandom): Actor | undefined {
  const idle = actors.filter((x) => !x.busy);
  const total = idle.reduce((s, x) => s + x.weight, 0);
  if (total === 0) return undefined;
  let roll = random.float() * total;
  for (const x of idle) {
    roll -= x.weight;
    if (roll < 0) return x;
  }
  return idle[idle.length - 1];
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const seed = options.seed >>> 0;
  const root = new SimRandom(seed);
  const scheduler = new SimScheduler(SIM_EPOCH);
  let dir: string | undefined;
  let store: StorageProvider;
  if (options.provider === "memory") {
    store = new MemoryStorage({ now: () => scheduler.now() });
  } else {
    dir = mkdtempSync(join(options.dir ?? defaultDir(), `skerry-sim-${seed}-`));
    store = new LocalFsStorage({ root: dir });
  }
  const base = root.derive("profile").pick(PROFILES);
  const profile: FaultProfile = { ...base, ...(options.failures === false ? { failureRate: 0 } : {}), fences: options.fences ?? [] };
  const world = new SimWorld(seed, scheduler, root, store, profile);
  world.asFound = options.asFound === true;
  const direct = { direct: true, asFound: world.asFound };
  let operations = 0;
  try {
    await setup(world, root.derive("setup"));
    const actors = buildActors(world, root, new Set([...(options.exclude ?? []), ...(world.asFound ? LATER_FAMILIES : [])]));
    const driver = root.derive("driver");
    const crashRandom = root.derive("crashes");
    const auditor = engineFor(store, scheduler, root.derive("auditor"), direct);
    const crashProcesses = [...new Set(actors.map((x) => x.processName))];
    for (let step = 1; step <= options.steps && world.violations.length === 0; step++) {
      world.step = step;
      if (options.crashes !== false && crashRandom.chance(0.02)) {
        const name = crashRandom.pick(crashProcesses);
        const when = crashRandom.chance(0.5) ? "before" : "after";
        world.log(`crash armed: ${name} at its next storage call (${when})`);
        world.process(name).crash(when);
      }
      const actor = pickActor(actors, driver);
      if (actor !== undefined) {
        actor.busy = true;
        operations++;
        void actor
          .run(world)
          .catch((error) => {
            if (error instanceof ModelOverflowError) world.log(`${actor.name}: ${error.message}`);
            else world.violate("harness", `${actor.name}: ${errorText(error)}`);
          })
          .finally(() => {
            actor.busy = false;
          });
        await scheduler.settle();
      }
      const events = driver.int(1, 6);
      for (let i = 0; i < events; i++) {
        if (!(await scheduler.fireNext())) break;
        world.reapCrashed();
      }
      await auditStep(world, auditor, step);
    }
    // Let every operation in flight finish (faults stay on; crashes fire only if armed).
    world.step = options.steps + 1;
    for (let i = 0; i < 1_000_000 && actors.some((x) => x.busy); i++) {
      if (!(await scheduler.fireNext())) {
        await scheduler.settle();
        if (actors.some((x) => x.busy) && scheduler.pendingTimers === 0) {
          world.violate("harness", `operations never finished: ${actors.filter((x) => x.busy).map((x) => x.name).join(",")}`);
          break;
        }
      }
      world.reapCrashed();
    }
    if (world.violations.length === 0) await finalAudit(world, direct);
  } finally {
    for (const proc of world.processes()) world.retire(proc);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
  const first = world.violations[0];
  return {
    seed,
    provider: options.provider,
    steps: options.steps,
    ok: world.violations.length === 0,
    violations: world.violations,
    failedStep: first === undefined ? undefined : failedStepOf(world),
    trace: world.trace,
    faults: world.faultCounts,
    crashes: world.crashes,
    operations,
    profile,
  };
}

function failedStepOf(world: SimWorld): number {
  const line = world.trace.find((l) => l.includes("VIOLATION"));
  const m = line === undefined ? undefined : /^#(\d+)/.exec(line);
  return m === undefined || m === null ? world.step : Number(m[1]);
}

async function setup(world: SimWorld, random: SimRandom): Promise<void> {
  const engine = engineFor(world.store, world.scheduler, random, { direct: true, asFound: world.asFound });
  await engine.createNamespace(KV);
  await engine.createNamespace(BANK);
  await engine.upsert(
    BANK,
    COINS.map((c, i) => ({ id: c.id, attributes: { value: c.value, holder: HOLDERS[i % HOLDERS.length] as string } })),
  );
  world.log(`setup: ${KV}, ${BANK} with ${COINS.length} coins; faults ${JSON.stringify(world.faults)}`);
}

/** A fault-free strong read of one namespace, checked against the models. */
async function auditStep(world: SimWorld, auditor: NamespaceEngine, step: number): Promise<void> {
  const path = NAMESPACES[step % NAMESPACES.length] as string;
  const windows = path === BANK ? new Map() : startWindows(world, path);
  const ackedAtStart = world.ackedHigh.get(path) ?? 0;
  try {
    const { documents, version } = await auditor.scan(path, { limit: 10_000 });
    if (path === BANK) checkBank(world, "auditor", version, documents);
    else checkStrongRead(world, "auditor", path, windows, ackedAtStart, version, documents);
  } catch (error) {
    releaseWindows(world, windows);
    if (classify(error) === "unexpected") world.violate("no unexpected errors", `auditor read ${path}: ${errorText(error)}`);
  }
  await auditForks(world, auditor, step);
  if (step % 25 === 0) await auditRefcounts(world, "never-below", `step ${step}`);
  if (step % 50 === 0) {
    for (const ns of auditedPaths(world)) {
      for (const problem of await auditManifests(world.store, ns)) world.violate("manifests reference only existing objects", `${ns}: ${problem}`);
    }
  }
}

/** kv, bank, eph and every fork. */
function auditedPaths(world: SimWorld): string[] {
  return [...NAMESPACES, ...world.forks.keys()];
}

async function auditRefcounts(world: SimWorld, check: RefcountCheck, at: string): Promise<void> {
  const invariant = check === "exact" ? "refcounts equal the true count after repair" : "refcounts are never below the true count";
  for (const problem of await refcountProblems(world.store, ORG, PROJECT, check)) world.violate(invariant, `${at}: ${problem}`);
}

async function finalAudit(world: SimWorld, direct: EngineMode): Promise<void> {
  const s = world.scheduler;
  await s.advance(SIM_LEASE_MS * 2);
  world.log("final: leases expired; fault-free recovery of every namespace");
  const engine = engineFor(world.store, s, world.random.derive("final"), direct);
  const live: string[] = [];
  for (const path of NAMESPACES) {
    try {
      const report = await engine.recover(path);
      live.push(path);
      world.log(`final: recover ${path} -> v${report.version} wal scanned=${report.wal.scanned} errors=${report.wal.errors.length}`);
      for (const e of report.wal.errors) world.violate("every mutation WAL reaches COMPLETE after recovery", `${path}: ${JSON.stringify(e)}`);
    } catch (error) {
      world.log(`final: recover ${path} -> ${errorText(error).slice(0, 120)}`);
      if (classify(error) !== "definite") world.violate("fault-free recovery succeeds", `${path}: ${errorText(error)}`);
    }
  }
  for (const path of live) {
    for (const problem of await auditSettled(world.store, path)) world.violate("every mutation WAL reaches COMPLETE after recovery", `${path}: ${problem}`);
  }
  for (const entry of world.models.values()) entry.docs.recovered();
  await checkAll(world, engine, "final", live);
  // WAL GC past its grace, then a fresh reader: GC must not remove anything a manifest needs.
  await s.advance(SIM_LEASE_MS * 2);
  for (const path of live) await engine.collectWalGarbage(path, { graceMs: 1_000 });
  const fresh = engineFor(world.store, s, world.random.derive("final-reader"), direct);
  await checkAll(world, fresh, "after GC", live);
  await auditRefcounts(world, "never-below", "final");
  if (world.asFound) return;
  // Repair with sweep, fault-free, once nothing is in flight: counts exact, nothing a manifest needs swept.
  await s.advance(SIM_SWEEP_GRACE_MS);
  try {
    const report = await fresh.repair(ORG, PROJECT, { sweep: true, graceMs: SIM_SWEEP_GRACE_MS });
    world.log(`final: repair ${ORG}/${PROJECT} -> ${JSON.stringify(report)}`);
  } catch (error) {
    world.violate("fault-free repair succeeds", errorText(error));
    return;
  }
  await auditRefcounts(world, "exact", "final repair");
  await checkAll(world, engineFor(world.store, s, world.random.derive("after-repair"), direct), "after repair", live);
}

async function checkAll(world: SimWorld, engine: NamespaceEngine, who: string, live: readonly string[]): Promise<void> {
  for (const path of live) {
    const windows = startWindows(world, path);
    const { documents, version } = await engine.scan(path, { limit: 10_000 });
    world.log(`${who}: ${path} v${version} ${documents.length} docs`);
    if (path === BANK) checkBank(world, who, version, documents);
    else checkStrongRead(world, who, path, windows, world.ackedHigh.get(path) ?? 0, version, documents);
  }
  for (const fork of world.forks.values()) {
    if (fork.status === "live" || (fork.status === "gone" && fork.deletedAcked)) await readFork(world, engine, who, fork);
  }
  for (const path of auditedPaths(world)) {
    for (const problem of await auditManifests(world.store, path)) world.violate("manifests reference only existing objects", `${who} ${path}: ${problem}`);
  }
  if (!live.includes(EPH)) {
    const l0 = world.models.get("e_");
    if (l0 !== undefined && (l0.docs.worlds()[0]?.docs.size ?? 0) > 0 && l0.docs.worlds().every((w) => w.docs.size > 0)) {
      world.violate("a live namespace stays readable", `${who}: ${EPH} is gone but the model says it holds documents`);
    }
  }
}

export { emptyFaultCounts };
