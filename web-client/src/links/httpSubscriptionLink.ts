import { createParser, type EventSourceMessage } from "eventsource-parser";
import { TabrpcError } from "../error.js";
import { sleep } from "../internals/auth.js";
import { errorFromShape, isErrorShape, isRecord, preview } from "../internals/envelope.js";
import { abortError, badGateway, forCall, wrongLink } from "../internals/errors.js";
import { checkFetch, readJson, send, serializeInput, trimBase } from "../internals/http.js";
import { Channel } from "../internals/jsonl.js";
import type { HTTPLinkOptions, Link, Operation, OperationResult } from "../types.js";

/** Options of {@link httpSubscriptionLink}. */
export interface HTTPSubscriptionLinkOptions extends HTTPLinkOptions {
  /**
   * The pause before reconnecting after the connection dropped, doubled after each failed
   * attempt up to `maxReconnectDelayMs`. A `retry:` field from the server replaces it. Defaults
   * to 1000 ms.
   */
  reconnectDelayMs?: number | undefined;
  /** The longest pause between reconnection attempts. Defaults to 30 000 ms. */
  maxReconnectDelayMs?: number | undefined;
  /**
   * How many reconnection attempts in a row may fail to reach the server before the
   * subscription fails with `SERVICE_UNAVAILABLE`. Defaults to `Infinity` (as `EventSource`).
   */
  maxReconnects?: number | undefined;
}

/** How one connection ended. */
type Ending = "return" | "failed" | "dropped";

/**
 * A terminating link for subscriptions: server-sent events as wire.md section 4 describes
 * (`GET <url>/<path>?input=<JSON>`, `accept: text/event-stream`), read with `fetch` so that the
 * request carries the same headers as every other call (the tab's token from `authLink`, which
 * `EventSource` could not send).
 *
 * The call resolves once the server says `connected`, to an `AsyncIterable` of the values. It
 * ends when the server sends `return`; a `serialized-error` (a bad input, a refused caller, the
 * procedure's failure) is thrown from the iterator as a `TabrpcError`. A connection that drops
 * without either is opened again after a pause, with `Last-Event-ID` set to the id of the last
 * value received (tracked subscriptions resume after it) and with headers resolved afresh (a new
 * token); a reconnection answered with an HTTP error fails the subscription with that error.
 * Aborting the call's signal or leaving the loop closes the connection. Non-subscription calls
 * are refused locally: route them elsewhere with `splitLink`.
 *
 * @example
 * ```ts
 * const client = createClient<Procedures>({
 *   links: [authLink({ auth }), splitLink({
 *     condition: (op) => op.kind === "subscription",
 *     true: httpSubscriptionLink({ url: "/trpc" }),
 *     false: httpBatchLink({ url: "/trpc" }),
 *   })],
 * });
 * const sub = client.feed.onPost.subscribe(undefined, { onData: (post) => render(post) });
 * ```
 */
export function httpSubscriptionLink(options: HTTPSubscriptionLinkOptions): Link {
  checkFetch(options);
  const base = trimBase(options.url);
  const firstDelay = options.reconnectDelayMs ?? 1000;
  const maxDelay = options.maxReconnectDelayMs ?? 30_000;
  const maxReconnects = options.maxReconnects ?? Number.POSITIVE_INFINITY;

  return (op) => {
    if (op.kind !== "subscription") return Promise.reject(wrongLink(op, "httpSubscriptionLink", "subscriptions"));
    if (op.signal?.aborted === true) return Promise.reject(abortError(op));
    let json: string | undefined;
    try {
      json = serializeInput(op);
    } catch (error) {
      return Promise.reject(forCall(error, op));
    }
    return new Subscription(op, options, `${base}/${encodeURIComponent(op.path)}${json === undefined ? "" : `?input=${encodeURIComponent(json)}`}`, {
      firstDelay,
      maxDelay,
      maxReconnects,
    }).start();
  };
}

/** One subscription: its connections, one after another, feeding one channel. */
class Subscription {
  readonly #channel = new Channel<unknown>();
  /** Aborts the connection of the moment, and ends the subscription. */
  readonly #controller = new AbortController();
  #lastEventId: string | undefined;
  #delay: number;
  #started: ((result: OperationResult) => void) | undefined;
  #failedToStart: ((error: unknown) => void) | undefined;

  constructor(
    readonly op: Operation,
    readonly options: HTTPLinkOptions,
    readonly url: string,
    readonly retry: { firstDelay: number; maxDelay: number; maxReconnects: number },
  ) {
    this.#delay = retry.firstDelay;
  }

