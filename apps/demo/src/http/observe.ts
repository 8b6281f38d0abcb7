/**
 * The outermost middleware: a request id (echoed as X-Request-Id), the
 * in-flight count graceful shutdown waits on, the latency histogram by
 * route pattern, and one structured log line per request.
 */
import { randomUUID } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { AppDeps, AppEnv } from "./app-context.ts";

function routeOf(c: Parameters<MiddlewareHandler>[0]): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i]!;
    if (r.method !== "ALL") return r.path;
  }
  return "unmatched";
}

export function observe(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = process.hrtime.bigint();
    const requestId = randomUUID();
    c.set("requestId", requestId);
    deps.lifecycle.inFlight++;
    deps.metrics.inFlight.inc();
    try {
      await next();
    } finally {
      deps.lifecycle.inFlight--;
      deps.metrics.inFlight.dec();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeOf(c);
      const status = c.res.status;
      c.res.headers.set("X-Request-Id", requestId);
      deps.metrics.requestDuration.observe({ method: c.req.method, route, status: String(status) }, seconds);
      const principal = c.get("principal");
      const fields = { requestId, method: c.req.method, route, status, ms: Math.round(seconds * 1e4) / 10, keyId: principal?.keyId };
      if (status >= 500) deps.logger.warn(fields, "request failed");
      else deps.logger.info(fields, "request");
    }
  };
}
