/**
 * Unauthenticated operational routes: liveness (/health), readiness
 * (/ready: bootstrapped, not shutting down, and the store answers),
 * Prometheus metrics (/metrics) and the OpenAPI document (/openapi.json).
 */
import { defineRoute, requires } from "../access.ts";
import type { App, AppDeps } from "../app-context.ts";
import { ApiError } from "../api-error.ts";
import { send } from "../respond.ts";
import { HealthSchema } from "../schemas.ts";
import { ERRORS } from "./common.ts";

const tags = ["operations"];

export function registerSystemRoutes(app: App, deps: AppDeps): void {
  app.openapi(
    defineRoute("public", {
      method: "get",
      path: "/health",
      tags,
      summary: "Liveness: the process serves HTTP",
      responses: { 200: { description: "Alive", content: { "application/json": { schema: HealthSchema } } } },
    }),
    (c) => send(c, HealthSchema, { status: "ok" }),
  );

  app.openapi(
    defineRoute("public", {
      method: "get",
      path: "/ready",
      tags,
      summary: "Readiness: started, not shutting down, and the object store answers",
      responses: { 200: { description: "Ready", content: { "application/json": { schema: HealthSchema } } }, 503: ERRORS[503] },
    }),
    async (c) => {
      if (!deps.lifecycle.ready || deps.lifecycle.shuttingDown) throw new ApiError("Unavailable", "not ready", undefined, 1);
      try {
        await deps.storage.head("_skerry/bootstrap.json", { signal: AbortSignal.timeout(2_000) });
      } catch {
        throw new ApiError("Unavailable", "the object store does not answer", undefined, 1);
      }
      return send(c, HealthSchema, { status: "ready" });
    },
  );

  app.get("/metrics", requires("public"), async (c) => {
    c.header("Content-Type", deps.metrics.registry.contentType);
    return c.body(await deps.metrics.registry.metrics());
  });
}
