/**
 * The layout of src/ (docs/namespace-engine.md, "Code map"): the engine's code lives in rooms
 * (src/<room>/); a file imports another room only through that room's index.ts (except the package's
 * public src/index.ts, which names the file each public name comes from); the rooms' value
 * imports form no cycle (type-only imports may point anywhere); nothing in src/ reaches into
 * @skerry/query's files or another package's src except through its package name.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));
const ROOMS = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory());

interface Import {
  readonly file: string;
  readonly specifier: string;
  readonly typeOnly: boolean;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, "utf8");
  const out: Import[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^"';]*?\s+from\s+)?"([^"]+)"/g)) {
    const names = m[0];
    // `import { type A, type B }` counts as type-only too.
    const braces = /\{([^}]*)\}/.exec(names)?.[1];
    const allTypes = braces?.split(",").every((n) => n.trim() === "" || n.trim().startsWith("type ")) === true;
    out.push({ file, specifier: m[3] as string, typeOnly: m[2] !== undefined || allTypes });
  }
  return out;
}

function roomOf(path: string): string | undefined {
  const rel = relative(SRC, path).split("/");
  return rel.length > 1 ? rel[0] : undefined;
}

describe("src/ is laid out in rooms", () => {
  const files = ROOMS.flatMap((room) => readdirSync(join(SRC, room)).map((f) => join(SRC, room, f))).concat(
    readdirSync(SRC)
      .filter((f) => f.endsWith(".ts"))
      .map((f) => join(SRC, f)),
  );

  it("has the rooms the docs name, each with an index.ts that says what lives there", () => {
    expect(ROOMS.sort()).toEqual(["compaction", "core", "lifecycle", "log", "maintenance", "manifest", "mutation", "namespace", "read", "sharing", "state", "tail", "write"]);
    for (const room of ROOMS) {
      const index = readFileSync(join(SRC, room, "index.ts"), "utf8");
      expect(index.startsWith(`/**\n * ${room}: `), room).toBe(true);
    }
  });

  it("imports another room only through its index.ts, and never another package's files", () => {
    const bad: string[] = [];
    for (const file of files) {
      for (const { specifier } of importsOf(file)) {
        if (!specifier.startsWith(".")) {
          if (specifier.startsWith("@skerry/") && specifier.split("/").length > 2) bad.push(`${relative(SRC, file)} -> ${specifier}`);
          continue;
        }
        const target = resolve(join(file, ".."), specifier);
        if (!target.startsWith(SRC)) bad.push(`${relative(SRC, file)} -> ${specifier} (outside src)`);
        const [from, to] = [roomOf(file), roomOf(target)];
        if (file === join(SRC, "index.ts")) continue;
        if (to !== undefined && from !== to && !target.endsWith(`/${to}/index.ts`)) bad.push(`${relative(SRC, file)} -> ${specifier}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it("has no cycle among the rooms' value imports", () => {
    const edges = new Map<string, Set<string>>(ROOMS.map((room) => [room, new Set<string>()]));
    for (const file of files) {
      const from = roomOf(file);
      if (from === undefined) continue;
      for (const { specifier, typeOnly } of importsOf(file)) {
        if (!specifier.startsWith(".") || typeOnly) continue;
        const to = roomOf(resolve(join(file, ".."), specifier));
        if (to !== undefined && to !== from) edges.get(from)?.add(to);
      }
    }
    // Depth-first search for a back edge; the cycle found is printed.
    const state = new Map<string, "open" | "done">();
    const cycle: string[] = [];
    const visit = (room: string, path: string[]): boolean => {
      if (state.get(room) === "done") return false;
      if (state.get(room) === "open") {
        cycle.push(...path.slice(path.indexOf(room)), room);
        return true;
      }
      state.set(room, "open");
      for (const next of edges.get(room) ?? []) if (visit(next, [...path, room])) return true;
      state.set(room, "done");
      return false;
    };
    for (const room of ROOMS) if (visit(room, [])) break;
    expect(cycle).toEqual([]);
    // core stands on nothing else of the engine.
    expect([...(edges.get("core") ?? [])]).toEqual([]);
  });
});
