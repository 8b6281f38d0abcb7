/**
 * FaultInjectingStorage: wraps any StorageProvider and makes chosen calls
 * fail, slow down, or lose their answer, deterministically.
 *
 * Every call through the wrapper gets a 1-based sequence number and is
 * recorded in `calls` with its outcome. Faults are rules checked in the order
 * they were added; the first rule that matches a call fires:
 * - `when: "before"`: the inner provider is not called; the write does not
 *   happen.
 * - `when: "after"`: the inner call runs to completion (a write lands), then
 *   the caller gets the error anyway: the "answer lost" case that makes
 *   unknown outcomes real.
 * - `meanwhile`: work run when the rule fires, before the error is raised
 *   (e.g. another writer's update landing between our write and our
 *   read-back: the case where a lost answer's outcome cannot be decided).
 * - `crash: true`: after the rule fires, every later call fails before
 *   reaching the inner provider, as if the process had died, until
 *   `revive()`.
 * Latency rules delay matching calls without failing them. The random mode
 * draws failures and latency from a seeded PRNG, so a run replays exactly
 * from its seed (given the same order of calls).
 *
 * The default injected error is UnavailableError (retryable), marked
 * `injected: true` in its message; any error can be supplied instead (e.g.
 * OutcomeUnknownError, which a provider that re-reads after a lost answer,
 * such as S3Storage, raises when the re-read cannot decide).
 */
import { ConflictError, UnavailableError } from "./errors.ts";
import { abortableSleep, throwIfAborted } from "./internal/abort.ts";
import type {
  CallOptions,
  GetOptions,
  GetResult,
  ListOptions,
  ObjectMeta,
  PutOptions,
  PutResult,
  StorageProvider,
} from "./storage-provider.ts";

export type StorageOperation = "get" | "head" | "put" | "delete" | "list";

/** One call seen by the wrapper. */
export interface StorageCall {
  /** 1-based position among all calls through this wrapper. */
  seq: number;
  op: StorageOperation;
  /** The key, or the prefix for `list`. */
  key: string;
  /** For `put`: the write mode. */
  mode?: "overwrite" | "create" | "update";
  /** For `put`: the payload size. */
  bytes?: number;
}

export type CallOutcome = "ok" | "error" | "failed-before" | "failed-after" | "crashed";

export interface RecordedCall extends StorageCall {
  outcome: CallOutcome;
  /** The code of the error the caller saw, if any. */
  errorCode?: string;
  /** Milliseconds of injected latency. */
  latencyMs?: number;
}

export type CallMatcher = (call: StorageCall) => boolean;

export interface FaultOptions {
  /** Before (write not applied) or after (write applied, answer lost). Default "before". */
  when?: "before" | "after";
  /** The error to raise; defaults to an UnavailableError. */
  error?: (call: StorageCall) => Error;
  /** How many times the rule fires before it retires; default 1. */
  times?: number;
  /** After firing, fail every later call as a dead process would. */
  crash?: boolean;
  /**
   * Runs when the rule fires, before the error is raised (after the inner
   * call for `after`, in its place for `before`): e.g. another writer's write
   * that lands between our write and the caller's read-back.
   */
  meanwhile?: (call: StorageCall) => Promise<void>;
}

export interface RandomFaultOptions {
  /** Seed of the PRNG; the same seed and call order give the same faults. */
  seed: number;
  /** Probability that a matching call fails; default 0. */
  failureRate?: number;
  /** Of the failures, the fraction injected after the inner call; default 0.5. */
  afterFraction?: number;
  /** Of the failures of conditional puts, the fraction raised as Conflict instead of Unavailable; default 0.25. */
  conflictFraction?: number;
  /** Latency drawn uniformly from [min, max] ms for every matching call; default none. */
  latencyMs?: readonly [number, number];
  /** Which calls the random faults apply to; default all. */
  match?: CallMatcher;
}

export interface FaultInjectingStorageOptions {
  /** Sleep used for latency; inject a simulated clock's sleep for deterministic runs. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Keep at most this many recorded calls (oldest dropped); default 100,000. */
  maxRecordedCalls?: number;
}

interface FaultRule {
  match: CallMatcher;
  when: "before" | "after";
  error: (call: StorageCall) => Error;
  remaining: number;
  crash: boolean;
  meanwhile: ((call: StorageCall) => Promise<void>) | undefined;
}

interface LatencyRule {
  match: CallMatcher;
  ms: number;
  when: "before" | "after";
}

