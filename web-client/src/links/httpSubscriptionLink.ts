import { createParser, type EventSourceMessage } from "eventsource-parser";
import { TabrpcError } from "../error.js";
import { isInvalidToken, sleep } from "../internals/auth.js";
import { errorFromShape, isErrorShape, isRecord, preview } from "../internals/envelope.js";
import { abortError, badGateway, forCall, localError, wrongLink } from "../internals/errors.js";
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
   * How many reconnection attempts in a row may fail (unreachable, a server error, a stream
   * that closes before `connected`) before the subscription fails. Defaults to `Infinity` (as
   * `EventSource`).
   */
  maxReconnects?: number | undefined;
  /**
   * Reconnect when nothing (no value, no `ping`) arrived for this long: a connection can die
   * without closing (a laptop's sleep, a network switch). Set it above the server's ping
   * interval (`sse_ping_interval`). Defaults to none.
   */
  reconnectAfterInactivityMs?: number | undefined;
}

/** How one connection ended. */
type Ending = "return" | "failed" | "dropped" | "dropped-before-start";

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
 * token). A reconnection refused with a 401 `invalid_token` is tried once more at once (a fresh
 * token); one answered with a server error (5xx), 408 or 429 is retried like an unreachable
 * server; any other HTTP error fails the subscription with that error. Aborting the call's
 * signal or leaving the loop closes the connection. Non-subscription calls are refused locally:
 * route them elsewhere with `splitLink`.
 *
 * @example
 * ```ts
 * // `tabLinks` routes subscriptions here; by hand:
 * const client = createClient(procedures, {
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
  const settings: Settings = {
    firstDelay: Math.max(0, options.reconnectDelayMs ?? 1000),
    maxDelay: options.maxReconnectDelayMs ?? 30_000,
    maxReconnects: options.maxReconnects ?? Number.POSITIVE_INFINITY,
    inactivityMs: options.reconnectAfterInactivityMs,
  };

  return (op) => {
    if (op.kind !== "subscription") return Promise.reject(wrongLink(op, "httpSubscriptionLink", "subscriptions"));
    if (op.signal?.aborted === true) return Promise.reject(abortError(op));
    let json: string | undefined;
    try {
      json = serializeInput(op);
    } catch (error) {
      return Promise.reject(forCall(error, op));
    }
    const url = `${base}/${encodeURIComponent(op.path)}${json === undefined ? "" : `?input=${encodeURIComponent(json)}`}`;
    return new Subscription(op, options, url, settings).start();
  };
}

interface Settings {
  readonly firstDelay: number;
  readonly maxDelay: number;
  readonly maxReconnects: number;
  readonly inactivityMs: number | undefined;
}

/** Whether a failed reconnection is worth another try: the server was unreachable or in trouble. */
function isTransient(error: unknown): boolean {
  if (!(error instanceof TabrpcError) || error.code === "CLIENT_CLOSED_REQUEST") return false;
  const status = error.httpStatus;
  return status === 0 || status >= 500 || status === 408 || status === 429;
}

/** One subscription: its connections, one after another, feeding one channel. */
class Subscription {
  readonly #channel = new Channel<unknown>();
  /** Ends the subscription (and so its connection of the moment). */
  readonly #controller = new AbortController();
  #lastEventId: string | undefined;
  /** The pause after a drop: `firstDelay`, or the server's `retry:`. */
  #baseDelay: number;
  #delay: number;
  #started: ((result: OperationResult) => void) | undefined;
  #failedToStart: ((error: unknown) => void) | undefined;

  constructor(
    readonly op: Operation,
    readonly options: HTTPLinkOptions,
    readonly url: string,
    readonly settings: Settings,
  ) {
    this.#baseDelay = settings.firstDelay;
    this.#delay = settings.firstDelay;
  }

  start(): Promise<OperationResult> {
    const { op } = this;
    const onAbort = () => this.#fail(abortError(op));
    op.signal?.addEventListener("abort", onAbort, { once: true });
    const result = new Promise<OperationResult>((resolve, reject) => {
      this.#started = resolve;
      this.#failedToStart = reject;
    });
    void this.#run()
      .catch((error: unknown) => this.#fail(error))
      .finally(() => {
        op.signal?.removeEventListener("abort", onAbort);
        this.#controller.abort();
        // Over without ever starting (e.g. `return` before `connected`): the call still answers.
        this.#fail(badGateway(`The event stream of ${op.path} ended before it started`, op.path, undefined));
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

  /** Ends the subscription with `error` (the call's rejection if it had not started). Once only. */
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
    /** Reconnections in a row that did not reach `connected`. */
    let failures = 0;
    let freshTokenTried = false;
    for (let attempt = 0; !signal.aborted; attempt += 1) {
      if (attempt > 0 && !freshTokenTried) {
        try {
          await sleep(this.#delay, signal);
        } catch {
          return;
        }
        this.#delay = Math.min(Math.max(this.#delay, 1) * 2, this.settings.maxDelay);
      }
      let ending: Ending;
      try {
        ending = await this.#connect(signal, attempt > 0);
      } catch (error) {
        if (signal.aborted) return;
        // The first connection's failure fails the call. A reconnection refused for its token
        // gets one more try at once (authLink fetches a new token per request).
        if (attempt > 0 && isInvalidToken(error) && !freshTokenTried) {
          freshTokenTried = true;
          continue;
        }
        freshTokenTried = false;
        failures += 1;
        if (attempt === 0 || !isTransient(error) || failures > this.settings.maxReconnects) {
          this.#fail(error);
          return;
        }
        continue;
      }
      freshTokenTried = false;
      if (ending === "return" || ending === "failed") return;
      if (ending === "dropped") {
        failures = 0;
        continue;
      }
      // Closed before `connected`: the server never took the subscription back up.
      failures += 1;
      if (failures > this.settings.maxReconnects) {
        this.#fail(localError("SERVICE_UNAVAILABLE", `The subscription ${this.op.path} could not be resumed`, this.op.path));
        return;
      }
    }
  }

  /** One connection, until it ends. Throws when it could not be opened. */
  async #connect(subscription: AbortSignal, reconnecting: boolean): Promise<Ending> {
    const { op } = this;
    // Each connection has its own signal, linked to the subscription's while it lasts: fetch
    // implementations leave a listener on the signal they were given.
    const connection = new AbortController();
    const stop = () => connection.abort();
    subscription.addEventListener("abort", stop, { once: true });
    let idle: ReturnType<typeof setTimeout> | undefined;
    const alive = () => {
      if (this.settings.inactivityMs === undefined) return;
      clearTimeout(idle);
      idle = setTimeout(stop, this.settings.inactivityMs);
    };
    try {
      const headers: Record<string, string> = { accept: "text/event-stream" };
      if (reconnecting && this.#lastEventId !== undefined) headers["last-event-id"] = this.#lastEventId;
      alive();
      const response = await send({
        options: this.options,
        operations: [op],
        url: this.url,
        method: "GET",
        body: undefined,
        extraHeaders: headers,
        signal: connection.signal,
        path: op.path,
      });
      const type = response.headers.get("content-type") ?? "";
      if (!response.ok || !type.startsWith("text/event-stream") || response.body === null) {
        // A top-level error (401, 404, 405, …) is plain JSON.
        const reply = await readJson(response, op.path, connection.signal);
        if (isRecord(reply) && isErrorShape(reply.error)) throw errorFromShape(reply.error, op.path, response);
        throw badGateway(`The reply for the subscription ${op.path} is not an event stream (HTTP ${response.status}): ${preview(reply)}`, op.path, response);
      }
      return await this.#read(response, response.body, connection.signal, alive);
    } catch (error) {
      // Given up for inactivity before the stream was read: a drop, not a failure.
      if (connection.signal.aborted && !subscription.aborted) return "dropped-before-start";
      throw error;
    } finally {
      clearTimeout(idle);
      subscription.removeEventListener("abort", stop);
      connection.abort();
    }
  }

  /** Reads one event stream until it ends. */
  async #read(response: Response, body: NonNullable<Response["body"]>, signal: AbortSignal, alive: () => void): Promise<Ending> {
    const { op } = this;
    let connected = false;
    let ending: Ending | undefined;
    const onEvent = (event: EventSourceMessage) => {
      if (ending !== undefined) return;
      alive();
      switch (event.event) {
        case "connected":
          connected = true;
          this.#delay = this.#baseDelay;
          this.#started?.({ data: this.#iterable(), response });
          this.#started = undefined;
          this.#failedToStart = undefined;
          return;
        case "ping":
          return;
        case "return":
          ending = "return";
          if (this.#started !== undefined) {
            this.#fail(badGateway(`The event stream of ${op.path} ended before it started`, op.path, response));
          } else {
            this.#channel.end();
          }
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
          // An empty `id:` resets the last id (no Last-Event-ID is sent then), as in EventSource.
          if (event.id !== undefined) this.#lastEventId = event.id === "" ? undefined : event.id;
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
        this.#baseDelay = Math.min(ms, this.settings.maxDelay);
        this.#delay = this.#baseDelay;
      },
    });
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
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
      // The connection broke (or was given up): see below.
    } finally {
      signal.removeEventListener("abort", onAbort);
      void reader.cancel().catch(() => undefined);
    }
    if (ending !== undefined) return ending;
    if (this.#started !== undefined) {
      // The first connection closed before `connected`: nothing started, nothing to resume.
      throw badGateway(`The event stream of ${op.path} ended before it started`, op.path, response);
    }
    return connected ? "dropped" : "dropped-before-start";
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
