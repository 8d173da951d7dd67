import { TabrpcError } from "./error.js";
import { runChain } from "./internals/chain.js";
import { isAsyncIterable } from "./internals/envelope.js";
import { localError } from "./internals/errors.js";
import type { Link, Operation, OperationContext } from "./types.js";

/**
 * One procedure as the generated bindings describe it. `input`, `output` and `error` are JSON
 * types; `stream: true` means the output is many values of type `output`; `markers` are tags such
 * as `"viewer"` or `"session"` (or `never`).
 */
export interface ProcedureDef {
  kind: "query" | "mutation" | "subscription";
  input: unknown;
  output: unknown;
  error: unknown;
  stream: boolean;
  markers: string;
}

/** The generated `Procedures` type: dotted path → {@link ProcedureDef}. */
export type ProcedureMap = { [path: string]: ProcedureDef };

/** Per-call options. */
export interface CallOptions {
  /** Aborts this call only (it rejects with `CLIENT_CLOSED_REQUEST`). Defaults to none. */
  signal?: AbortSignal | undefined;
  /** Copied into the operation's context, for the links. Defaults to `{}`. */
  context?: OperationContext | undefined;
}

/**
 * An input with `sessionId` optional, for procedures marked `"session"`: `sessionLink` fills it
 * in. Other inputs are unchanged.
 */
export type SessionOptional<TInput> = TInput extends null | undefined
  ? TInput
  : TInput extends readonly unknown[]
    ? TInput
    : TInput extends { sessionId: unknown }
      ? Omit<TInput, "sessionId"> & { sessionId?: string }
      : TInput;

/**
 * The input a call takes: the bindings' input, where procedures marked `"session"` leave
 * `sessionId` out (the client's chain must then have `sessionLink`, which fills it in; without
 * it the server answers 400).
 */
export type CallInput<TDef extends ProcedureDef> = "session" extends TDef["markers"] ? SessionOptional<TDef["input"]> : TDef["input"];

/**
 * The arguments of a call: the input may be left out when the procedure takes `null` or
 * `undefined`, or when all it needs is filled in (a session procedure's `sessionId`); a
 * left-out input is sent as no input at all (`sessionLink` sends `{ sessionId }`).
 */
type CallArgs<TDef extends ProcedureDef> = null extends TDef["input"]
  ? [input?: CallInput<TDef>, options?: CallOptions]
  : undefined extends TDef["input"]
    ? [input?: CallInput<TDef>, options?: CallOptions]
    : "session" extends TDef["markers"]
      ? {} extends CallInput<TDef>
        ? [input?: CallInput<TDef>, options?: CallOptions]
        : [input: CallInput<TDef>, options?: CallOptions]
      : [input: CallInput<TDef>, options?: CallOptions];

/**
 * What a call resolves to: an `AsyncIterable` of the items for a streamed output (with
 * `httpBatchStreamLink`); `undefined` for a unit output (generated as `null`; the wire sends
 * `{"result":{}}`).
 */
export type CallOutput<TDef extends ProcedureDef> = TDef["stream"] extends true
  ? AsyncIterable<TDef["output"]>
  : [TDef["output"]] extends [null]
    ? undefined
    : TDef["output"];

/**
 * What a subscription tells its caller. Each handler is optional; none is called after
 * `unsubscribe()` but `onStopped`.
 */
export interface SubscriptionHandlers<TOutput, TError = unknown> {
  /** The server accepted the subscription (its `connected` event). */
  onStarted?: (() => void) | undefined;
  /** One value. */
  onData?: ((value: TOutput) => void) | undefined;
  /** The subscription failed (the server's error, or the connection's); it is over. */
  onError?: ((error: TabrpcError<TError>) => void) | undefined;
  /** The server ended the subscription normally; it is over. */
  onComplete?: (() => void) | undefined;
  /** `unsubscribe()` ended it. */
  onStopped?: (() => void) | undefined;
}

