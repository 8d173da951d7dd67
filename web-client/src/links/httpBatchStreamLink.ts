import { TabrpcError } from "../error.js";
import { createBatcher, type BatchItem, type BatchRequest } from "../internals/batcher.js";
import { errorFromShape, isErrorShape, isRecord, preview, resultFromEnvelope, settleBatchReply } from "../internals/envelope.js";
import { abortError, badGateway, forCall, localError } from "../internals/errors.js";
import { checkFetch, joinedPaths, readJson, sendBatch, trimBase } from "../internals/http.js";
import { Channel, ChunkError, JsonlDecoder, readLines } from "../internals/jsonl.js";
import type { HTTPBatchLinkOptions, Link, Operation } from "../types.js";

function toError(error: unknown, op: Operation, response: Response): TabrpcError {
  if (error instanceof ChunkError) {
    return isErrorShape(error.payload)
      ? errorFromShape(error.payload, op.path, response)
      : badGateway(`The stream sent a failure that is not an error shape: ${preview(error.payload)}`, op.path, response);
  }
  return forCall(error, op);
}

/** The caller's view of a streamed output: errors become `TabrpcError`s, abort ends it. */
function callerStream(channel: Channel<unknown>, item: BatchItem, response: Response): AsyncIterable<unknown> {
  const { op } = item;
  const done = () => {
    op.signal?.removeEventListener("abort", onAbort);
    item.release();
  };
  const onAbort = () => {
    channel.fail(abortError(op));
    done();
  };
  op.signal?.addEventListener("abort", onAbort, { once: true });
  const iterator: AsyncIterator<unknown> = {
    async next() {
      try {
        const step = await channel.next();
        if (step.done === true) done();
        return step;
      } catch (error) {
        done();
        throw toError(error, op, response);
      }
    },
    async return() {
      // `break` out of `for await`: this call no longer needs the HTTP request.
      done();
      return channel.return();
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

/** Waits for one item of the head: the producer may defer the envelope, its `result` and its `data`. */
async function settleItem(item: BatchItem, value: unknown, response: Response): Promise<void> {
  try {
    let envelope = await value;
    if (isRecord(envelope) && envelope.result !== undefined) {
      const result: unknown = await envelope.result;
      envelope = isRecord(result) ? { result: { ...result, data: await result.data } } : { result };
    }
    const outcome = resultFromEnvelope(envelope, item.op.path, response);
    if (outcome.data instanceof Channel) {
      item.resolve({ data: callerStream(outcome.data, item, response), response }, true);
    } else {
      item.resolve(outcome);
    }
  } catch (error) {
    item.reject(toError(error, item.op, response));
  }
}

/**
 * A terminating link like `httpBatchLink` (same options, batching, limits, grouping and abort rules) that
 * asks for the streamed reply (`trpc-accept: application/jsonl`, wire.md section 3): each call
 * resolves as soon as its own line arrives, not when the slowest call of the batch is done, and a
 * procedure whose output is a stream resolves to an `AsyncIterable` of its items.
 *
 * A streamed output can be iterated once. Items are buffered until read. Leaving the loop early
 * (`break`) or aborting the call's signal ends it; the HTTP request is aborted once no call of it
 * is waiting or iterating any more. A failure mid-stream, or a reply cut before its end, throws a
 * `TabrpcError` from the iterator (`BAD_GATEWAY` for a cut reply). Non-2xx replies are read as
 * plain JSON (top-level errors).
 */
export function httpBatchStreamLink(options: HTTPBatchLinkOptions): Link {
  checkFetch(options);
  const base = trimBase(options.url);

  async function send(request: BatchRequest): Promise<void> {
    const { items, signal, finish } = request;
    const path = joinedPaths(items);
    const response = await sendBatch(options, base, request, { "trpc-accept": "application/jsonl" });
    if (!response.ok || response.body === null) {
      const reply = await readJson(response, path, signal);
      finish();
      return settleBatchReply(items, reply, response);
    }

    const decoder = new JsonlDecoder();
    const parse = (line: string): unknown => {
      try {
        return JSON.parse(line) as unknown;
      } catch (cause) {
        throw badGateway(`A line of the streamed reply for ${path} is not JSON: ${preview(line)}`, path, response, cause);
      }
    };
    try {
      const lines = readLines(response.body);
      const first = await lines.next();
      const head = first.done === true ? undefined : parse(first.value);
      if (Array.isArray(head) || (isRecord(head) && head.error !== undefined)) {
        // The server answered a whole JSON reply instead of streaming.
        finish();
        await lines.return();
        return settleBatchReply(items, head, response);
      }
      if (!isRecord(head)) {
        throw badGateway(`The streamed reply for ${path} has no head line: ${preview(head)}`, path, response);
      }
      items.forEach((item, index) => {
        const encoded = head[String(index)];
        if (encoded === undefined) {
          item.reject(badGateway(`The streamed reply has no item ${index} (for ${item.op.path})`, item.op.path, response));
          return;
        }
        void settleItem(item, decoder.decode(encoded), response);
      });
      for await (const line of lines) decoder.push(parse(line));
      finish();
      decoder.close(badGateway(`The streamed reply for ${path} ended before all its values`, path, response));
    } catch (error) {
      const reason = signal.aborted
        ? localError("CLIENT_CLOSED_REQUEST", `The request for ${path} was aborted`, path, { response })
        : error instanceof TabrpcError
          ? error
          : badGateway(`The streamed reply for ${path} broke: ${String(error)}`, path, response, error);
      decoder.close(reason);
      throw reason;
    }
  }

  const load = createBatcher("httpBatchStreamLink", base, options, send);
  return (op) => load(op);
}
