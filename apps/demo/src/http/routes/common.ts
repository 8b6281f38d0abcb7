/**
 * Shared pieces of route definitions: the error responses every route
 * documents, the bearer security requirement, and path helpers.
 */
import { ErrorSchema } from "../schemas.ts";

const error = (description: string) => ({ description, content: { "application/json": { schema: ErrorSchema } } });

export const ERRORS = {
  400: error("Invalid request (InvalidArgument, InvalidQuery, InvalidCursor: a listing's cursor that is malformed, altered or of another listing, MalformedJson, JsonTooDeep: a body nested deeper than 128 levels)"),
  401: error("Missing or unknown API key"),
  403: error("The key is not scoped to this organization and project, or may only read"),
  404: error("Namespace, document or version not found"),
  409: error("Namespace exists, or the commit lost too many manifest races (retry)"),
  412: error("ifVersion did not match the namespace's version"),
  413: error("Body or batch too large"),
  415: error("The body is not JSON (UnsupportedMediaType): send Content-Type: application/json"),
  429: error("Too many requests in flight for this key (see Retry-After)"),
  503: error("Store unavailable, request timeout, server overloaded (Overloaded: SKERRY_MAX_IN_FLIGHT requests in flight) or shutting down (see Retry-After)"),
} as const;

/** Items per page of a listing given a `cursor` but no `limit` (and of a document scan without `limit`). */
export const DEFAULT_PAGE = 100;

export const SECURITY = [{ bearer: [] as string[] }];

export const NS_BASE = "/v1/orgs/{org}/projects/{project}/namespaces";

export function nsPath(p: { org: string; project: string; namespace: string }): string {
  return `${p.org}/${p.project}/${p.namespace}`;
}
