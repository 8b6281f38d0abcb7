/**
 * 64-bit integer attribute values over the /v1 HTTP API: `uint` (u64) and
 * `int` (i64) values beyond 2^53-1, sent as plain JSON integers (the body is
 * parsed losslessly), are stored exactly and come back as the same digits
 * (documents by id and by page, query rows, Sum aggregations, group keys);
 * filters with such operands (Eq, In, ranges, ContainsAny on `[]uint`) and
 * attribute orders compare them exactly, in the log tail and after
 * compaction (the query index's format 8), equal to an exact (bigint)
 * reference; values outside the 64-bit ranges or the declared type are 400.
 *
 * Requests go through the app in process as JSON text, answers are parsed
 * losslessly (lossless-json.ts), as a client with 64-bit integers does.
 */
import { MemoryStorage } from "@skerry/storage-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/http/app.ts";
import { parseJson, stringifyJson } from "../src/http/lossless-json.ts";
import type { SkerryServer } from "../src/server/server.ts";
import { ADMIN_KEY, nsUrl, startTestServer } from "./support/harness.ts";

const BASE = nsUrl("acme", "u64");
const NS = `${BASE}/docs`;
const P53 = 2n ** 53n;
const P63 = 2n ** 63n;
const U64_MAX = 2n ** 64n - 1n;
const I64_MIN = -(2n ** 63n);
const DOCS = 60;

type Num = number | bigint;
interface Attrs {
  u: Num;
  i: Num;
  tags: Num[];
  g: number;
}

/** Values beyond 2^53-1, some sharing a double (2^63 + 0..4, 2^64-1 - 0..2), beside small ones. */
function attrs(k: number): Attrs {
  const u: Num = k % 4 === 0 ? k : k % 4 === 1 ? P53 + BigInt(k) : k % 4 === 2 ? P63 + BigInt(k % 5) : U64_MAX - BigInt(k % 3);
  const i: Num = k % 3 === 0 ? I64_MIN + BigInt(k % 2) : k % 3 === 1 ? -(P53 + BigInt(k)) : P63 - 1n - BigInt(k % 2);
  return { u, i, tags: [u, k % 2], g: k % 3 };
}

const id = (k: number) => `d${String(k).padStart(3, "0")}`;
const cmp = (a: Num, b: Num): number => (a < b ? -1 : a > b ? 1 : 0);
const exact = (v: Num): Num => (Number.isSafeInteger(Number(v)) ? Number(v) : BigInt(v));

