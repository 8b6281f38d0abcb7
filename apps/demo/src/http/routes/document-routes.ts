/**
 * Document routes: writes by id (upsert, patch, delete, and `write`: all
 * three in one commit with per-document conditions evaluated at the commit;
 * `ifVersion` in the body, `Idempotency-Key` header) and reads (get by ids, get one, scan in
 * id order: pages follow opaque cursors that hold the first page's
 * version, so a scan reads one snapshot), at the latest or a given version.
 *
 * A write larger than the batch cap is refused whole (413 BatchTooLarge)
 * before it reaches the engine; every other rejection (bad document, wrong
 * vector dimension, missing patched id, version conflict) is the engine's,
 * which applies nothing of a rejected write.
 */
import { defineRoute } from "../access.ts";
import { ApiError } from "../api-error.ts";
import type { App, AppDeps } from "../app-context.ts";
import { documentJson, send, streamJson } from "../respond.ts";
import {
  DeleteBody,
  DocumentSchema,
  GetDocumentsBody,
  GetDocumentsResultSchema,
  IdempotencyHeader,
  NamespaceParams,
  PatchBody,
  ReadQuery,
  ScanQuery,
  ScanResultSchema,
  UpsertBody,
  WriteBatchBody,
  WriteBatchResultSchema,
  WriteResultSchema,
} from "../schemas.ts";
import { z } from "@hono/zod-openapi";
import { boundedString, decodeCursor, encodeCursor, positiveInteger } from "../page-cursor.ts";
import { DEFAULT_PAGE, ERRORS, NS_BASE, nsPath, SECURITY } from "./common.ts";

const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
const tags = ["documents"];

const WRITE_ERRORS = {
  400: ERRORS[400],
  401: ERRORS[401],
  403: ERRORS[403],
  404: ERRORS[404],
  409: ERRORS[409],
  412: ERRORS[412],
  413: ERRORS[413],
  429: ERRORS[429],
  503: ERRORS[503],
};

function writeRoute(op: "upsert" | "patch" | "delete" | "write", summary: string, body: z.ZodType, result: z.ZodType = WriteResultSchema) {
  return defineRoute("write", {
    method: "post",
    path: `${NS_BASE}/{namespace}/${op}`,
    tags,
    summary,
    security: SECURITY,
    request: { params: NamespaceParams, headers: IdempotencyHeader, body: { required: true, ...json(body) } },
    responses: { 200: { description: "Committed (or deduplicated by Idempotency-Key)", ...json(result) }, ...WRITE_ERRORS },
  });
}

