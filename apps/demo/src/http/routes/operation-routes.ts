/**
 * Predicate mutations and maintenance of one namespace:
 * deleteByFilter / patchByFilter (through the wal-engine pipeline, with
 * `ifVersion`), compaction, the recovery sweep with its report, WAL
 * status (the state documents, decoded) and WAL garbage collection.
 */
import { defineRoute } from "../access.ts";
import { toJson } from "../../cli/printable.ts";
import { listWal, listWalPage } from "../../cli/wal-inspect.ts";
import type { App, AppDeps } from "../app-context.ts";
import { boundedString, decodeCursor, encodeCursor } from "../page-cursor.ts";
import { send } from "../respond.ts";
import {
  CompactBody,
  DeleteByFilterBody,
  DeleteByFilterResultSchema,
  ListQuery,
  NamespaceParams,
  PatchByFilterBody,
  PatchByFilterResultSchema,
  ReportSchema,
  WalGcBody,
  WalListSchema,
} from "../schemas.ts";
import { DEFAULT_PAGE, ERRORS, NS_BASE, nsPath, SECURITY } from "./common.ts";

const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
const report = (value: unknown) => JSON.parse(toJson(value)) as Record<string, never>;
const COMMON = { 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404], 409: ERRORS[409], 429: ERRORS[429], 503: ERRORS[503] };

export function registerOperationRoutes(app: App, { engine, storage }: AppDeps): void {
  app.openapi(
    defineRoute("write", {
      method: "post",
      path: `${NS_BASE}/{namespace}/deleteByFilter`,
      tags: ["documents"],
      summary: "Delete every document matching a filter (one snapshot; crash-safe through the WAL)",
      security: SECURITY,
      request: { params: NamespaceParams, body: { required: true, ...json(DeleteByFilterBody) } },
      responses: { 200: { description: "Result", ...json(DeleteByFilterResultSchema) }, 412: ERRORS[412], ...COMMON },
    }),
    async (c) => {
      const { filter, ifVersion, maxTargets, allowPartial } = c.req.valid("json");
      const result = await engine.deleteByFilter(nsPath(c.req.valid("param")), filter, { ifVersion, maxTargets, allowPartial });
      return send(c, DeleteByFilterResultSchema, { ...result, deletedIds: [...result.deletedIds] });
    },
  );

  app.openapi(
    defineRoute("write", {
      method: "post",
      path: `${NS_BASE}/{namespace}/patchByFilter`,
      tags: ["documents"],
      summary: "Patch every document matching a filter (one snapshot; crash-safe through the WAL)",
      security: SECURITY,
      request: { params: NamespaceParams, body: { required: true, ...json(PatchByFilterBody) } },
      responses: { 200: { description: "Result", ...json(PatchByFilterResultSchema) }, 412: ERRORS[412], ...COMMON },
    }),
    async (c) => {
      const { filter, patch, ifVersion, maxTargets, allowPartial } = c.req.valid("json");
      const result = await engine.patchByFilter(nsPath(c.req.valid("param")), filter, patch as never, { ifVersion, maxTargets, allowPartial });
      return send(c, PatchByFilterResultSchema, { ...result, patchedIds: [...result.patchedIds] });
    },
  );

  app.openapi(
    defineRoute("write", {
      method: "post",
      path: `${NS_BASE}/{namespace}/compact`,
      tags: ["operations"],
      summary: "Compact a namespace when due (tiered: fold the tail into a segment, or merge similar-sized segments); `force` folds everything",
      security: SECURITY,
      request: { params: NamespaceParams, body: { required: false, ...json(CompactBody) } },
      responses: { 200: { description: "Compaction report", ...json(ReportSchema) }, ...COMMON },
    }),
    async (c) => send(c, ReportSchema, report(await engine.compact(nsPath(c.req.valid("param")), { force: c.req.valid("json")?.force === true }))),
  );

  app.openapi(
    defineRoute("write", {
      method: "post",
      path: `${NS_BASE}/{namespace}/recover`,
      tags: ["operations"],
      summary: "Run the recovery sweep (compactions, interrupted predicate mutations, tombstone publication) and return its report",
      security: SECURITY,
      request: { params: NamespaceParams },
      responses: { 200: { description: "Recovery report", ...json(ReportSchema) }, ...COMMON },
    }),
    async (c) => {
      // The engine's onRecover hook counts it in the metrics.
      const recovered = await engine.recover(nsPath(c.req.valid("param")));
      return send(c, ReportSchema, report(recovered));
    },
  );

  app.openapi(
    defineRoute("read", {
      method: "get",
      path: `${NS_BASE}/{namespace}/wal`,
      tags: ["operations"],
      summary: "WAL status: the namespace's mutation state documents, decoded",
      security: SECURITY,
      request: { params: NamespaceParams, query: ListQuery },
      responses: { 200: { description: "State documents, in WAL id order (one page with `cursor` or `limit`)", ...json(WalListSchema) }, ...COMMON },
    }),
    async (c) => {
      const path = nsPath(c.req.valid("param"));
      const { cursor, limit } = c.req.valid("query");
      await engine.manifest(path, { consistency: "eventual" }); // 404 for an unknown namespace
      if (cursor === undefined && limit === undefined) return send(c, WalListSchema, { entries: await listWal(storage, path) });
      // The position is the last object name read (below the mutations prefix), not an offset.
      const after = cursor === undefined ? undefined : decodeCursor(cursor, "wal", path, (p) => boundedString(p, 1024));
      const page = await listWalPage(storage, path, { after, limit: limit ?? DEFAULT_PAGE });
      const next = page.next === undefined ? {} : { nextCursor: encodeCursor("wal", path, page.next) };
      return send(c, WalListSchema, { entries: page.entries, ...next });
    },
  );

  app.openapi(
    defineRoute("write", {
      method: "post",
      path: `${NS_BASE}/{namespace}/wal/gc`,
      tags: ["operations"],
      summary: "Garbage-collect finished WAL documents and settled compaction intents older than graceMs (default one day)",
      security: SECURITY,
      request: { params: NamespaceParams, body: { required: false, ...json(WalGcBody) } },
      responses: { 200: { description: "GC report", ...json(ReportSchema) }, ...COMMON },
    }),
    async (c) => {
      const graceMs = c.req.valid("json")?.graceMs;
      return send(c, ReportSchema, report(await engine.collectWalGarbage(nsPath(c.req.valid("param")), graceMs === undefined ? {} : { graceMs })));
    },
  );
}
