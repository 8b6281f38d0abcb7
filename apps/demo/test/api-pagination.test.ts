/**
 * Paginated listings of the /v1 API over real HTTP (local-fs): namespaces,
 * versions, keys and document scans page by opaque cursors, a scan stays on
 * its first page's version while writes land, and bad cursors are 400
 * InvalidCursor.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SkerryServer } from "../src/server/server.ts";
import { ADMIN_KEY, type Answer, Client, localFsStore, nsUrl, startTestServer, type TestStore } from "./support/harness.ts";

/** Every page of a listing: `field` of each answer, following nextCursor. */
async function pages(client: Client, path: string, field: string, limit: number): Promise<{ items: unknown[][]; answers: Answer[] }> {
  const items: unknown[][] = [];
  const answers: Answer[] = [];
  let cursor: string | undefined;
  const sep = path.includes("?") ? "&" : "?";
  for (let i = 0; i < 1_000; i++) {
    const answer = await client.get(`${path}${sep}limit=${limit}${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    answers.push(answer);
    items.push(answer.body[field]);
    cursor = answer.body.nextCursor;
    if (cursor === undefined) return { items, answers };
    expect(typeof cursor).toBe("string");
  }
  throw new Error("a listing that never ends");
}

describe("paginated listings", () => {
  let store: TestStore;
  let server: SkerryServer;
  let admin: Client;
  const NS = nsUrl("acme", "search", "docs");
  const names = Array.from({ length: 7 }, (_, i) => `n${i}`);

  beforeAll(async () => {
    store = await localFsStore();
    server = await startTestServer(store.storage);
    admin = new Client(server.url, ADMIN_KEY);
    for (const name of [...names, "docs"]) expect((await admin.post(nsUrl("acme", "search"), { name })).status).toBe(201);
    const documents = Array.from({ length: 25 }, (_, i) => ({ id: `d${String(i).padStart(2, "0")}`, attributes: { n: i } }));
    expect((await admin.post(`${NS}/upsert`, { documents })).status).toBe(200);
  });

  afterAll(async () => {
    await server?.close();
    await store?.cleanup();
  });

  it("lists namespaces whole without a cursor or limit, and in pages with one", async () => {
    const whole = await admin.get(nsUrl("acme", "search"));
    expect(whole.body).toEqual({ namespaces: ["docs", ...names] });
    const paged = await pages(admin, nsUrl("acme", "search"), "namespaces", 3);
    expect(paged.items).toEqual([["docs", "n0", "n1"], ["n2", "n3", "n4"], ["n5", "n6"]]);
    // A page that ends the list exactly has no nextCursor.
    expect((await pages(admin, nsUrl("acme", "search"), "namespaces", 4)).items).toEqual([["docs", "n0", "n1", "n2"], ["n3", "n4", "n5", "n6"]]);
  });

  it("resumes a namespace listing after its last name whatever is created or deleted meanwhile", async () => {
    const first = await admin.get(`${nsUrl("acme", "search")}?limit=3`);
    expect(first.body.namespaces).toEqual(["docs", "n0", "n1"]);
    expect((await admin.delete(nsUrl("acme", "search", "n1"))).status).toBe(200);
    expect((await admin.post(nsUrl("acme", "search"), { name: "m" })).status).toBe(201); // sorts before the cursor
    expect((await admin.post(nsUrl("acme", "search"), { name: "n25" })).status).toBe(201); // after it
    const rest = await admin.get(`${nsUrl("acme", "search")}?limit=100&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(rest.body).toEqual({ namespaces: ["n2", "n25", "n3", "n4", "n5", "n6"] });
    expect((await admin.delete(nsUrl("acme", "search", "m"))).status).toBe(200);
    expect((await admin.delete(nsUrl("acme", "search", "n25"))).status).toBe(200);
    expect((await admin.post(nsUrl("acme", "search"), { name: "n1" })).status).toBe(201); // restored for the tests below
  });

  it("pages versions ascending and newest first; the cursor keeps its order", async () => {
    const ns = nsUrl("acme", "search", "n0");
    for (let i = 0; i < 5; i++) expect((await admin.post(`${ns}/upsert`, { documents: [{ id: `x${i}` }] })).status).toBe(200);
    expect((await admin.get(`${ns}/versions`)).body).toEqual({ versions: [1, 2, 3, 4, 5, 6] });
    expect((await admin.get(`${ns}/versions?order=desc`)).body).toEqual({ versions: [6, 5, 4, 3, 2, 1] });
    expect((await pages(admin, `${ns}/versions`, "versions", 4)).items).toEqual([[1, 2, 3, 4], [5, 6]]);
    const desc = await pages(admin, `${ns}/versions?order=desc`, "versions", 4);
    expect(desc.items).toEqual([[6, 5, 4, 3], [2, 1]]);
    // Without order the cursor's own order holds; a different one is refused.
    const first = desc.answers[0]?.body.nextCursor as string;
    expect((await admin.get(`${ns}/versions?cursor=${encodeURIComponent(first)}`)).body).toEqual({ versions: [2, 1] });
    const mixed = await admin.get(`${ns}/versions?order=asc&cursor=${encodeURIComponent(first)}`);
    expect([mixed.status, mixed.body.error.code]).toEqual([400, "InvalidCursor"]);
  });

  it("pages API keys in creation order", async () => {
    for (let i = 0; i < 4; i++) expect((await admin.post("/v1/keys", { role: "read", org: "acme", project: "search", name: `k${i}` })).status).toBe(201);
    const whole = (await admin.get("/v1/keys")).body.keys as { id: string }[];
    expect(whole.length).toBe(4);
    const paged = await pages(admin, "/v1/keys", "keys", 3);
    expect(paged.items.flat()).toEqual(whole);
    expect(paged.items.map((p) => p.length)).toEqual([3, 1]);
  });

  it("scans documents by cursor at the first page's version while writes land", async () => {
    const first = await admin.get(`${NS}/documents?limit=10`);
    const version = first.body.version as number;
    expect(first.body.documents.map((d: { id: string }) => d.id)).toEqual(Array.from({ length: 10 }, (_, i) => `d${String(i).padStart(2, "0")}`));
    // Meanwhile: a document inserted into the rest, one deleted from it, one changed in it.
    expect((await admin.post(`${NS}/upsert`, { documents: [{ id: "d15a" }, { id: "d20", attributes: { n: -1 } }] })).status).toBe(200);
    expect((await admin.post(`${NS}/delete`, { ids: ["d12"] })).status).toBe(200);
    const ids: string[] = [];
    let cursor = first.body.nextCursor as string;
    while (cursor !== undefined) {
      const page = await admin.get(`${NS}/documents?limit=10&cursor=${encodeURIComponent(cursor)}`);
      expect(page.status).toBe(200);
      expect(page.body.version).toBe(version);
      for (const d of page.body.documents) {
        ids.push(d.id);
        if (d.id === "d20") expect(d.attributes.n).toBe(20);
      }
      cursor = page.body.nextCursor;
    }
    expect(ids).toEqual(Array.from({ length: 15 }, (_, i) => `d${String(i + 10).padStart(2, "0")}`));
    // A fresh scan sees the writes.
    const all = await pages(admin, `${NS}/documents`, "documents", 100);
    expect((all.items.flat() as { id: string }[]).map((d) => d.id)).toContain("d15a");
    expect((all.items.flat() as { id: string }[]).map((d) => d.id)).not.toContain("d12");
    // The older form (next + after) still answers.
    expect(first.body.next).toBe("d09");
  });

  it("refuses bad cursors with 400 InvalidCursor, and cursor with after or another atVersion", async () => {
    const list = await admin.get(`${nsUrl("acme", "search")}?limit=2`);
    const cursor = list.body.nextCursor as string;
    const scan = await admin.get(`${NS}/documents?limit=2`);
    const scanCursor = scan.body.nextCursor as string;
    const flip = (s: string, at: number) => s.slice(0, at) + (s[at] === "A" ? "B" : "A") + s.slice(at + 1);
    const bad: [string, string][] = [
      [`${nsUrl("acme", "search")}?cursor=garbage`, "not a cursor"],
      [`${nsUrl("acme", "search")}?cursor=${encodeURIComponent(flip(cursor, 3))}`, "altered"],
      [`${nsUrl("acme", "search")}?cursor=${encodeURIComponent(cursor.slice(0, -1))}`, "altered"],
      [`${nsUrl("acme", "other")}?cursor=${encodeURIComponent(cursor)}`, "another listing"],
      [`${NS}/documents?cursor=${encodeURIComponent(cursor)}`, "another listing"],
      [`${nsUrl("acme", "search", "n0")}/documents?cursor=${encodeURIComponent(scanCursor)}`, "another listing"],
      [`${nsUrl("acme", "search", "n0")}/versions?cursor=${encodeURIComponent(cursor)}`, "another listing"],
      [`/v1/keys?cursor=${encodeURIComponent(cursor)}`, "another listing"],
      [`${NS}/documents?cursor=${encodeURIComponent(scanCursor)}&atVersion=1`, "atVersion"],
    ];
    for (const [path, message] of bad) {
      const answer = await admin.get(path);
      expect([path, answer.status, answer.body.error.code]).toEqual([path, 400, "InvalidCursor"]);
      expect(answer.body.error.message).toContain(message);
      expect(answer.body.error.details).toEqual({ param: "cursor" });
    }
    const both = await admin.get(`${NS}/documents?cursor=${encodeURIComponent(scanCursor)}&after=d01`);
    expect([both.status, both.body.error.code]).toEqual([400, "InvalidArgument"]);
    for (const limit of ["0", "10001", "x"]) expect((await admin.get(`${nsUrl("acme", "search")}?limit=${limit}`)).status).toBe(400);
    expect((await admin.get(`${nsUrl("acme", "search")}?cursor=${"a".repeat(3000)}`)).status).toBe(400);
  });

  it("documents cursor, limit and nextCursor in the OpenAPI document", async () => {
    const doc = (await admin.withKey(undefined).get("/openapi.json")).body;
    for (const [path, response] of [
      ["/v1/orgs/{org}/projects/{project}/namespaces", "NamespaceList"],
      ["/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/versions", "VersionList"],
      ["/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/documents", "ScanResult"],
      ["/v1/keys", "ApiKeyList"],
    ] as const) {
      const params = (doc.paths[path].get.parameters as { name: string; in: string }[]).filter((p) => p.in === "query").map((p) => p.name);
      expect(params).toEqual(expect.arrayContaining(["cursor", "limit"]));
      expect(Object.keys(doc.components.schemas[response].properties)).toContain("nextCursor");
      expect(doc.paths[path].get.responses["400"].description).toContain("InvalidCursor");
    }
  });
});
