/**
 * One HTTP call of the API with everything around it: the bearer key, the
 * JSON body, the Idempotency-Key (the same on every attempt), the caller's
 * AbortSignal and per-call timeout (bounding the whole call, retries and
 * waits included), the per-attempt timeout, retries by the retry policy,
 * failover across several base URLs (BaseUrls), and the answer turned into
 * its JSON or a SkerryError.
 */
import { hasBigInt, parseExact, stringifyExact } from "./exact-json.ts";
import type { BaseUrls } from "./base-urls.ts";
import { neverSent } from "./connect-failure.ts";
import { parseRetryAfter, type RetryOptions, retryDelay } from "./retry-policy.ts";
import { SkerryError } from "./skerry-error.ts";

/** The `fetch` the client calls: the global one, or any compatible function (a test's fake, a proxy-aware one). */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** Waits `ms`, rejecting with the signal's reason when it aborts first. */
export type SleepFunction = (ms: number, signal: AbortSignal) => Promise<void>;

export interface CallOptions {
  /** Aborts the call (the request in flight and any wait before a retry); it rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** Bounds the whole call, retries included; then it rejects with SkerryError `RequestTimeout`. Overrides the client's `timeoutMs`. */
  readonly timeoutMs?: number | undefined;
}

export interface RequestSpec {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path below the base URL, already encoded. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  readonly idempotencyKey?: string;
  /** Sending it twice has the effect of sending it once (reads; keyed writes). */
  readonly idempotent: boolean;
}

export interface TransportSettings {
  readonly baseUrls: BaseUrls;
  /** Bounds one attempt (a NetworkError then, counted against the URL); undefined: no bound but the call's. */
  readonly attemptTimeoutMs: number | undefined;
  readonly apiKey: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly fetch: FetchFunction;
  readonly retry: Required<RetryOptions>;
  readonly timeoutMs: number | undefined;
  readonly random: () => number;
  readonly sleep: SleepFunction;
  readonly now: () => number;
}

export const defaultSleep: SleepFunction = (ms, signal) =>
  new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });

/** The caller's signal and the call's timeout as one signal; `timedOut` tells which fired. */
class CallSignal {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #caller: AbortSignal | undefined;
  readonly #onAbort = () => this.#controller.abort(this.#caller?.reason);
  timedOut = false;

  constructor(caller: AbortSignal | undefined, timeoutMs: number | undefined) {
    this.#caller = caller;
    if (caller !== undefined) {
      if (caller.aborted) this.#controller.abort(caller.reason);
      else caller.addEventListener("abort", this.#onAbort, { once: true });
    }
    if (timeoutMs !== undefined && !this.#controller.signal.aborted) {
      this.#timer = setTimeout(() => {
        this.timedOut = true;
        this.#controller.abort(new SkerryError("RequestTimeout", `the call did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#caller?.removeEventListener("abort", this.#onAbort);
  }
}

/** A failed attempt: the error, whether the URL is to blame (no answer, a balancer's 502/503/504 page), whether the request certainly never left. */
class AttemptFailure {
  constructor(
    readonly error: SkerryError,
    readonly ofUrl: boolean,
    readonly neverSent: boolean,
  ) {}
}

/** The call's signal and the attempt's timeout as one signal. */
class AttemptSignal {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #call: AbortSignal;
  readonly #onAbort = () => this.#controller.abort(this.#call.reason);
  timedOut = false;

  constructor(call: AbortSignal, timeoutMs: number | undefined) {
    this.#call = call;
    if (call.aborted) this.#controller.abort(call.reason);
    else call.addEventListener("abort", this.#onAbort, { once: true });
    if (timeoutMs !== undefined && !call.aborted) {
      this.#timer = setTimeout(() => {
        this.timedOut = true;
        this.#controller.abort(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#call.removeEventListener("abort", this.#onAbort);
  }
}

export class Transport {
  readonly #settings: TransportSettings;

  constructor(settings: TransportSettings) {
    this.#settings = settings;
  }

  /** Sends the request (retrying as the policy allows) and answers its parsed JSON (undefined for 204). */
  async request<T>(spec: RequestSpec, options: CallOptions = {}): Promise<T> {
    const s = this.#settings;
    const timeoutMs = options.timeoutMs ?? s.timeoutMs;
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)) throw new RangeError(`timeoutMs must be a positive number, got ${timeoutMs}`);
    const call = new CallSignal(options.signal, timeoutMs);
    let last: SkerryError | undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        const urls = s.baseUrls;
        const index = urls.pick(s.now());
        let failure: AttemptFailure;
        try {
          return await this.#attempt<T>(spec, call.signal, index);
        } catch (thrown) {
          if (call.signal.aborted) throw this.#aborted(call, last ?? (thrown instanceof AttemptFailure ? thrown.error : thrown));
          if (!(thrown instanceof AttemptFailure)) throw thrown;
          failure = thrown;
        }
        const error = failure.error;
        error.attempts = attempt;
        last = error;
        // A request that never left is as safe to send again as an idempotent one.
        let delay = retryDelay(error, attempt - 1, spec.idempotent || failure.neverSent, s.retry, s.random);
        if (failure.ofUrl) {
          const now = s.now();
          urls.failed(index, now);
          // Another URL is not to blame: go there at once.
          if (delay !== undefined && urls.hasOther(index, now)) delay = 0;
        }
        if (delay === undefined) throw error;
        if (delay === 0) continue;
        try {
          await s.sleep(delay, call.signal);
        } catch (thrown) {
          if (call.signal.aborted) throw this.#aborted(call, error);
          throw thrown;
        }
      }
    } finally {
      call.dispose();
    }
  }

