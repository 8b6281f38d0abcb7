/**
 * The web console end to end in a real browser: Debian's chromium driven
 * by playwright-core (headless, no sandbox, background networking off, a
 * fresh profile) against a real server on 127.0.0.1 over local-fs storage
 * holding the sample dataset, compacted into a segment, with four later
 * log batches and a deleteByFilter's tombstones (so the picture has every
 * kind of block and the WAL has a state document).
 *
 * It signs in with a pasted key, checks the namespaces and their info, the
 * manifest picture (segments, log batches, tombstoned share) and an older
 * version, runs hybrid, text and filter queries in the playground, lists
 * the WAL and runs recovery, pages the long lists with their "more"
 * controls (the console's `?pageSize=1`), and checks that data is rendered as text
 * (a label holding markup stays text) and that the page raised no error or
 * CSP violation. Screenshots go to test-results/screenshots/.
 *
 * Without chromium the suite is skipped with a note, except under CI, where
 * it fails (.ci/run installs chromium with scripts/browser/install-chromium.sh).
 */
// biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright locators (innerText is what a user sees), not DOM nodes
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DocumentInput } from "@skerry/namespace-engine";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSampleDataset } from "../src/sample/load-sample.ts";
import { SAMPLE_NAMESPACE, sampleDocuments } from "../src/sample/sample-dataset.ts";
import type { SkerryServer } from "../src/server/server.ts";
import { ADMIN_KEY, localFsStore, startTestServer, type TestStore } from "./support/harness.ts";

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = Boolean(process.env["CI"]);
const SCREENSHOTS = fileURLToPath(new URL("../test-results/screenshots/", import.meta.url));
const MARKUP = '<img src=x onerror="document.title=\'pwned\'">';

if (!HAVE_CHROMIUM && !IN_CI) {
  console.warn(`console.browser.test.ts: skipped, no chromium at ${CHROMIUM} (install it with scripts/browser/install-chromium.sh, as root)`);
}

// Under CI a missing browser is a failed test, counted as one, never a skip.
describe.runIf(!HAVE_CHROMIUM && IN_CI)("web console in chromium (CI)", () => {
  it("should find chromium, which CI installs with scripts/browser/install-chromium.sh", () => {
    expect.fail(`no chromium at ${CHROMIUM}`);
  });
});

