/**
 * Client mistakes in request bodies are 4xx with a stable code, and nothing
 * is logged at error level for them (the server's pino output is captured):
 *
 * - every route that takes a JSON body (from the OpenAPI document), sent a
 *   text/plain body, a body without a Content-Type, or a form: 415
 *   UnsupportedMediaType;
 * - every such route, sent JSON nested 10,000 and 100,000 levels deep (and
 *   attributes of an upsert nested as deep): 400 JsonTooDeep, before any
 *   recursive validation could overflow the stack;
 * - the engine's own API, given attribute values, filters and rankings
 *   nested 100,000 levels deep: a typed InvalidArgument / InvalidQuery,
 *   never a RangeError.
 */
import { NamespaceEngine } from "@skerry/namespace-engine";
import { MemoryStorage } from "@skerry/storage-providers";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type SkerryServer } from "../src/server/server.ts";
import { ADMIN_KEY, nsUrl } from "./support/harness.ts";

const deepArray = (levels: number, inner = "1") => `${"[".repeat(levels)}${inner}${"]".repeat(levels)}`;

interface JsonRoute {
  readonly method: string;
  readonly url: string;
}

describe("request bodies: media type and nesting depth", () => {
  let server: SkerryServer;
  const lines: { level: number; msg?: string }[] = [];
  let jsonRoutes: JsonRoute[];

  beforeAll(async () => {
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    server = await startServer({ storage: new MemoryStorage(), port: 0, adminKey: ADMIN_KEY, logger });
    const created = await send("POST", nsUrl("acme", "search"), JSON.stringify({ name: "docs" }), "application/json");
    expect(created.status).toBe(201);
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>>;
    };
    jsonRoutes = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (operation.requestBody?.content["application/json"] === undefined) continue;
        const url = path.replace("{org}", "acme").replace("{project}", "search").replace("{namespace}", "docs");
        jsonRoutes.push({ method: method.toUpperCase(), url });
      }
    }
    expect(jsonRoutes.length).toBeGreaterThan(15);
  });

  afterAll(async () => {
    await server?.close();
  });

  /** A raw request: `type` undefined sends no Content-Type at all (a byte body carries none). */
  async function send(method: string, url: string, body: string, type: string | undefined) {
    const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };
    if (type !== undefined) headers["content-type"] = type;
    const res = await fetch(`${server.url}${url}`, { method, headers, body: new TextEncoder().encode(body) });
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text) as { error?: { code: string; message: string } } };
  }

  function errorLines(): unknown[] {
    return lines.filter((l) => l.level >= 50);
  }

  it("should answer 415 UnsupportedMediaType to text/plain, no Content-Type and a form on every JSON route, logging no error", async () => {
    const wrong: string[] = [];
    for (const route of jsonRoutes) {
      for (const [type, body] of [
        ["text/plain", '{"documents":[{"id":"a"}]}'],
        [undefined, '{"documents":[{"id":"a"}]}'],
        ["application/x-www-form-urlencoded", "documents=a"],
        ["multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n'],
      ] as const) {
        const res = await send(route.method, route.url, body, type);
        if (res.status !== 415 || res.body.error?.code !== "UnsupportedMediaType") wrong.push(`${route.method} ${route.url} ${type}: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(errorLines()).toEqual([]);
  });

  it("should answer 400 JsonTooDeep to bodies nested 10,000 and 100,000 levels deep on every JSON route, logging no error", async () => {
    const wrong: string[] = [];
    for (const levels of [10_000, 100_000]) {
      for (const route of jsonRoutes) {
        const res = await send(route.method, route.url, `{"x":${deepArray(levels)}}`, "application/json");
        if (res.status !== 400 || res.body.error?.code !== "JsonTooDeep") wrong.push(`${route.method} ${route.url} ${levels}: ${res.status} ${JSON.stringify(res.body)}`);
      }
      const upsert = await send("POST", `${nsUrl("acme", "search", "docs")}/upsert`, `{"documents":[{"id":"d","attributes":{"a":${deepArray(levels)}}}]}`, "application/json; charset=utf-8");
      expect(upsert.status).toBe(400);
      expect(upsert.body.error?.code).toBe("JsonTooDeep");
      const filter = await send("POST", `${nsUrl("acme", "search", "docs")}/query`, `{"filters":${deepArray(levels, '"a","Eq",1')}}`, "application/json");
      expect(filter.body.error?.code).toBe("JsonTooDeep");
    }
    // Brackets inside strings are text, not nesting.
    const text = await send("POST", `${nsUrl("acme", "search", "docs")}/upsert`, JSON.stringify({ documents: [{ id: "s", attributes: { s: "[{".repeat(50_000) } }] }), "application/json");
    expect(text.status).toBe(200);
    // Within the body bound, deeper than the engine's attribute bound: the engine's typed 400.
    const engineBound = await send("POST", `${nsUrl("acme", "search", "docs")}/upsert`, `{"documents":[{"id":"d","attributes":{"a":${deepArray(60)}}}]}`, "application/json");
    expect(engineBound.status).toBe(400);
    expect(engineBound.body.error?.code).toBe("InvalidArgument");
    expect(errorLines()).toEqual([]);
    expect(lines.filter((l) => l.level >= 40)).toEqual([]); // not even a warning: no 5xx answered
  });

  it("should refuse values nested 100,000 levels deep at the engine's API with a typed error, never a stack overflow", async () => {
    const engine = new NamespaceEngine({ storage: new MemoryStorage(), compaction: { auto: false } });
    await engine.createNamespace("a/b/c");
    const deep = JSON.parse(deepArray(100_000)) as unknown;
    const rrf = JSON.parse(`${'["RRF",['.repeat(100_000)}["v","asc"]${"]]".repeat(100_000)}`) as unknown;
    const calls: [string, () => Promise<unknown>][] = [
      ["upsert", () => engine.upsert("a/b/c", [{ id: "x", attributes: { a: deep } }] as never)],
      ["patch", () => engine.patch("a/b/c", [{ id: "x", attributes: { a: deep } }] as never)],
      ["patchByFilter", () => engine.patchByFilter("a/b/c", ["a", "Eq", 1], { attributes: { a: deep } } as never)],
      ["query filters", () => engine.query("a/b/c", { filters: deep })],
      ["query Eq value", () => engine.query("a/b/c", { filters: ["a", "Eq", deep] })],
      ["query rankBy", () => engine.query("a/b/c", { rankBy: deep })],
      ["query RRF", () => engine.query("a/b/c", { rankBy: rrf })],
      ["deleteByFilter", () => engine.deleteByFilter("a/b/c", ["a", "Eq", deep])],
    ];
    for (const [what, call] of calls) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, what).toBeInstanceOf(Error);
      expect((error as Error).name, what).not.toBe("RangeError");
      expect(["InvalidArgument", "InvalidQuery"], what).toContain((error as { code?: string }).code);
    }
    await engine.close();
  });
});
