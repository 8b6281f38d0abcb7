/**
 * Client-side failover between the balancers of a fleet, using only
 * `@skerry/client` (docs/fleet.md, "Two balancers"; packages/client
 * README, "Failover across several URLs"): 2 servers on the real S3 server
 * behind TWO HAProxy instances (FLEET_BALANCERS=2, same ring). One client
 * is given both balancers' URLs; 4 writers (upserts: the client adds an
 * Idempotency-Key) and 2 readers (queries) run through it while balancer 1
 * (the one the client sticks to) is SIGKILLed mid-load. Checked:
 * - no call fails: every upsert and query resolves;
 * - calls went to balancer 1 before the kill and to balancer 2 after it;
 * - every acknowledged write is there, read back through balancer 2 alone.
 *
 * Needs S3 (S3_ENDPOINT) and haproxy, like fleet.test.ts: under CI a missing
 * one FAILS; elsewhere the suite is skipped.
 */
import { SkerryClient } from "@skerry/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removePrefix } from "./support/fleet-work.ts";
import { type Fleet, haproxyAvailable, startFleet } from "./support/fleet.ts";

const s3 = Boolean(process.env["S3_ENDPOINT"]);
const haproxy = await haproxyAvailable();
const NAMESPACES = Array.from({ length: 6 }, (_, i) => `failover-${i}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (!s3 || !haproxy) {
  const missing = [!s3 && "S3 (S3_ENDPOINT)", !haproxy && "haproxy (not installed, and not root to install it)"].filter(Boolean).join(" and ");
  if (process.env["CI"]) {
    describe("fleet client failover", () => {
      it("needs S3 and haproxy in CI", () => {
        throw new Error(`the fleet client failover test cannot run in CI: ${missing} missing`);
      });
    });
  } else {
    describe.skip(`fleet client failover (${missing} missing)`, () => {
      it("runs with scripts/s3/with-s3.sh", () => {});
    });
  }
} else {
  describe("fleet client failover: a balancer killed under load, only the client", () => {
    let fleet: Fleet;

    beforeAll(async () => {
      fleet = await startFleet(2, { FLEET_BALANCERS: "2" });
      expect(fleet.urls).toHaveLength(2);
    }, 180_000);

    afterAll(async () => {
      await fleet?.stop();
      if (fleet !== undefined) await removePrefix(fleet.prefix);
    }, 60_000);

    it("loses no call and no acknowledged write when balancer 1 dies", async () => {
      const [first, second] = fleet.urls as [string, string];
      const attempts: { at: number; origin: string }[] = [];
      /** Attempts whose fetch itself failed (refused, reset): the client saw balancer 1 die. */
      const unanswered: string[] = [];
      const client = new SkerryClient({
        baseUrl: [first, second],
        apiKey: fleet.adminKey,
        attemptTimeoutMs: 20_000,
        timeoutMs: 60_000,
        fetch: (input, init) => {
          const origin = new URL(input).origin;
          attempts.push({ at: Date.now(), origin });
          return globalThis.fetch(input, init).catch((error: unknown) => {
            unanswered.push(origin);
            throw error;
          });
        },
      });
      const project = client.project("fleet", "failover");
      for (const name of NAMESPACES) await project.namespace(name).create();

      let stop = false;
      const failures: string[] = [];
      const acked = new Map<string, string[]>(NAMESPACES.map((ns) => [ns, []]));
      let answered = 0;
      const writer = async (w: number) => {
        for (let seq = 0; !stop; seq++) {
          const ns = NAMESPACES[(w + seq) % NAMESPACES.length] as string;
          const id = `w${w}-${seq}`;
          try {
            await project.namespace(ns).upsert([{ id, attributes: { w, seq } }]);
            acked.get(ns)?.push(id);
            answered++;
          } catch (error) {
            failures.push(`upsert ${ns}/${id}: ${String(error)}`);
          }
        }
      };
      const reader = async (r: number) => {
        for (let i = 0; !stop; i++) {
          const ns = NAMESPACES[(r + i) % NAMESPACES.length] as string;
          try {
            await project.namespace(ns).query({ rankBy: ["seq", "desc"], topK: 5 });
            answered++;
          } catch (error) {
            failures.push(`query ${ns}: ${String(error)}`);
          }
        }
      };
      const load = [...Array.from({ length: 4 }, (_, w) => writer(w)), ...Array.from({ length: 2 }, (_, r) => reader(r))];

      await sleep(2_000);
      const killedAt = Date.now();
      await fleet.balancer("kill", 1);
      const killDone = Date.now();
      await sleep(3_000);
      stop = true;
      await Promise.all(load);

      const firstOrigin = new URL(first).origin;
      const secondOrigin = new URL(second).origin;
      const before = attempts.filter((a) => a.at < killedAt);
      const after = attempts.filter((a) => a.at > killDone);
      console.log(
        `[fleet-client-failover] ${answered} calls answered, ${failures.length} failed; attempts before the kill ${before.length} (to balancer 2: ${before.filter((a) => a.origin === secondOrigin).length}), after ${after.length} (to balancer 1: ${after.filter((a) => a.origin === firstOrigin).length}); ${unanswered.length} attempts without an answer`,
      );
      expect(failures).toEqual([]);
      // The client did meet the dead balancer (a refused or reset attempt), and moved every such call.
      expect(unanswered.length).toBeGreaterThan(0);
      expect(unanswered.filter((o) => o !== firstOrigin)).toEqual([]);
      // Sticky: everything went to balancer 1 while it lived, then moved to balancer 2.
      expect(before.length).toBeGreaterThan(0);
      expect(before.filter((a) => a.origin !== firstOrigin)).toEqual([]);
      expect(after.filter((a) => a.origin === secondOrigin).length).toBeGreaterThan(0);
      // Balancer 1 stays cooled down (5 s) and the client sticks to balancer 2: at most one probe per cool-down.
      expect(after.filter((a) => a.origin === firstOrigin).length).toBeLessThanOrEqual(6);

      // Every acknowledged write, read back through balancer 2 alone.
      const reader2 = new SkerryClient({ baseUrl: second, apiKey: fleet.adminKey });
      for (const ns of NAMESPACES) {
        const ids = acked.get(ns) as string[];
        expect(ids.length).toBeGreaterThan(0);
        const got = await reader2.namespace("fleet", "failover", ns).get(ids);
        expect(ids.filter((_, k) => got.documents[k] === null)).toEqual([]);
      }
    }, 240_000);
  });
}
