/**
 * SkerryClient: the entry point. Holds the server's URL, the API key and
 * the call settings (retries, timeout, fetch), and hands out handles:
 * `project(org, project)` and `namespace(org, project, name)`; the
 * server-wide routes (keys, stats, health) are methods here.
 *
 * It uses the global `fetch` (Node 20+, browsers, Deno, Bun, edge
 * runtimes) and nothing Node-specific. Node's fetch keeps connections alive
 * and reuses them across calls by default, so one client per process (or
 * per key) is all you need; there is nothing to close.
 *
 * Several base URLs (the balancers of one fleet) make the client fail
 * over between them: see BaseUrls and the README's Failover section.
 */
import type { EngineStats } from "./api-types.ts";
import { BaseUrls } from "./base-urls.ts";
import { randomIdempotencyKey } from "./idempotency-key.ts";
import type { Attributes } from "./json.ts";
import { Keys } from "./keys.ts";
import { Namespace } from "./namespace.ts";
import { Project } from "./project.ts";
import { type RetryOptions, retryOptions } from "./retry-policy.ts";
import { type CallOptions, defaultSleep, type FetchFunction, type SleepFunction, Transport } from "./transport.ts";

export interface SkerryClientOptions {
  /**
   * The server, e.g. `http://127.0.0.1:7700` (a path prefix is kept:
   * `https://host/skerry`); or several URLs of one fleet (its balancers),
   * failed over in order: a call that gets no answer from one, or a
   * balancer's 502/503/504 page, goes to the next (README, Failover).
   */
  readonly baseUrl: string | readonly string[];
  /** How long a URL that failed is passed over while another is not (default 5,000 ms; see BaseUrls). */
  readonly failoverCooldownMs?: number;
  /**
   * Bounds each attempt (sending, the answer's headers and body): past it
   * the attempt is a NetworkError, counted against its URL and retried as
   * one (next URL first). None by default: a balancer that accepts
   * connections but never answers then holds a call until its `timeoutMs`.
   */
  readonly attemptTimeoutMs?: number;
  /** An API key (`sk_...`), sent as `Authorization: Bearer`. Optional for the public routes only. */
  readonly apiKey?: string;
  /** Retries of failed calls (see RetryOptions); `{ maxRetries: 0 }` turns them off. */
  readonly retry?: RetryOptions;
  /** Default bound of every call, retries included (a call's own `timeoutMs` overrides it); none by default. */
  readonly timeoutMs?: number;
  /** Extra headers on every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Default: the global fetch. */
  readonly fetch?: FetchFunction;
  /** Idempotency keys for writes by id; default a random UUID (Web Crypto). */
  readonly idempotencyKey?: () => string;
  /** Jitter source in [0, 1); default Math.random (inject for tests). */
  readonly random?: () => number;
  /** The wait between retries; default setTimeout (inject for tests). */
  readonly sleep?: SleepFunction;
  /** Clock for Retry-After dates; default Date.now. */
  readonly now?: () => number;
}

export class SkerryClient {
  readonly #transport: Transport;
  readonly #newKey: () => string;
  readonly keys: Keys;

  constructor(options: SkerryClientOptions) {
    const given = typeof options.baseUrl === "string" ? [options.baseUrl] : [...options.baseUrl];
    if (given.length === 0) throw new TypeError("baseUrl must name at least one URL");
    const urls = given.map(normalizeBaseUrl);
    const duplicate = urls.find((u, i) => urls.indexOf(u) !== i);
    if (duplicate !== undefined) throw new TypeError(`baseUrl names ${duplicate} twice`);
    positive("timeoutMs", options.timeoutMs);
    positive("attemptTimeoutMs", options.attemptTimeoutMs);
    const cooldownMs = options.failoverCooldownMs ?? 5_000;
    if (!Number.isFinite(cooldownMs) || cooldownMs < 0) throw new RangeError(`failoverCooldownMs must be a finite number >= 0, got ${cooldownMs}`);
    const fetchFn = options.fetch ?? ((input: string, init: RequestInit) => globalThis.fetch(input, init));
    this.#newKey = options.idempotencyKey ?? randomIdempotencyKey;
    this.#transport = new Transport({
      baseUrls: new BaseUrls(urls, cooldownMs),
      attemptTimeoutMs: options.attemptTimeoutMs,
      apiKey: options.apiKey,
      headers: { ...options.headers },
      fetch: fetchFn,
      retry: retryOptions(options.retry),
      timeoutMs: options.timeoutMs,
      random: options.random ?? Math.random,
      sleep: options.sleep ?? defaultSleep,
      now: options.now ?? Date.now,
    });
    this.keys = new Keys(this.#transport);
  }

  /** The routes of one org/project (nothing is sent). */
  project(org: string, project: string): Project {
    return new Project(this.#transport, this.#newKey, org, project);
  }

  /** A handle on `org/project/name` (nothing is sent); `A` types its documents' attributes. */
  namespace<A = Attributes>(org: string, project: string, name: string): Namespace<A> {
    return new Namespace<A>(this.#transport, this.#newKey, org, project, name);
  }

  /** The engine's counters (admin key). */
  stats(options: CallOptions = {}): Promise<EngineStats> {
    return this.#transport.request({ method: "GET", path: "/v1/stats", idempotent: true }, options);
  }

  /** Liveness (no key needed). */
  health(options: CallOptions = {}): Promise<{ status: string }> {
    return this.#transport.request({ method: "GET", path: "/health", idempotent: true }, options);
  }

  /** Readiness: started, not shutting down, the store answers (no key needed; SkerryError `Unavailable` when not ready, after retries). */
  ready(options: CallOptions = {}): Promise<{ status: string }> {
    return this.#transport.request({ method: "GET", path: "/ready", idempotent: true }, options);
  }
}

function normalizeBaseUrl(given: string): string {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new TypeError(`baseUrl must be an absolute http(s) URL, got ${JSON.stringify(given)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError(`baseUrl must be http or https, got ${url.protocol}`);
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

function positive(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isFinite(value) || value <= 0)) throw new RangeError(`${name} must be a positive number, got ${value}`);
}
