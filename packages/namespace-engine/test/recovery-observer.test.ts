/**
 * `onRecover` sees every recovery report: the automatic recovery when an
 * engine first opens a namespace, and explicit `recover` calls.
 */
import { describe, expect, it } from "vitest";
import type { NamespaceRecoveryReport } from "@skerry/namespace-engine";
import { makeEngine } from "./support/harness.ts";
import { MemoryStorage } from "@skerry/storage-providers";

const NS = "acme/observe/docs";

describe("recovery observer", () => {
  it("reports the automatic recovery on open and each explicit recover, and ignores an observer that throws", async () => {
    const storage = new MemoryStorage();
    const seen: [string, NamespaceRecoveryReport][] = [];
    const engine = makeEngine(storage, {
      onRecover: (path, report) => {
        seen.push([path, report]);
        throw new Error("observer failure must not leak");
      },
    });
    await engine.createNamespace(NS);
    await engine.upsert(NS, [{ id: "a", attributes: { n: 1 } }, { id: "b", attributes: { n: 2 } }]);
    await engine.deleteByFilter(NS, ["n", "Eq", 1]);
    expect(seen).toHaveLength(1);
    expect(seen[0]![0]).toBe(NS);
    const explicit = await engine.recover(NS);
    expect(seen).toHaveLength(2);
    expect(seen[1]![1]).toEqual(explicit);
    expect(explicit.wal.scanned).toBeGreaterThanOrEqual(1);
    await engine.close();
  });
});
