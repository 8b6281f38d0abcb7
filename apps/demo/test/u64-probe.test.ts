import { MemoryStorage } from "@skerry/storage-providers";
import { it } from "vitest";
import { createApp } from "../src/http/app.ts";
import { ADMIN_KEY, nsUrl, startTestServer } from "./support/harness.ts";

it("probe", async () => {
  const server = await startTestServer(new MemoryStorage());
  const app = createApp(server.deps);
  const BASE = nsUrl("acme", "u64");
  const call = async (method: string, path: string, text?: string) => {
    const headers: Record<string, string> = { authorization: `Bearer ${ADMIN_KEY}` };
    if (text !== undefined) headers["content-type"] = "application/json";
    const res = await app.request(path, text === undefined ? { method, headers } : { method, headers, body: text });
    console.log(method, path, res.status, (await res.text()).slice(0, 600));
  };
  await call("POST", BASE, JSON.stringify({ name: "docs" }));
  await call("POST", `${BASE}/docs/upsert`, '{"documents":[{"id":"a","attributes":{"u":18446744073709551615,"i":-9223372036854775808,"t":[18446744073709551614,1]}},{"id":"b","attributes":{"u":9007199254740993,"i":5}}]}');
  await call("POST", `${BASE}/docs/query`, '{"topK":10,"rankBy":["u","desc"],"includeAttributes":true}');
  await call("POST", `${BASE}/docs/query`, '{"topK":10,"filters":["u","Eq",18446744073709551615],"includeAttributes":true}');
  await call("POST", `${BASE}/docs/query`, '{"aggregateBy":{"s":["Sum","u"]}}');
  await call("GET", `${BASE}/docs/documents/a`);
  await call("GET", `${BASE}/docs/documents`);
  await server.close();
});
