/**
 * Changing a running fleet (docs/fleet.md, scripts/fleet/fleet-scale.sh):
 * 2 servers on the real S3 server behind TWO HAProxy instances
 * (FLEET_BALANCERS=2, same nodes, same ring). Writers (upserts with an
 * Idempotency-Key) and readers (queries) go through both balancers, never
 * retrying, while a third node is added and then the first removed, each
 * through HAProxy's runtime API (no restart, no reload). Checked:
 * - no request dropped: every request of the load is answered 200;
 * - the added node takes namespaces (the ring gives it some), the removed
 *   one serves nothing once removed, and every acknowledged write is there;
 * - both balancers route every namespace to the same node before and after;
 * - a balancer killed (SIGKILL) leaves the other serving every namespace,
 *   to @skerry/client given both URLs (its failover: one refused attempt,
 *   then every call through the other); restarted, it routes as the other
 *   does (its configuration was rewritten with the new nodes).
 *
 * Needs S3 (S3_ENDPOINT) and haproxy, like fleet.test.ts: under CI a missing
 * one FAILS; elsewhere the suite is skipped.
 */
import { SkerryClient } from "@skerry/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removePrefix } from "./support/fleet-work.ts";
import { call, type Fleet, haproxyAvailable, startFleet } from "./support/fleet.ts";

