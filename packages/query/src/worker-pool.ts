/**
 * A small pool of worker threads for parallel exact vector scans.
 *
 * The worker file is resolved next to this module with the same extension
 * this module has: `kernel-worker.js` when running from the compiled
 * `dist`; `kernel-worker.ts` when running from sources, loaded through a
 * data: URL bootstrap that registers tsx inside the worker first.
 *
 * Workers are created on first use, `unref`'d (they never keep a process
 * alive), and get each partition's shared memory once. If a worker cannot
 * start or dies, the pool marks itself broken and callers fall back to
 * scanning on the calling thread; results are identical either way.
 * Partitions that are garbage collected are released in the workers.
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { WorkerRequest, WorkerResponse } from "./kernel-worker.ts";
import type { Candidates } from "./top-k.ts";
import { SCRATCH_THREADS, type ScoreMode, type VectorLayout } from "./vector-kernel.ts";
import type { WasmMemory } from "./wasm-api.ts";

export interface ScanTask {
  readonly mode: ScoreMode;
  readonly query: Float32Array;
  readonly start: number;
  readonly end: number;
  readonly k: number;
  readonly skip: Uint8Array | null;
}

interface PoolWorker {
  readonly worker: Worker;
  readonly registered: Set<number>;
}

interface Pending {
  resolve(value: Candidates): void;
  reject(error: Error): void;
}

let configuredThreads: number | undefined;
let completedTasks = 0;

/** Scan tasks completed by worker threads in this process (for tests and diagnostics). */
export function workerTaskCount(): number {
  return completedTasks;
}
let pool: KernelPool | null | undefined;

/** Set the number of worker threads for parallel scans (0 disables them). Takes effect for a new pool. */
export function configureQueryThreads(threads: number): void {
  configuredThreads = Math.max(0, Math.min(SCRATCH_THREADS - 1, Math.floor(threads)));
  const old = pool;
  pool = undefined;
  old?.close();
}

function defaultThreads(): number {
  const env = process.env["SKERRY_QUERY_THREADS"];
  if (env !== undefined && /^\d+$/.test(env)) return Math.min(SCRATCH_THREADS - 1, Number(env));
  return Math.min(SCRATCH_THREADS - 1, Math.max(0, availableParallelism()));
}

function ensurePool(): KernelPool | null {
  if (pool === undefined) {
    const threads = configuredThreads ?? defaultThreads();
    pool = threads >= 2 ? KernelPool.tryCreate(threads) : null;
  }
  if (pool?.broken) pool = null;
  return pool;
}

/**
 * The shared pool once its workers are online, else null (and the workers
 * are started): a first query never waits for threads to boot, it scans on
 * the calling thread instead.
 */
export function kernelPool(): KernelPool | null {
  const p = ensurePool();
  return p?.online ? p : null;
}

/** Start the worker threads now (e.g. at process start) instead of on the first large query. */
export async function warmUpQueryThreads(): Promise<boolean> {
  const p = ensurePool();
  if (p === null) return false;
  return p.ready();
}

/** The URL of worker script `name` (a sibling module: kernel-worker, index-worker), runnable from sources or dist. */
export function workerScriptUrl(name: string): URL {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const url = new URL(`./${name}${ext}`, import.meta.url);
  if (ext === ".js") return url;
  // From sources: loader hooks registered in this thread do not reach worker
  // threads (and `--import` in a worker's execArgv is not honoured on Node 20),
  // so a tiny ES module bootstrap registers tsx inside the worker first.
  // `require.resolve` picks the CommonJS build of tsx's API; the worker imports the ESM one.
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href;
  // Unregistering once the worker's module graph is loaded frees the hooks' port, which would keep the process alive.
  const code = `import { register } from ${JSON.stringify(tsxApi)};\nconst unregister = register();\nawait import(${JSON.stringify(url.href)});\nawait unregister();\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

export class KernelPool {
  broken = false;
  /** True once every worker has started. */
  online = false;
  private readonly workers: PoolWorker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextTask = 1;
  private readonly onlineAll: Promise<boolean>;
  private readonly finalizer = new FinalizationRegistry<number>((uid) => {
    for (const w of this.workers) {
      if (w.registered.delete(uid)) w.worker.postMessage({ type: "release", uid } satisfies WorkerRequest);
    }
  });

  static tryCreate(threads: number): KernelPool | null {
    try {
      return new KernelPool(threads);
    } catch {
      return null;
    }
  }

  private constructor(readonly threads: number) {
    const url = workerScriptUrl("kernel-worker");
    const online: Promise<boolean>[] = [];
    for (let t = 0; t < threads; t++) {
      // Workers inherit execArgv; --input-type (a script run with -e) is refused for a worker file.
      const execArgv = process.execArgv.filter((a) => !a.startsWith("--input-type"));
      const worker = new Worker(url, { workerData: { thread: t + 1 }, execArgv });
      online.push(
        new Promise((resolve) => {
          worker.once("online", () => resolve(true));
          worker.once("error", () => resolve(false));
        }),
      );
      worker.on("message", (m: WorkerResponse) => this.onMessage(m));
      worker.on("error", (e) => this.fail(e));
      worker.on("exit", () => this.fail(new Error("query worker exited")));
      // After the listeners: attaching a "message" listener refs the port again.
      worker.unref();
      this.workers.push({ worker, registered: new Set() });
    }
    this.onlineAll = Promise.all(online).then((all) => {
      this.online = all.every(Boolean);
      return this.online;
    });
  }

  ready(): Promise<boolean> {
    // Keep the process alive while someone waits; idle workers never do.
    this.hold(1);
    return this.onlineAll.finally(() => this.hold(-1));
  }

  private holders = 0;
  private hold(delta: number): void {
    const before = this.holders;
    this.holders += delta;
    if (before === 0 && this.holders > 0) for (const w of this.workers) w.worker.ref();
    else if (before > 0 && this.holders === 0) for (const w of this.workers) w.worker.unref();
  }

  /** Run each task on its own worker (round robin); resolves with their candidates. */
  run(uid: number, owner: object, memory: WasmMemory, layout: VectorLayout, tasks: readonly ScanTask[]): Promise<Candidates[]> {
    return Promise.all(
      tasks.map((task, i) => {
        const w = this.workers[i % this.workers.length]!;
        if (!w.registered.has(uid)) {
          w.registered.add(uid);
          w.worker.postMessage({ type: "register", uid, memory, layout } satisfies WorkerRequest);
          this.finalizer.register(owner, uid);
        }
        const id = this.nextTask++;
        return new Promise<Candidates>((resolve, reject) => {
          if (this.broken) {
            reject(new Error("query worker pool is broken"));
            return;
          }
          this.hold(1);
          this.pending.set(id, {
            resolve: (v) => {
              this.hold(-1);
              resolve(v);
            },
            reject: (e) => {
              this.hold(-1);
              reject(e);
            },
          });
          w.worker.postMessage({ type: "scan", task: id, uid, ...task } satisfies WorkerRequest);
        });
      }),
    );
  }

  close(): void {
    this.fail(new Error("query worker pool closed"));
    for (const w of this.workers) void w.worker.terminate();
  }

  private onMessage(m: WorkerResponse): void {
    const p = this.pending.get(m.task);
    if (p === undefined) return;
    this.pending.delete(m.task);
    if (m.type === "done") {
      completedTasks++;
      p.resolve({ slots: m.slots, scores: m.scores });
    }
    else p.reject(new Error(m.message));
  }

  private fail(error: Error): void {
    if (this.broken) return;
    this.broken = true;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}
