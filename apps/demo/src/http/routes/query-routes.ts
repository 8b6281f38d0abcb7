/**
 * The query route: filters, dense and sparse vectors, BM25 full text,
 * hybrid (RRF), ordering and aggregations, answered by the engine
 * (`engine.query`: compacted segments' stored indexes loaded lazily, only
 * the log tail folded) at the version the request's `consistency` /
 * `atVersion` resolve to. The request is validated in full by the query
 * module's own parser (400 InvalidQuery naming every problem's path).
 */
import type { NamespaceQueryResult } from "@skerry/namespace-engine";
import { defineRoute } from "../access.ts";
import type { App, AppDeps } from "../app-context.ts";
import { streamJson } from "../respond.ts";
import { NamespaceParams, QueryBody, QueryResultSchema } from "../schemas.ts";
import { ERRORS, NS_BASE, nsPath, SECURITY } from "./common.ts";

/** One row as documented by QueryResultSchema, field by field (no per-row schema parse on this hot path). */
function rowJson(row: NamespaceQueryResult["rows"][number]): Record<string, unknown> {
  const out: Record<string, unknown> = { id: row.id };
  if (row.distance !== undefined) out["distance"] = row.distance;
  if (row.score !== undefined) out["score"] = row.score;
  if (row.attributes !== undefined) out["attributes"] = row.attributes;
  if (row.vector !== undefined) out["vector"] = row.vector;
  return out;
}

export function registerQueryRoutes(app: App, { engine }: AppDeps): void {
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
      const answer = await engine.query(nsPath(c.req.valid("param")), c.req.valid("json"));
      const tail: Record<string, unknown> = {};
      if (answer.aggregations !== undefined) tail["aggregations"] = answer.aggregations;
      if (answer.aggregationGroups !== undefined) tail["aggregationGroups"] = answer.aggregationGroups;
      return streamJson(c, { head: { version: answer.version }, key: "rows", items: answer.rows, row: rowJson, tail });
    },
  );
}
