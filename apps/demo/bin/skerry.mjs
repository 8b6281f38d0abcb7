#!/usr/bin/env node
// skerry: the operator CLI. Runs src/cli/main.ts from TypeScript sources
// (no build step): a child node with the @skerry/source export condition and
// tsx's loader, resolved from this package so it works from any directory.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const tsx = import.meta.resolve("tsx");
const child = spawn(process.execPath, ["--conditions=@skerry/source", "--import", tsx, main, ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, SKERRY_CLI_NAME: process.env.SKERRY_CLI_NAME ?? "skerry" },
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 1 : 1)));
