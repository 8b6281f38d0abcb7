/**
 * SkerryServer: one running HTTP API over one store.
 *
 * `startServer` opens the engine on the given storage (background
 * compaction on, `DEMO_COMPACTION`; pinned namespaces warmed by
 * `engine.start()` before the server reports ready), builds the app and
 * listens (on the next free port when the default one is busy and
 * `portFallback` is set; otherwise a PortInUseError that names the variable
 * to change), and only then bootstraps the admin key. `close()` is the graceful shutdown: every
 * new request gets 503 ShuttingDown (and `Connection: close`); every
 * request Node had already received finishes and its answer is written out
 * in full (writes included; every answer from then on closes its
 * connection); once every client connection has been answered and
 * closed (at most 3 s; one that sent nothing for 1 s since the signal is
 * dropped as idle) the listener stops accepting,
 * `engine.close()` cancels pending background compactions and waits for
 * running ones (and flushes persisted states), then the storage is closed
 * and the log flushed. Tests start it on port 0.
 */
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { type BlockCacheOptions, type CompactionSettings, NamespaceEngine, QuerySlicer } from "@skerry/namespace-engine";
import type { StorageProvider } from "@skerry/storage-providers";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { Server as NetServer, type Socket } from "node:net";
import { ApiKeyStore } from "../auth/api-keys.ts";
import { DEFAULT_LIMITS, DEFAULT_TURBOPUFFER_PROJECT, type RequestLimits, type TurbopufferProject } from "../config.ts";
import type { AppDeps } from "../http/app-context.ts";
import { createApp } from "../http/app.ts";
import { createLogger, type Logger } from "./logger.ts";
import { ServerMetrics } from "./metrics.ts";

export interface StartServerOptions {
  readonly storage: StorageProvider;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly portFallback?: boolean;
  readonly adminKey?: string | undefined;
  readonly limits?: Partial<RequestLimits>;
  readonly logger?: Logger;
  readonly logLevel?: string;
  /** Background compaction thresholds; default DEMO_COMPACTION (`auto: false` turns it off). */
  readonly compaction?: Partial<CompactionSettings>;
  /** Local directory for persisted materialized states (engine `stateDir`); off when absent. */
  readonly stateDir?: string | undefined;
  /** The engine's block cache for immutable objects (engine `blockCache`); off when absent. */
  readonly blockCache?: BlockCacheOptions | undefined;
  /** The org/project the turbopuffer-compatible routes act on for an admin key; default `default/default`. */
  readonly turbopufferProject?: TurbopufferProject;
  /** Called on close after the server stopped (e.g. to close an S3 client). */
  readonly onClose?: () => void | Promise<void>;
}

export interface SkerryServer {
  readonly url: string;
  readonly port: number;
  readonly engine: NamespaceEngine;
  readonly keys: ApiKeyStore;
  /** The admin key minted by this start (first run without SKERRY_ADMIN_KEY), else undefined. */
  readonly generatedAdminKey: string | undefined;
  readonly deps: AppDeps;
  close(options?: { graceMs?: number }): Promise<void>;
}

/**
 * Background compaction of the demo server: a namespace is compacted (in
 * the background, after the write that crossed a threshold) once it has 16
 * log batches, 16 MiB of them, or 32 containers, so queries keep reading a
 * stored segment index plus a short tail however much users write. Lower
 * than the engine's defaults (32 / 64 MiB / 64): the demo's writes are small.
 */
export const DEMO_COMPACTION: Partial<CompactionSettings> = {
  auto: true,
  maxLogBatches: 16,
  maxLogBytes: 16 * 1024 * 1024,
  maxContainers: 32,
  delayMs: 250,
};

/**
 * Graceful shutdown: the longest linger for open keep-alive connections (each one's next request is answered
 * 503 ShuttingDown and closes it), and how often the linger looks.
 */
const LINGER_MS = 3_000;
const LINGER_POLL_MS = 25;
/** During the linger, a connection with no request for this long (since shutdown began) is taken as idle. */
const IDLE_AFTER_MS = 1_000;

