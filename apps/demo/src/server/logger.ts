/**
 * The server's structured logger (pino, JSON lines on stderr so stdout
 * stays for the start banner). Request logs carry method, route, status,
 * duration, key id and request id; never a key or a request body.
 */
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "skerry" } }, pino.destination({ fd: 2, sync: false }));
}