interface Decision {
  fault?: { when: "before" | "after"; error: Error; crash: boolean; meanwhile?: ((call: StorageCall) => Promise<void>) | undefined };
  /** Delay before the inner call. */
  latencyMs: number;
  /** Delay between the inner call's answer and the caller (a slow response). */
  answerDelayMs: number;
}

/** mulberry32: a small, fast, well-distributed 32-bit PRNG. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function injectedError(call: StorageCall): Error {
  return new UnavailableError(`injected fault: ${call.op} ${JSON.stringify(call.key)} (call #${call.seq})`, {
    key: call.key,
  });
}

export class FaultInjectingStorage implements StorageProvider {
  readonly name: string;
  readonly inner: StorageProvider;
  readonly #rules: FaultRule[] = [];
  readonly #latency: LatencyRule[] = [];
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #maxRecorded: number;
  readonly #calls: RecordedCall[] = [];
  #random: { next: () => number; options: RandomFaultOptions } | undefined;
  #seq = 0;
  #crashed = false;

  constructor(inner: StorageProvider, options: FaultInjectingStorageOptions = {}) {
    this.inner = inner;
    this.name = `faulty(${inner.name})`;
    this.#sleep = options.sleep ?? ((ms, signal) => abortableSleep(ms, signal));
    this.#maxRecorded = options.maxRecordedCalls ?? 100_000;
  }

  /** Calls seen so far, oldest first. */
  get calls(): readonly RecordedCall[] {
    return this.#calls;
  }

  /** Number of calls seen so far (including dropped records). */
  get callCount(): number {
    return this.#seq;
  }

  /** True once a crash rule has fired (until `revive`). */
  get crashed(): boolean {
    return this.#crashed;
  }

  /** Fails the call with sequence number `seq` (1-based, counted across all calls). */
  failCall(seq: number, options: FaultOptions = {}): this {
    return this.failWhen((call) => call.seq === seq, { ...options, times: 1 });
  }

  /** Fails the `n`th call (1-based) among those that `match` selects. */
  failNth(n: number, match: CallMatcher, options: FaultOptions = {}): this {
    let seen = 0;
    return this.failWhen((call) => match(call) && ++seen === n, { ...options, times: 1 });
  }

  /** Fails calls that `match` selects, `times` times (default 1). */
  failWhen(match: CallMatcher, options: FaultOptions = {}): this {
    this.#rules.push({
      match,
      when: options.when ?? "before",
      error: options.error ?? injectedError,
      remaining: options.times ?? 1,
      crash: options.crash ?? false,
      meanwhile: options.meanwhile,
    });
    return this;
  }

  /**
   * Delays calls that `match` selects (default all) by `ms`: before the inner
   * call (a slow request), or with `when: "after"` between the inner call's
   * answer and the caller (a slow response to a call that already took effect).
   */
  addLatency(ms: number, match: CallMatcher = () => true, options: { when?: "before" | "after" } = {}): this {
    this.#latency.push({ match, ms, when: options.when ?? "before" });
    return this;
  }

  /** Turns on seeded random failures and latency. */
  randomFaults(options: RandomFaultOptions): this {
    this.#random = { next: mulberry32(options.seed), options };
    return this;
  }

  /** Removes every rule and the random mode; keeps the call log. */
  clearFaults(): this {
    this.#rules.length = 0;
    this.#latency.length = 0;
    this.#random = undefined;
    return this;
  }

  /** Ends the crashed state: later calls reach the inner provider again. */
  revive(): this {
    this.#crashed = false;
    return this;
  }

  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    return this.#run({ op: "get", key }, options.signal, () => this.inner.get(key, options));
  }

  async head(key: string, options: CallOptions = {}): Promise<ObjectMeta | null> {
    return this.#run({ op: "head", key }, options.signal, () => this.inner.head(key, options));
  }

  async put(key: string, bytes: Uint8Array, options: PutOptions = {}): Promise<PutResult> {
    const mode = options.mode?.kind ?? "overwrite";
    return this.#run({ op: "put", key, mode, bytes: bytes.byteLength }, options.signal, () =>
      this.inner.put(key, bytes, options),
    );
  }

  async delete(key: string, options: CallOptions = {}): Promise<void> {
    return this.#run({ op: "delete", key }, options.signal, () => this.inner.delete(key, options));
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ObjectMeta> {
    // The whole listing is one call: its pages are the inner provider's business.
    const items = await this.#run({ op: "list", key: prefix }, options.signal, async () => {
      const out: ObjectMeta[] = [];
      for await (const meta of this.inner.list(prefix, options)) out.push(meta);
      return out;
    });
    for (const meta of items) {
      throwIfAborted(options.signal);
      yield meta;
    }
  }

  async #run<T>(
    partial: Omit<StorageCall, "seq">,
    signal: AbortSignal | undefined,
    inner: () => Promise<T>,
  ): Promise<T> {
    const call: StorageCall = { ...partial, seq: ++this.#seq };
    const record: RecordedCall = { ...call, outcome: "ok" };
    this.#record(record);
    if (this.#crashed) {
      const error = new UnavailableError(`injected crash: ${call.op} ${JSON.stringify(call.key)} after a crash`, {
        key: call.key,
      });
      record.outcome = "crashed";
      record.errorCode = error.code;
      throw error;
    }
    const decision = this.#decide(call);
    if (decision.latencyMs + decision.answerDelayMs > 0) record.latencyMs = decision.latencyMs + decision.answerDelayMs;
    if (decision.latencyMs > 0) {
      try {
        await this.#sleep(decision.latencyMs, signal);
      } catch (error) {
        // Aborted while slowed down: the inner call never happened.
        record.outcome = "error";
        record.errorCode = (error as { code?: string }).code ?? (error as Error).name;
        throw error;
      }
    }
    const fault = decision.fault;
    if (fault?.when === "before") {
      await fault.meanwhile?.(call);
      if (fault.crash) this.#crashed = true;
      record.outcome = "failed-before";
      record.errorCode = (fault.error as { code?: string }).code ?? fault.error.name;
      throw fault.error;
    }
    let result: T;
    try {
      result = await inner();
    } catch (error) {
      if (fault?.when === "after") {
        // The call failed by itself, but its answer is lost all the same: the
        // caller sees the injected error, and a crash rule still crashes.
        await fault.meanwhile?.(call);
        if (fault.crash) this.#crashed = true;
        record.outcome = "failed-after";
        record.errorCode = (fault.error as { code?: string }).code ?? fault.error.name;
        throw fault.error;
      }
      record.outcome = "error";
      record.errorCode = (error as { code?: string }).code ?? (error as Error).name;
      throw error;
    }
    if (decision.answerDelayMs > 0) {
      try {
        await this.#sleep(decision.answerDelayMs, signal);
      } catch (error) {
        record.outcome = "error";
        record.errorCode = (error as { code?: string }).code ?? (error as Error).name;
        throw error;
      }
    }
    if (fault?.when === "after") {
      await fault.meanwhile?.(call);
      if (fault.crash) this.#crashed = true;
      record.outcome = "failed-after";
      record.errorCode = (fault.error as { code?: string }).code ?? fault.error.name;
      throw fault.error;
    }
    return result;
  }

  #decide(call: StorageCall): Decision {
    let latencyMs = 0;
    let answerDelayMs = 0;
    for (const rule of this.#latency) {
      if (!rule.match(call)) continue;
      if (rule.when === "before") latencyMs += rule.ms;
      else answerDelayMs += rule.ms;
    }
    for (const rule of this.#rules) {
      if (rule.remaining > 0 && rule.match(call)) {
        rule.remaining--;
        return {
          latencyMs,
          answerDelayMs,
          fault: { when: rule.when, error: rule.error(call), crash: rule.crash, meanwhile: rule.meanwhile },
        };
      }
    }
    const random = this.#random;
    if (random === undefined || !(random.options.match?.(call) ?? true)) return { latencyMs, answerDelayMs };
    const { failureRate = 0, afterFraction = 0.5, conflictFraction = 0.25, latencyMs: range } = random.options;
    // Draw the same number of values for every call so the stream stays aligned.
    const [rFail, rAfter, rKind, rLatency] = [random.next(), random.next(), random.next(), random.next()];
    if (range !== undefined) latencyMs += range[0] + Math.floor(rLatency * (range[1] - range[0] + 1));
    if (rFail >= failureRate) return { latencyMs, answerDelayMs };
    const conditional = call.op === "put" && call.mode !== "overwrite";
    const error =
      conditional && rKind < conflictFraction
        ? new ConflictError(`injected conflict: ${call.op} ${JSON.stringify(call.key)} (call #${call.seq})`, {
            key: call.key,
          })
        : injectedError(call);
    return {
      latencyMs,
      answerDelayMs,
      fault: { when: rAfter < afterFraction ? "after" : "before", error, crash: false },
    };
  }

  #record(record: RecordedCall): void {
    this.#calls.push(record);
    if (this.#calls.length > this.#maxRecorded) this.#calls.splice(0, this.#calls.length - this.#maxRecorded);
  }
}
