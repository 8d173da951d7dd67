import { fileURLToPath } from "node:url";
import path from "node:path";

/** The repository root (the cargo workspace). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** The fixture binary built by globalSetup; `TABRPC_CONFORMANCE_BIN` overrides it. */
export const fixtureBinary =
  process.env.TABRPC_CONFORMANCE_BIN ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, "target"), "debug", "tabrpc-conformance");

/** The demo server binary built by globalSetup; `TABRPC_DEMO_BIN` overrides it. */
export const demoBinary =
  process.env.TABRPC_DEMO_BIN ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, "target"), "debug", "tabrpc-demo");
