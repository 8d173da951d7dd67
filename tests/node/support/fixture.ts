import { afterAll, beforeAll, beforeEach } from "vitest";
import { startCountingProxy, type CountingProxy } from "./counting-proxy.js";
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

/**
 * For the tests of the calling `describe`: starts the fixture (with `flags`) before them, behind a
 * counting proxy whose record is emptied before each test, and stops both after them. Returns
 * the proxy (usable inside tests only).
 */
export function proxiedFixture(flags: readonly string[] = []): CountingProxy {
  let fixture: Fixture | undefined;
  let proxy: CountingProxy | undefined;
  beforeAll(async () => {
    fixture = await startFixture(flags);
    proxy = await startCountingProxy(fixture.url);
  });
  afterAll(async () => {
    await proxy?.close();
    await fixture?.close();
  });
  beforeEach(() => proxy?.reset());
  const live = (): CountingProxy => {
    if (proxy === undefined) throw new Error("the fixture is not started yet: use it inside a test");
    return proxy;
  };
  return {
    get url() {
      return live().url;
    },
    get requests() {
      return live().requests;
    },
    reset: () => live().reset(),
    close: () => live().close(),
  };
}
