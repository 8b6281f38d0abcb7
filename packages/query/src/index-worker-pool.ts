/**
 * Index building and serialization off the main event loop: a small pool of
 * worker threads (index-worker.ts) that builds query indexes from documents
 * and serializes built ones, so one namespace's first query over a large
 * log tail, or the persistence of its chunks, does not stall every other
 * request of the process for the seconds that work takes.
 *
 * - `buildQueryIndexOffThread(docs, options)`: sorts `docs` by id and
 *   builds their index in a worker (documents sent in slices of
 *   `SEND_SLICE`, yielding to the event loop between slices; the built
 *   arrays transferred back, the vectors' shared memory shared). Resolves
 *   undefined when no worker can take it (none configured, the pool broken,
 *   fewer than `minDocuments` documents, the worker failed or died): the
 *   caller builds on its own thread, with identical results, since both run
 *   `buildQueryIndex` over the same documents in the same order.
 * - `serializeQueryIndexOffThread(index, extra)`: `serializeQueryIndex` in a
 *   worker (the index's arrays are copied into the message, its vectors
 *   shared); on the calling thread when no worker can.
 *
 * Workers start on first use, are `unref`'d (referenced only while a task
 * is pending, so they never keep an idle process alive). A worker that
 * cannot start, errors or exits marks the pool broken: its pending tasks
 * and every later one fall back to the calling thread. Worker scripts are
 * resolved like the vector scan pool's (worker-pool.ts `workerScriptUrl`).
 * Threads: `configureIndexThreads`, else `SKERRY_INDEX_THREADS`, else one
 * fewer than the machine's cores (at least 1, at most 2).
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { QueryDocument } from "./query-document.ts";
import { type ExtraIndexSection, serializeQueryIndex } from "./index-codec.ts";
import { indexStateMessage, queryIndexFromMessage } from "./index-transfer.ts";
import type { IndexWorkerRequest, IndexWorkerResponse } from "./index-worker.ts";
import type { BuildQueryIndexOptions, QueryIndex } from "./query-index.ts";
import { workerScriptUrl } from "./worker-pool.ts";

/** Documents per message of a build: a slice costs the main thread ~1-3 ms to clone. */
const SEND_SLICE = 1024;
const DEFAULT_MIN_DOCUMENTS = 2048;

export interface IndexWorkerStats {
  /** Indexes built by worker threads. */
  readonly builds: number;
  /** Indexes serialized by worker threads. */
  readonly serializations: number;
  /** Tasks a worker was asked for that fell back to the calling thread (worker failed or died). */
  readonly fallbacks: number;
}

let configured: { threads: number; minDocuments: number } | undefined;
let pool: IndexPool | null | undefined;
let builds = 0;
let serializations = 0;
let fallbacks = 0;

/** Counters of this process's index worker tasks (for tests and diagnostics). */
export function indexWorkerStats(): IndexWorkerStats {
  return { builds, serializations, fallbacks };
}

/**
 * Set the number of index worker threads (0: build and serialize on the calling thread) and the fewest documents
 * a build is sent to a worker for. Takes effect for a new pool (the current one is closed).
 */
export function configureIndexThreads(threads: number, options: { minDocuments?: number } = {}): void {
  configured = { threads: Math.max(0, Math.min(16, Math.floor(threads))), minDocuments: Math.max(1, options.minDocuments ?? DEFAULT_MIN_DOCUMENTS) };
  const old = pool;
  pool = undefined;
  old?.close();
}

/** Terminates the index workers as if they had died (tests: pending and later tasks fall back). */
export function killIndexWorkers(): void {
  pool?.close();
}

function settings(): { threads: number; minDocuments: number } {
  if (configured !== undefined) return configured;
  const env = process.env["SKERRY_INDEX_THREADS"];
  const threads = env !== undefined && /^\d+$/.test(env) ? Math.min(16, Number(env)) : Math.min(2, Math.max(1, availableParallelism() - 1));
  return { threads, minDocuments: DEFAULT_MIN_DOCUMENTS };
}

function ensurePool(): IndexPool | null {
  if (pool === undefined) {
    const { threads } = settings();
    pool = threads >= 1 ? IndexPool.tryCreate(threads) : null;
  }
  if (pool?.broken) pool = null;
  return pool;
}

/** Whether a build of `documents` documents may go to a worker thread (enough of them, workers configured, the pool not broken). */
export function indexWorkersAvailable(documents: number): boolean {
  return documents >= settings().minDocuments && ensurePool() !== null;
}

/** Resolves after pending I/O and timers had a turn. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The index of `docs` sorted by id, built by a worker thread; undefined when no worker took it (build it on the
 * calling thread: `buildQueryIndex` of the same documents sorted by id gives the same index).
 */
export async function buildQueryIndexOffThread(docs: readonly QueryDocument[], options: BuildQueryIndexOptions): Promise<QueryIndex | undefined> {
  if (docs.length < settings().minDocuments) return undefined;
  const p = ensurePool();
  if (p === null || !(await p.ready())) return undefined;
  try {
    const index = await p.build(docs, options);
    builds++;
    return index;
  } catch {
    fallbacks++;
    return undefined;
  }
}

