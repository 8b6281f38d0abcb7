/**
 * The web console: a small buildless client app (plain ES modules, no
 * framework) under `apps/demo/console/`, served at `/console`. It carries
 * no secret: the user pastes an API key, which the page keeps in
 * sessionStorage and sends to the JSON API like any other client.
 *
 * Files are read once, when the app is built, into a fixed map from URL
 * path to bytes: only those paths are served (no file system lookup per
 * request, so no path traversal). Every console response carries a strict
 * Content-Security-Policy (scripts, styles and fetches from this origin
 * only, no inline script, no framing), `X-Content-Type-Options: nosniff`
 * and `Referrer-Policy: no-referrer`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Context } from "hono";
import { requires } from "../access.ts";
import type { App } from "../app-context.ts";

export const CONSOLE_PATH = "/console";
export const CONSOLE_DIR = fileURLToPath(new URL("../../../console/", import.meta.url));

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

interface Asset {
  readonly type: string;
  readonly bytes: Uint8Array;
}

/** Every servable file under `dir`, by URL path below /console. */
export function loadConsoleAssets(dir: string = CONSOLE_DIR): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const full = join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && TYPES[extname(entry.name)] !== undefined) {
        const url = `${CONSOLE_PATH}/${relative(dir, full).split(sep).join("/")}`;
        assets.set(url, { type: TYPES[extname(entry.name)]!, bytes: readFileSync(full) });
      }
    }
  };
  walk(dir);
  return assets;
}

function serve(c: Context, asset: Asset): Response {
  c.header("Content-Type", asset.type);
  c.header("Content-Security-Policy", CONSOLE_CSP);
  c.header("X-Content-Type-Options", "nosniff");
  c.header("X-Frame-Options", "DENY");
  c.header("Referrer-Policy", "no-referrer");
  c.header("Cache-Control", "no-cache");
  return c.body(asset.bytes as Uint8Array<ArrayBuffer>);
}

export function registerConsoleRoutes(app: App, assets: Map<string, Asset> = loadConsoleAssets()): void {
  const index = assets.get(`${CONSOLE_PATH}/index.html`);
  if (index === undefined) throw new Error(`the web console's index.html is missing from ${CONSOLE_DIR}`);
  app.get(CONSOLE_PATH, requires("public"), (c) => serve(c, index));
  app.get(`${CONSOLE_PATH}/`, requires("public"), (c) => serve(c, index));
  app.get(`${CONSOLE_PATH}/*`, requires("public"), async (c, next) => {
    const asset = assets.get(c.req.path);
    if (asset === undefined) return next(); // -> notFound: 404 in the API's error shape
    return serve(c, asset);
  });
}
