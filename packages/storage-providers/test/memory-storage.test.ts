import { describe, expect, it } from "vitest";
import { MemoryStorage } from "@skerry/storage-providers";
import { describeStorageConformance } from "@skerry/storage-providers/testing";

describeStorageConformance({
  name: "memory",
  create: async () => ({ storage: new MemoryStorage() }),
});

describe("MemoryStorage", () => {
  it("gives every write a new etag, even of identical bytes", async () => {
    const storage = new MemoryStorage();
    const a = await storage.put("k", new Uint8Array([1]));
    const b = await storage.put("k", new Uint8Array([1]));
    expect(a.etag).not.toBe(b.etag);
  });

  it("stamps lastModified from the injected clock", async () => {
    const storage = new MemoryStorage({ now: () => 1_700_000_000_000 });
    await storage.put("k", new Uint8Array([1]));
    expect((await storage.head("k"))!.lastModified.getTime()).toBe(1_700_000_000_000);
  });

  it("counts objects and bytes", async () => {
    const storage = new MemoryStorage();
    await storage.put("a", new Uint8Array(3));
    await storage.put("b", new Uint8Array(4));
    await storage.delete("a");
    expect(storage.size).toBe(1);
    expect(storage.totalBytes).toBe(4);
  });
});
