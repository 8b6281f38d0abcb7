/**
 * Route access: the permission a route needs is part of its definition.
 *
 * Every route is declared with one `Access`:
 * - `public`: no key (health, readiness, metrics, the OpenAPI document, the console);
 * - `read`: a key of the route's org/project (any role), or an admin key;
 * - `write`: a `write` key of the route's org/project, or an admin key;
 * - `admin`: an admin key only (key management, project repair, engine stats).
 *
 * A route declared with `requiresOwnProject(access)` (the turbopuffer-compatible
 * routes, whose paths name no org/project) acts on the key's own project:
 * any project key may read, a `write` key may write; an admin key acts on
 * the configured default project (SKERRY_TURBOPUFFER_PROJECT).
 *
 * `defineRoute(access, config)` is `createRoute` with the access attached as
 * the route's first middleware (a marker, see `requires`) and documented in
 * the OpenAPI operation as `x-skerry-access`; plain routes put
 * `requires(access)` first in their handler list.
 *
 * `authorize` runs after routing, for every request: it finds the access
 * the matched route declares (HEAD is routed as GET, so it needs what GET
 * needs) and checks the principal against it and the route's org/project
 * path parameters. A matched route that declares no access is refused
 * (fail closed, 500 Internal: a server bug); no decision is ever taken from
 * the shape of the path, so a namespace named `query` or `pin` is just a
 * name.
 */
import { createRoute, type RouteConfig } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { allows } from "../auth/api-keys.ts";
import { ApiError } from "./api-error.ts";
import type { AppDeps, AppEnv } from "./app-context.ts";
import { ERRORS } from "./routes/common.ts";

export type Access = "public" | "read" | "write" | "admin";

/** The OpenAPI extension that documents each operation's access. */
export const ACCESS_EXTENSION = "x-skerry-access";

const RANK: Readonly<Record<Access, number>> = { public: 0, read: 1, write: 2, admin: 3 };
const MARK = Symbol("skerry.route-access");
const OWN_PROJECT = Symbol("skerry.route-own-project");

type Marker = MiddlewareHandler<AppEnv> & { readonly [MARK]: Access; readonly [OWN_PROJECT]?: true };

/** The marker middleware that declares a route's access (the check itself is `authorize`'s). */
export function requires(access: Access): Marker {
  const marker: MiddlewareHandler<AppEnv> = async (_c, next) => {
    await next();
  };
  return Object.assign(marker, { [MARK]: access }) as Marker;
}

/**
 * The marker of a route whose org/project is the key's own (no org/project in its path: the
 * turbopuffer-compatible routes): a project key needs the access in its project, an admin key
 * may use it (the route then picks the project it acts on).
 */
export function requiresOwnProject(access: "read" | "write"): Marker {
  return Object.assign(requires(access), { [OWN_PROJECT]: true as const });
}

/** Whether a handler is a `requiresOwnProject` marker. */
function ownProjectOf(handler: unknown): boolean {
  return typeof handler === "function" && OWN_PROJECT in handler;
}

/** The access a handler declares, if it is a `requires` marker. */
export function accessOf(handler: unknown): Access | undefined {
  return typeof handler === "function" && MARK in handler ? (handler as Marker)[MARK] : undefined;
}

/** `createRoute` with its access: a route cannot be defined without one. */
export function defineRoute<R extends Omit<RouteConfig, "middleware">>(access: Access, config: R): R {
  // A route that takes a body documents the 415 its validator answers to any other media type.
  const responses = config.request?.body === undefined ? config.responses : { ...config.responses, 415: ERRORS[415] };
  return createRoute({ ...config, responses, middleware: [requires(access)], [ACCESS_EXTENSION]: access } as unknown as RouteConfig) as unknown as R;
}

/**
 * The access the matched route needs: `null` when no route matched (the
 * request ends in 404), `undefined` when a matched route declares none.
 * Several matching routes (never the case today) need the strictest.
 */
export function matchedAccess(
  routes: readonly { method: string; path: string; handler: unknown }[],
): { access: Access; path: string; ownProject?: boolean } | null | undefined {
  const groups = new Map<string, { path: string; access: Access | undefined; ownProject: boolean }>();
  for (const route of routes) {
    if (route.method === "ALL") continue;
    const id = `${route.method} ${route.path}`;
    const group = groups.get(id) ?? { path: route.path, access: undefined, ownProject: false };
    const declared = accessOf(route.handler);
    if (declared !== undefined && (group.access === undefined || RANK[declared] > RANK[group.access])) group.access = declared;
    if (ownProjectOf(route.handler)) group.ownProject = true;
    groups.set(id, group);
  }
  if (groups.size === 0) return null;
  let result: { access: Access; path: string; ownProject?: boolean } | undefined;
  for (const group of groups.values()) {
    if (group.access === undefined) return undefined;
    if (result === undefined || RANK[group.access] > RANK[result.access]) {
      result = group.ownProject ? { access: group.access, path: group.path, ownProject: true } : { access: group.access, path: group.path };
    }
  }
  return result;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The `:name` parameters of a route pattern (no wildcards under /v1) in a request path. */
export function pathParams(pattern: string, path: string): Map<string, string> {
  const names = pattern.split("/");
  const values = path.split("/");
  const params = new Map<string, string>();
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name.startsWith(":") && values[i] !== undefined) params.set(name.slice(1), decode(values[i]!));
  }
  return params;
}

export function authorize(deps: AppDeps): MiddlewareHandler<AppEnv> {
  const forbid = (message: string): never => {
    deps.metrics.rejected.inc({ reason: "forbidden" });
    throw new ApiError("Forbidden", message);
  };
  return async (c, next) => {
    const matched = matchedAccess(matchedRoutes(c));
    if (matched === null) return next(); // no route: 404
    if (matched === undefined) throw new ApiError("Internal", `the route for ${c.req.method} ${c.req.path} declares no access`);
    if (matched.access === "public") return next();
    const principal = c.get("principal");
    if (principal === undefined) {
      deps.metrics.rejected.inc({ reason: "unauthorized" });
      throw new ApiError("Unauthorized", "missing API key: send `Authorization: Bearer <key>`");
    }
    if (principal.role !== "admin") {
      if (matched.access === "admin") forbid("only an admin key may use this route (it spans projects or manages keys)");
      if (matched.ownProject === true) {
        // The route acts on the key's own project.
        if (principal.org === undefined || principal.project === undefined) forbid("this API key has no project");
        if (matched.access === "write" && principal.role !== "write") forbid("this API key may only read");
        return next();
      }
      const params = pathParams(matched.path, c.req.path);
      const org = params.get("org");
      const project = params.get("project");
      if (org === undefined || project === undefined) forbid("only an admin key may use this route");
      if (!allows(principal, org as string, project as string, matched.access as "read" | "write")) {
        const own = principal.org === org && principal.project === project;
        forbid(own ? "this API key may only read" : "this API key is not scoped to this organization and project");
      }
    }
    await next();
  };
}
