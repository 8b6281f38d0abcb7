/**
 * turbopuffer's error shape for the turbopuffer-compatible routes:
 * `{ "status": "error", "error": "<message>" }` with the HTTP status the
 * official client turns into its typed errors (400 BadRequestError, 401
 * AuthenticationError, 403 PermissionDeniedError, 404 NotFoundError, 429
 * RateLimitError, 5xx InternalServerError). Skerry's stable code rides along
 * as `code`. The client retries 409, 429 and 5xx, so an error a retry cannot
 * cure (a namespace that already exists) is a 400 here, not Skerry's 409.
 */
import type { MappedError } from "../../api-error.ts";

/** Whether a request path is one of the turbopuffer-compatible routes (`/v1/namespaces...`, `/v2/namespaces...`). */
export function isTurbopufferPath(path: string): boolean {
  return path === "/v1/namespaces" || path.startsWith("/v1/namespaces/") || path === "/v2/namespaces" || path.startsWith("/v2/namespaces/");
}

export interface TurbopufferErrorBody {
  status: "error";
  error: string;
  code: string;
}

export function turbopufferError(mapped: MappedError): { status: number; body: TurbopufferErrorBody } {
  const { code, message } = mapped.body.error;
  const status = code === "NamespaceExists" ? 400 : mapped.status;
  return { status, body: { status: "error", error: message, code } };
}
