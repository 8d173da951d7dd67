import http from "node:http";
import type { AddressInfo } from "node:net";

/** One request that went through the proxy. */
export interface ProxiedRequest {
  readonly method: string;
  /** Path and query, as sent (e.g. `/hello,noInput?batch=1`). */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** True once the client closed the connection before the reply was complete. */
  aborted: boolean;
  /** True once the whole reply went back to the client. */
  completed: boolean;
}

/** A transparent HTTP proxy in front of the fixture that records every request. */
export interface CountingProxy {
  readonly url: string;
  readonly requests: ProxiedRequest[];
  /** Forgets the recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  const server = http.createServer((req, res) => {
    const record: ProxiedRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, aborted: false, completed: false };
    requests.push(record);
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        // Piped chunk by chunk, so a streamed (JSONL) reply stays streamed.
        reply.pipe(res);
        reply.on("end", () => {
          record.completed = true;
        });
      },
    );
    forward.on("error", () => res.destroy());
    res.on("close", () => {
      if (!record.completed) {
        record.aborted = true;
        forward.destroy();
      }
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reset: () => {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
