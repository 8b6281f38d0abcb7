/**
 * Request guards, in the order they run on /v1 routes:
 * 1. `shutdownGate`: 503 ShuttingDown once graceful shutdown began;
 * 2. `serverLimit`: at most `maxInFlight` /v1 requests in the whole server
 *    (every key together, the response body's streaming included), else
 *    503 Overloaded with Retry-After;
 * 3. `authenticate`: `Authorization: Bearer <key>` (or `X-Api-Key`) -> the
 *    principal, else 401 Unauthorized;
 * 4. `concurrencyLimit`: at most `maxInFlightPerKey` requests of one key
 *    at a time, else 429 TooManyRequests with Retry-After;
 * 5. `requestTimeout`: 503 Timeout after `requestTimeoutMs` (a write may
 *    still commit: the message says to retry with the same Idempotency-Key);
 * 6. `sizeLimit` (hono's bodyLimit): 413 PayloadTooLarge;
 * 7. `jsonDepthLimit`: a JSON body nested deeper than MAX_JSON_DEPTH is
 *    400 JsonTooDeep before anything recursive (zod, the engine) sees it;
 *    a body with integers beyond 2^53-1 (uint ids) is parsed here,
 *    losslessly (lossless-json.ts), for the route's validator;
 * 8. `authorize` (access.ts), after routing: the access the matched route
 *    declares (403 Forbidden).
 * A body of another media type than a route declares is 415
 * UnsupportedMediaType (the route's validator; api-error.ts maps it).
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError } from "./api-error.ts";
import type { AppDeps, AppEnv } from "./app-context.ts";
import { jsonDepthExceeds, MAX_JSON_DEPTH } from "./json-depth.ts";
import { hasLongInteger, parseJson } from "./lossless-json.ts";
import { bodyDone } from "./respond.ts";

type Guard = MiddlewareHandler<AppEnv>;

export function shutdownGate(deps: AppDeps): Guard {
  return async (c, next) => {
    if (deps.lifecycle.shuttingDown) {
      c.header("Connection", "close");
      throw new ApiError("ShuttingDown", "the server is shutting down; retry on another instance", undefined, 1);
    }
    await next();
  };
}

/**
 * The server-wide bound on /v1 requests in flight (every key together):
 * a slot is held until the answer's body is fully produced, so large
 * streamed answers count for as long as they stream.
 */
export function serverLimit(deps: AppDeps): Guard {
  let inFlight = 0;
  return async (c, next) => {
    if (inFlight >= deps.limits.maxInFlight) {
      deps.metrics.rejected.inc({ reason: "overloaded" });
      throw new ApiError("Overloaded", `the server already has ${inFlight} requests in flight (limit ${deps.limits.maxInFlight}); retry shortly`, undefined, 1);
    }
    inFlight++;
    let release = true;
    try {
      await next();
      const done = bodyDone(c.res.body);
      if (done !== undefined) {
        release = false;
        void done.finally(() => inFlight--);
      }
    } finally {
      if (release) inFlight--;
    }
  };
}

export function authenticate(deps: AppDeps): Guard {
  return async (c, next) => {
    const header = c.req.header("authorization");
    const key = header?.startsWith("Bearer ") ? header.slice(7).trim() : c.req.header("x-api-key");
    if (key === undefined || key === "") {
      deps.metrics.rejected.inc({ reason: "unauthorized" });
      throw new ApiError("Unauthorized", "missing API key: send `Authorization: Bearer <key>`");
    }
    const principal = key.length > 200 ? undefined : await deps.keys.authenticate(key);
    if (principal === undefined) {
      deps.metrics.rejected.inc({ reason: "unauthorized" });
      throw new ApiError("Unauthorized", "unknown or revoked API key");
    }
    c.set("principal", principal);
    await next();
  };
}

