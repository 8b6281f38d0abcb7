import { skerryVitestConfig } from "../../vitest.shared.ts";

export default skerryVitestConfig({ testTimeout: 120_000 });
