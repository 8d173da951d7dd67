import { execFileSync } from "node:child_process";
import { repoRoot } from "./paths.js";

/** Builds the Rust conformance fixture once for the whole run (cargo is a no-op when up to date). */
export default function setup(): void {
  if (process.env.TABRPC_CONFORMANCE_BIN !== undefined) return;
  execFileSync("cargo", ["build", "-p", "tabrpc-conformance"], { cwd: repoRoot, stdio: "inherit" });
}
