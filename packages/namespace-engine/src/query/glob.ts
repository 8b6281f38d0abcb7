/**
 * Glob patterns of the Glob / IGlob filters, translated once into anchored
 * regular expressions: `*` any run, `?` one character, `[abc]` / `[!abc]`
 * classes, everything else literal. Shared by the index-based filter plan and
 * the per-document matcher, so a query and a deleteByFilter never disagree
 * about what a pattern matches. Compiled patterns are cached (bounded).
 */

const globCache = new Map<string, RegExp>();

export function globRegExp(pattern: string, ignoreCase: boolean): RegExp {
  const cacheKey = `${ignoreCase ? "i" : "c"}${pattern}`;
  const cached = globCache.get(cacheKey);
  if (cached !== undefined) return cached;
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = pattern.slice(i + 1, end);
        const negate = body.startsWith("!") || body.startsWith("^");
        if (negate) body = body.slice(1);
        re += `[${negate ? "^" : ""}${body.replace(/[\\\]]/g, "\\$&")}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  const compiled = new RegExp(`${re}$`, ignoreCase ? "isu" : "su");
  if (globCache.size > 1_000) globCache.clear();
  globCache.set(cacheKey, compiled);
  return compiled;
}
