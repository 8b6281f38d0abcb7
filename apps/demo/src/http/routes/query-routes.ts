/**
 * The query route: filters, dense and sparse vectors, BM25 full text,
 * hybrid (RRF), ordering and aggregations, answered by the engine
 * (`engine.queryRows`: compacted segments' stored indexes loaded lazily,
 * only the log tail folded; the ranking time-sliced) at the version the
 * request's `consistency` / `atVersion` resolve to. The request is
 * validated in full by the query module's own parser (400 InvalidQuery
 * naming every problem's path). Each row's JSON is made by the engine as
 * the answer is streamed (`rows.json(i)`, exactly QueryResultSchema's row:
 * id, distance or score, attributes, vector), so a 10,000-row answer never
 * exists as 10,000 row objects.
 */
import { defineRoute } from "../access.ts";
import type { App, AppDeps } from "../app-context.ts";
import { streamJson } from "../respond.ts";
import { NamespaceParams, QueryBody, QueryResultSchema } from "../schemas.ts";
import { ERRORS, NS_BASE, nsPath, SECURITY } from "./common.ts";

export function registerQueryRoutes(app: App, { engine, slicer }: AppDeps): void {
  app.openapi(
    defineRoute("read", {
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
      const answer = await engine.queryRows(nsPath(c.req.valid("param")), c.req.valid("json"));
      const tail: Record<string, unknown> = {};
      if (answer.aggregations !== undefined) tail["aggregations"] = answer.aggregations;
      if (answer.aggregationGroups !== undefined) tail["aggregationGroups"] = answer.aggregationGroups;
      return streamJson(c, { slicer, head: { version: answer.version }, key: "rows", rows: answer.rows, tail });
    },
  );
}
