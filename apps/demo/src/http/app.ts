/**
 * The HTTP application: middleware order, routes, the OpenAPI document,
 * and the single error handler.
 *
 * Order: observe (request id, metrics, log) -> shutdown gate -> on /v1 and /v2:
 * server-wide in-flight bound -> authenticate -> per-key concurrency ->
 * timeout -> body limit -> JSON depth bound -> authorize (the access the
 * matched route declares, access.ts; every route declares one) -> zod
 * validation (415 for a body that is not JSON) -> handler. The web console (/console, static files) sits beside the API
 * and needs no key to load. `/v1/namespaces...` and `/v2/namespaces...` are the
 * turbopuffer-compatible routes (routes/turbopuffer), answering errors in turbopuffer's shape.
 * Every failure, thrown anywhere, goes through `mapError` (api-error.ts): a stable code, a
 * message, the right status, no stack.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { ApiError, mapError } from "./api-error.ts";
import type { App, AppDeps, AppEnv } from "./app-context.ts";
import { authorize, requires } from "./access.ts";
import { authenticate, concurrencyLimit, jsonDepthLimit, requestTimeout, serverLimit, shutdownGate, sizeLimit } from "./guards.ts";
import { observe } from "./observe.ts";
import { TextRankingSchema } from "./query-grammar.ts";
import { CONSOLE_PATH, registerConsoleRoutes } from "./routes/console-routes.ts";
import { registerDocumentRoutes } from "./routes/document-routes.ts";
import { registerKeyRoutes } from "./routes/key-routes.ts";
import { registerNamespaceRoutes } from "./routes/namespace-routes.ts";
import { registerOperationRoutes } from "./routes/operation-routes.ts";
import { registerQueryRoutes } from "./routes/query-routes.ts";
import { registerSharingRoutes } from "./routes/sharing-routes.ts";
import { registerSystemRoutes } from "./routes/system-routes.ts";
import { isTurbopufferPath, turbopufferError } from "./routes/turbopuffer/tpuf-error.ts";
import { registerTurbopufferRoutes } from "./routes/turbopuffer/turbopuffer-routes.ts";

export const OPENAPI_PATH = "/openapi.json";

function issuesMessage(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.length === 0 ? "(root)" : i.path.map(String).join(".")}: ${i.message}`)
    .join("; ");
}

export function createApp(deps: AppDeps): App {
  const app: App = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const issues = result.error.issues;
        throw new ApiError("InvalidArgument", `invalid ${result.target}: ${issuesMessage(issues)}`, {
          target: result.target,
          issues: issues.slice(0, 20).map((i) => ({ path: i.path.map(String), message: i.message })),
        });
      }
    },
  });

  app.use("*", observe(deps));
  app.use("*", shutdownGate(deps));
  // /v2: the turbopuffer-compatible routes (routes/turbopuffer), behind the same guards (one in-flight bound for both).
  const guards = [serverLimit(deps), authenticate(deps), concurrencyLimit(deps), requestTimeout(deps), sizeLimit(deps), jsonDepthLimit()] as const;
  app.use("/v1/*", ...guards);
  app.use("/v2/*", ...guards);
  // After routing, for every route: the access the matched route declares (access.ts).
  app.use("*", authorize(deps));

  // Referenced from RankBy's description of the grammar only, so registered here.
  app.openAPIRegistry.register("TextRanking", TextRankingSchema);
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer", description: "An API key: sk_..." });
  registerSystemRoutes(app, deps);
  registerKeyRoutes(app, deps);
  registerNamespaceRoutes(app, deps);
  registerDocumentRoutes(app, deps);
  registerQueryRoutes(app, deps);
  registerOperationRoutes(app, deps);
  registerSharingRoutes(app, deps);
  registerTurbopufferRoutes(app, deps);
  registerConsoleRoutes(app);
  const document = {
    openapi: "3.0.3",
    info: {
      title: "Skerry API",
      version: "0.1.0",
      description:
        "Namespaces, documents and queries over object storage. Errors: { error: { code, message, details? } }. Each operation's `x-skerry-access` is the key it needs: public (none), read (a key of the project), write (a write key of the project) or admin.",
    },
  };
  app.get(OPENAPI_PATH, requires("public"), (c) => c.json(app.getOpenAPIDocument(document)));
  app.get("/", requires("public"), (c) =>
    c.json({ name: "skerry", console: CONSOLE_PATH, openapi: OPENAPI_PATH, health: "/health", ready: "/ready", metrics: "/metrics", api: "/v1/orgs/{org}/projects/{project}/namespaces" }),
  );

  app.notFound(() => {
    throw new ApiError("NotFound", "no such route; see /openapi.json");
  });
  app.onError((error, c) => {
    const mapped = mapError(error);
    if (mapped.unexpected) deps.logger.error({ err: error, requestId: c.get("requestId") }, "request error");
    for (const [name, value] of Object.entries(mapped.headers)) c.header(name, value);
    if (isTurbopufferPath(c.req.path)) {
      const tpuf = turbopufferError(mapped);
      return c.json(tpuf.body, tpuf.status as 400);
    }
    return c.json(mapped.body, mapped.status as 400);
  });
  return app;
}
