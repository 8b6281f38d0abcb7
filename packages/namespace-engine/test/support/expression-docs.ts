/**
 * Documents for the cold ranking-expression and computed-attribute tests: a text field, a number `n`, a `color`, a
 * `pop` that is a number (sometimes negative), missing, null or a string, and an `at` that is a date-time string,
 * missing or a string that is not one.
 */
import type { DocumentInput } from "@skerry/namespace-engine";

const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"];

export function expressionDoc(i: number, extra = ""): DocumentInput {
  const attributes: Record<string, string | number | null> = { n: i, color: ["red", "green", "blue"][i % 3]! };
  // pop: a number, missing, null or a string (no value), sometimes negative; at: a date-time string or not one.
  if (i % 7 !== 0) attributes["pop"] = i % 13 === 0 ? null : i % 17 === 0 ? "many" : ((i * 37) % 101) - 20;
  if (i % 5 !== 0) attributes["at"] = i % 23 === 0 ? "not a date" : new Date(Date.UTC(2026, 0, 1 + (i % 60), i % 24)).toISOString();
  return {
    id: `doc-${String(i).padStart(5, "0")}`,
    vector: [Math.sin(i), Math.cos(i), (i % 7) / 7, 1],
    text: { body: `${Array.from({ length: 2 + (i % 6) }, (_, j) => WORDS[(i * (j + 3) + j) % WORDS.length]).join(" ")}${extra}` },
    attributes,
  };
}