/** `serializeQueryIndex(index, extra)`, run by a worker thread when one can (on the calling thread otherwise). */
export async function serializeQueryIndexOffThread(index: QueryIndex, extra: readonly ExtraIndexSection[] = []): Promise<Uint8Array> {
  const p = ensurePool();
  if (p !== null && (await p.ready())) {
    try {
      const bytes = await p.serialize(index, extra);
      serializations++;
      return bytes;
    } catch {
      fallbacks++;
    }
  }
  return serializeQueryIndex(index, extra);
}

interface Pending {
  readonly worker: PoolWorker;
  resolve(response: IndexWorkerResponse): void;
  reject(error: Error): void;
}

interface PoolWorker {
  readonly worker: Worker;
  load: number;
}

class IndexPool {
  broken = false;
  readonly #workers: PoolWorker[] = [];
  readonly #pending = new Map<number, Pending>();
  readonly #online: Promise<boolean>;
  #nextTask = 1;

  static tryCreate(threads: number): IndexPool | null {
    try {
      return new IndexPool(threads);
    } catch {
      return null;
    }
  }

  private constructor(threads: number) {
    const url = workerScriptUrl("index-worker");
    const online: Promise<boolean>[] = [];
    for (let t = 0; t < threads; t++) {
      // Workers inherit execArgv; --input-type (a script run with -e) is refused for a worker file.
      const execArgv = process.execArgv.filter((a) => !a.startsWith("--input-type"));
      const worker = new Worker(url, { execArgv });
      online.push(
        new Promise((resolve) => {
          worker.once("online", () => resolve(true));
          worker.once("error", () => resolve(false));
          worker.once("exit", () => resolve(false));
        }),
      );
      worker.on("message", (m: IndexWorkerResponse) => this.#onMessage(m));
      worker.on("error", (e) => this.#fail(e));
      worker.on("exit", () => this.#fail(new Error("index worker exited")));
      // After the listeners: attaching a "message" listener refs the port again.
      worker.unref();
      this.#workers.push({ worker, load: 0 });
    }
    this.#online = Promise.all(online).then((all) => all.every(Boolean) && !this.broken);
  }

  /** True once every worker started (false when one could not). Keeps the process alive while waiting. */
  ready(): Promise<boolean> {
    for (const w of this.#workers) w.worker.ref();
    return this.#online.finally(() => {
      for (const w of this.#workers) if (w.load === 0) w.worker.unref();
    });
  }

  async build(docs: readonly QueryDocument[], options: BuildQueryIndexOptions): Promise<QueryIndex | undefined> {
    const w = this.#leastLoaded();
    const task = this.#nextTask++;
    const answer = this.#await(w, task);
    for (let at = 0; at < docs.length; at += SEND_SLICE) {
      if (at > 0) await yieldToEventLoop();
      if (this.broken) break; // the answer rejects
      w.worker.postMessage({ type: "docs", task, docs: docs.slice(at, at + SEND_SLICE) } satisfies IndexWorkerRequest);
    }
    if (!this.broken) w.worker.postMessage({ type: "build", task, options } satisfies IndexWorkerRequest);
    const response = await answer;
    if (response.type !== "built") throw new Error(`index worker answered ${response.type} to a build`);
    return response.state === null ? undefined : queryIndexFromMessage(response.state);
  }

  async serialize(index: QueryIndex, extra: readonly ExtraIndexSection[]): Promise<Uint8Array> {
    const w = this.#leastLoaded();
    const task = this.#nextTask++;
    const answer = this.#await(w, task);
    w.worker.postMessage({ type: "serialize", task, state: indexStateMessage(index), extra } satisfies IndexWorkerRequest);
    const response = await answer;
    if (response.type !== "serialized") throw new Error(`index worker answered ${response.type} to a serialization`);
    return response.bytes;
  }

  close(): void {
    for (const w of this.#workers) void w.worker.terminate();
  }

  #leastLoaded(): PoolWorker {
    let best = this.#workers[0] as PoolWorker;
    for (const w of this.#workers) if (w.load < best.load) best = w;
    return best;
  }

  /** The answer to `task` (rejected when the worker fails it or the pool breaks); the worker is referenced meanwhile. */
  #await(w: PoolWorker, task: number): Promise<IndexWorkerResponse> {
    return new Promise<IndexWorkerResponse>((resolve, reject) => {
      if (this.broken) {
        reject(new Error("index worker pool is broken"));
        return;
      }
      if (w.load++ === 0) w.worker.ref();
      const done = () => {
        if (--w.load === 0) w.worker.unref();
      };
      this.#pending.set(task, {
        worker: w,
        resolve: (r) => {
          done();
          if (r.type === "failed") reject(new Error(r.message));
          else resolve(r);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
    });
  }

  #onMessage(m: IndexWorkerResponse): void {
    const p = this.#pending.get(m.task);
    if (p === undefined) return;
    this.#pending.delete(m.task);
    p.resolve(m);
  }

  #fail(error: Error): void {
    if (this.broken) return;
    this.broken = true;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
  }
}
