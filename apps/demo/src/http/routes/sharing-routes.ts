/**
 * Sharing, state and storage housekeeping:
 *
 * - branch (copy-on-write, same project) and copy (full copy, any project)
 *   of a namespace, from its latest or an `atVersion` version. The source
 *   project's scope is checked by `authorize` (access.ts); the target's here, before
 *   anything is written: a key must be allowed to write the target's
 *   project too (a project key covers one project, so a cross-project copy
 *   needs an admin key; a cross-project branch is refused either way);
 * - pin / unpin (persisted for every server; pinned states are never
 *   evicted) and warm (load the materialized state ahead of queries);
 * - manifest retention GC of one namespace (`gc`, beside `wal/gc`);
 * - repair of a whole project (admin only: it spans every namespace);
 * - the engine's stats: state cache, query caches, state persistence,
 *   write counters and the pinned namespaces (admin only: engine-wide).
 */
import { defineRoute } from "../access.ts";
import { allows } from "../../auth/api-keys.ts";
import { engineStatsJson } from "../../server/engine-stats.ts";
import { ApiError } from "../api-error.ts";
import type { App, AppDeps } from "../app-context.ts";
import { send } from "../respond.ts";
import {
  BranchBody,
  CopyBody,
  EngineStatsSchema,
  GarbageReportSchema,
  GcBody,
  NamespaceInfoSchema,
  NamespaceParams,
  ProjectParams,
  RepairBody,
  RepairReportSchema,
  UnpinResultSchema,
  WarmResultSchema,
} from "../schemas.ts";
import { ERRORS, NS_BASE, nsPath, SECURITY } from "./common.ts";

const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
const COMMON = { 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404], 429: ERRORS[429], 503: ERRORS[503] };
const tags = ["sharing and state"];

interface Target {
  org: string;
  project: string;
  namespace: string;
}

/** `name` (same project as the source) or `org/project/name`. */
function targetOf(source: { org: string; project: string }, target: string): Target {
  const parts = target.split("/");
  if (parts.length === 3) return { org: parts[0] as string, project: parts[1] as string, namespace: parts[2] as string };
  return { org: source.org, project: source.project, namespace: target };
}

