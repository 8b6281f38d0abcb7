/**
 * UUIDs (version 4 layout) drawn from the injected `Random`, so a seeded run
 * names its container objects the same way every time.
 */
import type { Random } from "@skerry/wal-format";

/** A lowercase hyphenated version-4 UUID from four draws of `random`. */
export function randomUuid(random: Random): string {
  const words = [random.nextUint32(), random.nextUint32(), random.nextUint32(), random.nextUint32()];
  const hex = words.map((w) => (w >>> 0).toString(16).padStart(8, "0")).join("");
  const variant = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
