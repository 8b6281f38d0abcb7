/**
 * Every route x every role, through the app (in process, the same app
 * the server serves, over the same engine and key store): the permission a route needs
 * comes from the route itself (its declared access), never from the shape
 * of the path. The expected access of each route is written out below
 * (the specification); the test fails when the app has a route this table
 * lacks, when a route declares no access or another one than the table,
 * and when any role is allowed or refused other than the table says. Every
 * namespace route is tried on namespaces named like every route suffix
 * (`query`, `upsert`, `documents`, `pin`, `wal`, ...); GET routes are also
 * tried with HEAD, which needs what GET needs.
 */
import { MemoryStorage } from "@skerry/storage-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Access, accessOf } from "../src/http/access.ts";
import { createApp } from "../src/http/app.ts";
import type { SkerryServer } from "../src/server/server.ts";
import { ADMIN_KEY, Client, nsUrl, startTestServer } from "./support/harness.ts";

const NS = "/v1/orgs/:org/projects/:project/namespaces";

/** The specification: the access every route of the app needs. */
const EXPECTED: Readonly<Record<string, Access>> = {
  "GET /": "public",
  "GET /health": "public",
  "GET /ready": "public",
  "GET /metrics": "public",
  "GET /openapi.json": "public",
  "GET /console": "public",
  "GET /console/": "public",
  "GET /console/*": "public",
  "POST /v1/keys": "admin",
  "GET /v1/keys": "admin",
  "DELETE /v1/keys/:id": "admin",
  "GET /v1/stats": "admin",
  "POST /v1/orgs/:org/projects/:project/repair": "admin",
  [`GET ${NS}`]: "read",
  [`POST ${NS}`]: "write",
  [`GET ${NS}/:namespace`]: "read",
  [`DELETE ${NS}/:namespace`]: "write",
  [`PUT ${NS}/:namespace/labels`]: "write",
  [`PUT ${NS}/:namespace/text-fields`]: "write",
  [`PUT ${NS}/:namespace/schema`]: "write",
  [`GET ${NS}/:namespace/schema`]: "read",
  [`GET ${NS}/:namespace/versions`]: "read",
  [`GET ${NS}/:namespace/manifest`]: "read",
  [`POST ${NS}/:namespace/upsert`]: "write",
  [`POST ${NS}/:namespace/patch`]: "write",
  [`POST ${NS}/:namespace/delete`]: "write",
  [`POST ${NS}/:namespace/write`]: "write",
  [`POST ${NS}/:namespace/documents/get`]: "read",
  [`GET ${NS}/:namespace/documents/:id`]: "read",
  [`GET ${NS}/:namespace/documents`]: "read",
  [`POST ${NS}/:namespace/query`]: "read",
  [`POST ${NS}/:namespace/deleteByFilter`]: "write",
  [`POST ${NS}/:namespace/patchByFilter`]: "write",
  [`POST ${NS}/:namespace/compact`]: "write",
  [`POST ${NS}/:namespace/recover`]: "write",
  [`GET ${NS}/:namespace/wal`]: "read",
  [`POST ${NS}/:namespace/wal/gc`]: "write",
  [`POST ${NS}/:namespace/branch`]: "write",
  [`POST ${NS}/:namespace/copy`]: "write",
  [`POST ${NS}/:namespace/pin`]: "write",
  [`DELETE ${NS}/:namespace/pin`]: "write",
  [`POST ${NS}/:namespace/warm`]: "write",
  [`POST ${NS}/:namespace/gc`]: "write",
  // The turbopuffer-compatible routes: they act on the key's own project (OWN_PROJECT below).
  "GET /v1/namespaces": "read",
  "POST /v2/namespaces/:namespace": "write",
  "DELETE /v2/namespaces/:namespace": "write",
  "GET /v2/namespaces/:namespace/metadata": "read",
  "PATCH /v1/namespaces/:namespace/metadata": "write",
  "POST /v2/namespaces/:namespace/query": "read",
  "POST /v2/namespaces/:namespace/explain_query": "read",
  "GET /v1/namespaces/:namespace/hint_cache_warm": "read",
  "GET /v1/namespaces/:namespace/schema": "read",
  "POST /v1/namespaces/:namespace/schema": "write",
  "POST /v1/namespaces/:namespace/_debug/recall": "read",
};

/** Routes whose project is the key's own (no org/project in the path): a key of another project acts on its own. */
const OWN_PROJECT = (path: string) => path.startsWith("/v1/namespaces") || path.startsWith("/v2/namespaces");

type Role = "admin" | "write" | "read" | "otherProject" | "none";

/** Whether `role` may use a route that needs `access` in project acme/search. */
function mayUse(role: Role, access: Access, ownProject = false): boolean {
  if (access === "public") return true;
  if (ownProject && role === "otherProject") return access === "read" || access === "write";
  switch (role) {
    case "admin":
      return true;
    case "write":
      return access === "read" || access === "write";
    case "read":
      return access === "read";
    default:
      return false;
  }
}

interface RouteRow {
  readonly method: string;
  readonly path: string;
  readonly access: Access;
}

