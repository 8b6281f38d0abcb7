/**
 * Turning engine values into what a person or a script reads: JSON with
 * numeric typed arrays (vectors) as arrays, bytes (a `Uint8Array`, such as
 * the batch a manifest carries) as their size and BLAKE3 hash, never their
 * contents, and bigints (ids) as 32-hex strings; and compact tables for
 * terminals.
 */
import { contentHash } from "@skerry/wal-format";

/** How bytes print: `{"bytes": 1234, "blake3": "<64 hex>"}` (the hash a manifest's `contentHash` records for them). */
export function bytesSummary(data: Uint8Array): { bytes: number; blake3: string } {
  return { bytes: data.byteLength, blake3: contentHash(data) };
}

export function toJson(value: unknown, space?: number): string {
  return JSON.stringify(
    value,
    function (this: unknown, key: string, v: unknown) {
      // The holder's own value: a Buffer's toJSON (`{type, data: [...]}`) has already run on `v`.
      const raw = (this as Record<string, unknown>)[key];
      if (raw instanceof Uint8Array) return bytesSummary(raw);
      if (typeof v === "bigint") return v.toString(16).padStart(32, "0");
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
      if (v instanceof Map) return Object.fromEntries(v);
      return v;
    },
    space,
  );
}

export function table(rows: readonly (readonly unknown[])[], header: readonly string[]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === undefined || c === null ? "" : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells.map((r) => r.map((c, i) => (c ?? "").padEnd(widths[i] ?? 0)).join("  ").trimEnd()).join("\n");
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function time(ms: number): string {
  return new Date(ms).toISOString();
}
