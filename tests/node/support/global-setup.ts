import { execFileSync } from "node:child_process";
import type { TestProject } from "vitest/node";
import { startDemo } from "./demo.js";
import { repoRoot } from "./paths.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The demo server started for the whole run, e.g. `http://127.0.0.1:<port>`. */
    demoUrl: string;
  }
}

/**
 * Builds the Rust servers once for the whole run (cargo is a no-op when up to date; the
 * `TABRPC_CONFORMANCE_BIN` and `TABRPC_DEMO_BIN` variables skip the build of that binary), then
 * starts the demo server, shared by every test file (`inject("demoUrl")`). Returns its teardown.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const packages = [
    ...(process.env.TABRPC_CONFORMANCE_BIN === undefined ? ["-p", "tabrpc-conformance"] : []),
    ...(process.env.TABRPC_DEMO_BIN === undefined ? ["-p", "tabrpc-demo"] : []),
  ];
  if (packages.length > 0) execFileSync("cargo", ["build", ...packages], { cwd: repoRoot, stdio: "inherit" });
  const demo = await startDemo();
  project.provide("demoUrl", demo.url);
  return () => demo.close();
}
