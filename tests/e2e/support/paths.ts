import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** The repository's root folder. */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** Where screenshots go: `test-output/e2e/` at the repository root. */
export const outputDir = join(repoRoot, "test-output", "e2e");

/** Debian's Chromium, or `CHROMIUM_PATH`. */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
}

/** The demo server binary (`cargo build -p tabrpc-demo`), or `TABRPC_DEMO_BIN`. */
export function demoBinary(): string {
  const target = process.env.CARGO_TARGET_DIR ?? join(repoRoot, "target");
  return process.env.TABRPC_DEMO_BIN ?? join(target, "debug", "tabrpc-demo");
}