export function registerDocumentRoutes(app: App, { engine, limits, metrics, slicer }: AppDeps): void {
  const checkBatch = (n: number, what: string) => {
    if (n > limits.maxBatch) throw new ApiError("BatchTooLarge", `${n} ${what} in one write; the limit is ${limits.maxBatch}: split the batch`);
  };
  const writeOptions = (ifVersion: number | undefined, key: string | undefined) => ({
    ...(ifVersion === undefined ? {} : { ifVersion }),
    ...(key === undefined ? {} : { idempotencyKey: key }),
  });
  const counted = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === "VersionConflict") metrics.writeConflicts.inc({ kind: "version" });
      else if (code === "Conflict") metrics.writeConflicts.inc({ kind: "commit" });
      throw error;
    }
  };

  app.openapi(writeRoute("upsert", "Insert or replace whole documents", UpsertBody), async (c) => {
    const path = nsPath(c.req.valid("param"));
    const { documents, ifVersion } = c.req.valid("json") as z.infer<typeof UpsertBody>;
    checkBatch(documents.length, "documents");
    const result = await counted(() => engine.upsert(path, documents as never, writeOptions(ifVersion, c.req.valid("header")["idempotency-key"])));
    return send(c, WriteResultSchema, result);
  });

  app.openapi(writeRoute("patch", "Change fields of existing documents (null removes a field)", PatchBody), async (c) => {
    const path = nsPath(c.req.valid("param"));
    const { patches, ifVersion } = c.req.valid("json") as z.infer<typeof PatchBody>;
    checkBatch(patches.length, "patches");
    const result = await counted(() => engine.patch(path, patches as never, writeOptions(ifVersion, c.req.valid("header")["idempotency-key"])));
    return send(c, WriteResultSchema, result);
  });

  app.openapi(writeRoute("delete", "Delete documents by id (absent ids are no-ops)", DeleteBody), async (c) => {
    const path = nsPath(c.req.valid("param"));
    const { ids, ifVersion } = c.req.valid("json") as z.infer<typeof DeleteBody>;
    checkBatch(ids.length, "ids");
    const result = await counted(() => engine.delete(path, ids, writeOptions(ifVersion, c.req.valid("header")["idempotency-key"])));
    return send(c, WriteResultSchema, result);
  });

  app.openapi(
    writeRoute("write", "Upsert, patch and delete in one commit, with per-document conditions ($ref_new)", WriteBatchBody, WriteBatchResultSchema),
    async (c) => {
      const path = nsPath(c.req.valid("param"));
      const { ifVersion, ...batch } = c.req.valid("json") as z.infer<typeof WriteBatchBody>;
      checkBatch((batch.upserts?.length ?? 0) + (batch.patches?.length ?? 0) + (batch.deletes?.length ?? 0), "operations");
      const result = await counted(() => engine.write(path, batch as never, writeOptions(ifVersion, c.req.valid("header")["idempotency-key"])));
      return send(c, WriteBatchResultSchema, { ...result, upserted: [...result.upserted], patched: [...result.patched], deleted: [...result.deleted] });
    },
  );

  app.openapi(
    defineRoute("read", {
      method: "post",
      path: `${NS_BASE}/{namespace}/documents/get`,
      tags,
      summary: "Documents by id (null where absent)",
      security: SECURITY,
      request: { params: NamespaceParams, body: { required: true, ...json(GetDocumentsBody) } },
      responses: { 200: { description: "Documents", ...json(GetDocumentsResultSchema) }, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404], 503: ERRORS[503] },
    }),
    async (c) => {
      const path = nsPath(c.req.valid("param"));
      const { ids, atVersion, consistency } = c.req.valid("json");
      const manifest = await engine.manifest(path, { atVersion, consistency });
      const docs = await engine.get(path, ids, { atVersion: manifest.version });
      return streamJson(c, { slicer, head: { version: manifest.version }, key: "documents", items: docs, row: (d) => (d === null ? null : documentJson(d)) });
    },
  );

  app.openapi(
    defineRoute("read", {
      method: "get",
      path: `${NS_BASE}/{namespace}/documents/{id}`,
      tags,
      summary: "One document",
      security: SECURITY,
      request: { params: NamespaceParams.extend({ id: z.string().min(1).max(512).openapi({ param: { name: "id", in: "path" } }) }), query: ReadQuery },
      responses: { 200: { description: "The document", ...json(DocumentSchema) }, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404], 503: ERRORS[503] },
    }),
    async (c) => {
      const { id, ...params } = c.req.valid("param");
      const path = nsPath(params);
      const [doc] = await engine.get(path, [id], c.req.valid("query"));
      if (doc === null || doc === undefined) throw new ApiError("DocumentNotFound", `document not found in ${path}: ${JSON.stringify(id)}`);
      return send(c, DocumentSchema, documentJson(doc));
    },
  );

  app.openapi(
    defineRoute("read", {
      method: "get",
      path: `${NS_BASE}/{namespace}/documents`,
      tags,
      summary:
        "One page of documents in id order (a scan or export): follow `nextCursor` for the rest, read at the first page's version (404 VersionNotFound if retention deleted it meanwhile)",
      security: SECURITY,
      request: { params: NamespaceParams, query: ScanQuery },
      responses: { 200: { description: "A page", ...json(ScanResultSchema) }, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404], 503: ERRORS[503] },
    }),
    async (c) => {
      const path = nsPath(c.req.valid("param"));
      const query = c.req.valid("query");
      let { atVersion, after } = query;
      if (query.cursor !== undefined) {
        if (after !== undefined) throw new ApiError("InvalidArgument", "pass either cursor or after, not both");
        const at = decodeCursor(query.cursor, "documents", path, (p) => {
          const fields = p as { v?: unknown; a?: unknown } | null;
          const v = positiveInteger(fields?.v);
          const a = boundedString(fields?.a, 512);
          return v !== undefined && a !== undefined ? { version: v, after: a } : undefined;
        });
        if (atVersion !== undefined && atVersion !== at.version) {
          throw new ApiError("InvalidCursor", `invalid cursor: it continues a scan at version ${at.version}, not atVersion ${atVersion}`, { param: "cursor" });
        }
        atVersion = at.version;
        after = at.after;
      }
      const page = await engine.scan(path, { atVersion, consistency: query.consistency, after, limit: query.limit ?? DEFAULT_PAGE });
      const tail =
        page.next === undefined ? {} : { nextCursor: encodeCursor("documents", path, { v: page.version, a: page.next }), next: page.next };
      return streamJson(c, { slicer, head: { version: page.version }, key: "documents", items: page.documents, row: (d) => documentJson(d), tail });
    },
  );
}
