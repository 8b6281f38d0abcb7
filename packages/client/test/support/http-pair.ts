/**
 * Real HTTP servers on loopback for the failover tests (node:http, real
 * sockets): each records the requests it received and answers by a
 * handler; `closedUrl()` is a port nothing listens on (connection refused).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey: string | undefined;
  readonly body: unknown;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, received: Received) => void;

export interface LocalServer {
  readonly url: string;
  readonly received: Received[];
  handler: Handler;
  close(): Promise<void>;
}

/** Answers every request 200 with `{ "served": <name>, "path": ... }`. */
export function answerOk(name: string): Handler {
  return (_req, res, received) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ served: name, path: received.path, version: 1, count: 1, deduplicated: false }));
  };
}

export async function startServer(handler: Handler): Promise<LocalServer> {
  const received: Received[] = [];
  const sockets = new Set<import("node:net").Socket>();
  const local: LocalServer = {
    url: "",
    received,
    handler,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const key = req.headers["idempotency-key"];
      const r: Received = { method: req.method ?? "", path: req.url ?? "", idempotencyKey: typeof key === "string" ? key : undefined, body: text === "" ? undefined : JSON.parse(text) };
      received.push(r);
      local.handler(req, res, r);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  (local as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return local;
}

/** A loopback URL nothing listens on: a server is started to get a free port, then closed. */
export async function closedUrl(): Promise<string> {
  const s = await startServer(answerOk("gone"));
  await s.close();
  return s.url;
}