  start(): Promise<OperationResult> {
    const { op } = this;
    const onAbort = () => this.#fail(abortError(op));
    op.signal?.addEventListener("abort", onAbort, { once: true });
    const result = new Promise<OperationResult>((resolve, reject) => {
      this.#started = resolve;
      this.#failedToStart = reject;
    });
    void this.#run().finally(() => {
      op.signal?.removeEventListener("abort", onAbort);
      this.#controller.abort();
    });
    return result;
  }

  /** The caller's iterator: leaving the loop closes the connection. */
  #iterable(): AsyncIterable<unknown> {
    const channel = this.#channel;
    const controller = this.#controller;
    const iterator: AsyncIterator<unknown> = {
      next: () => channel.next(),
      return: () => {
        controller.abort();
        return channel.return();
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  #fail(error: unknown): void {
    const reason = forCall(error, this.op);
    this.#failedToStart?.(reason);
    this.#failedToStart = undefined;
    this.#started = undefined;
    this.#channel.fail(reason);
    this.#controller.abort();
  }

  async #run(): Promise<void> {
    const { signal } = this.#controller;
    let failures = 0;
    for (let attempt = 0; !signal.aborted; attempt += 1) {
      if (attempt > 0) {
        try {
          await sleep(this.#delay, signal);
        } catch {
          return;
        }
        this.#delay = Math.min(this.#delay * 2, this.retry.maxDelay);
      }
      let ending: Ending;
      try {
        ending = await this.#connect(signal, attempt > 0);
      } catch (error) {
        if (signal.aborted) return;
        // The first connection's failure fails the call. A reconnection that could not reach
        // the server, or met a server error (restarting, a proxy's 502), is tried again, up to
        // `maxReconnects` times in a row; any other answer (401, 403, 404) is final.
        const transient =
          error instanceof TabrpcError && error.code !== "CLIENT_CLOSED_REQUEST" && (error.httpStatus === 0 || error.httpStatus >= 500);
        failures += 1;
        if (attempt === 0 || !transient || failures > this.retry.maxReconnects) {
          this.#fail(error);
          return;
        }
        continue;
      }
      if (ending !== "dropped") return;
      failures = 0;
    }
  }

  /** One connection, until it ends. Throws when it could not be opened. */
  async #connect(signal: AbortSignal, reconnecting: boolean): Promise<Ending> {
    const { op } = this;
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (reconnecting && this.#lastEventId !== undefined) headers["last-event-id"] = this.#lastEventId;
    const response = await send({
      options: this.options,
      operations: [op],
      url: this.url,
      method: "GET",
      body: undefined,
      extraHeaders: headers,
      signal,
      path: op.path,
    });
    const type = response.headers.get("content-type") ?? "";
    if (!response.ok || !type.startsWith("text/event-stream") || response.body === null) {
      // A top-level error (401, 404, 405, …) is plain JSON.
      const reply = await readJson(response, op.path, signal);
      if (isRecord(reply) && isErrorShape(reply.error)) throw errorFromShape(reply.error, op.path, response);
      throw badGateway(`The reply for the subscription ${op.path} is not an event stream (HTTP ${response.status}): ${preview(reply)}`, op.path, response);
    }

    let ending: Ending | undefined;
    const onEvent = (event: EventSourceMessage) => {
      if (ending !== undefined) return;
      switch (event.event) {
        case "connected":
          this.#delay = this.retry.firstDelay;
          this.#started?.({ data: this.#iterable(), response });
          this.#started = undefined;
          this.#failedToStart = undefined;
          return;
        case "ping":
          return;
        case "return":
          ending = "return";
          this.#channel.end();
          return;
        case "serialized-error": {
          ending = "failed";
          const shape = parse(event.data);
          this.#fail(
            isErrorShape(shape)
              ? errorFromShape(shape, op.path, response)
              : badGateway(`The subscription ${op.path} failed with something that is not an error shape: ${preview(event.data)}`, op.path, response),
          );
          return;
        }
        case undefined:
        case "message": {
          const value = parse(event.data);
          if (value === UNREADABLE) {
            ending = "failed";
            this.#fail(badGateway(`A value of the subscription ${op.path} is not JSON: ${preview(event.data)}`, op.path, response));
            return;
          }
          if (event.id !== undefined) this.#lastEventId = event.id;
          this.#channel.push(value);
          return;
        }
        default:
          // Events this client does not know are ignored, as EventSource ignores them.
          return;
      }
    };
    const parser = createParser({
      onEvent,
      onRetry: (ms) => {
        this.#delay = Math.min(ms, this.retry.maxDelay);
      },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    // Not every fetch ends the body when its signal fires: stop reading ourselves.
    const onAbort = () => void reader.cancel().catch(() => undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      while (ending === undefined) {
        const chunk = await reader.read();
        if (chunk.done) break;
        parser.feed(chunk.value);
      }
    } catch {
      // The connection broke (or was aborted): reconnect unless the subscription is over.
    } finally {
      signal.removeEventListener("abort", onAbort);
      void reader.cancel().catch(() => undefined);
    }
    if (ending === undefined && this.#started !== undefined) {
      // Closed before `connected`: nothing was started, nothing to resume.
      throw badGateway(`The event stream of ${op.path} ended before it started`, op.path, response);
    }
    return ending ?? "dropped";
  }
}

const UNREADABLE = Symbol("unreadable");

function parse(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return UNREADABLE;
  }
}
