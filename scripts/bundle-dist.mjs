#!/usr/bin/env node
// Bundles a package's dist JavaScript with esbuild: one ES module per public
// entry point instead of one per source file, because a cold process spends
// most of its start resolving, reading and compiling modules (docs/query.md,
// "Node start to first answer"). Run from the package directory after
// `tsc -p tsconfig.build.json` has written the type declarations
// (`emitDeclarationOnly`); see each package's `build` script.
//
//   node ../../scripts/bundle-dist.mjs [extra-entry.ts=dist-name ...]
//
// Entry points are the package's `exports` that have both an
// `@skerry/source` (the TypeScript file) and a `default` (the dist file)
// condition; extra entries are files loaded by URL at run time (a worker
// thread's script), written to dist under the given name. Modules shared by
// several entries go into one chunk under dist/internal/ (so every entry sees
// the same classes), which the `./internal/*: null` export keeps private.
// Dependencies (npm packages, other @skerry packages, node: builtins) stay
// imports. Source maps point at the shipped `src`. Any other .js file in dist
// (an earlier per-file build) is removed.
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { build } from "esbuild";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));

/** entry name (dist path without .js) -> source file */
const entryPoints = {};
for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
  if (target === null || typeof target !== "object") continue;
  const source = target["@skerry/source"];
  const dist = target.default;
  if (typeof source !== "string" || typeof dist !== "string") continue;
  if (!dist.startsWith("./dist/") || !dist.endsWith(".js")) throw new Error(`${pkg.name} ${subpath}: default must be ./dist/*.js, is ${dist}`);
  entryPoints[dist.slice("./dist/".length, -".js".length)] = source;
}
for (const arg of process.argv.slice(2)) {
  const [source, name] = arg.split("=");
  if (source === undefined || name === undefined) throw new Error(`extra entry must be source.ts=dist-name, got ${arg}`);
  entryPoints[name] = source;
}
if (Object.keys(entryPoints).length === 0) throw new Error(`${pkg.name}: no exports with @skerry/source and default conditions`);

function removeJs(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) removeJs(path);
    else if (/\.js(\.map)?$/.test(entry.name)) rmSync(path);
  }
}
removeJs("dist");

const result = await build({
  entryPoints,
  outdir: "dist",
  bundle: true,
  splitting: true,
  chunkNames: "internal/[name]-[hash]",
  format: "esm",
  platform: "node",
  target: "node20.10",
  // npm dependencies and the other @skerry packages stay imports
  packages: "external",
  sourcemap: true,
  sourcesContent: false,
  // class and function names stay as written (error names, stack traces)
  keepNames: true,
  legalComments: "inline",
  metafile: true,
  logLevel: "warning",
});
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith(".js"));
for (const [file, output] of outputs) {
  console.log(`${relative(".", file)}  ${(output.bytes / 1024).toFixed(0)} KiB from ${Object.keys(output.inputs).length} modules`);
}
