import { createBatcher, type BatchRequest } from "../internals/batcher.js";
import { settleBatchReply } from "../internals/envelope.js";
import { checkFetch, joinedPaths, readJson, sendBatch, trimBase } from "../internals/http.js";
import type { HTTPBatchLinkOptions, Link } from "../types.js";

/**
 * A terminating link that sends the calls made in the same macrotask as one HTTP request per
 * kind and group (tRPC v11 batch format): queries as
 * `GET <url>/<path1>,<path2>?batch=1&input=<{"0":…,"1":…}>` (keys of calls without input left
 * out, `input` left out when none has one), mutations as `POST <url>/<paths>?batch=1` with the
 * body `{"0":…}`. Results are mapped back by index. Limits and grouping: see
 * {@link HTTPBatchLinkOptions} (defaults: 100 calls, 8192-character URLs, one group).
 *
 * Failures (all `TabrpcError`, see its table): an error envelope rejects its call only; a
 * top-level error (a single object instead of an array) rejects every call of the request; a
 * missing item, or a reply that is not JSON, is `BAD_GATEWAY`.
 *
 * Abort: a call whose signal fires before dispatch is dropped from the batch; after dispatch it
 * rejects at once with `CLIENT_CLOSED_REQUEST`, and the HTTP request itself is aborted only once
 * every call in it has been aborted.
 *
 * Throws `TypeError` at creation when there is no `fetch`, `RangeError` for bad limits.
 */
export function httpBatchLink(options: HTTPBatchLinkOptions): Link {
  checkFetch(options);
  const base = trimBase(options.url);

  async function send(request: BatchRequest): Promise<void> {
    const response = await sendBatch(options, base, request);
    const reply = await readJson(response, joinedPaths(request.items), request.signal);
    request.finish();
    settleBatchReply(request.items, reply, response);
  }

  const load = createBatcher("httpBatchLink", base, options, send);
  return (op) => load(op);
}