export function registerSharingRoutes(app: App, deps: AppDeps): void {
  const { engine, metrics } = deps;

  const fork = (mode: "branch" | "copy") =>
    defineRoute("write", {
      method: "post",
      path: `${NS_BASE}/{namespace}/${mode}`,
      tags,
      summary:
        mode === "branch"
          ? "Branch a namespace (copy-on-write, same project; objects shared and reference counted) from its latest or an atVersion version"
          : "Copy a namespace in full (every object copied; the target may be in another project with a key covering both)",
      security: SECURITY,
      request: { params: NamespaceParams, body: { required: true, ...json(mode === "branch" ? BranchBody : CopyBody) } },
      responses: { 201: { description: "The new namespace", ...json(NamespaceInfoSchema) }, 409: ERRORS[409], ...COMMON },
    });

  for (const mode of ["branch", "copy"] as const) {
    app.openapi(fork(mode), async (c) => {
      const source = c.req.valid("param");
      const { target, atVersion, labels } = c.req.valid("json");
      const t = targetOf(source, target);
      if (!allows(c.get("principal"), t.org, t.project, "write")) {
        metrics.rejected.inc({ reason: "forbidden" });
        throw new ApiError("Forbidden", `this API key may not write the target project ${t.org}/${t.project}`);
      }
      const options = { ...(atVersion === undefined ? {} : { atVersion }), ...(labels === undefined ? {} : { labels }) };
      const info =
        mode === "branch"
          ? await engine.branchNamespace(nsPath(source), nsPath(t), options)
          : await engine.copyNamespace(nsPath(source), nsPath(t), options);
      return send(c, NamespaceInfoSchema, info, 201);
    });
  }

  app.openapi(
    defineRoute("write", {
      method: "post",
      path: `${NS_BASE}/{namespace}/pin`,
      tags,
      summary: "Pin a namespace: persisted for every server, its state never evicted, and warmed now",
      security: SECURITY,
      request: { params: NamespaceParams },
      responses: { 200: { description: "Pinned and warmed", ...json(WarmResultSchema) }, ...COMMON },
    }),
    async (c) => send(c, WarmResultSchema, { ...(await engine.pin(nsPath(c.req.valid("param")))), pinned: true }),
  );

  app.openapi(
    defineRoute("write", {
      method: "delete",
      path: `${NS_BASE}/{namespace}/pin`,
      tags,
      summary: "Unpin a namespace (its state becomes evictable); also clears the pin of a deleted namespace",
      security: SECURITY,
      request: { params: NamespaceParams },
      responses: { 200: { description: "Unpinned", ...json(UnpinResultSchema) }, ...COMMON },
    }),
    async (c) => {
      const path = nsPath(c.req.valid("param"));
      const name = path;
      const wasPinned = (await engine.pinnedNamespaces()).includes(name);
      if (!wasPinned) await engine.manifest(path); // 404 for an unknown namespace that was not pinned either
      await engine.unpin(path);
      return send(c, UnpinResultSchema, { path: name, pinned: false, wasPinned });
    },
  );

  app.openapi(
    defineRoute("write", {
      method: "post",
      path: `${NS_BASE}/{namespace}/warm`,
      tags,
      summary: "Load a namespace's materialized state at its latest version into memory ahead of reads",
      security: SECURITY,
      request: { params: NamespaceParams },
      responses: { 200: { description: "Warmed", ...json(WarmResultSchema) }, ...COMMON },
    }),
    async (c) => {
      const warmed = await engine.warm(nsPath(c.req.valid("param")));
      return send(c, WarmResultSchema, { ...warmed, pinned: (await engine.pinnedNamespaces()).includes(warmed.path) });
    },
  );

  app.openapi(
    defineRoute("write", {
      method: "post",
      path: `${NS_BASE}/{namespace}/gc`,
      tags: ["operations"],
      summary:
        "Manifest retention and garbage collection: delete expired versions (beyond the newest keepVersions and older than keepForMs) and the objects only they referenced",
      security: SECURITY,
      request: { params: NamespaceParams, body: { required: false, ...json(GcBody) } },
      responses: { 200: { description: "GC report", ...json(GarbageReportSchema) }, ...COMMON },
    }),
    async (c) => {
      const path = nsPath(c.req.valid("param"));
      const body = c.req.valid("json") ?? {};
      await engine.manifest(path); // 404 for an unknown or deleted namespace
      const retention = { ...(body.keepVersions === undefined ? {} : { keepVersions: body.keepVersions }), ...(body.keepForMs === undefined ? {} : { keepForMs: body.keepForMs }) };
      return send(c, GarbageReportSchema, await engine.collectGarbage(path, { retention }));
    },
  );

  app.openapi(
    defineRoute("admin", {
      method: "post",
      path: "/v1/orgs/{org}/projects/{project}/repair",
      tags: ["operations"],
      summary:
        "Repair a project (admin key only): rebuild its reference counts from every namespace's retained manifests, finish interrupted deletions and, with sweep, delete unreferenced objects older than graceMs (default one day)",
      security: SECURITY,
      request: { params: ProjectParams, body: { required: false, ...json(RepairBody) } },
      responses: { 200: { description: "Repair report", ...json(RepairReportSchema) }, ...COMMON },
    }),
    async (c) => {
      const { org, project } = c.req.valid("param");
      const body = c.req.valid("json") ?? {};
      const started = Date.now();
      const report = await engine.repair(org, project, { sweep: body.sweep === true, ...(body.graceMs === undefined ? {} : { graceMs: body.graceMs }) });
      deps.logger.info({ org, project, ms: Date.now() - started, ...report }, "repair");
      return send(c, RepairReportSchema, report);
    },
  );

  app.openapi(
    defineRoute("admin", {
      method: "get",
      path: "/v1/stats",
      tags: ["operations"],
      summary: "The engine's counters (admin key only): write path, state cache, query caches, state persistence, pinned namespaces",
      security: SECURITY,
      responses: { 200: { description: "Stats", ...json(EngineStatsSchema) }, 401: ERRORS[401], 403: ERRORS[403], 503: ERRORS[503] },
    }),
    async (c) => send(c, EngineStatsSchema, engineStatsJson(engine, await engine.pinnedNamespaces())),
  );
}
