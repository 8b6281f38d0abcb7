/**
 * IEEE 754 half precision (binary16) rounding, as turbopuffer stores `f16`
 * values (`{}f16` sparse vectors, `[N]f16` vectors): a value is rounded to
 * the nearest binary16 (ties to even; subnormals down to 2^-24), directly
 * from the JSON double. A finite value whose rounding overflows (|x| >=
 * 65520) has no f16: undefined, and the caller refuses it. Every binary16
 * is exactly a float32, so the engine's float32 storage keeps the rounded
 * value unchanged.
 */

/** Largest finite binary16. */
export const F16_MAX = 65504;

/** `x` rounded to the nearest binary16, or undefined when it is not finite or overflows binary16. */
export function roundF16(x: number): number | undefined {
  if (!Number.isFinite(x)) return undefined;
  if (x === 0) return x;
  const sign = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  let e = Math.floor(Math.log2(a));
  // log2 may be off by one next to a power of two.
  if (2 ** e > a) e -= 1;
  else if (2 ** (e + 1) <= a) e += 1;
  if (e < -14) e = -14; // subnormals: the quantum stays 2^-24
  const quantum = 2 ** (e - 10); // 11 significant bits
  const m = a / quantum; // exact: a power-of-two division
  let r = Math.floor(m);
  const rest = m - r;
  if (rest > 0.5 || (rest === 0.5 && r % 2 === 1)) r += 1;
  const rounded = r * quantum;
  if (rounded > F16_MAX) return undefined;
  return sign * rounded;
}
