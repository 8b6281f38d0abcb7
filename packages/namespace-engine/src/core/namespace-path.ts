/**
 * Namespace paths: `org/project/namespace`.
 *
 * Each part becomes a segment of object keys, so one strict allow list is
 * both the naming rule and the path-traversal defence: 1-128 ASCII letters,
 * digits, `-`, `_` and `.`; not starting with `_`, `.` or `-` (a leading `_`
 * is reserved for project-level objects such as `_project/`, so it can never
 * collide with a namespace); never `..`.
 *
 * Errors: `InvalidArgumentError` naming the part and the rule it breaks.
 */
import { InvalidArgumentError } from "./errors.ts";

/** A validated namespace path. */
export interface NamespacePath {
  readonly org: string;
  readonly project: string;
  readonly namespace: string;
}

/** Longest path part, in characters (all ASCII, so also bytes). */
export const MAX_PATH_PART_LENGTH = 128;

const ALLOWED = /^[A-Za-z0-9._-]+$/;

/** Throws InvalidArgumentError unless `value` is a valid path part. */
export function validatePathPart(value: unknown, what: "organization" | "project" | "namespace"): string {
  if (typeof value !== "string") throw new InvalidArgumentError(`${what} must be a string`);
  if (value.length < 1 || value.length > MAX_PATH_PART_LENGTH) {
    throw new InvalidArgumentError(`${what} must be 1-${MAX_PATH_PART_LENGTH} characters, got ${value.length}`);
  }
  if (!ALLOWED.test(value)) {
    throw new InvalidArgumentError(`${what} may only contain ASCII letters, digits, '-', '_' and '.': ${JSON.stringify(value)}`);
  }
  if (value.startsWith("_") || value.startsWith(".") || value.startsWith("-")) {
    throw new InvalidArgumentError(`${what} must not start with '_', '.' or '-': ${JSON.stringify(value)}`);
  }
  if (value.includes("..")) throw new InvalidArgumentError(`${what} must not contain '..': ${JSON.stringify(value)}`);
  return value;
}

/** Builds a validated path from its parts. */
export function namespacePath(org: string, project: string, namespace: string): NamespacePath {
  return {
    org: validatePathPart(org, "organization"),
    project: validatePathPart(project, "project"),
    namespace: validatePathPart(namespace, "namespace"),
  };
}

/** Parses `org/project/namespace`. */
export function parseNamespacePath(text: string): NamespacePath {
  if (typeof text !== "string") throw new InvalidArgumentError("namespace path must be a string");
  const parts = text.split("/");
  if (parts.length !== 3) {
    throw new InvalidArgumentError(`namespace path must be org/project/namespace, got ${JSON.stringify(text)}`);
  }
  return namespacePath(parts[0] as string, parts[1] as string, parts[2] as string);
}

/** Accepts either form and returns a validated path. */
export function toNamespacePath(path: string | NamespacePath): NamespacePath {
  if (typeof path === "string") return parseNamespacePath(path);
  if (typeof path !== "object" || path === null) throw new InvalidArgumentError("namespace path must be a string or an object");
  return namespacePath(path.org, path.project, path.namespace);
}

/** `org/project/namespace`. */
export function formatNamespacePath(path: NamespacePath): string {
  return `${path.org}/${path.project}/${path.namespace}`;
}