describe("route access: every route x every role", () => {
  let server: SkerryServer;
  let routes: RouteRow[];
  let declared: Record<string, string>;
  let names: string[];
  let app: ReturnType<typeof createApp>;
  const clients = {} as Record<Role, Client>;
  const keys = {} as Record<Role, string | undefined>;

  beforeAll(async () => {
    server = await startTestServer(new MemoryStorage());
    const admin = new Client(server.url, ADMIN_KEY);
    const mint = async (body: object) => {
      const res = await admin.post("/v1/keys", body);
      expect(res.status).toBe(201);
      return admin.withKey(res.body.key as string);
    };
    clients.admin = admin;
    clients.write = await mint({ role: "write", org: "acme", project: "search" });
    clients.read = await mint({ role: "read", org: "acme", project: "search" });
    clients.otherProject = await mint({ role: "write", org: "acme", project: "other" });
    clients.none = admin.withKey(undefined);
    for (const role of Object.keys(clients) as Role[]) keys[role] = clients[role].key;
    app = createApp(server.deps);

    // The app's own route list (what the router serves), grouped by method and path.
    const groups = new Map<string, { method: string; path: string; declared: Set<Access> }>();
    for (const r of app.routes) {
      if (r.method === "ALL") continue;
      const id = `${r.method} ${r.path}`;
      const group = groups.get(id) ?? { method: r.method, path: r.path, declared: new Set<Access>() };
      const declared = accessOf(r.handler);
      if (declared !== undefined) group.declared.add(declared);
      groups.set(id, group);
    }
    declared = Object.fromEntries([...groups.entries()].map(([id, g]) => [id, [...g.declared].join("+") || "(none)"]));
    // What each request must get follows the table (the specification), whatever the routes declare.
    routes = [...groups.entries()].map(([id, g]) => ({ method: g.method, path: g.path, access: EXPECTED[id] ?? "admin" }));
    // Namespaces named like every literal segment that follows {namespace} in a route.
    const suffixes = new Set<string>(["docs"]);
    for (const r of routes) {
      const rest = r.path.split("/:namespace/")[1];
      if (rest !== undefined) for (const part of rest.split("/")) if (!part.startsWith(":") && !part.startsWith("_")) suffixes.add(part);
    }
    names = [...suffixes].sort();
    for (const name of names) expect((await admin.post(nsUrl("acme", "search"), { name })).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
  });

  it("should declare, for every route the app serves, the access the table specifies (and document it in the OpenAPI)", async () => {
    expect(declared).toEqual(EXPECTED);
    const doc = (await clients.none.get("/openapi.json")).body as { paths: Record<string, Record<string, Record<string, unknown>>> };
    let operations = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        operations++;
        const id = `${method.toUpperCase()} ${path.replaceAll(/\{(\w+)\}/g, ":$1")}`;
        expect(operation["x-skerry-access"], id).toBe(EXPECTED[id]);
      }
    }
    expect(operations).toBeGreaterThan(30);
    expect(names).toEqual(expect.arrayContaining(["query", "upsert", "documents", "get", "pin", "wal", "gc", "labels", "delete", "copy"]));
  });

  /** Every concrete request of every route: namespace routes once per namespace name. */
  function requests(): { method: string; url: string; body: boolean; route: RouteRow }[] {
    const out: { method: string; url: string; body: boolean; route: RouteRow }[] = [];
    for (const route of routes) {
      const fill = (ns: string) =>
        route.path
          .replace(":org", "acme")
          .replace(":project", "search")
          .replace(":namespace", ns)
          .replace("/v1/keys/:id", "/v1/keys/0123456789abcdef")
          .replace(":id", "query")
          .replace("/console/*", "/console/index.html");
      const urls = route.path.includes(":namespace") ? names.map(fill) : [fill("")];
      for (const url of urls) {
        out.push({ method: route.method, url, body: route.method === "POST" || route.method === "PUT", route });
        if (route.method === "GET") out.push({ method: "HEAD", url, body: false, route });
      }
    }
    return out;
  }

  async function tryAll(role: Role): Promise<string[]> {
    const key = keys[role];
    const wrong: string[] = [];
    const all = requests();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < all.length) {
          const { method, url, body, route } = all[next++]!;
          // `{}` is refused by every route that takes a required body (400), so allowed requests of those change nothing.
          const headers: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` };
          if (body) headers["content-type"] = "application/json";
          const answer = await app.request(url, body ? { method, headers, body: "{}" } : { method, headers });
          const text = await answer.text();
          const res = { status: answer.status, body: text !== "" && answer.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : undefined };
          const allowed = mayUse(role, route.access, OWN_PROJECT(route.path));
          const refusal = role === "none" ? 401 : 403;
          const ok = allowed ? res.status !== 401 && res.status !== 403 : res.status === refusal && (method === "HEAD" || (res.body?.error?.code ?? res.body?.code) === (role === "none" ? "Unauthorized" : "Forbidden"));
          if (!ok) wrong.push(`${role} ${method} ${url}: ${res.status} ${JSON.stringify(res.body?.error ?? "")} (expected ${allowed ? "allowed" : refusal})`);
        }
      }),
    );
    return wrong;
  }

  async function state(): Promise<string> {
    const admin = clients.admin;
    const listed = (await admin.get(nsUrl("acme", "search"))).body.namespaces as string[];
    const versions = await Promise.all(listed.map(async (n) => `${n}@${(await admin.get(nsUrl("acme", "search", n))).body.version}`));
    return versions.join(",");
  }

  it("should refuse keys without the route's access and change nothing (no key, another project's key, a read key)", async () => {
    const before = await state();
    expect(before.split(",")).toHaveLength(names.length);
    for (const role of ["none", "otherProject", "read"] as const) expect(await tryAll(role)).toEqual([]);
    expect(await state()).toEqual(before);
  }, 120_000);

  it("should allow a write key every read and write route of its project and refuse it the admin routes; an admin key everything", async () => {
    expect(await tryAll("write")).toEqual([]);
    expect(await tryAll("admin")).toEqual([]);
  }, 120_000);
});