/** Options of a `subscribe` call: its handlers, and the per-call options. */
export interface SubscribeOptions<TOutput, TError = unknown> extends CallOptions, SubscriptionHandlers<TOutput, TError> {}

/** What `subscribe` returns. */
export interface Unsubscribable {
  /** Ends the subscription (closes its connection); `onStopped` is called once. */
  unsubscribe(): void;
}

/** The arguments of `subscribe`: the input (`undefined` when the procedure needs none), then the handlers. */
type SubscribeArgs<TDef extends ProcedureDef> = [
  input: CallArgs<TDef>[0],
  options: SubscribeOptions<TDef["output"], TDef["error"]>,
];

/** The methods of one procedure: `query`, `mutate` or `subscribe` by its kind. */
type ProcedureMethods<TDef extends ProcedureDef> = TDef["kind"] extends "query"
  ? { query: (...args: CallArgs<TDef>) => Promise<CallOutput<TDef>> }
  : TDef["kind"] extends "mutation"
    ? { mutate: (...args: CallArgs<TDef>) => Promise<CallOutput<TDef>> }
    : TDef["kind"] extends "subscription"
      ? { subscribe: (...args: SubscribeArgs<TDef>) => Unsubscribable }
      : unknown;

/** @internal The first segment of a dotted path. */
export type FirstSegment<TPath extends string> = TPath extends `${infer Head}.${string}` ? Head : TPath;
/** @internal What follows `THead.` in a dotted path. */
export type AfterSegment<TPath extends string, THead extends string> = TPath extends `${THead}.${infer Rest}` ? Rest : never;

/** The proxy's nested shape: `post.byId` becomes `client.post.byId`. */
type ClientTree<TProcs extends ProcedureMap, TPrefix extends string, TRest extends string> = {
  [Head in FirstSegment<TRest>]: (Head extends TRest ? ProcedureMethods<TProcs[`${TPrefix}${Head}`]> : unknown) &
    ClientTree<TProcs, `${TPrefix}${Head}.`, AfterSegment<TRest, Head>>;
};

/** The typed client for the procedures `TProcs` (the generated `Procedures` type). */
export type Client<TProcs extends ProcedureMap> = ClientTree<TProcs, "", keyof TProcs & string>;

/** The input type of one procedure. */
export type ProcedureInput<TProcs extends ProcedureMap, TPath extends keyof TProcs> = TProcs[TPath]["input"];

/** What a call of one procedure resolves to. */
export type ProcedureOutput<TProcs extends ProcedureMap, TPath extends keyof TProcs> = CallOutput<TProcs[TPath]>;

/** The error a call of one procedure rejects with, its `payload` typed. */
export type ProcedureError<TProcs extends ProcedureMap, TPath extends keyof TProcs> = TabrpcError<
  TProcs[TPath]["error"]
>;

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The chain, in order; the last one must be a terminating link (e.g. `httpBatchLink`). */
  links: readonly Link[];
}

type Method = "query" | "mutate" | "subscribe";
type Caller = (path: readonly string[], method: Method, args: readonly unknown[]) => unknown;

const METHODS: ReadonlySet<string> = new Set<Method>(["query", "mutate", "subscribe"]);

/**
 * A node of the proxy. Only nodes reached by `.query`, `.mutate` or `.subscribe` are callable,
 * so no node has a callable `then`: `await client` or `await client.post` never treats the client
 * as a promise. Every other string key (`toString`, `constructor`, `then`) is just another path
 * segment.
 */
function proxyNode(path: readonly string[], call: Caller): unknown {
  const method = path[path.length - 1];
  const callable = method !== undefined && METHODS.has(method);
  const target = callable ? () => undefined : Object.create(null);
  return new Proxy(target, {
    get: (_target, key) => (typeof key === "string" ? proxyNode([...path, key], call) : undefined),
    apply: (_target, _this, args: unknown[]) => call(path.slice(0, -1), method as Method, args),
  });
}

/**
 * Calls one of the caller's handlers. An exception it throws is the caller's bug, not the
 * subscription's: it is reported as uncaught (as an event listener's would be) and changes
 * nothing else.
 */
