/**
 * The web console's static side, without a browser: the page and its
 * modules are served with a strict Content-Security-Policy and nosniff,
 * only files of the console directory are served (unknown paths and
 * traversal get the API's 404), loading them needs no key, and no console
 * source writes HTML from strings (every datum goes in as text; the
 * browser test checks the same in chromium).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSOLE_DIR } from "../src/http/routes/console-routes.ts";
import type { SkerryServer } from "../src/server/server.ts";
import { localFsStore, startTestServer, type TestStore } from "./support/harness.ts";

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.(js|html)$/.test(entry.name)) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

describe("web console assets", () => {
  let store: TestStore;
  let server: SkerryServer;

  beforeAll(async () => {
    store = await localFsStore();
    server = await startTestServer(store.storage);
  });

  afterAll(async () => {
    await server?.close();
    await store?.cleanup();
  });

  it("should serve the page without a key, with a strict CSP, nosniff and no framing", async () => {
    for (const path of ["/console", "/console/"]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe-inline");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      const html = await res.text();
      expect(html).toContain('<script type="module" src="/console/js/main.js"></script>');
      expect(html).not.toMatch(/<script>(?!<)/); // no inline script
    }
  });

  it("should serve the modules and styles with their types", async () => {
    const js = await fetch(`${server.url}/console/js/main.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("content-security-policy")).toContain("script-src 'self'");
    const css = await fetch(`${server.url}/console/console.css`);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect((await fetch(`${server.url}/console/icon.svg`)).headers.get("content-type")).toBe("image/svg+xml");
  });

  it("should answer unknown console paths and traversal attempts with the API's 404", async () => {
    for (const path of ["/console/nope.js", "/console/..%2Fpackage.json", "/console/js/..%2F..%2Fpackage.json", "/console/%2E%2E/package.json"]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("NotFound");
    }
  });

  it("should link the console from the root document", async () => {
    expect(((await (await fetch(`${server.url}/`)).json()) as { console: string }).console).toBe("/console");
  });

  it("should never build HTML from strings in the console's sources", async () => {
    const files = await sources(CONSOLE_DIR);
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) {
      const text = await readFile(file, "utf8");
      expect(text, file).not.toMatch(/\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function\(/);
    }
  });
});