describe.skipIf(!HAVE_CHROMIUM)("web console in chromium", () => {
  let store: TestStore;
  let server: SkerryServer;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  let docCount = "";
  let deleted = 0;

  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    store = await localFsStore();
    server = await startTestServer(store.storage);
    const engine = server.engine;
    await loadSampleDataset(engine);
    await engine.compact(SAMPLE_NAMESPACE, { force: true });
    await engine.upsert(SAMPLE_NAMESPACE, [
      { id: "n00001", vector: new Array(64).fill(0.1), text: { title: "vintage guitar strings", body: "vintage guitar strings, a set of six" }, attributes: { category: "music", price: 12.5, in_stock: true } },
      { id: "n00002", text: { body: "a quiet kettle" }, attributes: { category: "kitchen", price: 30, in_stock: false } },
    ]);
    await engine.patch(SAMPLE_NAMESPACE, [{ id: "p00007", attributes: { price: 1 } }]);
    // Two larger log batches that replace existing documents (so the picture has blocks of several sizes).
    const resold = (docs: DocumentInput[]) => docs.map((d) => ({ ...d, attributes: { ...d.attributes, resold: true } }));
    await engine.upsert(SAMPLE_NAMESPACE, resold(sampleDocuments().slice(100, 500)));
    await engine.upsert(SAMPLE_NAMESPACE, resold(sampleDocuments().slice(1_000, 1_150)));
    ({ deleted } = await engine.deleteByFilter(SAMPLE_NAMESPACE, ["rating", "Lt", 1.5]));
    docCount = (await engine.getNamespace(SAMPLE_NAMESPACE)).docCount.toLocaleString("en-US");
    await engine.createNamespace("demo/sample/notes", { labels: { note: MARKUP } });

    await mkdir(SCREENSHOTS, { recursive: true });
    profile = await mkdtemp(join(tmpdir(), "skerry-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1360, height: 860 },
      deviceScaleFactor: 1,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      // The browser logs every non-2xx fetch; the one invalid query below is deliberate.
      if (message.type() === "error" && !message.text().includes("status of 400 (Bad Request)")) problems.push(`console error: ${message.text()}`);
    });
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    await store?.cleanup();
    if (profile !== undefined) await rm(profile, { recursive: true, force: true });
  });

  it("should serve the console with a strict CSP and ask for a key", async () => {
    const response = await page.goto(`${server.url}/console`);
    expect(response?.status()).toBe(200);
    const headers = response?.headers() ?? {};
    expect(headers["content-security-policy"]).toContain("script-src 'self'");
    expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    await expect.poll(() => page.locator("#api-key").count()).toBe(1);
    await shot("00-sign-in");
  });

  it("should list the namespaces with their info once a key is entered", async () => {
    await page.fill("#api-key", ADMIN_KEY);
    await page.click("text=Use key");
    const rows = page.locator('[data-testid="namespaces-table"] tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(2);
    const products = page.locator('[data-testid="namespaces-table"] tr[data-namespace="products"]');
    expect(deleted).toBeGreaterThan(0);
    expect(await products.innerText()).toContain(docCount);
    expect(await page.locator('[data-testid="namespace-list"] a[data-namespace="notes"]').count()).toBe(1);
    expect(await page.evaluate("sessionStorage.getItem('skerry.console.key')")).not.toBeNull();
    await shot("01-namespaces");
  });

  it("should draw the manifest's segments, log batches and tombstoned share as a picture", async () => {
    await page.click('[data-testid="namespaces-table"] a:text-is("products")');
    const picture = page.locator("svg.manifest-picture");
    await picture.locator("g.container").first().waitFor();
    const segments = await picture.locator('g.container[data-kind="SEGMENT"]').count();
    const logBatches = await picture.locator('g.container[data-kind="LOG_BATCH"]').count();
    expect(segments).toBeGreaterThanOrEqual(1);
    expect(logBatches).toBeGreaterThanOrEqual(2);
    expect(await picture.locator("rect.tombstoned").count()).toBeGreaterThanOrEqual(1);
    const tombstoned = await picture.locator("g.container").evaluateAll((gs) => gs.reduce((n, g) => n + Number(g.getAttribute("data-tombstoned")), 0));
    expect(tombstoned).toBeGreaterThanOrEqual(deleted);
    expect(await page.locator(".containers-table tbody tr").count()).toBe(segments + logBatches);
    await shot("02-storage");
  });

  it("should redraw the picture at an older manifest version", async () => {
    await page.click('button.version[data-version="2"]');
    await expect.poll(() => page.locator("svg.manifest-picture").getAttribute("data-version")).toBe("2");
    expect(await page.locator('svg.manifest-picture g.container[data-kind="LOG_BATCH"]').count()).toBe(1);
    expect(await page.locator("svg.manifest-picture g.container").count()).toBe(1);
  });

  it("should run hybrid, text and filter queries in the playground and show their rows", async () => {
    await page.click('.tabs a[data-tab="query"]');
    await expect.poll(() => page.locator("#q-vector").inputValue()).toMatch(/^\[/); // p00042's vector, loaded
    await page.click('[data-testid="run-query"]');
    const rows = page.locator('[data-testid="results-table"] tr.result-row');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(10);
    expect(await page.locator('[data-testid="results-table"] th').allInnerTexts()).toEqual(["#", "id", "score", "category", "price", "rating", "in_stock"]);
    await shot("03-query");

    await page.check('input[name="mode"][value="text"]');
    expect(await page.locator("#q-request").inputValue()).toContain('["body","BM25","vintage guitar"]');
    await page.click('[data-testid="run-query"]');
    await expect.poll(() => page.locator('[data-testid="results-summary"]').innerText()).toMatch(/^10 rows/);
    expect(await rows.first().innerText()).toContain("music");

    await page.check('input[name="mode"][value="filters"]');
    await page.fill("#q-filters", '["And", [["category", "Eq", "books"], ["price", "Lt", 20]]]');
    await page.click('[data-testid="run-query"]');
    await expect.poll(() => page.locator('[data-testid="results-summary"]').innerText()).toMatch(/^10 rows/);
    const prices = (await page.locator('[data-testid="results-table"] tbody tr td:nth-child(4)').allInnerTexts()).map(Number);
    expect(prices).toEqual([...prices].sort((a, b) => a - b));
    expect(Math.max(...prices)).toBeLessThan(20);

    await page.fill("#q-request", '{"rankBy": ["nope", "BM25"]}');
    await page.click('[data-testid="run-query"]');
    await expect.poll(() => page.locator('[data-testid="results"] .error').innerText()).toContain("InvalidQuery");
  });

  it("should list the WAL state documents and run recovery with its report", async () => {
    await page.click('.tabs a[data-tab="wal"]');
    const walRows = page.locator('[data-testid="wal-list"] tbody tr');
    await walRows.first().waitFor();
    expect(await walRows.count()).toBeGreaterThanOrEqual(1);
    expect(await walRows.first().innerText()).toMatch(/DELETE/i);
    await page.click('[data-testid="run-recovery"]');
    const report = page.locator('[data-testid="recovery-report"] pre');
    await report.waitFor();
    expect(typeof JSON.parse((await report.textContent()) ?? "")).toBe("object");
    await shot("04-wal");
  });

  it("should render data as text: a label holding markup creates no element", async () => {
    await page.click('[data-testid="namespace-list"] a[data-namespace="notes"]'); // keeps the WAL tab
    await page.locator('[data-testid="wal-empty"]').waitFor();
    await page.click('.tabs a[data-tab="storage"]');
    await page.locator("svg.manifest-picture").waitFor();
    expect(await page.locator(".facts").first().innerText()).toContain(MARKUP);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.title()).toBe("Skerry console");
    expect(await page.locator("svg.manifest-picture .picture-empty").count()).toBe(1);
  });

  it("should page long lists (namespaces, versions, WAL) with a more control", async () => {
    await server.engine.deleteByFilter(SAMPLE_NAMESPACE, ["rating", "Lt", 2]); // a second WAL state document
    await page.evaluate(`sessionStorage.setItem("skerry.console.key", ${JSON.stringify(ADMIN_KEY)})`);
    await page.goto(`${server.url}/console?pageSize=1#/demo/sample`);
    const rows = page.locator('[data-testid="namespaces-table"] tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    expect(await page.locator('[data-testid="namespace-list"] li').count()).toBe(1);
    await page.click('[data-testid="namespaces-table-more"]');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await page.locator('[data-testid="namespace-list"] li').count()).toBe(2);
    expect(await page.locator('[data-testid="namespaces-table-more"], [data-testid="namespaces-more"]').count()).toBe(0);
    // Opening a namespace keeps the pages shown.
    await page.click('[data-testid="namespaces-table"] a:text-is("products")');
    const versions = page.locator('[data-testid="versions"] button.version');
    await versions.first().waitFor();
    expect(await page.locator('[data-testid="namespace-list"] li').count()).toBe(2);
    const newest = Number(await versions.first().getAttribute("data-version"));
    expect(await versions.count()).toBe(1);
    await page.click('[data-testid="versions-more"]');
    await expect.poll(() => versions.count()).toBe(2);
    expect(await versions.evaluateAll((bs) => bs.map((b) => Number(b.getAttribute("data-version"))))).toEqual([newest, newest - 1]);
    await page.click('.tabs a[data-tab="wal"]');
    const walRows = page.locator('[data-testid="wal-list"] tbody tr');
    await walRows.first().waitFor();
    expect(await walRows.count()).toBe(1);
    await page.click('[data-testid="wal-more"]');
    await expect.poll(() => walRows.count()).toBe(2);
    const ids = await page.locator('[data-testid="wal-list"] tbody tr td:first-child').allInnerTexts();
    expect(ids).toEqual([...ids].sort());
    await shot("05-more");
  });

  it("should forget the key and raise no page error or CSP violation on the way", async () => {
    await page.click("text=forget");
    await page.locator("#api-key").waitFor();
    expect(await page.evaluate("sessionStorage.getItem('skerry.console.key')")).toBeNull();
    expect(problems).toEqual([]);
  });
});
