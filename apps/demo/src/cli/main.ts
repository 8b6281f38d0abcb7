/**
 * The `skerry` process (bin/skerry.mjs runs this file): `runCli` over
 * process.argv, stdout, stderr and the environment. The commands are in
 * run-cli.ts.
 */
import { runCli } from "./run-cli.ts";

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
