/**
 * The turbopuffer-compatible API (the wire protocol of turbopuffer's v2
 * clients, e.g. `@turbopuffer/turbopuffer`), beside Skerry's own /v1 API.
 * Namespaces live in the API key's project (tpuf-scope.ts); errors are
 * turbopuffer's shape (tpuf-error.ts, through the app's error handler).
 * The mapping and what is not served: docs/turbopuffer-compat.md.
 *
 * | route | engine |
 * | --- | --- |
 * | GET /v1/namespaces (prefix, cursor, page_size) | listNamespaces |
 * | POST /v2/namespaces/:ns | tpuf-write.ts |
 * | DELETE /v2/namespaces/:ns | deleteNamespace |
 * | GET /v2/namespaces/:ns/metadata | getNamespace + the stored schema |
 * | PATCH /v1/namespaces/:ns/metadata (pinning) | pin / unpin |
 * | POST /v2/namespaces/:ns/query (one query, or `queries`) | query, at one version (tpuf-query.ts) |
 * | POST /v2/namespaces/:ns/explain_query | the translated request |
 * | GET /v1/namespaces/:ns/hint_cache_warm | warm (in the background) |
 * | GET, POST /v1/namespaces/:ns/schema | the engine's typed schema (tpuf-schema.ts) |
 * | POST /v1/namespaces/:ns/_debug/recall | ANN vs exact kNN (tpuf-recall.ts) |
 *
 * Bodies are parsed and writes and query answers written losslessly
 * (lossless-json.ts), so uint ids up to 2^64-1 keep their digits.
 */
import { gunzipSync } from "node:zlib";
import type { Context } from "hono";
import { requiresOwnProject } from "../../access.ts";
import { ApiError } from "../../api-error.ts";
import type { App, AppDeps, AppEnv } from "../../app-context.ts";
import { jsonDepthExceeds, MAX_JSON_DEPTH } from "../../json-depth.ts";
import { parseJson, stringifyJson } from "../../lossless-json.ts";
import { projectOf, nsPathOf } from "./tpuf-scope.ts";
import { adoptSchema, declareSchema, readSchema, saveSchema, type TpufSchema } from "./tpuf-schema.ts";
import { tpufExplain, tpufQuery } from "./tpuf-query.ts";
import { tpufRecall } from "./tpuf-recall.ts";
import { readManifestOrUndefined, tpufWrite, wireMetric } from "./tpuf-write.ts";

const DEFAULT_PAGE_SIZE = 1000;
const MAX_PAGE_SIZE = 1000;

/**
 * The JSON body; gzip-compressed bodies (`Content-Encoding: gzip`, the client's `compression: true`) are
 * inflated up to the body limit and their nesting bounded like plain ones (guards.ts).
 */
async function jsonBody(c: Context<AppEnv>, maxBytes: number): Promise<unknown> {
  const encoding = (c.req.header("content-encoding") ?? "").toLowerCase();
  let text: string;
  if (encoding === "gzip") {
    let inflated: Buffer;
    try {
      inflated = gunzipSync(Buffer.from(await c.req.arrayBuffer()), { maxOutputLength: maxBytes });
    } catch (error) {
      const tooLarge = (error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE";
      throw tooLarge ? new ApiError("PayloadTooLarge", `the inflated body is larger than ${maxBytes} bytes`) : new ApiError("MalformedJson", "the gzip body does not inflate");
    }
    text = inflated.toString("utf8");
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) throw new ApiError("JsonTooDeep", `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`, { maxDepth: MAX_JSON_DEPTH });
  } else if (encoding === "" || encoding === "identity") {
    text = await c.req.text();
  } else {
    throw new ApiError("UnsupportedMediaType", `Content-Encoding ${encoding} is not supported (gzip or none)`);
  }
  if (text.trim() === "") return {};
  try {
    return parseJson(text);
  } catch {
    throw new ApiError("MalformedJson", "request body is not valid JSON");
  }
}

/** A JSON answer; ids and numbers beyond 2^53-1 (bigints) are written as their exact digits (lossless-json.ts). */
function answer(c: Context<AppEnv>, value: unknown): Response {
  return c.body(stringifyJson(value), 200, { "content-type": "application/json" });
}

/** The schema as turbopuffer answers it: the stored attributes, the vector's type. */
function schemaView(schema: TpufSchema, dimension: number | undefined, metric: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = Object.fromEntries(schema);
  const vector = out["vector"] as Record<string, unknown> | undefined;
  if (dimension !== undefined && vector === undefined) out["vector"] = { type: `[${dimension}]f32`, ann: { distance_metric: wireMetric(metric) } };
  else if (dimension !== undefined && vector !== undefined && vector["ann"] === undefined) out["vector"] = { ...vector, ann: { distance_metric: wireMetric(metric) } };
  return out;
}

