import { skerryVitestConfig } from "../../vitest.shared.ts";

export default skerryVitestConfig();
