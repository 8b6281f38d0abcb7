/**
 * `@skerry/client`'s paginated listings and document scans against a
 * running server (in-process, real HTTP on loopback, local-fs store): more
 * items than one page everywhere, a scan that stays on its snapshot while
 * writes land, saved cursors, a bad cursor, and an abort between pages.
 */
import { type FetchFunction, isSkerryError, type Namespace, SkerryClient } from "@skerry/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SkerryServer } from "../src/server/server.ts";
import { ADMIN_KEY, localFsStore, startTestServer, type TestStore } from "./support/harness.ts";

const NAMES = Array.from({ length: 23 }, (_, i) => `ns${String(i).padStart(2, "0")}`);
const IDS = Array.from({ length: 57 }, (_, i) => `doc${String(i).padStart(3, "0")}`);

describe("@skerry/client paginated listings against the server", () => {
  let store: TestStore;
  let server: SkerryServer;
  let admin: SkerryClient;
  let docs: Namespace<{ n: number }>;
  let calls = 0;
  const counting: FetchFunction = (input, init) => {
    calls++;
    return fetch(input, init);
  };

  beforeAll(async () => {
    store = await localFsStore();
    server = await startTestServer(store.storage, {}, { compaction: { auto: false } });
    admin = new SkerryClient({ baseUrl: server.url, apiKey: ADMIN_KEY, fetch: counting });
    const project = admin.project("acme", "list");
    for (const name of NAMES) await project.createNamespace(name);
    docs = admin.namespace<{ n: number }>("acme", "list", "ns00");
    // Three writes: versions 2..4, documents spread over them.
    for (let part = 0; part < 3; part++) await docs.upsert(IDS.filter((_, i) => i % 3 === part).map((id, i) => ({ id, attributes: { n: part * 100 + i } })));
    for (let i = 0; i < 5; i++) await admin.keys.create({ role: "read", org: "acme", project: "list", name: `reader-${i}` });
  });

  afterAll(async () => {
    await server?.close();
    await store?.cleanup();
  });

  it("iterates namespaces across pages, and awaits them whole", async () => {
    const project = admin.project("acme", "list");
    calls = 0;
    const seen: string[] = [];
    for await (const name of project.listNamespaces({ pageSize: 5 })) seen.push(name);
    expect(seen).toEqual(NAMES);
    expect(calls).toBe(5); // 23 names, 5 a page
    expect(await project.listNamespaces()).toEqual(NAMES);
    const sizes: number[] = [];
    for await (const page of project.listNamespaces({ pageSize: 10 }).pages()) sizes.push(page.namespaces.length);
    expect(sizes).toEqual([10, 10, 3]);
  });

  it("resumes a listing from a saved cursor with the page method", async () => {
    const project = admin.project("acme", "list");
    const first = await project.listNamespacesPage({ pageSize: 20 });
    expect(first.namespaces).toEqual(NAMES.slice(0, 20));
    const saved = first.nextCursor as string;
    expect(await project.listNamespaces({ cursor: saved, pageSize: 2 })).toEqual(NAMES.slice(20));
    const rest = await project.listNamespacesPage({ cursor: saved });
    expect(rest).toEqual({ namespaces: NAMES.slice(20) });
    const bad = await project.listNamespacesPage({ cursor: `${saved.slice(0, -2)}zz` }).catch((e: unknown) => e);
    expect(isSkerryError(bad, "InvalidCursor")).toBe(true);
    expect(bad).toMatchObject({ status: 400, retryable: false });
  });

  it("iterates versions ascending and newest first, and keys", async () => {
    expect(await docs.versions({ pageSize: 3 })).toEqual([1, 2, 3, 4]);
    const desc: number[] = [];
    for await (const v of docs.versions({ order: "desc", pageSize: 3 })) desc.push(v);
    expect(desc).toEqual([4, 3, 2, 1]);
    const keys: string[] = [];
    for await (const key of admin.keys.list({ pageSize: 2 })) keys.push(key.name ?? "");
    expect(keys).toEqual(["reader-0", "reader-1", "reader-2", "reader-3", "reader-4"]);
  });

  it("scans more documents than one page from one snapshot while writes land", async () => {
    calls = 0;
    const seen: string[] = [];
    let version = 0;
    for await (const page of docs.scanPages({ pageSize: 10 })) {
      version ||= page.version;
      expect(page.version).toBe(version);
      for (const doc of page.documents) seen.push(doc.id);
      if (seen.length === 10) {
        // Between pages: an insert into the unread range, a delete from it, a change in it.
        await docs.upsert([{ id: "doc0305", attributes: { n: -1 } }, { id: "doc050", attributes: { n: -2 } }]);
        await docs.delete(["doc040"]);
      }
    }
    expect(seen).toEqual(IDS);
    expect(calls).toBe(6 + 2); // 57 documents, 10 a page, plus the two writes
    const now: string[] = [];
    for await (const doc of docs.scan({ pageSize: 7 })) now.push(doc.id);
    expect(now).toContain("doc0305");
    expect(now).not.toContain("doc040");
    expect((await docs.at(version).scan({ pageSize: 1000 }).next()).value?.id).toBe("doc000");
  });

  it("stops between pages when the signal aborts", async () => {
    const controller = new AbortController();
    calls = 0;
    const seen: string[] = [];
    const error = await (async () => {
      for await (const doc of docs.scan({ pageSize: 5, signal: controller.signal })) {
        seen.push(doc.id);
        if (seen.length === 7) controller.abort(new Error("user stopped"));
      }
    })().catch((e: unknown) => e);
    expect((error as Error).message).toBe("user stopped");
    expect(seen).toHaveLength(10); // the second page was already in hand
    expect(calls).toBe(2);
  });
});