export class PortInUseError extends Error {
  override readonly name = "PortInUseError";
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      reject(error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
}

export async function startServer(options: StartServerOptions): Promise<SkerryServer> {
  const logger = options.logger ?? createLogger(options.logLevel ?? "info");
  let metrics: ServerMetrics | undefined;
  // One time-slicer for the engine's queries and the streamed answers: at most one budget of their work per turn.
  const slicer = new QuerySlicer();
  const engine = new NamespaceEngine({
    storage: options.storage,
    querySlicer: slicer,
    compaction: { ...DEMO_COMPACTION, ...options.compaction },
    stateDir: options.stateDir,
    blockCache: options.blockCache,
    onRecover: (_path, report) => metrics?.recordRecovery(report),
    onBackgroundError: (error, path) => {
      metrics?.backgroundErrors.inc();
      logger.warn({ err: error, namespace: path }, "background compaction failed (the next write retries it)");
    },
  });
  const keys = new ApiKeyStore(options.storage, { envAdminKey: options.adminKey });
  metrics = new ServerMetrics(engine);
  const deps: AppDeps = {
    engine,
    storage: options.storage,
    keys,
    metrics,
    logger,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    slicer,
    turbopufferProject: options.turbopufferProject ?? DEFAULT_TURBOPUFFER_PROJECT,
    lifecycle: { shuttingDown: false, ready: false, inFlight: 0 },
  };
  const app = createApp(deps);
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  server.requestTimeout = deps.limits.requestTimeoutMs + 5_000;
  // Every request from the moment Node parsed it until its answer is written out (or the client went away):
  // what graceful shutdown waits for.
  const answering = new Set<ServerResponse>();
  let drained: (() => void) | undefined;
  // Every open client connection: shutdown lingers until each has been answered and closed (or LINGER_MS).
  // Each with the time of its last activity (opened, a request, an answer).
  const connections = new Map<Socket, number>();
  server.on("connection", (socket: Socket) => {
    connections.set(socket, Date.now());
    socket.once("close", () => connections.delete(socket));
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    if (connections.has(socket)) connections.set(socket, Date.now());
    res.once("finish", () => {
      if (connections.has(socket)) connections.set(socket, Date.now());
    });
    answering.add(res);
    if (deps.lifecycle.shuttingDown) res.shouldKeepAlive = false;
    res.once("close", () => {
      answering.delete(res);
      if (answering.size === 0) drained?.();
    });
  });
  const host = options.host ?? "127.0.0.1";
  const first = options.port ?? 0;
  let port: number | undefined;
  for (let candidate = first; port === undefined; candidate++) {
    try {
      port = await listen(server, host, candidate);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE" && options.portFallback && candidate < first + 20) continue;
      if (code === "EADDRINUSE") throw new PortInUseError(`port ${candidate} on ${host} is in use: set SKERRY_PORT to a free port`);
      throw error;
    }
  }
  // Only once the port is ours: a start that fails to listen must not mint an admin key nobody sees.
  let generated: string | undefined;
  try {
    ({ generated } = await keys.bootstrap());
  } catch (error) {
    await new Promise((resolve) => server.close(resolve));
    await engine.close();
    throw error;
  }
  try {
    const started = await engine.start(); // warms the pinned namespaces
    if (started.warmed.length > 0 || started.failed.length > 0) {
      logger.info({ warmed: started.warmed.map((w) => w.path), failed: started.failed }, "pinned namespaces warmed");
    }
  } catch (error) {
    logger.warn({ err: error }, "could not read the pinned namespaces; they warm on first use");
  }
  deps.lifecycle.ready = true;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  let closing: Promise<void> | undefined;

  async function close({ graceMs = 10_000 } = {}): Promise<void> {
    closing ??= (async () => {
      deps.lifecycle.shuttingDown = true;
      // From now on every new request is answered 503 ShuttingDown (shutdownGate) and every answer
      // closes its connection. The listener stays open until the in-flight requests are done and
      // no request arrived for a moment: a request already on its way (over a keep-alive
      // connection, or a connection the kernel accepted) gets that answer, never a reset.
      for (const res of answering) if (!res.headersSent) res.shouldKeepAlive = false;
      const graceOver = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
      if (answering.size > 0) await Promise.race([new Promise<void>((resolve) => (drained = resolve)), graceOver]);
      if (answering.size > 0) logger.warn({ inFlight: answering.size }, "shutdown grace expired with requests in flight");
      // A request a client already wrote onto a keep-alive connection may still sit unread in the
      // socket (the loop was busy), and a quiet moment proves nothing about what is in flight: linger
      // until every connection has been answered and closed (each next request gets 503 ShuttingDown
      // with Connection: close), at most LINGER_MS; a connection that sent nothing for IDLE_AFTER_MS
      // since shutdown began is taken as idle and dropped.
      const lingerStart = Date.now();
      const lingerEnd = lingerStart + Math.min(LINGER_MS, graceMs);
      const busy = () => {
        const idleSince = Date.now() - IDLE_AFTER_MS;
        for (const last of connections.values()) if (Math.max(last, lingerStart) > idleSince) return true;
        return false;
      };
      while ((answering.size > 0 || busy()) && Date.now() < lingerEnd) {
        await new Promise((resolve) => setTimeout(resolve, LINGER_POLL_MS));
      }
      // Stop accepting connections (not http.Server#close: it would also drop idle keep-alive
      // connections before their last requests were read), then drop the idle ones.
      const stopped = new Promise<void>((resolve) => Reflect.apply(NetServer.prototype.close, server, [() => resolve()]));
      server.closeIdleConnections();
      await Promise.race([stopped, new Promise<void>((resolve) => setTimeout(resolve, 1_000).unref())]);
      server.closeAllConnections();
      await stopped;
      await engine.close(); // waits for background compactions
      await options.onClose?.();
      logger.info("server stopped");
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    })();
    return closing;
  }

  logger.info({ url }, "listening");
  return { url, port, engine, keys, generatedAdminKey: generated, deps, close };
}