export function registerTurbopufferRoutes(app: App, deps: AppDeps): void {
  const { engine } = deps;
  const path = (c: Context<AppEnv>) => nsPathOf(c, deps, c.req.param("namespace") as string);

  const metadataOf = async (p: string) => {
    const info = await engine.getNamespace(p);
    const manifest = await engine.manifest(p, { atVersion: info.version, consistency: "eventual" });
    let unindexed = 0;
    for (const ref of manifest.containers) if (ref.extra?.["index_key"] === undefined) unindexed += ref.byteSize;
    const now = new Date().toISOString();
    return {
      approx_logical_bytes: info.bytes,
      approx_row_count: info.docCount,
      created_at: new Date(manifest.createdAt).toISOString(),
      updated_at: new Date(manifest.updatedAt).toISOString(),
      encryption: { mode: "default" as const },
      index: unindexed === 0 ? { status: "up-to-date" as const } : { status: "updating" as const, unindexed_bytes: unindexed },
      schema: schemaView(readSchema(manifest), manifest.vector?.dimension, manifest.vector?.metric),
      ...(info.pinned ? { pinning: { replicas: 1, status: { ready_replicas: 1, updated_at: now, utilization: 0 } } } : {}),
    };
  };

  app.get("/v1/namespaces", requiresOwnProject("read"), async (c) => {
    const { org, project } = projectOf(c, deps);
    const prefix = c.req.query("prefix") ?? "";
    const cursor = c.req.query("cursor");
    const rawSize = c.req.query("page_size");
    const pageSize = rawSize === undefined ? DEFAULT_PAGE_SIZE : Number(rawSize);
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new ApiError("InvalidArgument", `page_size is an integer in [1, ${MAX_PAGE_SIZE}]`);
    }
    // The cursor is opaque to clients: the base64url of the last name of the previous page.
    const after = cursor === undefined || cursor === "" ? undefined : Buffer.from(cursor, "base64url").toString("utf8");
    const names = (await engine.listNamespaces(org, project)).filter((n) => n.startsWith(prefix) && (after === undefined || n > after));
    const page = names.slice(0, pageSize);
    const next = names.length > pageSize ? Buffer.from(page[page.length - 1] as string, "utf8").toString("base64url") : undefined;
    return c.json({ namespaces: page.map((id) => ({ id })), ...(next === undefined ? {} : { next_cursor: next }) });
  });

  app.post("/v2/namespaces/:namespace", requiresOwnProject("write"), async (c) => {
    const { org, project } = projectOf(c, deps);
    const body = await jsonBody(c, deps.limits.bodyBytes);
    const written = await tpufWrite(
      {
        deps,
        path: path(c),
        org,
        project,
        projectOfKey: async (key) => {
          const principal = key.length > 200 ? undefined : await deps.keys.authenticate(key);
          if (principal === undefined) return undefined;
          if (principal.role === "admin" || principal.org === undefined || principal.project === undefined) return deps.turbopufferProject;
          return { org: principal.org, project: principal.project };
        },
      },
      body,
    );
    return answer(c, written);
  });

  app.delete("/v2/namespaces/:namespace", requiresOwnProject("write"), async (c) => {
    const p = path(c);
    const result = await engine.deleteNamespace(p);
    if (result.alreadyDeleted) throw new ApiError("NamespaceNotFound", `namespace not found: ${c.req.param("namespace")}`);
    if ((await engine.pinnedNamespaces()).includes(p)) await engine.unpin(p); // a deleted namespace stays unpinned if recreated
    return c.json({ status: "OK" });
  });

  app.get("/v2/namespaces/:namespace/metadata", requiresOwnProject("read"), async (c) => c.json(await metadataOf(path(c))));

  app.patch("/v1/namespaces/:namespace/metadata", requiresOwnProject("write"), async (c) => {
    const p = path(c);
    const body = await jsonBody(c, deps.limits.bodyBytes);
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ApiError("InvalidArgument", "the body is { pinning? }");
    for (const key of Object.keys(body)) if (key !== "pinning") throw new ApiError("InvalidArgument", `unknown metadata parameter ${JSON.stringify(key)}`);
    const pinning = (body as { pinning?: unknown }).pinning;
    if (pinning === true || (typeof pinning === "object" && pinning !== null)) await engine.pin(p);
    else if (pinning === false || pinning === null) {
      await engine.manifest(p); // 404 for a missing namespace
      await engine.unpin(p);
    } else if (pinning !== undefined) throw new ApiError("InvalidArgument", "pinning is true, false, null or { replicas }");
    return c.json(await metadataOf(p));
  });

  app.post("/v2/namespaces/:namespace/query", requiresOwnProject("read"), async (c) => answer(c, await tpufQuery(engine, path(c), await jsonBody(c, deps.limits.bodyBytes))));

  app.post("/v2/namespaces/:namespace/explain_query", requiresOwnProject("read"), async (c) => c.json(await tpufExplain(engine, path(c), await jsonBody(c, deps.limits.bodyBytes))));

  app.get("/v1/namespaces/:namespace/hint_cache_warm", requiresOwnProject("read"), async (c) => {
    const p = path(c);
    await engine.manifest(p, { consistency: "eventual" }); // 404 for a missing namespace
    void engine.warm(p).catch((error) => deps.logger.warn({ err: error, namespace: p }, "hint_cache_warm failed"));
    return c.json({ status: "ACCEPTED", message: "warming the namespace's state in the background" });
  });

  app.get("/v1/namespaces/:namespace/schema", requiresOwnProject("read"), async (c) => {
    const manifest = await engine.manifest(path(c));
    return c.json(schemaView(readSchema(manifest), manifest.vector?.dimension, manifest.vector?.metric));
  });

  app.post("/v1/namespaces/:namespace/schema", requiresOwnProject("write"), async (c) => {
    const p = path(c);
    const body = await jsonBody(c, deps.limits.bodyBytes);
    const manifest = await readManifestOrUndefined(engine, p);
    if (manifest === undefined) throw new ApiError("NamespaceNotFound", `namespace not found: ${c.req.param("namespace")}`);
    const schema = readSchema(await adoptSchema(engine, p, manifest));
    if (declareSchema(schema, body)) await saveSchema(engine, p, schema);
    const latest = await engine.manifest(p);
    return c.json(schemaView(readSchema(latest), latest.vector?.dimension, latest.vector?.metric));
  });

  app.post("/v1/namespaces/:namespace/_debug/recall", requiresOwnProject("read"), async (c) => answer(c, await tpufRecall(engine, path(c), await jsonBody(c, deps.limits.bodyBytes))));
}
