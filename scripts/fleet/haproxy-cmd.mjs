#!/usr/bin/env node
// scripts/fleet/haproxy-cmd.mjs -- sends one command to HAProxy's runtime
// API (its stats socket, `level admin`) and prints the answer.
//
//   node scripts/fleet/haproxy-cmd.mjs SOCKET 'show servers state nodes'
//
// Node instead of socat (not installed everywhere; node is, for the
// servers). Exit status: 0 when HAProxy answered, 1 when the socket could
// not be reached or did not answer within 10 s. The answer is printed as
// is: HAProxy reports a refused command in its text, so callers check it.
import { connect } from "node:net";

const [socket, command] = process.argv.slice(2);
if (socket === undefined || command === undefined || command.includes("\n")) {
  process.stderr.write("usage: haproxy-cmd.mjs SOCKET 'COMMAND'\n");
  process.exit(2);
}
let answer = "";
const conn = connect({ path: socket });
const timer = setTimeout(() => {
  process.stderr.write(`haproxy-cmd: no answer from ${socket} within 10 s\n`);
  conn.destroy();
  process.exit(1);
}, 10_000);
conn.setEncoding("utf8");
conn.on("connect", () => conn.end(`${command}\n`));
conn.on("data", (chunk) => {
  answer += chunk;
});
conn.on("error", (error) => {
  clearTimeout(timer);
  process.stderr.write(`haproxy-cmd: ${socket}: ${error.message}\n`);
  process.exit(1);
});
conn.on("close", () => {
  clearTimeout(timer);
  process.stdout.write(answer);
});
