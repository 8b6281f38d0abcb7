/**
 * S3Storage when the NETWORK fails around a real request, not a mock: a
 * loopback TCP relay sits between the SDK and the real S3 server and, when
 * armed, lets the next PUT reach the server and then either resets the
 * client's connection as the answer arrives, or swallows the answer so the
 * client's socket timeout fires. The write has landed in both cases; only
 * the answer is lost. This checks the real SDK/Node error shapes end to end.
 *
 * Same configuration rule as s3-storage.test.ts: runs when S3_ENDPOINT is
 * set, fails under CI when it is not, skips otherwise.
 */
import { randomUUID } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3Storage, type S3RetryEvent } from "@skerry/storage-providers";
import { md5Hex } from "../src/internal/md5.ts";

const endpoint = process.env["S3_ENDPOINT"];
const configured = Boolean(endpoint);

if (!configured && process.env["CI"]) {
  describe("S3 configuration", () => {
    it("S3 must be configured in CI", () => {
      throw new Error("S3 is not configured in CI: S3_ENDPOINT missing");
    });
  });
}

type Sabotage = "reset-answer" | "swallow-answer";

/** A TCP relay to the S3 server that can sabotage the answer of the next PUT. */
class Relay {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #armed: Sabotage | undefined;
  sabotaged = 0;

  constructor(target: URL) {
    this.#server = createServer((client) => {
      const upstream = connect(Number(target.port || 80), target.hostname);
      this.#sockets.add(client).add(upstream);
      let sabotage: Sabotage | undefined;
      client.on("data", (chunk: Buffer) => {
        // A request's head arrives first; mark this connection if it is the armed PUT.
        if (this.#armed !== undefined && chunk.subarray(0, 4).toString("latin1") === "PUT ") {
          sabotage = this.#armed;
          this.#armed = undefined;
          this.sabotaged++;
        }
        upstream.write(chunk);
      });
      upstream.on("data", (chunk: Buffer) => {
        if (sabotage === "reset-answer") {
          client.resetAndDestroy();
          upstream.destroy();
        } else if (sabotage === undefined) {
          client.write(chunk);
        } // "swallow-answer": drop it; the client times out
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    const address = this.#server.address();
    if (address === null || typeof address === "string") throw new Error("relay has no port");
    return `http://127.0.0.1:${address.port}`;
  }

  arm(sabotage: Sabotage): void {
    this.#armed = sabotage;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

describe.skipIf(!configured)("S3Storage when the network loses the answer of a real write", () => {
  let relay: Relay;
  let relayEndpoint: string;

  beforeAll(async () => {
    relay = new Relay(new URL(endpoint!));
    relayEndpoint = await relay.listen();
  });

  afterAll(async () => {
    await relay?.close();
  });

  function storageViaRelay() {
    const retries: S3RetryEvent[] = [];
    const storage = S3Storage.fromEnv(process.env, {
      endpoint: relayEndpoint,
      prefix: `skerry-tests/network/${randomUUID()}/`,
      socketTimeoutMs: 1_000,
      retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 5 },
      onRetry: (event) => retries.push(event),
    });
    const cleanup = async () => {
      const keys: string[] = [];
      for await (const meta of storage.list("")) keys.push(meta.key);
      for (const key of keys) await storage.delete(key);
      storage.close();
    };
    return { storage, retries, cleanup };
  }

  it("should resolve a create whose connection was reset as the answer came back: it landed", async () => {
    const { storage, retries, cleanup } = storageViaRelay();
    try {
      const before = relay.sabotaged;
      relay.arm("reset-answer");
      const body = new TextEncoder().encode(`create-${randomUUID()}`);
      const { etag } = await storage.put("k", body, { mode: { kind: "create" } });
      expect(relay.sabotaged).toBe(before + 1);
      expect(etag).toBe(md5Hex(body));
      expect((await storage.head("k"))!.etag).toBe(etag);
      expect(retries).toHaveLength(0);
    } finally {
      await cleanup();
    }
  });

  it("should resolve an update whose answer never came (socket timeout): it landed", async () => {
    const { storage, retries, cleanup } = storageViaRelay();
    try {
      const base = await storage.put("k", new TextEncoder().encode("base"));
      const before = relay.sabotaged;
      relay.arm("swallow-answer");
      const body = new TextEncoder().encode(`update-${randomUUID()}`);
      const { etag } = await storage.put("k", body, { mode: { kind: "update", etag: base.etag } });
      expect(relay.sabotaged).toBe(before + 1);
      expect(etag).toBe(md5Hex(body));
      expect(retries).toHaveLength(0);
    } finally {
      await cleanup();
    }
  });

  it("should retry an overwrite whose connection was reset, as Unavailable", async () => {
    const { storage, retries, cleanup } = storageViaRelay();
    try {
      relay.arm("reset-answer");
      const body = new TextEncoder().encode("overwrite");
      const { etag } = await storage.put("k", body);
      expect(etag).toBe(md5Hex(body));
      expect(retries.map((r) => [r.operation, r.error.code])).toEqual([["put", "Unavailable"]]);
    } finally {
      await cleanup();
    }
  });
});
