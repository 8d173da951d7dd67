import { fixtureBinary } from "./paths.js";
import { spawnServer, type SpawnedServer } from "./server.js";

/** A running conformance fixture (wire.md section 5) on a free port; procedures are at the root of `url`. */
export type Fixture = SpawnedServer;

/**
 * Starts `tabrpc-conformance --port 0 [flags]` and waits for its
 * `tabrpc-conformance listening on http://127.0.0.1:<port>` line.
 */
export function startFixture(flags: readonly string[] = []): Promise<Fixture> {
  return spawnServer(fixtureBinary, ["--port", "0", ...flags], /^tabrpc-conformance listening on (http:\/\/\S+)$/);
}