export function concurrencyLimit(deps: AppDeps): Guard {
  const inFlight = new Map<string, number>();
  return async (c, next) => {
    const id = c.get("principal").keyId;
    const current = inFlight.get(id) ?? 0;
    if (current >= deps.limits.maxInFlightPerKey) {
      deps.metrics.rejected.inc({ reason: "rate_limited" });
      throw new ApiError("TooManyRequests", `this API key already has ${current} requests in flight (limit ${deps.limits.maxInFlightPerKey})`, undefined, 1);
    }
    inFlight.set(id, current + 1);
    try {
      await next();
    } finally {
      const left = (inFlight.get(id) ?? 1) - 1;
      if (left === 0) inFlight.delete(id);
      else inFlight.set(id, left);
    }
  };
}

export function requestTimeout(deps: AppDeps): Guard {
  return async (c, next) => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        deps.metrics.rejected.inc({ reason: "timeout" });
        const write = c.req.method !== "GET";
        reject(
          new ApiError(
            "Timeout",
            `the request took longer than ${deps.limits.requestTimeoutMs} ms${write ? "; a write may still commit: retry it with the same Idempotency-Key" : ""}`,
            undefined,
            1,
          ),
        );
      }, deps.limits.requestTimeoutMs);
    });
    try {
      await Promise.race([next(), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Reads and discards up to `max` bytes of a body, so the client sees our answer instead of a reset. */
async function discard(body: ReadableStream<Uint8Array> | null, max: number): Promise<boolean> {
  if (body === null) return true;
  const reader = body.getReader();
  let seen = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return true;
    seen += value.byteLength;
    if (seen > max) {
      await reader.cancel().catch(() => {});
      return false;
    }
  }
}

export function sizeLimit(deps: AppDeps): Guard {
  const tooLarge = () => {
    deps.metrics.rejected.inc({ reason: "too_large" });
    return new ApiError("PayloadTooLarge", `request body larger than ${deps.limits.bodyBytes} bytes`);
  };
  // Bodies without a length (chunked) are counted as they stream.
  const streaming = bodyLimit({
    maxSize: deps.limits.bodyBytes,
    onError: (c) => {
      c.header("Connection", "close");
      throw tooLarge();
    },
  });
  return async (c, next) => {
    const declared = Number(c.req.header("content-length") ?? Number.NaN);
    if (declared > deps.limits.bodyBytes) {
      // Drain a bounded amount first: answering mid-upload makes most clients see a reset, not the 413.
      const drained = declared <= 4 * deps.limits.bodyBytes && (await discard(c.req.raw.body, 4 * deps.limits.bodyBytes));
      if (!drained) c.header("Connection", "close");
      throw tooLarge();
    }
    return streaming(c, next);
  };
}

const JSON_MEDIA = /^application\/([\w.-]+\+)?json$/i;

/**
 * Bounds the nesting of a JSON body before it is parsed into values that
 * recursive code (zod's validation, the engine's checks) walks: one linear
 * scan of the text, no recursion, so a body nested 100,000 levels deep is a
 * 400 JsonTooDeep, never a stack overflow. Other media types pass (the
 * route's validator answers 415 where it expects JSON).
 */
export function jsonDepthLimit(): Guard {
  return async (c, next) => {
    const type = c.req.header("content-type");
    const encoding = c.req.header("content-encoding");
    // A compressed body (turbopuffer clients' gzip) is bounded by the route that decompresses it.
    const plain = encoding === undefined || encoding === "" || encoding.toLowerCase() === "identity";
    if (plain && type !== undefined && JSON_MEDIA.test(type.split(";")[0]!.trim()) && c.req.raw.body !== null) {
      const text = await c.req.text(); // cached: the route's validator parses the same text
      if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
        throw new ApiError("JsonTooDeep", `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`, { maxDepth: MAX_JSON_DEPTH });
      }
      if (hasLongInteger(text)) {
        let parsed: unknown;
        try {
          parsed = parseJson(text);
        } catch {
          parsed = undefined; // not JSON: the validator's own parse answers it
        }
        // `c.req.json()` (what the route's validator reads) answers this parse instead of JSON.parse's.
        if (parsed !== undefined) Object.defineProperty(c.req, "json", { value: () => Promise.resolve(parsed), configurable: true });
      }
    }
    await next();
  };
}
