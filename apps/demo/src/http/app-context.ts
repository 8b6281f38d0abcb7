/**
 * What every route handler gets: the engine and services of one server,
 * and the Hono environment type (the authenticated principal and the
 * request id are request variables).
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { NamespaceEngine, QuerySlicer } from "@skerry/namespace-engine";
import type { StorageProvider } from "@skerry/storage-providers";
import type { ApiKeyStore, Principal } from "../auth/api-keys.ts";
import type { RequestLimits, TurbopufferProject } from "../config.ts";
import type { Logger } from "../server/logger.ts";
import type { ServerMetrics } from "../server/metrics.ts";

export interface AppDeps {
  readonly engine: NamespaceEngine;
  readonly storage: StorageProvider;
  readonly keys: ApiKeyStore;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  readonly limits: RequestLimits;
  /**
   * The engine's query slicer, shared with the streamed answers (respond.ts): query work and the writing of
   * large bodies draw on one budget per event-loop turn, however many run at once.
   */
  readonly slicer: QuerySlicer;
  /** The org/project the turbopuffer-compatible routes act on for an admin key. */
  readonly turbopufferProject: TurbopufferProject;
  /** Flipped by graceful shutdown: new requests get 503 ShuttingDown. */
  readonly lifecycle: { shuttingDown: boolean; ready: boolean; inFlight: number };
}

export interface AppEnv {
  Variables: {
    principal: Principal;
    requestId: string;
  };
}

export type App = OpenAPIHono<AppEnv>;
