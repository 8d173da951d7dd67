import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fixtureBinary } from "./paths.js";

/** A running conformance fixture (wire.md section 5) on a free port. */
export interface Fixture {
  /** `http://127.0.0.1:<port>`; procedures are at the root. */
  readonly url: string;
  /** What the server wrote to stderr so far (for failure messages). */
  stderr(): string;
  close(): Promise<void>;
}

/**
 * Starts `tabrpc-conformance --port 0 [flags]` and waits for its
 * `tabrpc-conformance listening on http://127.0.0.1:<port>` line.
 */
export async function startFixture(flags: readonly string[] = []): Promise<Fixture> {
  const child: ChildProcess = spawn(fixtureBinary, ["--port", "0", ...flags], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error("the fixture did not print its address within 15 s")), 15_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${error.message}\n${fixtureBinary} ${flags.join(" ")}\nstderr:\n${stderr}`));
    };
    child.once("error", fail);
    const earlyExit = (code: number | null, signal: string | null) =>
      fail(new Error(`the fixture exited early (code ${code}, signal ${signal})`));
    child.once("exit", earlyExit);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      const match = /^tabrpc-conformance listening on (http:\/\/\S+)$/.exec(line.trim());
      if (match?.[1] === undefined) return;
      clearTimeout(timer);
      child.off("exit", earlyExit);
      resolve(match[1]);
    });
  });
  return {
    url,
    stderr: () => stderr,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