function callHandler<A extends unknown[]>(handler: ((...args: A) => void) | undefined, ...args: A): void {
  try {
    handler?.(...args);
  } catch (error) {
    const report = (globalThis as { reportError?: (error: unknown) => void }).reportError;
    if (report !== undefined) report(error);
    else
      queueMicrotask(() => {
        throw error;
      });
  }
}

/** Runs a subscription's operation and feeds its values to the handlers. */
function subscribe(run: (signal: AbortSignal) => Promise<unknown>, handlers: SubscribeOptions<unknown>, path: string): Unsubscribable {
  const controller = new AbortController();
  const outer = handlers.signal;
  let over = false;
  /** Ends it once: the one final handler, then the connection closes. */
  const finish = (report: () => void) => {
    if (over) return;
    over = true;
    outer?.removeEventListener("abort", stop);
    controller.abort();
    report();
  };
  const stop = () => finish(() => callHandler(handlers.onStopped));
  if (outer?.aborted === true) {
    stop();
    return { unsubscribe: () => undefined };
  }
  outer?.addEventListener("abort", stop, { once: true });
  void (async () => {
    try {
      const data = await run(controller.signal);
      if (over) return;
      if (!isAsyncIterable(data)) {
        throw localError("BAD_GATEWAY", `The subscription ${path} did not answer with a stream of values (is it routed to httpSubscriptionLink?)`, path);
      }
      callHandler(handlers.onStarted);
      for await (const value of data) {
        if (over) return;
        callHandler(handlers.onData, value);
      }
      finish(() => callHandler(handlers.onComplete));
    } catch (error) {
      const failure = error instanceof TabrpcError ? error : localError("INTERNAL_SERVER_ERROR", `Unexpected client failure: ${String(error)}`, path, { cause: error });
      finish(() => callHandler(handlers.onError, failure));
    }
  })();
  return { unsubscribe: stop };
}

/**
 * Creates a typed client: `client.post.byId.query(input, { signal, context })` for queries,
 * `client.echo.mutate(input)` for mutations, `client.feed.subscribe(input, { onData })` for
 * subscriptions (which need `httpSubscriptionLink` in the chain). Each call becomes one operation sent through
 * `links`; it resolves to the procedure's output and rejects with a `TabrpcError` (or whatever a
 * custom link rejects with).
 *
 * A call that reaches the end of the chain without a terminating link rejects with a plain
 * `Error` (a configuration bug). Throws `TypeError` when `links` is empty.
 *
 * @example
 * ```ts
 * import type { Procedures } from "../bindings/conformance";
 * const client = createClient<Procedures>({ links: [httpBatchLink({ url: "/rpc" })] });
 * const post = await client.post.byId.query({ id: 1 });
 * ```
 */
export function createClient<TProcs extends ProcedureMap>(options: ClientOptions): Client<TProcs> {
  const links = [...options.links];
  if (links.length === 0) throw new TypeError("tabrpc: createClient needs at least one link");
  let lastId = 0;
  const end = (op: Operation) =>
    Promise.reject(new Error(`tabrpc: no terminating link handled ${op.kind} ${op.path} (end the chain with an HTTP link)`));
  const call: Caller = (path, method, args) => {
    const [input, callOptions] = args as [unknown, SubscribeOptions<unknown> | undefined];
    const operation = (signal: AbortSignal | undefined): Operation => ({
      id: ++lastId,
      kind: method === "query" ? "query" : method === "mutate" ? "mutation" : "subscription",
      path: path.join("."),
      input,
      signal,
      context: { ...callOptions?.context },
    });
    if (method === "subscribe") {
      return subscribe((signal) => runChain(links, operation(signal), end).then((result) => result.data), callOptions ?? {}, path.join("."));
    }
    return runChain(links, operation(callOptions?.signal), end).then((result) => result.data);
  };
  return proxyNode([], call) as Client<TProcs>;
}
