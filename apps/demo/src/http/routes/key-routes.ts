/**
 * API key management (admin keys only): create a key scoped to an
 * org/project with a role (the plaintext is in the answer, once), list
 * keys (never their plaintext or hash), revoke by id.
 */
import { defineRoute } from "../access.ts";
import type { KeyRecord } from "../../auth/api-keys.ts";
import type { App, AppDeps } from "../app-context.ts";
import { send } from "../respond.ts";
import { CreatedKeySchema, CreateKeyBody, KeyIdParams, KeyListSchema } from "../schemas.ts";
import { ERRORS, SECURITY } from "./common.ts";

const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
const tags = ["keys"];

function info(r: KeyRecord) {
  return { id: r.id, role: r.role, org: r.org, project: r.project, name: r.name, createdAt: r.created_at };
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
      summary: "List API keys (admin)",
      security: SECURITY,
      responses: { 200: { description: "Keys", ...json(KeyListSchema) }, 401: ERRORS[401], 403: ERRORS[403], 503: ERRORS[503] },
    }),
    async (c) => send(c, KeyListSchema, { keys: (await keys.list()).map(info) }),
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
