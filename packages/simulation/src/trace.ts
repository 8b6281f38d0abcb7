/**
 * minimalTrace: the part of a failing run's trace that explains it: the
 * lines of the actors and processes named in the violation (and crashes),
 * up to the violation; everything else is noise for the reader. The whole
 * trace replays with `--trace`.
 */
import type { SimulationResult } from "./simulation.ts";

export function minimalTrace(result: SimulationResult, max = 80): string[] {
  const end = result.trace.findIndex((l) => l.includes("VIOLATION"));
  const upto = end < 0 ? result.trace : result.trace.slice(0, end + 1);
  const message = result.violations.map((v) => v.message).join(" ");
  const names = new Set<string>();
  for (const m of message.matchAll(/\b([a-z]\d|auditor|final)\b/g)) names.add(m[1] as string);
  const prefixes = new Set<string>();
  for (const m of message.matchAll(/\b([kte]\d?_)\d/g)) prefixes.add(m[1] as string);
  const relevant = upto.filter((line) => {
    if (line.includes("CRASHED") || line.includes("VIOLATION") || line.includes("restarts")) return true;
    const actor = /^#\d+ t=\d+ ([a-z]\d)[ @]/.exec(line)?.[1];
    if (actor !== undefined && names.has(actor)) return true;
    for (const p of prefixes) if (line.includes(p)) return true;
    return false;
  });
  return relevant.slice(-max);
}
