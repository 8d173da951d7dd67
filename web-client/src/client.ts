import type { ProcedureTable, Scope } from "./codes.js";
import { TabrpcError } from "./error.js";
import { runChain } from "./internals/chain.js";
import { isAsyncIterable } from "./internals/envelope.js";
import { localError } from "./internals/errors.js";
import { CLIENT, tabStateOf, type ClientInternals, type ProcedureEntry } from "./internals/tab.js";
import type { Link, Operation, OperationContext } from "./types.js";

/**
 * One procedure as the generated bindings describe it. `input`, `output` and `error` are JSON
 * types; `stream: true` means the output is many values of type `output`; `scopes` is the union
 * of its scopes (`"viewer"`, `"session"`), `never` when it has none.
 */
export interface ProcedureDef {
  kind: "query" | "mutation" | "subscription";
  input: unknown;
  output: unknown;
  error: unknown;
  stream: boolean;
  scopes: Scope;
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

/** The input fields the client fills in for a procedure's scopes. */
export type ScopedFields<TDef extends ProcedureDef> =
  | ("viewer" extends TDef["scopes"] ? "viewerId" : never)
  | ("session" extends TDef["scopes"] ? "sessionId" : never);

/**
 * `TInput` without `TFields`, which may then not be given at all (objects only; `null`,
 * `undefined`, arrays and primitives stay).
 */
type Without<TInput, TFields extends string> = TInput extends null | undefined
  ? TInput
  : TInput extends readonly unknown[]
    ? TInput
    : TInput extends object
      ? Omit<TInput, TFields> & { [K in TFields]?: never }
      : TInput;

/**
 * The input a call takes: the bindings' input without the fields of its scopes (`viewerId` for
 * `"viewer"` procedures, `sessionId` for `"session"` ones), which `authLink` and `sessionLink`
 * fill in.
 */
export type CallInput<TDef extends ProcedureDef> = [ScopedFields<TDef>] extends [never] ? TDef["input"] : Without<TDef["input"], ScopedFields<TDef>>;

/**
 * Whether the input may be left out: the procedure takes `null` or `undefined`, or all it needs
 * is filled in (a scoped procedure whose other fields are optional). A left-out input is sent as
 * no input at all, or as the scope's fields.
 */
export type InputOptional<TDef extends ProcedureDef> = null extends TDef["input"]
  ? true
  : undefined extends TDef["input"]
    ? true
    : [ScopedFields<TDef>] extends [never]
      ? false
      : {} extends CallInput<TDef>
        ? true
        : false;

/** The arguments of a call. */
type CallArgs<TDef extends ProcedureDef> = InputOptional<TDef> extends true
  ? [input?: CallInput<TDef>, options?: CallOptions]
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

/** Phantom: the procedure types of a client, for inference only (never present at run time). */
declare const clientTypes: unique symbol;

/**
 * The typed client for the procedures `TProcs` (the generated `Procedures` type), as
 * {@link createClient} makes it. Helpers that take a client (`createOptionsProxy`,
 * `connectQueryClient`, `connectSession`) infer `TProcs` from it.
 */
export type Client<TProcs extends ProcedureMap> = ClientTree<TProcs, "", keyof TProcs & string> & { readonly [clientTypes]?: TProcs };

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
  /**
   * The chain, in order; the last one must be a terminating link. `tabLinks({ url, auth,
   * session })` builds the right one; the client reads the tab's auth state and session store
   * from its `authLink` and `sessionLink`.
   */
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
function proxyNode(path: readonly string[], call: Caller, internals: ClientInternals): unknown {
  const method = path[path.length - 1];
  const callable = method !== undefined && METHODS.has(method);
  const target = callable ? () => undefined : Object.create(null);
  return new Proxy(target, {
    get: (_target, key) => {
      if (key === CLIENT && path.length === 0) return internals;
      return typeof key === "string" ? proxyNode([...path, key], call, internals) : undefined;
    },
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
 * Creates a typed client for the procedures of `procedures`, the table the bindings generate
 * next to their `Procedures` type (which it infers): `client.post.byId.query(input, { signal,
 * context })` for queries, `client.echo.mutate(input)` for mutations, `client.feed.subscribe(input,
 * { onData })` for subscriptions. Each call becomes one operation, stamped with its procedure's
 * scopes and streaming from the table, sent through `links`; it resolves to the procedure's output
 * and rejects with a `TabrpcError` (or whatever a custom link rejects with).
 *
 * A call that reaches the end of the chain without a terminating link rejects with a plain
 * `Error` (a configuration bug). Throws `TypeError` when `links` is empty, when two of its
 * links carry different auth states or session stores, or when they carry an auth state and no
 * session store while `procedures` has `"session"` procedures.
 *
 * @example
 * ```ts
 * import { procedures } from "../bindings/demo.js";
 * const auth = createTabAuth(clerkAuthSource(window.Clerk));
 * const client = createClient(procedures, { links: tabLinks({ url: "/trpc", auth, session: createSessionStore() }) });
 * const user = await client.profile.getUser.query();
 * ```
 */
export function createClient<TProcs extends ProcedureMap>(procedures: ProcedureTable<TProcs>, options: ClientOptions): Client<TProcs> {
  const links = [...options.links];
  if (links.length === 0) throw new TypeError("tabrpc: createClient needs at least one link");
  const table = procedures as unknown as Readonly<Record<string, ProcedureEntry | undefined>>;
  const entryOf = (path: string) => (Object.hasOwn(table, path) ? table[path] : undefined);
  let lastId = 0;
  const end = (op: Operation) =>
    Promise.reject(new Error(`tabrpc: no terminating link handled ${op.kind} ${op.path} (end the chain with an HTTP link)`));
  const operation = (path: string, kind: Operation["kind"], input: unknown, options: CallOptions | undefined, signal: AbortSignal | undefined): Operation => {
    const entry = entryOf(path);
    return { id: ++lastId, kind, path, input, scopes: entry?.scopes ?? [], stream: entry?.stream ?? false, signal, context: { ...options?.context } };
  };
  const run = (op: Operation) => runChain(links, op, end).then((result) => result.data);
  const call: Caller = (segments, method, args) => {
    const [input, callOptions] = args as [unknown, SubscribeOptions<unknown> | undefined];
    const path = segments.join(".");
    if (method === "subscribe") {
      return subscribe((signal) => run(operation(path, "subscription", input, callOptions, signal)), callOptions ?? {}, path);
    }
    return run(operation(path, method === "query" ? "query" : "mutation", input, callOptions, callOptions?.signal));
  };
  const tab = tabStateOf(links);
  if (tab.auth !== undefined && tab.session === undefined) {
    const needing = Object.keys(table).find((path) => entryOf(path)?.scopes.includes("session") === true);
    // authLink refuses their calls (it cannot tell their session ids apart): say so now.
    if (needing !== undefined) throw new TypeError(`tabrpc: createClient: ${needing} is a "session" procedure: give the links the tab's session store (tabLinks({ session }))`);
  }
  const internals: ClientInternals = {
    ...tab,
    procedures: table,
    call: (path, kind, input, callOptions) => run(operation(path, kind, input, callOptions, callOptions?.signal)),
  };
  return proxyNode([], call, internals) as Client<TProcs>;
}
