import { skerryVitestConfig } from "../../vitest.shared.ts";

export default skerryVitestConfig({ testTimeout: 300_000 });
