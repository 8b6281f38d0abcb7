import { afterEach, describe, expect, it } from "vitest";
import { isSkerryError, SkerryClient, type SkerryClientOptions, type SkerryError } from "../src/index.ts";
import { answerOk, closedUrl, type LocalServer, startServer } from "./support/http-pair.ts";

const open: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function server(name: string): Promise<LocalServer> {
  const s = await startServer(answerOk(name));
  open.push(s);
  return s;
}

/** A client over the real global fetch, recording the URL of every attempt; sleeps recorded and skipped. */
function client(baseUrl: string[], options: Partial<SkerryClientOptions> = {}) {
  const attempts: string[] = [];
  const sleeps: number[] = [];
  let keys = 0;
  const c = new SkerryClient({
    baseUrl,
    apiKey: "sk_test",
    random: () => 0.5,
    idempotencyKey: () => `key-${++keys}`,
    fetch: (input, init) => {
      attempts.push(new URL(input).origin);
      return globalThis.fetch(input, init);
    },
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      if (signal.aborted) throw signal.reason;
    },
    ...options,
  });
  return { client: c, attempts, sleeps, ns: c.namespace("o", "p", "n") };
}

const origin = (url: string) => new URL(url).origin;

describe("failover across several base URLs (real sockets)", () => {
  it("moves a read off a refused URL at once, and stays on the healthy one", async () => {
    const dead = await closedUrl();
    const live = await server("live");
    const { client: c, attempts, sleeps } = client([dead, live.url]);
    expect(await c.health()).toMatchObject({ served: "live" });
    expect(attempts).toEqual([origin(dead), origin(live.url)]);
    expect(sleeps).toEqual([]);
    // Sticky: the next calls go straight to the healthy URL.
    await c.health();
    await c.health();
    expect(attempts.slice(2)).toEqual([origin(live.url), origin(live.url)]);
  });

  it("moves a write without an idempotency key when the connection was refused (it was never sent)", async () => {
    const dead = await closedUrl();
    const live = await server("live");
    const { ns, attempts } = client([dead, live.url]);
    expect(await ns.deleteByFilter(["id", "Eq", "x"])).toMatchObject({ served: "live" });
    expect(attempts).toEqual([origin(dead), origin(live.url)]);
    expect(live.received.map((r) => r.path)).toEqual(["/v1/orgs/o/projects/p/namespaces/n/deleteByFilter"]);
  });

  it("never resends a write without an idempotency key that may have reached a server (connection reset)", async () => {
    const resetter = await server("reset");
    resetter.handler = (req) => req.socket.destroy();
    const live = await server("live");
    const { ns, attempts } = client([resetter.url, live.url]);
    const error = (await ns.deleteByFilter(["id", "Eq", "x"]).catch((e: unknown) => e)) as SkerryError;
    expect(isSkerryError(error, "NetworkError")).toBe(true);
    expect(error.attempts).toBe(1);
    expect(resetter.received).toHaveLength(1);
    expect(live.received).toEqual([]);
    // The URL that failed is still passed over by the next call.
    await ns.info();
    expect(attempts).toEqual([origin(resetter.url), origin(live.url)]);
  });

  it("resends a keyed write to the next URL after a reset, with the same Idempotency-Key", async () => {
    const resetter = await server("reset");
    resetter.handler = (req) => req.socket.destroy();
    const live = await server("live");
    const { ns, sleeps } = client([resetter.url, live.url]);
    expect(await ns.upsert([{ id: "a", attributes: {} }])).toMatchObject({ served: "live" });
    expect(resetter.received.map((r) => r.idempotencyKey)).toEqual(["key-1"]);
    expect(live.received.map((r) => r.idempotencyKey)).toEqual(["key-1"]);
    expect(sleeps).toEqual([]);
  });

  it("moves on a balancer's 502/503/504 page, but retries a Skerry 503 and never moves on a 4xx", async () => {
    const balancer = await server("balancer");
    const live = await server("live");
    balancer.handler = (_req, res) => {
      res.writeHead(503, { "content-type": "text/html" });
      res.end("<html><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>");
    };
    const a = client([balancer.url, live.url]);
    expect(await a.client.health()).toMatchObject({ served: "live" });
    expect(a.attempts).toEqual([origin(balancer.url), origin(live.url)]);

    // Skerry's own 503 is the server's answer: retried (with backoff) on the same URL, the URL not blamed.
    let busy = 1;
    balancer.handler = (req, res, received) => {
      if (busy-- > 0) {
        res.writeHead(503, { "content-type": "application/json", "retry-after": "1" });
        res.end(JSON.stringify({ error: { code: "Unavailable", message: "store busy" } }));
      } else answerOk("balancer")(req, res, received);
    };
    const b = client([balancer.url, live.url]);
    expect(await b.client.health()).toMatchObject({ served: "balancer" });
    expect(b.attempts).toEqual([origin(balancer.url), origin(balancer.url)]);
    expect(b.sleeps).toEqual([1000]);

    balancer.handler = (_req, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "NamespaceNotFound", message: "no such namespace" } }));
    };
    const c = client([balancer.url, live.url]);
    await expect(c.ns.info()).rejects.toMatchObject({ code: "NamespaceNotFound", status: 404 });
    expect(c.attempts).toEqual([origin(balancer.url)]);
  });

  it("moves a read off a URL that accepts but does not answer within attemptTimeoutMs", async () => {
    const silent = await server("silent");
    silent.handler = () => {};
    const live = await server("live");
    const { client: c, attempts } = client([silent.url, live.url], { attemptTimeoutMs: 300 });
    expect(await c.health()).toMatchObject({ served: "live" });
    expect(attempts).toEqual([origin(silent.url), origin(live.url)]);
  });

  it("passes over a URL in cool-down, tries it again once every URL failed, and backs off then", async () => {
    let now = 0;
    const first = await server("first");
    const second = await server("second");
    const { client: c, attempts, sleeps } = client([first.url, second.url], { now: () => now, failoverCooldownMs: 1_000 });
    first.handler = (req) => req.socket.destroy();
    expect(await c.health()).toMatchObject({ served: "second" });
    // The second one dies too, inside the first one's cool-down: the first one (its cool-down ends first) is tried, after a backoff.
    now = 500;
    second.handler = (req) => req.socket.destroy();
    first.handler = answerOk("first");
    expect(await c.health()).toMatchObject({ served: "first" });
    expect(attempts).toEqual([first.url, second.url, second.url, first.url].map(origin));
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(0);
    // Both answer again: the client stays on the one that works now.
    second.handler = answerOk("second");
    now = 10_000;
    expect(await c.health()).toMatchObject({ served: "first" });
  });

  it("aborts a call in flight without trying the next URL", async () => {
    const silent = await server("silent");
    silent.handler = () => {};
    const live = await server("live");
    const { client: c, attempts } = client([silent.url, live.url]);
    const controller = new AbortController();
    const reason = new Error("user gave up");
    const pending = c.health({ signal: controller.signal });
    setTimeout(() => controller.abort(reason), 100);
    await expect(pending).rejects.toBe(reason);
    expect(attempts).toEqual([origin(silent.url)]);
    expect(live.received).toEqual([]);
  });

  it("turns failover off with retries: maxRetries 0 is one attempt", async () => {
    const dead = await closedUrl();
    const live = await server("live");
    const { client: c, attempts } = client([dead, live.url], { retry: { maxRetries: 0 } });
    await expect(c.health()).rejects.toMatchObject({ code: "NetworkError" });
    expect(attempts).toEqual([origin(dead)]);
  });

  it("checks its URLs", () => {
    expect(() => new SkerryClient({ baseUrl: [] })).toThrow(TypeError);
    expect(() => new SkerryClient({ baseUrl: ["http://a.test/", "http://a.test"] })).toThrow(/twice/);
    expect(() => new SkerryClient({ baseUrl: ["http://a.test", "ftp://b.test"] })).toThrow(/http or https/);
    expect(() => new SkerryClient({ baseUrl: ["http://a.test"], attemptTimeoutMs: 0 })).toThrow(RangeError);
    expect(() => new SkerryClient({ baseUrl: ["http://a.test"], failoverCooldownMs: -1 })).toThrow(RangeError);
  });
});
