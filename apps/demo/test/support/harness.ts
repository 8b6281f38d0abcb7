/**
 * Test harness: a real server on 127.0.0.1 (port 0) over a given store, a
 * small HTTP client for it, stores for local-fs / S3 / memory, and a gated
 * store whose calls wait until released (for deterministic in-flight,
 * timeout, 429 and shutdown tests).
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFsStorage, S3Storage, type StorageProvider } from "@skerry/storage-providers";
import { pino } from "pino";
import type { RequestLimits } from "../../src/config.ts";
import { type SkerryServer, type StartServerOptions, startServer } from "../../src/server/server.ts";

export const ADMIN_KEY = "sk_test_admin_key_0123456789abcdef";

export interface TestStore {
  readonly storage: StorageProvider;
  cleanup(): Promise<void>;
}

export async function localFsStore(): Promise<TestStore> {
  const dir = await mkdtemp(join(tmpdir(), "skerry-demo-test-"));
  return { storage: new LocalFsStorage({ root: dir }), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function s3Store(): Promise<TestStore> {
  const prefix = `skerry-tests/demo-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
  const storage = S3Storage.fromEnv(process.env, { prefix });
  return {
    storage,
    cleanup: async () => {
      const keys: string[] = [];
      for await (const meta of storage.list("")) keys.push(meta.key);
      await Promise.all(keys.map((k) => storage.delete(k)));
      storage.close();
    },
  };
}

export async function startTestServer(
  storage: StorageProvider,
  limits: Partial<RequestLimits> = {},
  options: Pick<StartServerOptions, "compaction" | "stateDir"> = {},
): Promise<SkerryServer> {
  return startServer({ storage, port: 0, adminKey: ADMIN_KEY, limits, logger: pino({ level: "silent" }), ...options });
}

export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: answers are untyped JSON the tests index into
  body: any;
}

/** A tiny client: JSON in and out, the key as a bearer token. */
export class Client {
  constructor(
    readonly base: string,
    readonly key: string | undefined,
  ) {}

  withKey(key: string | undefined): Client {
    return new Client(this.base, key);
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const h: Record<string, string> = { ...headers };
    if (this.key !== undefined) h["authorization"] = `Bearer ${this.key}`;
    let payload: string | undefined;
    if (body !== undefined) {
      h["content-type"] ??= "application/json";
      payload = typeof body === "string" ? body : JSON.stringify(body);
    }
    const res = await fetch(`${this.base}${path}`, payload === undefined ? { method, headers: h } : { method, headers: h, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {}
    return { status: res.status, headers: res.headers, body: parsed };
  }

  get(path: string) {
    return this.request("GET", path);
  }
  post(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request("POST", path, body, headers);
  }
  put(path: string, body?: unknown) {
    return this.request("PUT", path, body);
  }
  delete(path: string) {
    return this.request("DELETE", path);
  }
}

export function nsUrl(org: string, project: string, ns?: string): string {
  return `/v1/orgs/${org}/projects/${project}/namespaces${ns === undefined ? "" : `/${ns}`}`;
}

/**
 * Wraps a store so every call waits while the gate is closed: requests
 * that touch storage stay in flight until `open()`.
 */
export class GatedStorage {
  #release: (() => void) | undefined;
  #gate: Promise<void> = Promise.resolve();
  /** Calls that are waiting at the gate now. */
  waiting = 0;
  readonly storage: StorageProvider;

  constructor(inner: StorageProvider) {
    const wait = async () => {
      this.waiting++;
      try {
        await this.#gate;
      } finally {
        this.waiting--;
      }
    };
    this.storage = new Proxy(inner, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        if (prop === "list") {
          return (...args: unknown[]) =>
            (async function* () {
              await wait();
              yield* (value as (...a: unknown[]) => AsyncIterable<unknown>).apply(target, args);
            })();
        }
        if (prop === "get" || prop === "put" || prop === "head" || prop === "delete") {
          return async (...args: unknown[]) => {
            await wait();
            return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
  }

  close(): void {
    if (this.#release !== undefined) return;
    this.#gate = new Promise((resolve) => (this.#release = resolve));
  }

  open(): void {
    this.#release?.();
    this.#release = undefined;
    this.#gate = Promise.resolve();
  }
}

export async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
