/**
 * ProcessGate: the innermost per-process wrapper, between a simulated
 * process's FaultInjectingStorage and the shared store.
 *
 * - counts calls inside the real provider (the scheduler settles only when
 *   none is in flight), and reports activity to the scheduler;
 * - models process death: once `kill()`ed, every call fails with
 *   Unavailable before reaching the store, including calls that were asleep
 *   in injected latency when the process died (FaultInjectingStorage's own
 *   crash mode only stops calls that start after the crash). A call already
 *   inside the store completes, as a request already sent would.
 */
import {
  type CallOptions,
  type GetOptions,
  type GetResult,
  type ListOptions,
  type ObjectMeta,
  type PutOptions,
  type PutResult,
  type StorageProvider,
  UnavailableError,
} from "@skerry/storage-providers";
import type { SimScheduler } from "./sim-scheduler.ts";

export class ProcessGate implements StorageProvider {
  readonly name: string;
  readonly #inner: StorageProvider;
  readonly #scheduler: SimScheduler;
  #dead = false;

  constructor(inner: StorageProvider, scheduler: SimScheduler, name: string) {
    this.#inner = inner;
    this.#scheduler = scheduler;
    this.name = `gate(${name})`;
  }

  get dead(): boolean {
    return this.#dead;
  }

  kill(): void {
    this.#dead = true;
  }

  async #run<T>(key: string, call: () => Promise<T>): Promise<T> {
    if (this.#dead) throw new UnavailableError(`process is dead: ${JSON.stringify(key)}`, { key });
    const s = this.#scheduler;
    s.inflight++;
    s.activity++;
    try {
      return await call();
    } finally {
      s.inflight--;
      s.activity++;
    }
  }

  get(key: string, options?: GetOptions): Promise<GetResult> {
    return this.#run(key, () => this.#inner.get(key, options));
  }

  head(key: string, options?: CallOptions): Promise<ObjectMeta | null> {
    return this.#run(key, () => this.#inner.head(key, options));
  }

  put(key: string, bytes: Uint8Array, options?: PutOptions): Promise<PutResult> {
    return this.#run(key, () => this.#inner.put(key, bytes, options));
  }

  delete(key: string, options?: CallOptions): Promise<void> {
    return this.#run(key, () => this.#inner.delete(key, options));
  }

  async *list(prefix: string, options?: ListOptions): AsyncIterable<ObjectMeta> {
    // Collected whole inside one counted call, so the listing is one step.
    const items = await this.#run(prefix, async () => {
      const out: ObjectMeta[] = [];
      for await (const meta of this.#inner.list(prefix, options)) out.push(meta);
      return out;
    });
    for (const meta of items) yield meta;
  }
}
