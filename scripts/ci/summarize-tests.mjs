#!/usr/bin/env node
// Sums the JSON reports that vitest writes under CI (packages/*/test-results,
// apps/*/test-results) into one closing line: "tests: N passed, N failed, N skipped".
// Exits non-zero when no report was found, so a CI run that ran no test fails.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = process.argv[2] ?? process.cwd();
let passed = 0;
let failed = 0;
let skipped = 0;
let reports = 0;
for (const group of ["packages", "apps", "examples"]) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const file = join(dir, name, "test-results", "vitest.json");
    if (!existsSync(file)) continue;
    const report = JSON.parse(readFileSync(file, "utf8"));
    reports++;
    passed += report.numPassedTests ?? 0;
    failed += report.numFailedTests ?? 0;
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
    console.log(`${group}/${name}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped`);
  }
}
if (reports === 0) {
  console.log("tests: 0 passed, 0 failed (no test report found)");
  process.exit(1);
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
