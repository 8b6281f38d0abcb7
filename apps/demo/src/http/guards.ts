/**
 * Request guards, in the order they run on /v1 routes:
 * 1. `shutdownGate`: 503 ShuttingDown once graceful shutdown began;
 * 2. `authenticate`: `Authorization: Bearer <key>` (or `X-Api-Key`) -> the
 *    principal, else 401 Unauthorized;
 * 3. `concurrencyLimit`: at most `maxInFlightPerKey` requests of one key
 *    at a time, else 429 TooManyRequests with Retry-After;
 * 4. `requestTimeout`: 503 Timeout after `requestTimeoutMs` (a write may
 *    still commit: the message says to retry with the same Idempotency-Key);
 * 5. `bodyLimit` (hono): 413 PayloadTooLarge;
 * 6. `projectScope` on /v1/orgs/:org/projects/:project/*: a project key
 *    may only touch its own project (403 Forbidden), and only write with
 *    role "write";
 * 7. `adminOnly` on key management, project repair and engine stats
 *    (operations that span projects).
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { allows } from "../auth/api-keys.ts";
import { ApiError } from "./api-error.ts";
import type { AppDeps, AppEnv } from "./app-context.ts";

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

export function projectScope(deps: AppDeps): Guard {
  return async (c, next) => {
    const org = c.req.param("org") ?? "";
    const project = c.req.param("project") ?? "";
    const action = c.req.method === "GET" || c.req.path.endsWith("/query") || c.req.path.endsWith("/documents/get") ? "read" : "write"; // maintenance (compact, recover, gc, wal/gc, pin, warm, branch, copy) needs "write"
    const principal = c.get("principal");
    if (!allows(principal, org, project, action)) {
      deps.metrics.rejected.inc({ reason: "forbidden" });
      const own = principal.org === org && principal.project === project;
      throw new ApiError("Forbidden", own ? "this API key may only read" : "this API key is not scoped to this organization and project");
    }
    await next();
  };
}

export function adminOnly(deps: AppDeps, what = "manage API keys"): Guard {
  return async (c, next) => {
    if (c.get("principal").role !== "admin") {
      deps.metrics.rejected.inc({ reason: "forbidden" });
      throw new ApiError("Forbidden", `only an admin key may ${what}`);
    }
    await next();
  };
}