const s3 = Boolean(process.env["S3_ENDPOINT"]);
const haproxy = await haproxyAvailable();
const NAMESPACES = Array.from({ length: 8 }, (_, i) => `scale-${i}`);
const BASE = "/v1/orgs/fleet/projects/scale/namespaces";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (!s3 || !haproxy) {
  const missing = [!s3 && "S3 (S3_ENDPOINT)", !haproxy && "haproxy (not installed, and not root to install it)"].filter(Boolean).join(" and ");
  if (process.env["CI"]) {
    describe("fleet scaling", () => {
      it("needs S3 and haproxy in CI", () => {
        throw new Error(`the fleet scaling test cannot run in CI: ${missing} missing`);
      });
    });
  } else {
    describe.skip(`fleet scaling (${missing} missing)`, () => {
      it("runs with scripts/s3/with-s3.sh", () => {});
    });
  }
} else {
  describe("fleet scaling: nodes added and removed under load, two balancers", () => {
    let fleet: Fleet;
    const acked = new Map<string, Set<string>>(NAMESPACES.map((ns) => [ns, new Set<string>()]));

    /** The node each balancer routes every namespace to (a query's X-Skerry-Node), checked equal across balancers. */
    async function routes(urls: readonly string[]): Promise<Map<string, string>> {
      const out = new Map<string, string>();
      for (const ns of NAMESPACES) {
        const nodes = new Set<string>();
        for (const url of urls) {
          const res = await call(url, fleet.adminKey, "POST", `${BASE}/${ns}/query`, { topK: 1 });
          expect(res.status, `${url} ${ns}: ${JSON.stringify(res.body)}`).toBe(200);
          nodes.add(res.node as string);
        }
        expect([ns, [...nodes]]).toEqual([ns, [[...nodes][0]]]);
        out.set(ns, [...nodes][0] as string);
      }
      return out;
    }

    beforeAll(async () => {
      fleet = await startFleet(2, { FLEET_BALANCERS: "2" });
      expect(fleet.urls).toHaveLength(2);
      for (const ns of NAMESPACES) {
        const res = await call(fleet.url, fleet.adminKey, "POST", BASE, { name: ns });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
      }
    }, 180_000);

    afterAll(async () => {
      await fleet?.stop();
      if (fleet !== undefined) await removePrefix(fleet.prefix);
    }, 60_000);

    it("adds a node and removes one while requests flow, dropping none", async () => {
      const key = fleet.adminKey;
      const before = await routes(fleet.urls);
      expect(new Set(before.values())).toEqual(new Set(["node1", "node2"]));

      let stop = false;
      const failures: string[] = [];
      let answered = 0;
      const servedBy: { at: number; node: string }[] = [];
      const writer = async (w: number) => {
        for (let seq = 0; !stop; seq++) {
          const ns = NAMESPACES[(w + seq) % NAMESPACES.length] as string;
          const id = `w${w}-${seq}`;
          const url = fleet.urls[(w + seq) % 2] as string;
          const res = await call(url, key, "POST", `${BASE}/${ns}/upsert`, { documents: [{ id, attributes: { w, seq } }] }, { "idempotency-key": id });
          answered++;
          if (res.status === 200) {
            acked.get(ns)?.add(id);
            servedBy.push({ at: Date.now(), node: res.node as string });
          } else failures.push(`upsert ${id} via ${url}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        }
      };
      const reader = async (r: number) => {
        for (let i = 0; !stop; i++) {
          const ns = NAMESPACES[(r + i) % NAMESPACES.length] as string;
          const url = fleet.urls[(r + i) % 2] as string;
          const res = await call(url, key, "POST", `${BASE}/${ns}/query`, { rankBy: ["seq", "desc"], topK: 5 });
          answered++;
          if (res.status === 200) servedBy.push({ at: Date.now(), node: res.node as string });
          else failures.push(`query ${ns} via ${url}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        }
      };
      const load = [...Array.from({ length: 4 }, (_, w) => writer(w)), ...Array.from({ length: 2 }, (_, r) => reader(r))];

      await sleep(2_000);
      const added = await fleet.addNode();
      expect(added.node).toBe(3);
      await sleep(3_000);
      const afterAdd = await routes(fleet.urls);
      await fleet.removeNode(1);
      const removedAt = Date.now();
      await sleep(3_000);
      stop = true;
      await Promise.all(load);
      const afterRemove = await routes(fleet.urls);

      console.log(
        `[fleet-scale] ${answered} requests, ${failures.length} not 200; owners before ${[...before.values()]}, after add ${[...afterAdd.values()]}, after remove ${[...afterRemove.values()]}`,
      );
      expect(failures).toEqual([]);
      // The ring gave node3 namespaces; it answered load; node1 answered nothing once removed.
      expect([...afterAdd.values()]).toContain("node3");
      // Consistent hashing: adding node3 moved only namespaces to node3.
      for (const ns of NAMESPACES) if (afterAdd.get(ns) !== "node3") expect(afterAdd.get(ns)).toBe(before.get(ns));
      expect(servedBy.some((s) => s.node === "node3")).toBe(true);
      expect(servedBy.filter((s) => s.at > removedAt && s.node === "node1")).toEqual([]);
      expect(new Set(afterRemove.values())).toEqual(new Set(["node2", "node3"]));
      for (const ns of NAMESPACES) if (afterAdd.get(ns) !== "node1") expect(afterRemove.get(ns)).toBe(afterAdd.get(ns));

      // Every acknowledged write, read through each balancer.
      for (const url of fleet.urls) {
        for (const ns of NAMESPACES) {
          const ids = [...(acked.get(ns) as Set<string>)];
          expect(ids.length).toBeGreaterThan(0);
          const res = await call(url, key, "POST", `${BASE}/${ns}/documents/get`, { ids });
          expect(res.status).toBe(200);
          expect(ids.filter((_, k) => res.body.documents[k] === null)).toEqual([]);
        }
      }
    }, 240_000);

    it("keeps serving through the other balancer when one dies, and a restarted one routes alike", async () => {
      const key = fleet.adminKey;
      const [first, second] = fleet.urls as [string, string];
      const expected = await routes(fleet.urls);
      await fleet.balancer("kill", 1);
      // @skerry/client given both balancers fails over on its own (packages/client README, "Failover across several
      // URLs"); its fetch records every attempt: the balancer tried, the status (0: no answer) and the node that answered.
      const attempts: { origin: string; status: number; node: string | undefined }[] = [];
      const client = new SkerryClient({
        baseUrl: [first, second],
        apiKey: key,
        attemptTimeoutMs: 20_000,
        timeoutMs: 60_000,
        fetch: async (input, init) => {
          const origin = new URL(input).origin;
          try {
            const res = await globalThis.fetch(input, init);
            attempts.push({ origin, status: res.status, node: res.headers.get("x-skerry-node") ?? undefined });
            return res;
          } catch (error) {
            attempts.push({ origin, status: 0, node: undefined });
            throw error;
          }
        },
      });
      const project = client.project("fleet", "scale");
      for (const ns of NAMESPACES) {
        await project.namespace(ns).query({ topK: 1 });
        const last = attempts.at(-1);
        expect([ns, last?.origin, last?.status, last?.node]).toEqual([ns, new URL(second).origin, 200, expected.get(ns)]);
      }
      // The dead balancer was tried once (refused, no answer); the client then stayed on the live one.
      expect(attempts.filter((a) => a.origin === new URL(first).origin)).toEqual([{ origin: new URL(first).origin, status: 0, node: undefined }]);
      expect(attempts).toHaveLength(NAMESPACES.length + 1);
      await fleet.balancer("start", 1);
      expect(await routes(fleet.urls)).toEqual(expected);
    }, 120_000);
  });
}
