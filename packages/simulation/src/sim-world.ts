/**
 * SimWorld: the state one simulation run shares between its driver, its
 * actors and its auditor: the scheduler, the seeded streams, the shared
 * store, the simulated processes (and their incarnations), the models of
 * acknowledged history, the trace and the violations found.
 */
import type { StorageProvider } from "@skerry/storage-providers";
import { addCalls, emptyFaultCounts, type FaultCounts, type FaultProfile, SimProcess } from "./sim-process.ts";
import type { ForkState } from "./fork-actor.ts";
import type { OwnedDocs } from "./owned-docs.ts";
import { ProcessGate } from "./process-gate.ts";
import type { SimRandom } from "./sim-random.ts";
import type { SimScheduler } from "./sim-scheduler.ts";

export const ORG = "sim";
export const PROJECT = "p";
export const KV = `${ORG}/${PROJECT}/kv`;
export const BANK = `${ORG}/${PROJECT}/bank`;
export const EPH = `${ORG}/${PROJECT}/eph`;
export const NAMESPACES = [KV, BANK, EPH] as const;

/** The bank: coins with fixed values, moved between holders by patchByFilter only. */
export const COINS: readonly { id: string; value: number }[] = Array.from({ length: 12 }, (_, i) => ({
  id: `c${String(i).padStart(2, "0")}`,
  value: i + 1,
}));
export const HOLDERS = ["h0", "h1", "h2", "h3"] as const;
export const BANK_TOTAL = COINS.reduce((sum, c) => sum + c.value, 0);

export interface ModelEntry {
  readonly path: string;
  readonly prefix: string;
  readonly docs: OwnedDocs;
}

export class Violation extends Error {
  readonly invariant: string;
  constructor(invariant: string, detail: string) {
    super(`${invariant}: ${detail}`);
    this.invariant = invariant;
  }
}

export class SimWorld {
  readonly seed: number;
  readonly scheduler: SimScheduler;
  readonly random: SimRandom;
  readonly store: StorageProvider;
  readonly faults: FaultProfile;
  readonly trace: string[] = [];
  readonly violations: Violation[] = [];
  /** Models of owned documents, by id prefix. */
  readonly models = new Map<string, ModelEntry>();
  /** First observation of the plain-write documents (`k*`) per namespace and version: reads at a version must agree. */
  readonly snapshots = new Map<string, Map<number, string>>();
  readonly faultCounts: FaultCounts = emptyFaultCounts();
  crashes = 0;
  step = 0;
  readonly #processes = new Map<string, SimProcess>();
  readonly #incarnations = new Map<string, number>();
  /** Highest version acknowledged per namespace path, and per process name. */
  readonly ackedHigh = new Map<string, number>();
  readonly processAckedHigh = new Map<string, number>();
  /** Branches and copies of kv, by path (fork-actor.ts). */
  readonly forks = new Map<string, ForkState>();
  /** The engine settings the seeds SIM-1 and SIM-2 were found with (sim-process.ts `EngineMode`). */
  asFound = false;
  /** Every process's view of the shared store for the auditor's own checks inside actors (counted by the scheduler). */
  readonly auditStore: StorageProvider;

  constructor(seed: number, scheduler: SimScheduler, random: SimRandom, store: StorageProvider, faults: FaultProfile) {
    this.seed = seed;
    this.scheduler = scheduler;
    this.random = random;
    this.store = store;
    this.faults = faults;
    this.auditStore = new ProcessGate(store, scheduler, "auditor");
  }

  log(line: string): void {
    this.trace.push(`#${this.step} t=${this.scheduler.now() - SIM_EPOCH} ${line}`);
  }

  violate(invariant: string, detail: string): void {
    const v = new Violation(invariant, detail);
    this.violations.push(v);
    this.log(`VIOLATION ${v.message}`);
  }

  /** The live incarnation of process `name` (started on first use). */
  process(name: string): SimProcess {
    let proc = this.#processes.get(name);
    if (proc === undefined || proc.dead) {
      if (proc !== undefined) this.retire(proc);
      const incarnation = (this.#incarnations.get(name) ?? 0) + 1;
      this.#incarnations.set(name, incarnation);
      proc = new SimProcess(
        name,
        incarnation,
        this.store,
        this.scheduler,
        this.random.derive(`process:${name}#${incarnation}`),
        this.faults,
        this.asFound,
      );
      this.#processes.set(name, proc);
      if (incarnation > 1) this.log(`${name} restarts as incarnation ${incarnation}`);
    }
    return proc;
  }

  processes(): SimProcess[] {
    return [...this.#processes.values()];
  }

  /** Counts a finished incarnation's calls and faults. */
  retire(proc: SimProcess): void {
    addCalls(this.faultCounts, proc.storage.calls);
  }

  /** After each event: a process whose crash fired dies for good (its gate closes). */
  reapCrashed(): void {
    for (const proc of this.#processes.values()) {
      if (!proc.dead && proc.storage.crashed) {
        proc.kill();
        this.crashes++;
        this.log(`${proc.name}#${proc.incarnation} CRASHED (in-memory state dropped)`);
      }
    }
  }

  noteAck(path: string, processName: string, version: number): void {
    this.ackedHigh.set(path, Math.max(this.ackedHigh.get(path) ?? 0, version));
    const key = `${processName}:${path}`;
    this.processAckedHigh.set(key, Math.max(this.processAckedHigh.get(key) ?? 0, version));
  }
}

/** Simulated time starts here (2026-01-01T00:00:00Z), the same for every seed. */
export const SIM_EPOCH = Date.UTC(2026, 0, 1);