  #aborted(call: CallSignal, cause: unknown): unknown {
    if (!call.timedOut) return call.signal.reason;
    const timeout = call.signal.reason as SkerryError;
    return new SkerryError("RequestTimeout", timeout.message, { cause, attempts: cause instanceof SkerryError ? cause.attempts : 1 });
  }

  async #attempt<T>(spec: RequestSpec, callSignal: AbortSignal, index: number): Promise<T> {
    const s = this.#settings;
    const attempt = new AttemptSignal(callSignal, s.attemptTimeoutMs);
    try {
      return await this.#send<T>(spec, attempt, index);
    } finally {
      attempt.dispose();
    }
  }

  async #send<T>(spec: RequestSpec, attempt: AttemptSignal, index: number): Promise<T> {
    const s = this.#settings;
    const signal = attempt.signal;
    const headers: Record<string, string> = { accept: "application/json", ...s.headers };
    if (s.apiKey !== undefined) headers["authorization"] = `Bearer ${s.apiKey}`;
    if (spec.idempotencyKey !== undefined) headers["idempotency-key"] = spec.idempotencyKey;
    const init: RequestInit = { method: spec.method, headers, signal };
    if (spec.body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = hasBigInt(spec.body) ? stringifyExact(spec.body) : JSON.stringify(spec.body);
    }
    const base = s.baseUrls.urls[index] as string;
    const where = s.baseUrls.urls.length > 1 ? ` at ${base}` : "";
    let response: Response;
    try {
      response = await s.fetch(this.#url(base, spec), init);
    } catch (cause) {
      if (signal.aborted && !attempt.timedOut) throw cause;
      const reason = attempt.timedOut ? (signal.reason as Error).message : describe(cause);
      const never = !attempt.timedOut && neverSent(cause);
      const message = `${spec.method} ${spec.path}${where}: no answer (${reason})${never ? "; the request was not sent" : ""}`;
      throw new AttemptFailure(new SkerryError("NetworkError", message, { cause }), true, never);
    }
    const requestId = response.headers.get("x-request-id") ?? undefined;
    let text: string;
    try {
      text = await response.text();
    } catch (cause) {
      if (signal.aborted && !attempt.timedOut) throw cause;
      const reason = attempt.timedOut ? (signal.reason as Error).message : describe(cause);
      const error = new SkerryError("NetworkError", `${spec.method} ${spec.path}${where}: the answer was cut off (${reason})`, { cause, status: response.status, requestId });
      throw new AttemptFailure(error, true, false);
    }
    if (response.ok) {
      if (response.status === 204 || text === "") return undefined as T;
      try {
        return parseExact(text) as T;
      } catch (cause) {
        const error = new SkerryError("UnexpectedResponse", `${spec.method} ${spec.path}: HTTP ${response.status} with a body that is not JSON`, { cause, status: response.status, requestId });
        throw new AttemptFailure(error, false, false);
      }
    }
    const error = errorOf(spec, response, text, requestId, s.now());
    // Skerry's own errors are the server's answer; a 502/503/504 page that is not is the balancer's (or a proxy's).
    const ofUrl = error.code === "UnexpectedResponse" && (error.status === 502 || error.status === 503 || error.status === 504);
    throw new AttemptFailure(error, ofUrl, false);
  }

  #url(base: string, spec: RequestSpec): string {
    let url = `${base}${spec.path}`;
    const params = Object.entries(spec.query ?? {}).filter((e): e is [string, string | number] => e[1] !== undefined);
    if (params.length > 0) url += `?${new URLSearchParams(params.map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
    return url;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}

function errorOf(spec: RequestSpec, response: Response, text: string, requestId: string | undefined, now: number): SkerryError {
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), now);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {}
  const error = typeof body === "object" && body !== null ? (body as { error?: unknown }).error : undefined;
  if (typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string") {
    const { code, message, details } = error as { code: string; message?: unknown; details?: unknown };
    return new SkerryError(code as SkerryError["code"], typeof message === "string" ? message : code, {
      status: response.status,
      details: typeof details === "object" && details !== null && !Array.isArray(details) ? (details as Record<string, unknown>) : undefined,
      retryAfterMs,
      requestId,
    });
  }
  const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return new SkerryError("UnexpectedResponse", `${spec.method} ${spec.path}: HTTP ${response.status} ${response.statusText}${excerpt === "" ? "" : `: ${excerpt}`}`, {
    status: response.status,
    retryAfterMs,
    requestId,
  });
}
