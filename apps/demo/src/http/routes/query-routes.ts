/**
 * The query route: filters, dense and sparse vectors, BM25 full text,
 * hybrid (RRF), ordering and aggregations, answered by the engine
 * (`engine.query`: compacted segments' stored indexes loaded lazily, only
 * the log tail folded) at the version the request's `consistency` /
 * `atVersion` resolve to. The request is validated in full by the query
 * module's own parser (400 InvalidQuery naming every problem's path).
 */
import { createRoute } from "@hono/zod-openapi";
import type { App, AppDeps } from "../app-context.ts";
import { send } from "../respond.ts";
import { NamespaceParams, QueryBody, QueryResultSchema } from "../schemas.ts";
import { ERRORS, NS_BASE, nsPath, SECURITY } from "./common.ts";

export function registerQueryRoutes(app: App, { engine }: AppDeps): void {
  app.openapi(
    createRoute({
      method: "post",
      path: `${NS_BASE}/{namespace}/query`,
      tags: ["query"],
      summary: "Query a namespace (filters, vector, sparse, BM25, hybrid RRF, order, aggregations)",
      security: SECURITY,
      request: { params: NamespaceParams, body: { required: true, content: { "application/json": { schema: QueryBody } } } },
      responses: {
        200: { description: "Rows, best first", content: { "application/json": { schema: QueryResultSchema } } },
        400: ERRORS[400],
        401: ERRORS[401],
        403: ERRORS[403],
        404: ERRORS[404],
        429: ERRORS[429],
        503: ERRORS[503],
      },
    }),
    async (c) => {
      const answer = await engine.query(nsPath(c.req.valid("param")), c.req.valid("json"));
      return send(c, QueryResultSchema, answer as never);
    },
  );
}
