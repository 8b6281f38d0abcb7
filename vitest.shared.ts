/**
 * Shared vitest settings for every workspace package: tests import sibling
 * packages through the `@skerry/source` export condition, so they run against
 * TypeScript sources without a build step; compiled output is never tested.
 */
import { defineConfig } from "vitest/config";

export function skerryVitestConfig(options: { testTimeout?: number } = {}) {
  return defineConfig({
    resolve: { conditions: ["@skerry/source", "module", "node", "import", "default"] },
    ssr: { resolve: { conditions: ["@skerry/source", "node", "import", "default"] } },
    test: {
      include: ["test/**/*.test.ts"],
      exclude: ["**/node_modules/**", "**/dist/**"],
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: 120_000,
      // In CI each package also writes a JSON report, which .ci/run sums into
      // one closing "N passed, N failed" line.
      reporters: process.env.CI ? ["default", "json"] : ["default"],
      outputFile: { json: "test-results/vitest.json" },
    },
  });
}
