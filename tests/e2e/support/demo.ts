import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { demoBinary, repoRoot } from "./paths.js";

/** A running demo server. */
export interface Demo {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Everything the server logged, for assertions and for failure messages. */
  readonly log: string[];
  stop(): Promise<void>;
}

/** Starts the demo server on a free port with a fresh database file (as the demo runs for real)
 * and its development identity provider (`TABRPC_DEV_IDP=1`; `env` may override it). The file
 * goes when the server stops. An in-memory database gave, once under heavy load, 500s from
 * `session.rotate` and `cart.get`: its connections share SQLite's shared cache, whose table locks
 * fail a write at once instead of waiting (the likely cause; the log of that run was not kept). */
export async function startDemo(env: Record<string, string> = {}): Promise<Demo> {
  const dir = mkdtempSync(join(tmpdir(), "tabrpc-e2e-"));
  const child: ChildProcess = spawn(demoBinary(), [], {
    env: {
      ...process.env,
      TABRPC_ADDR: "127.0.0.1:0",
      TABRPC_DATABASE_URL: `sqlite://${join(dir, "demo.db")}`,
      RUST_LOG: process.env.RUST_LOG ?? "info",
      // The development identity provider is on only when chosen.
      TABRPC_DEV_IDP: "1",
      // This checkout's web app (the binary's default is the folder it was built from).
      TABRPC_WEB_DIR: join(repoRoot, "crates/tabrpc-demo/web/dist"),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log: string[] = [];
  child.stderr?.on("data", (chunk: Buffer) => log.push(chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo did not start:\n${log.join("")}`)), 30_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with ${code}:\n${log.join("")}`));
    });
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const found = /listening on (http:\/\/[^\s)]+)/.exec(line);
      if (found?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
  });
  return {
    url,
    log,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once("exit", done);
        child.kill("SIGTERM");
      }),
  };
}
