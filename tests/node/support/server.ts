import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/** A server process started by {@link spawnServer}. */
export interface SpawnedServer {
  /** The address it printed, e.g. `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** What the server wrote to stderr so far (for failure messages). */
  stderr(): string;
  close(): Promise<void>;
}

/**
 * Starts `binary` and waits (15 s at most) for a stdout line matching `listening`, whose first
 * group is the server's address. Other stdout lines (logs) are ignored.
 */
export async function spawnServer(
  binary: string,
  args: readonly string[],
  listening: RegExp,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SpawnedServer> {
  const child: ChildProcess = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], env });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${binary} did not print its address within 15 s`)), 15_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${error.message}\n${binary} ${args.join(" ")}\nstderr:\n${stderr}`));
    };
    child.once("error", fail);
    const earlyExit = (code: number | null, signal: string | null) =>
      fail(new Error(`${binary} exited early (code ${code}, signal ${signal})`));
    child.once("exit", earlyExit);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      const match = listening.exec(line.trim());
      if (match?.[1] === undefined) return;
      clearTimeout(timer);
      child.off("exit", earlyExit);
      // Keep draining stdout so a chatty server never blocks on a full pipe.
      child.stdout?.resume();
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
