/**
 * Segment ids: random UUID v4 strings (lowercase, hyphenated, the form the
 * mutation state schema requires for `preallocated_superfile_id`), drawn
 * from an injected `Random` so a seeded run mints the same ids every time.
 */
import type { Random } from "@skerry/wal-format";

/** A UUID v4 from four 32-bit draws of `random`. */
export function randomSegmentId(random: Random): string {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < 4; i++) view.setUint32(i * 4, random.nextUint32());
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
