/**
 * Namespace routes: list, create, get (at a version), update labels,
 * update the full-text options of text fields, read and extend the typed schema, delete, the list of stored manifest versions, and one manifest with its
 * containers (what the web console draws).
 */
import type { NamespaceSchemaInput } from "@skerry/namespace-engine";
import { defineRoute } from "../access.ts";
import type { App, AppDeps } from "../app-context.ts";
import { manifestView } from "../manifest-view.ts";
import { send } from "../respond.ts";
import {
  CreateNamespaceBody,
  DeleteNamespaceResultSchema,
  ListQuery,
  ManifestViewSchema,
  NamespaceInfoSchema,
  NamespaceListSchema,
  NamespaceParams,
  ProjectParams,
  ReadQuery,
  SchemaResultSchema,
  UpdateLabelsBody,
  UpdateSchemaBody,
  UpdateTextFieldsBody,
  VersionsQuery,
  VersionsSchema,
} from "../schemas.ts";
import { ApiError } from "../api-error.ts";
import { boundedString, decodeCursor, encodeCursor, positiveInteger } from "../page-cursor.ts";
import { DEFAULT_PAGE, ERRORS, NS_BASE, nsPath, SECURITY } from "./common.ts";

const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
const tags = ["namespaces"];

export function registerNamespaceRoutes(app: App, { engine, storage }: AppDeps): void {
  app.openapi(
    defineRoute("read", {
      method: "get",
      path: NS_BASE,
      tags,
      summary: "List the live namespaces of a project",
      security: SECURITY,
      request: { params: ProjectParams, query: ListQuery },
      responses: { 200: { description: "Names, sorted (one page with `cursor` or `limit`)", ...json(NamespaceListSchema) }, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 503: ERRORS[503] },
    }),
    async (c) => {
      const { org, project } = c.req.valid("param");
      const { cursor, limit } = c.req.valid("query");
      if (cursor === undefined && limit === undefined) return send(c, NamespaceListSchema, { namespaces: await engine.listNamespaces(org, project) });
      const scope = `${org}/${project}`;
      const after = cursor === undefined ? undefined : decodeCursor(cursor, "namespaces", scope, (p) => boundedString(p, 128));
      const page = await engine.listNamespacesPage(org, project, { after, limit: limit ?? DEFAULT_PAGE });
      const last = page.namespaces.at(-1);
      const next = page.more && last !== undefined ? { nextCursor: encodeCursor("namespaces", scope, last) } : {};
      return send(c, NamespaceListSchema, { namespaces: page.namespaces, ...next });
    },
  );

  app.openapi(
    defineRoute("write", {
      method: "post",
      path: NS_BASE,
      tags,
      summary: "Create a namespace",
      security: SECURITY,
      request: { params: ProjectParams, body: { required: true, ...json(CreateNamespaceBody) } },
      responses: { 201: { description: "Created", ...json(NamespaceInfoSchema) }, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 409: ERRORS[409], 503: ERRORS[503] },
    }),
    async (c) => {
      const { org, project } = c.req.valid("param");
      const body = c.req.valid("json");
      const info = await engine.createNamespace(`${org}/${project}/${body.name}`, {
        distanceMetric: body.distanceMetric,
        labels: body.labels,
        textFields: body.textFields,
        schema: body.schema as NamespaceSchemaInput | undefined,
      });
      return send(c, NamespaceInfoSchema, info, 201);
    },
  );

  app.openapi(
    defineRoute("read", {
      method: "get",
      path: `${NS_BASE}/{namespace}`,
      tags,
      summary: "Namespace info (version, document count, containers, bytes, labels), at the latest or a given version",
      security: SECURITY,
      request: { params: NamespaceParams, query: ReadQuery },
      responses: { 200: { description: "Info", ...json(NamespaceInfoSchema) }, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404], 503: ERRORS[503] },
    }),
    async (c) => {
      const params = c.req.valid("param");
      const { atVersion, consistency } = c.req.valid("query");
      return send(c, NamespaceInfoSchema, await engine.getNamespace(nsPath(params), { atVersion, consistency }));
    },
  );

  // The answers of a change to a namespace's metadata (labels, text field options).
  const metadataChangeResponses = {
    200: { description: "Info after the change", ...json(NamespaceInfoSchema) },
    400: ERRORS[400],
    401: ERRORS[401],
    403: ERRORS[403],
    404: ERRORS[404],
    409: ERRORS[409],
    412: ERRORS[412],
    503: ERRORS[503],
  };

  app.openapi(
    defineRoute("write", {
      method: "put",
      path: `${NS_BASE}/{namespace}/labels`,
      tags,
      summary: "Replace the labels of a namespace",
      security: SECURITY,
      request: { params: NamespaceParams, body: { required: true, ...json(UpdateLabelsBody) } },
      responses: metadataChangeResponses,
    }),
    async (c) => {
      const params = c.req.valid("param");
      const { labels, ifVersion } = c.req.valid("json");
      return send(c, NamespaceInfoSchema, await engine.updateLabels(nsPath(params), labels, ifVersion === undefined ? {} : { ifVersion }));
    },
  );

  app.openapi(
    defineRoute("write", {
      method: "put",
      path: `${NS_BASE}/{namespace}/text-fields`,
      tags,
      summary: "Replace the full-text options of the text fields (language, stemming, stop words, case, ASCII folding, k1, b)",
      security: SECURITY,
      request: { params: NamespaceParams, body: { required: true, ...json(UpdateTextFieldsBody) } },
      responses: metadataChangeResponses,
    }),
    async (c) => {
      const params = c.req.valid("param");
      const { textFields, ifVersion } = c.req.valid("json");
      return send(c, NamespaceInfoSchema, await engine.updateTextFields(nsPath(params), textFields, ifVersion === undefined ? {} : { ifVersion }));
    },
  );

  app.openapi(
    defineRoute("write", {
      method: "put",
      path: `${NS_BASE}/{namespace}/schema`,
      tags,
      summary: "Extend the typed schema (id type; attribute types, filterable, options): merged in; a type change is a 400",
      security: SECURITY,
      request: { params: NamespaceParams, body: { required: true, ...json(UpdateSchemaBody) } },
      responses: metadataChangeResponses,
    }),
    async (c) => {
      const params = c.req.valid("param");
      const { schema, ifVersion } = c.req.valid("json");
      return send(c, NamespaceInfoSchema, await engine.updateSchema(nsPath(params), schema as NamespaceSchemaInput, ifVersion === undefined ? {} : { ifVersion }));
    },
  );

  app.openapi(
    defineRoute("read", {
      method: "get",
      path: `${NS_BASE}/{namespace}/schema`,
      tags,
      summary: "The typed schema (null for a schemaless namespace), at the latest or a given version",
      security: SECURITY,
      request: { params: NamespaceParams, query: ReadQuery },
      responses: { 200: { description: "The schema", ...json(SchemaResultSchema) }, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404], 503: ERRORS[503] },
    }),
    async (c) => {
      const params = c.req.valid("param");
      const { atVersion, consistency } = c.req.valid("query");
      const info = await engine.getNamespace(nsPath(params), { atVersion, consistency });
      return send(c, SchemaResultSchema, { version: info.version, schema: info.schema ?? null });
    },
  );

  app.openapi(
    defineRoute("write", {
      method: "delete",
      path: `${NS_BASE}/{namespace}`,
      tags,
      summary: "Delete a namespace and its objects",
      security: SECURITY,
      request: { params: NamespaceParams },
      responses: { 200: { description: "Deleted", ...json(DeleteNamespaceResultSchema) }, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404], 503: ERRORS[503] },
    }),
    async (c) => send(c, DeleteNamespaceResultSchema, await engine.deleteNamespace(nsPath(c.req.valid("param")))),
  );

  app.openapi(
    defineRoute("read", {
      method: "get",
      path: `${NS_BASE}/{namespace}/versions`,
      tags,
      summary: "Manifest versions stored for a namespace, ascending (or newest first with order=desc)",
      security: SECURITY,
      request: { params: NamespaceParams, query: VersionsQuery },
      responses: { 200: { description: "Versions (one page with `cursor` or `limit`)", ...json(VersionsSchema) }, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404], 503: ERRORS[503] },
    }),
    async (c) => {
      const path = nsPath(c.req.valid("param"));
      const { cursor, limit, order } = c.req.valid("query");
      await engine.manifest(path, { consistency: "eventual" }); // 404 for a deleted or unknown namespace
      if (cursor === undefined && limit === undefined) {
        const versions = await engine.listVersions(path);
        return send(c, VersionsSchema, { versions: order === "desc" ? versions.reverse() : versions });
      }
      // The order is part of the position: a cursor resumes the order it was made in.
      const at =
        cursor === undefined
          ? undefined
          : decodeCursor(cursor, "versions", path, (p) => {
              const fields = p as { o?: unknown; a?: unknown } | null;
              const a = positiveInteger(fields?.a);
              const o = fields?.o;
              return (o === "asc" || o === "desc") && a !== undefined ? { order: o as "asc" | "desc", after: a } : undefined;
            });
      if (at !== undefined && order !== undefined && order !== at.order) {
        throw new ApiError("InvalidCursor", `invalid cursor: it resumes order=${at.order}, not order=${order}`, { param: "cursor" });
      }
      const pageOrder = at?.order ?? order ?? "asc";
      const page = await engine.listVersionsPage(path, { order: pageOrder, after: at?.after, limit: limit ?? DEFAULT_PAGE });
      const last = page.versions.at(-1);
      const next = page.more && last !== undefined ? { nextCursor: encodeCursor("versions", path, { o: pageOrder, a: last }) } : {};
      return send(c, VersionsSchema, { versions: page.versions, ...next });
    },
  );

  app.openapi(
    defineRoute("read", {
      method: "get",
      path: `${NS_BASE}/{namespace}/manifest`,
      tags,
      summary: "One manifest (latest or atVersion): its containers in fold order with rows, bytes and tombstoned rows",
      security: SECURITY,
      request: { params: NamespaceParams, query: ReadQuery },
      responses: { 200: { description: "Manifest", ...json(ManifestViewSchema) }, 400: ERRORS[400], 401: ERRORS[401], 403: ERRORS[403], 404: ERRORS[404], 503: ERRORS[503] },
    }),
    async (c) => {
      const path = nsPath(c.req.valid("param"));
      const { atVersion, consistency } = c.req.valid("query");
      return send(c, ManifestViewSchema, await manifestView(storage, await engine.manifest(path, { atVersion, consistency })));
    },
  );
}
