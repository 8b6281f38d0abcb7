/**
 * Which Skerry namespace a turbopuffer-compatible request names: the
 * turbopuffer namespace `:namespace` in the project of the API key (a
 * project key's own org/project; an admin key uses the configured default
 * project, SKERRY_TURBOPUFFER_PROJECT).
 */
import type { Context } from "hono";
import { ApiError } from "../../api-error.ts";
import type { AppDeps, AppEnv } from "../../app-context.ts";

export interface TpufProject {
  readonly org: string;
  readonly project: string;
}

/** turbopuffer's namespace name rule, `[A-Za-z0-9-_.]{1,128}`, narrowed by Skerry's path rule (no leading `_ . -`, no `..`). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export function projectOf(c: Context<AppEnv>, deps: AppDeps): TpufProject {
  const principal = c.get("principal");
  if (principal.role === "admin" || principal.org === undefined || principal.project === undefined) return deps.turbopufferProject;
  return { org: principal.org, project: principal.project };
}

export function checkName(namespace: string): string {
  if (!NAME.test(namespace) || namespace.includes("..")) {
    throw new ApiError(
      "InvalidArgument",
      `invalid namespace name ${JSON.stringify(namespace)}: 1-128 of A-Z a-z 0-9 - _ . (Skerry also refuses a leading - _ . and "..")`,
    );
  }
  return namespace;
}

/** The engine path `org/project/namespace` of a turbopuffer namespace. */
export function nsPathOf(c: Context<AppEnv>, deps: AppDeps, namespace: string): string {
  const { org, project } = projectOf(c, deps);
  return `${org}/${project}/${checkName(namespace)}`;
}
