/**
 * A tiny benchmark harness: runs a subject and its baseline in alternating
 * rounds (so machine noise hits both alike), then prints ops/s and p50/p99 of
 * each beside the ratio subject/baseline. Absolute times on a shared machine
 * mean little; the ratio is the figure to read.
 */

export interface Sample {
  /** Per-operation latencies in milliseconds. */
  latencies: number[];
  /** Wall time of all operations in milliseconds. */
  totalMs: number;
}

export interface Summary {
  opsPerSecond: number;
  p50: number;
  p99: number;
  count: number;
}

export function summarize(sample: Sample): Summary {
  const sorted = [...sample.latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    opsPerSecond: (sample.latencies.length / sample.totalMs) * 1000,
    p50: at(0.5),
    p99: at(0.99),
    count: sorted.length,
  };
}

/** Runs `op(i)` for i in [from, to) sequentially, timing each call. */
export async function timeOps(from: number, to: number, op: (i: number) => Promise<unknown>): Promise<Sample> {
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = from; i < to; i++) {
    const t = performance.now();
    await op(i);
    latencies.push(performance.now() - t);
  }
  return { latencies, totalMs: performance.now() - started };
}

function merge(into: Sample, more: Sample): void {
  into.latencies.push(...more.latencies);
  into.totalMs += more.totalMs;
}

/**
 * Measures `subject` and `baseline` over `total` operations each, in
 * `rounds` alternating rounds; operation indexes are global so each side can
 * use fresh keys.
 */
export async function compare(
  total: number,
  rounds: number,
  subject: (i: number) => Promise<unknown>,
  baseline: (i: number) => Promise<unknown>,
): Promise<{ subject: Summary; baseline: Summary }> {
  const s: Sample = { latencies: [], totalMs: 0 };
  const b: Sample = { latencies: [], totalMs: 0 };
  const per = Math.ceil(total / rounds);
  for (let r = 0; r < rounds; r++) {
    const from = r * per;
    const to = Math.min(total, from + per);
    // Alternate which side goes first, so neither always runs on a warm cache.
    if (r % 2 === 0) {
      merge(b, await timeOps(from, to, baseline));
      merge(s, await timeOps(from, to, subject));
    } else {
      merge(s, await timeOps(from, to, subject));
      merge(b, await timeOps(from, to, baseline));
    }
  }
  return { subject: summarize(s), baseline: summarize(b) };
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);

/** Prints one comparison line; `goal` is the largest acceptable p50 ratio. */
export function report(
  label: string,
  subjectName: string,
  baselineName: string,
  result: { subject: Summary; baseline: Summary },
  goal?: number,
): void {
  const { subject, baseline } = result;
  const ratio = subject.p50 / baseline.p50;
  const throughput = baseline.opsPerSecond / subject.opsPerSecond;
  const verdict = goal === undefined ? "" : ratio <= goal ? `  within goal <= ${goal}x` : `  MISSES goal <= ${goal}x`;
  console.log(
    `${label.padEnd(22)} ${subjectName}: ${fmt(subject.opsPerSecond, 0).padStart(6)} ops/s p50 ${fmt(subject.p50, 3)} ms p99 ${fmt(subject.p99, 3)} ms` +
      ` | ${baselineName}: ${fmt(baseline.opsPerSecond, 0).padStart(6)} ops/s p50 ${fmt(baseline.p50, 3)} ms p99 ${fmt(baseline.p99, 3)} ms` +
      ` | ratio p50 ${fmt(ratio)}x, time/op ${fmt(throughput)}x${verdict}`,
  );
}
