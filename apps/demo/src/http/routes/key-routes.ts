/**
 * API key management (admin keys only): create a key scoped to an
 * org/project with a role (the plaintext is in the answer, once), list
 * keys (never their plaintext or hash; in pages with `cursor`/`limit`), revoke by id.
 */
import { defineRoute } from "../access.ts";
import type { KeyRecord } from "../../auth/api-keys.ts";
import type { App, AppDeps } from "../app-context.ts";
import { send } from "../respond.ts";
import { decodeCursor, encodeCursor } from "../page-cursor.ts";
import { CreatedKeySchema, CreateKeyBody, KeyIdParams, KeyListSchema, ListQuery } from "../schemas.ts";
import { DEFAULT_PAGE, ERRORS, SECURITY } from "./common.ts";

const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
const tags = ["keys"];

function info(r: KeyRecord) {
  return { id: r.id, role: r.role, org: r.org, project: r.project, name: r.name, createdAt: r.created_at };
}

function keyPosition(p: unknown): { createdAt: number; id: string } | undefined {
  const fields = p as { c?: unknown; i?: unknown } | null;
  const createdAt = fields?.c;
  const id = fields?.i;
  return typeof createdAt === "number" && Number.isFinite(createdAt) && typeof id === "string" && /^[0-9a-f]{16}$/.test(id) ? { createdAt, id } : undefined;
}

export function registerKeyRoutes(app: App, { keys }: AppDeps): void {
  app.openapi(
    defineRoute("admin", {
      method: "post",
      path: "/v1/keys",
      tags,
      summary: "Create an API key (admin)",
      security: SECURITY,
      request: { body: { required: true, ...json(CreateKeyBody) } },
      responses: { 201: { description: "The key, shown once", ...json(CreatedKeySchema) }, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 503: ERRORS[503] },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const { key, record } = await keys.create(body.role === "admin" ? { role: "admin", name: body.name } : body);
      return send(c, CreatedKeySchema, { ...info(record), key }, 201);
    },
  );

  app.openapi(
    defineRoute("admin", {
      method: "get",
      path: "/v1/keys",
      tags,
      summary: "List API keys (admin), in creation order",
      security: SECURITY,
      request: { query: ListQuery },
      responses: { 200: { description: "Keys (one page with `cursor` or `limit`)", ...json(KeyListSchema) }, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 503: ERRORS[503] },
    }),
    async (c) => {
      const { cursor, limit } = c.req.valid("query");
      // Every record is read (keys are few); a page resumes after the (createdAt, id) of the last key it showed.
      const all = (await keys.list()).map(info);
      if (cursor === undefined && limit === undefined) return send(c, KeyListSchema, { keys: all });
      const at = cursor === undefined ? undefined : decodeCursor(cursor, "keys", "", keyPosition);
      const rest = at === undefined ? all : all.filter((k) => k.createdAt > at.createdAt || (k.createdAt === at.createdAt && k.id > at.id));
      const page = rest.slice(0, limit ?? DEFAULT_PAGE);
      const last = page.at(-1);
      const next = rest.length > page.length && last !== undefined ? { nextCursor: encodeCursor("keys", "", { c: last.createdAt, i: last.id }) } : {};
      return send(c, KeyListSchema, { keys: page, ...next });
    },
  );

  app.openapi(
    defineRoute("admin", {
      method: "delete",
      path: "/v1/keys/{id}",
      tags,
      summary: "Revoke an API key (admin)",
      security: SECURITY,
      request: { params: KeyIdParams },
      responses: { 204: { description: "Revoked" }, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404], 503: ERRORS[503] },
    }),
    async (c) => {
      await keys.revoke(c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
}