describe("64-bit integer attributes over /v1", () => {
  let server: SkerryServer;
  let app: ReturnType<typeof createApp>;
  const docs = new Map<string, Attrs>();

  /** One request through the app: the body as lossless JSON text, the answer parsed losslessly. */
  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await app.request(path, body === undefined ? { method, headers } : { method, headers, body: stringifyJson(body) });
    const text = await res.text();
    return { status: res.status, body: (text === "" ? null : parseJson(text)) as Record<string, unknown> };
  }
  async function ok(method: string, path: string, body?: unknown, status = 200): Promise<Record<string, unknown>> {
    const answer = await call(method, path, body);
    expect(answer.status, `${method} ${path}: ${stringifyJson(answer.body)}`).toBe(status);
    return answer.body;
  }
  const query = (request: Record<string, unknown>) => ok("POST", `${NS}/query`, request);
  const ids = async (request: Record<string, unknown>) => ((await query(request))["rows"] as { id: string }[]).map((r) => r.id);
  /** The ids whose attributes pass `test`, in id order (a listing's). */
  const where = (test: (a: Attrs) => boolean) => [...docs].filter(([, a]) => test(a)).map(([k]) => k).sort();

  beforeAll(async () => {
    server = await startTestServer(new MemoryStorage());
    app = createApp(server.deps);
    await ok("POST", BASE, { name: "docs", schema: { attributes: { u: "uint", i: "int", tags: "[]uint" } } }, 201);
    const written = Array.from({ length: DOCS }, (_, k) => ({ id: id(k), vector: [1, k % 7, 0.5], attributes: attrs(k) }));
    await ok("POST", `${NS}/upsert`, { documents: written });
    for (let k = 0; k < DOCS; k++) docs.set(id(k), attrs(k));
  });
  afterAll(async () => {
    await server?.close();
  });

  async function expectExactAnswers(): Promise<void> {
    // Filters with bigint and number operands.
    expect(await ids({ filters: ["u", "Eq", U64_MAX], topK: 100 })).toEqual(where((a) => a.u === U64_MAX));
    expect(await ids({ filters: ["u", "Eq", P63 + 3n], topK: 100 })).toEqual(where((a) => a.u === P63 + 3n));
    // 2^63 itself: only the value written as 2^63, not the others sharing its double.
    expect(await ids({ filters: ["u", "Eq", P63], topK: 100 })).toEqual(where((a) => a.u === P63));
    expect(where((a) => a.u === P63).length).toBeGreaterThan(0);
    expect(await ids({ filters: ["u", "In", [U64_MAX - 1n, P53 + 5n, 8]], topK: 100 })).toEqual(where((a) => [U64_MAX - 1n, P53 + 5n, 8n].some((v) => cmp(a.u, v) === 0)));
    expect(await ids({ filters: ["u", "Gt", P63 + 2n], topK: 100 })).toEqual(where((a) => cmp(a.u, P63 + 2n) > 0));
    expect(await ids({ filters: ["u", "Lte", P53 + 9n], topK: 100 })).toEqual(where((a) => cmp(a.u, P53 + 9n) <= 0));
    expect(await ids({ filters: ["i", "Lt", -(P53 + 10n)], topK: 100 })).toEqual(where((a) => cmp(a.i, -(P53 + 10n)) < 0));
    expect(await ids({ filters: ["tags", "ContainsAny", [U64_MAX]], topK: 100 })).toEqual(where((a) => a.tags.some((t) => t === U64_MAX)));
    expect((await ids({ filters: ["u", "Gt", P63 + 2n], topK: 100 })).length).toBeGreaterThan(10);
    // Orders: exact, ties of equal doubles included; the rows' values are the digits written.
    const desc = (await query({ rankBy: ["u", "desc"], topK: 12, includeAttributes: ["u", "i", "tags"] }))["rows"] as { id: string; attributes: Record<string, unknown> }[];
    const expected = [...docs].sort(([x, a], [y, b]) => -cmp(a.u, b.u) || (x < y ? -1 : 1)).slice(0, 12);
    expect(desc.map((r) => r.id)).toEqual(expected.map(([k]) => k));
    expect(desc.map((r) => r.attributes)).toEqual(expected.map(([, a]) => ({ u: exact(a.u), i: exact(a.i), tags: a.tags.map(exact) })));
    expect(desc[0]!.attributes["u"]).toBe(U64_MAX);
    const asc = await ids({ rankBy: ["i", "asc"], topK: 10 });
    expect(asc).toEqual([...docs].sort(([x, a], [y, b]) => cmp(a.i, b.i) || (x < y ? -1 : 1)).slice(0, 10).map(([k]) => k));
    // Sum: exact beyond 2^53 (and beyond 2^64); group keys are bigints.
    const sums = await query({ aggregateBy: { u: ["Sum", "u"], i: ["Sum", "i"] } });
    const total = (key: "u" | "i") => [...docs.values()].reduce((s, a) => s + BigInt(a[key]), 0n);
    expect(sums["aggregations"]).toEqual({ u: exact(total("u")), i: exact(total("i")) });
    expect(total("u")).toBeGreaterThan(U64_MAX);
    const groups = (await query({ aggregateBy: { c: ["Count"] }, groupBy: ["u"], filters: ["u", "Gte", U64_MAX - 2n], topK: 10 }))["aggregationGroups"];
    const counts = new Map<bigint, number>();
    for (const a of docs.values()) if (cmp(a.u, U64_MAX - 2n) >= 0) counts.set(BigInt(a.u), (counts.get(BigInt(a.u)) ?? 0) + 1);
    expect(groups).toEqual([...counts].sort(([x, a], [y, b]) => b - a || cmp(x, y)).map(([u, c]) => ({ group: { u }, aggregations: { c } })));
    // Documents by id and by page: the digits written.
    const one = await ok("GET", `${NS}/documents/${id(3)}`);
    const three = docs.get(id(3))!;
    expect(one["attributes"]).toEqual({ u: exact(three.u), i: exact(three.i), tags: three.tags.map(exact), g: three.g });
    const page = (await ok("GET", `${NS}/documents?limit=100`))["documents"] as { id: string; attributes: Record<string, unknown> }[];
    expect(page.map((d) => d.attributes["u"])).toEqual([...docs.keys()].sort().map((k) => exact(docs.get(k)!.u)));
  }

  it("stores and answers exactly in the log tail", async () => {
    await expectExactAnswers();
  });

  it("answers exactly after compaction (query index format 8) and after a patch on top", async () => {
    await ok("POST", `${NS}/compact`, { force: true });
    await expectExactAnswers();
    await ok("POST", `${NS}/patch`, { patches: [{ id: id(0), attributes: { u: U64_MAX, i: I64_MIN } }] });
    docs.set(id(0), { ...docs.get(id(0))!, u: U64_MAX, i: I64_MIN });
    await expectExactAnswers();
  });

  it("refuses values outside the 64-bit ranges or the declared type with a 400", async () => {
    for (const attributes of [{ u: U64_MAX + 1n }, { u: -1 }, { i: P63 }, { i: I64_MIN - 1n }, { tags: [U64_MAX + 1n] }]) {
      const answer = await call("POST", `${NS}/upsert`, { documents: [{ id: "bad", attributes }] });
      expect(answer.status, stringifyJson(attributes)).toBe(400);
    }
    expect((await call("GET", `${NS}/documents/bad`)).status).toBe(404);
  });
});
