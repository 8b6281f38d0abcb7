/**
 * `@skerry/client` with 64-bit integer attribute values against a running
 * server (in process, real HTTP on loopback): bigints beyond 2^53-1 (`uint`
 * u64, `int` i64) are written, filtered on (bigint operands), ordered by,
 * summed and read back as the same bigints, before and after compaction;
 * values within 2^53 stay numbers.
 */
import { filter as f, SkerryClient } from "@skerry/client";
import { MemoryStorage } from "@skerry/storage-providers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SkerryServer } from "../src/server/server.ts";
import { ADMIN_KEY, startTestServer } from "./support/harness.ts";

const P53 = 2n ** 53n;
const P63 = 2n ** 63n;
const U64_MAX = 2n ** 64n - 1n;
const I64_MIN = -(2n ** 63n);

interface Row {
  u: number | bigint;
  i: number | bigint;
  tags: (number | bigint)[];
}

/** u: small, just beyond 2^53, 2^63 + 0..2 (one double), 2^64-1; i: the i64 ends and small values. */
const VALUES: Row[] = [
  { u: 1, i: I64_MIN, tags: [1] },
  { u: P53 + 1n, i: -(P53 + 1n), tags: [P53 + 1n, 2] },
  { u: P63, i: -7, tags: [P63] },
  { u: P63 + 1n, i: P63 - 1n, tags: [P63 + 1n, U64_MAX] },
  { u: P63 + 2n, i: 0, tags: [] },
  { u: U64_MAX, i: I64_MIN + 1n, tags: [U64_MAX] },
];
const ids = VALUES.map((_, k) => `r${k}`);

describe("@skerry/client with 64-bit integer attributes", () => {
  let server: SkerryServer;
  let client: SkerryClient;
  const ns = () => client.project("acme", "big").namespace<Row>("rows");

  beforeAll(async () => {
    server = await startTestServer(new MemoryStorage(), {}, { compaction: { auto: false } });
    client = new SkerryClient({ baseUrl: server.url, apiKey: ADMIN_KEY });
    await ns().create({ distanceMetric: "cosine", schema: { attributes: { u: "uint", i: "int", tags: "[]uint" } } });
    await ns().upsert(VALUES.map((attributes, k) => ({ id: ids[k]!, vector: [1, k, 0.5], attributes })));
  });
  afterAll(async () => {
    await server?.close();
  });

  async function expectExact(): Promise<void> {
    const all = await ns().query({ rankBy: ["u", "desc"], topK: 10, includeAttributes: true });
    expect(all.rows.map((r) => r.id)).toEqual(["r5", "r4", "r3", "r2", "r1", "r0"]);
    expect(all.rows.map((r) => r.attributes)).toEqual([...VALUES].reverse());
    expect(typeof all.rows[5]!.attributes!.u).toBe("number");
    expect((await ns().query({ filters: f.eq("u", P63 + 1n), topK: 10 })).rows.map((r) => r.id)).toEqual(["r3"]);
    expect((await ns().query({ filters: f.gt("u", P63), topK: 10 })).rows.map((r) => r.id)).toEqual(["r3", "r4", "r5"]);
    expect((await ns().query({ filters: ["i", "Lt", I64_MIN + 1n], topK: 10 })).rows.map((r) => r.id)).toEqual(["r0"]);
    expect((await ns().query({ filters: ["tags", "ContainsAny", [U64_MAX]], topK: 10 })).rows.map((r) => r.id)).toEqual(["r3", "r5"]);
    expect((await ns().query({ rankBy: ["i", "asc"], topK: 3 })).rows.map((r) => r.id)).toEqual(["r0", "r5", "r1"]);
    const sums = await ns().query({ aggregateBy: { u: ["Sum", "u"], i: ["Sum", "i"] } });
    expect(sums.aggregations).toEqual({
      u: VALUES.reduce((s, r) => s + BigInt(r.u), 0n),
      i: VALUES.reduce((s, r) => s + BigInt(r.i), 0n),
    });
    expect((await ns().document("r5"))?.attributes).toEqual(VALUES[5]);
  }

  it("writes, filters, orders, sums and reads them exactly in the log tail", async () => {
    await expectExact();
  });

  it("and after compaction", async () => {
    await ns().compact({ force: true });
    await expectExact();
  });
});
