/**
 * Paginated listings of the /v1 API over real HTTP (local-fs): namespaces,
 * versions, keys, WAL entries and document scans page by opaque cursors, a scan stays on
 * its first page's version while writes land, and bad cursors are 400
 * InvalidCursor.
 */
import { encodeMutationState, walIdFromHex } from "@skerry/wal-format";
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

  it("pages WAL entries in WAL id order, a state document and its sidecar one entry, resuming after the last object read", async () => {
    const ns = nsUrl("acme", "search", "n3");
    const root = "acme/search/ns/n3/wal/mutations/";
    const hex = (i: number) => `0000019a0b1c2d3e4f5061728394a5${String(i).padStart(2, "0")}`;
    const putState = (i: number) =>
      store.storage.put(
        `${root}${hex(i)}.json`,
        encodeMutationState({ walId: walIdFromHex(hex(i)), schemaVersion: 1, opKind: "DELETE", state: "INTENT", createdAt: 1_000 + i, predicateRepr: "n < 10", targetIds: [], tombstoneProgress: [] }),
      );
    // Put in an order other than their ids'.
    for (const i of [30, 10, 50, 20, 40]) await putState(i);
    const whole = (await admin.get(`${ns}/wal`)).body;
    expect(whole.nextCursor).toBeUndefined();
    expect(whole.entries).toHaveLength(5);
    const ids = whole.entries.map((e: { walId: string }) => e.walId);
    expect(ids).toEqual([...ids].sort());
    expect(ids).toEqual([10, 20, 30, 40, 50].map(hex));
    // A sidecar beside the second entry's state document: still one entry, never split across pages.
    await store.storage.put(`${root}${ids[1]}.arrow`, new Uint8Array([1, 2, 3]));
    for (const limit of [1, 2, 3, 5]) {
      const paged = await pages(admin, `${ns}/wal`, "entries", limit);
      const flat = paged.items.flat() as { walId: string; hasArrowSidecar: boolean }[];
      expect([limit, flat.map((e) => e.walId)]).toEqual([limit, ids]);
      expect(flat.map((e) => e.hasArrowSidecar)).toEqual([false, true, false, false, false]);
      expect(paged.items.map((p) => p.length)).toEqual(Array.from({ length: Math.ceil(5 / limit) }, (_, k) => Math.min(limit, 5 - k * limit)));
    }
    // A cursor resumes after its position: entries made meanwhile with a later id still come.
    const first = await admin.get(`${ns}/wal?limit=2`);
    await putState(5); // before the cursor: not listed
    await putState(60);
    const rest = await pages(admin, `${ns}/wal?cursor=${encodeURIComponent(first.body.nextCursor)}`, "entries", 100);
    expect((rest.items.flat() as { walId: string }[]).map((e) => e.walId)).toEqual([30, 40, 50, 60].map(hex));
    // A cursor of another listing or namespace is refused.
    const other = await admin.get(`${nsUrl("acme", "search", "n4")}/wal?cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect([other.status, other.body.error?.code]).toEqual([400, "InvalidCursor"]);
    const versions = await admin.get(`${ns}/versions?limit=1`);
    const wrong = await admin.get(`${ns}/wal?cursor=${encodeURIComponent(versions.body.nextCursor)}`);
    expect([wrong.status, wrong.body.error.code]).toEqual([400, "InvalidCursor"]);
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
      ["/v1/orgs/{org}/projects/{project}/namespaces/{namespace}/wal", "WalStateList"],
    ] as const) {
      const params = (doc.paths[path].get.parameters as { name: string; in: string }[]).filter((p) => p.in === "query").map((p) => p.name);
      expect(params).toEqual(expect.arrayContaining(["cursor", "limit"]));
      expect(Object.keys(doc.components.schemas[response].properties)).toContain("nextCursor");
      expect(doc.paths[path].get.responses["400"].description).toContain("InvalidCursor");
    }
  });
});
