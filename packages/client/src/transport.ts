/**
 * One HTTP call of the API with everything around it: the bearer key, the
 * JSON body, the Idempotency-Key (the same on every attempt), the caller's
 * AbortSignal and per-call timeout (bounding the whole call, retries and
 * waits included), retries by the retry policy, and the answer turned into
 * its JSON or a SkerryError.
 */
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
  readonly baseUrl: string;
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
        let error: SkerryError;
        try {
          return await this.#attempt<T>(spec, call.signal);
        } catch (thrown) {
          if (call.signal.aborted) throw this.#aborted(call, last ?? thrown);
          if (!(thrown instanceof SkerryError)) throw thrown;
          error = thrown;
        }
        error.attempts = attempt;
        last = error;
        const delay = retryDelay(error, attempt - 1, spec.idempotent, s.retry, s.random);
        if (delay === undefined) throw error;
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

  async #attempt<T>(spec: RequestSpec, signal: AbortSignal): Promise<T> {
    const s = this.#settings;
    const headers: Record<string, string> = { accept: "application/json", ...s.headers };
    if (s.apiKey !== undefined) headers["authorization"] = `Bearer ${s.apiKey}`;
    if (spec.idempotencyKey !== undefined) headers["idempotency-key"] = spec.idempotencyKey;
    const init: RequestInit = { method: spec.method, headers, signal };
    if (spec.body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(spec.body);
    }
    let response: Response;
    try {
      response = await s.fetch(this.#url(spec), init);
    } catch (cause) {
      if (signal.aborted) throw cause;
      throw new SkerryError("NetworkError", `${spec.method} ${spec.path}: no answer (${describe(cause)})`, { cause });
    }
    const requestId = response.headers.get("x-request-id") ?? undefined;
    let text: string;
    try {
      text = await response.text();
    } catch (cause) {
      if (signal.aborted) throw cause;
      throw new SkerryError("NetworkError", `${spec.method} ${spec.path}: the answer was cut off (${describe(cause)})`, { cause, status: response.status, requestId });
    }
    if (response.ok) {
      if (response.status === 204 || text === "") return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch (cause) {
        throw new SkerryError("UnexpectedResponse", `${spec.method} ${spec.path}: HTTP ${response.status} with a body that is not JSON`, { cause, status: response.status, requestId });
      }
    }
    throw errorOf(spec, response, text, requestId, s.now());
  }

  #url(spec: RequestSpec): string {
    let url = `${this.#settings.baseUrl}${spec.path}`;
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
