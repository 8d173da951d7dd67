import { demoBinary } from "./paths.js";
import { spawnServer, type SpawnedServer } from "./server.js";

/**
 * Starts the demo server (`tabrpc-demo`) on a free port with an in-memory database and its
 * development identity provider, and waits for its
 * `tabrpc-demo listening on http://127.0.0.1:<port> ...` line. The API is at `<url>/trpc`, the
 * provider at `<url>/dev-idp/*`.
 */
export function startDemo(): Promise<SpawnedServer> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TABRPC_ADDR: "127.0.0.1:0",
    TABRPC_DATABASE_URL: "sqlite::memory:",
    RUST_LOG: process.env.RUST_LOG ?? "warn",
    // The development provider is on only when chosen, and never with an external issuer.
    TABRPC_DEV_IDP: "1",
  };
  for (const name of Object.keys(env)) if (name.startsWith("TABRPC_AUTH_")) delete env[name];
  return spawnServer(demoBinary, [], /^tabrpc-demo listening on (http:\/\/[^\s/]+)/, env);
}
