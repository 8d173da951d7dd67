import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { chromiumPath, outputDir, repoRoot } from "./paths.js";

/**
 * Builds what the browser tests need, once per run: the demo server (cargo is a no-op when up
 * to date) and the demo web app (Vite); empties the screenshots folder, so that what it holds
 * after a run is that run's. Fails with a clear message when Chromium is missing
 * (`tests/run.sh` installs Debian's package).
 */
export default function setup(): void {
  if (!existsSync(chromiumPath())) {
    throw new Error(
      `Chromium not found at ${chromiumPath()}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  }
  if (process.env.TABRPC_DEMO_BIN === undefined) {
    execFileSync("cargo", ["build", "-p", "tabrpc-demo"], { cwd: repoRoot, stdio: "inherit" });
  }
  rmSync(outputDir, { recursive: true, force: true });
  const web = join(repoRoot, "crates/tabrpc-demo/web");
  execFileSync("npm", ["run", "build"], { cwd: web, stdio: "inherit" });
}
