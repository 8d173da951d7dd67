import { resultFromEnvelope } from "../internals/envelope.js";
import { abortError, forCall, wrongLink } from "../internals/errors.js";
import { checkFetch, readJson, send, serializeInput, trimBase } from "../internals/http.js";
import type { HTTPLinkOptions, Link, Operation, OperationResult } from "../types.js";

/**
 * A terminating link that sends each call as its own HTTP request: a query as
 * `GET <url>/<path>[?input=<JSON>]`, a mutation as `POST <url>/<path>` with the JSON input as
 * body (no body when the call has no input). Use it for servers with batching turned off.
 *
 * Failures are `TabrpcError`s (see its table). An aborted call rejects at once with
 * `CLIENT_CLOSED_REQUEST` and aborts its request. Throws `TypeError` at creation when there is
 * no `fetch`.
 */
export function httpLink(options: HTTPLinkOptions): Link {
  checkFetch(options);
  const base = trimBase(options.url);

  async function call(op: Operation, signal: AbortSignal): Promise<OperationResult> {
    const json = serializeInput(op);
    const query = op.kind === "query" && json !== undefined ? `?input=${encodeURIComponent(json)}` : "";
    const response = await send({
      options,
      operations: [op],
      url: `${base}/${encodeURIComponent(op.path)}${query}`,
      method: op.kind === "query" ? "GET" : "POST",
      body: op.kind === "mutation" ? json : undefined,
      extraHeaders: op.kind === "mutation" ? { "content-type": "application/json" } : {},
      signal,
      path: op.path,
    });
    return resultFromEnvelope(await readJson(response, op.path, signal), op.path, response);
  }

  return (op) =>
    new Promise<OperationResult>((resolve, reject) => {
      const { signal } = op;
      if (op.kind === "subscription") return reject(wrongLink(op, "httpLink", "queries and mutations"));
      if (signal?.aborted) return reject(abortError(op));
      // Reject on abort right away, even while headers are still being resolved.
      const onAbort = () => reject(abortError(op));
      signal?.addEventListener("abort", onAbort, { once: true });
      call(op, signal ?? new AbortController().signal)
        .then(resolve, (error: unknown) => reject(forCall(error, op)))
        .finally(() => signal?.removeEventListener("abort", onAbort));
    });
}
