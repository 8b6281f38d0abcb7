/**
 * The main entry runs on any runtime with fetch (Node 20+, browsers, Deno,
 * Bun, edge workers): no Node built-ins, no dependencies. The build also
 * compiles src with the DOM library and without Node's types
 * (tsconfig.build.json), so a Node-only global fails the build.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = new URL("../src/", import.meta.url).pathname;

describe("portability", () => {
  it("imports nothing but its own modules", () => {
    for (const file of readdirSync(SRC)) {
      // code only: doc comments show imports of the package itself
      const text = readFileSync(join(SRC, file), "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/^\s*\/\/.*$/gm, "");
      const imports = [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]);
      expect(imports.filter((i) => !i?.startsWith("./")), file).toEqual([]);
      expect(text, file).not.toMatch(/\brequire\(|process\.|Buffer\b/);
    }
  });

  it("has no runtime dependencies", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    expect(pkg.dependencies ?? {}).toEqual({});
  });
});
