/**
 * RoundTripRecorder: a StorageProvider wrapper for benchmarks that records
 * when each call started and ended, to count the sequential round trips of
 * an operation: the longest chain of calls each of which started after the
 * previous one in the chain had answered. Calls that overlap count once, so
 * with a latency added to every call the operation takes at least
 * `chain length x latency`.
 *
 * `latencyMs` delays every request before it reaches `inner` (a LIST once,
 * before its first page: the engine's LISTs read one page). Unlike
 * FaultInjectingStorage, whose LIST drains every page as one call, a LIST
 * here stops when the caller stops, as the providers' own LISTs do: a
 * manifest LIST with a page size of 1 over 100 manifests is one request to
 * S3, not 100.
 *
 *   const recorder = new RoundTripRecorder(storage);
 *   const mark = recorder.mark();
 *   await engine.query(...);             // through `recorder`
 *   recorder.chain(mark);                // [{ op: "list", key }, { op: "get", key }, ...]
 */
import type {
  CallOptions,
  GetOptions,
  GetResult,
  ListOptions,
  ObjectMeta,
  PutOptions,
  PutResult,
  StorageProvider,
} from "@skerry/storage-providers";

export interface RecordedRoundTrip {
  readonly op: "get" | "head" | "put" | "delete" | "list";
  readonly key: string;
  readonly start: number;
  end: number;
  /** Bytes a GET returned. */
  bytes: number;
}

export class RoundTripRecorder implements StorageProvider {
  readonly name: string;
  readonly #calls: RecordedRoundTrip[] = [];

  constructor(
    readonly inner: StorageProvider,
    readonly latencyMs = 0,
  ) {
    this.name = `recorded:${inner.name}`;
  }

  #delay(): Promise<void> | undefined {
    return this.latencyMs > 0 ? new Promise((resolve) => setTimeout(resolve, this.latencyMs)) : undefined;
  }

  /** Position in the call log: `chain(mark)` looks only at calls made after it. */
  mark(): number {
    return this.#calls.length;
  }

  /**
   * The longest chain of sequential calls among those started since `mark`
   * (each starts after the previous one answered), oldest first.
   */
  chain(mark = 0): RecordedRoundTrip[] {
    const calls = this.#calls.slice(mark).sort((a, b) => a.start - b.start);
    const depth: number[] = [];
    const previous: number[] = [];
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i] as RecordedRoundTrip;
      let best = 0;
      let from = -1;
      for (let j = 0; j < i; j++) {
        const before = calls[j] as RecordedRoundTrip;
        if (before.end <= call.start && (depth[j] as number) > best) {
          best = depth[j] as number;
          from = j;
        }
      }
      depth.push(best + 1);
      previous.push(from);
    }
    let last = -1;
    for (let i = 0; i < calls.length; i++) if (last < 0 || (depth[i] as number) > (depth[last] as number)) last = i;
    const out: RecordedRoundTrip[] = [];
    for (let i = last; i >= 0; i = previous[i] as number) out.push(calls[i] as RecordedRoundTrip);
    return out.reverse();
  }

  /** Calls started since `mark`. */
  calls(mark = 0): readonly RecordedRoundTrip[] {
    return this.#calls.slice(mark);
  }

  async #timed<T>(op: RecordedRoundTrip["op"], key: string, call: () => Promise<T>, size?: (result: T) => number): Promise<T> {
    const record: RecordedRoundTrip = { op, key, start: performance.now(), end: Number.POSITIVE_INFINITY, bytes: 0 };
    this.#calls.push(record);
    try {
      await this.#delay();
      const result = await call();
      if (size !== undefined) record.bytes = size(result);
      return result;
    } finally {
      record.end = performance.now();
    }
  }

  get(key: string, options?: GetOptions): Promise<GetResult> {
    return this.#timed("get", key, () => this.inner.get(key, options), (result) => result.bytes.byteLength);
  }

  head(key: string, options?: CallOptions): Promise<ObjectMeta | null> {
    return this.#timed("head", key, () => this.inner.head(key, options));
  }

  put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<PutResult> {
    return this.#timed("put", key, () => this.inner.put(key, bytes, options));
  }

  delete(key: string, options?: CallOptions): Promise<void> {
    return this.#timed("delete", key, () => this.inner.delete(key, options));
  }

  async *list(prefix: string, options?: ListOptions): AsyncIterable<ObjectMeta> {
    // Timed from the first page asked until the caller stops iterating (the engine's LISTs stop after one item).
    const record: RecordedRoundTrip = { op: "list", key: prefix, start: performance.now(), end: Number.POSITIVE_INFINITY, bytes: 0 };
    this.#calls.push(record);
    try {
      await this.#delay();
      yield* this.inner.list(prefix, options);
    } finally {
      record.end = performance.now();
    }
  }
}
