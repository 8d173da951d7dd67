import type { TabrpcError } from "./error.js";
import { runChain } from "./internals/chain.js";
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

/** The methods of one procedure: `query` or `mutate` by its kind. */
type ProcedureMethods<TDef extends ProcedureDef> = TDef["kind"] extends "query"
  ? { query: (...args: CallArgs<TDef>) => Promise<CallOutput<TDef>> }
  : TDef["kind"] extends "mutation"
    ? { mutate: (...args: CallArgs<TDef>) => Promise<CallOutput<TDef>> }
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

type Caller = (path: readonly string[], method: "query" | "mutate", args: readonly unknown[]) => Promise<unknown>;

/**
 * A node of the proxy. Only nodes reached by `.query` or `.mutate` are callable, so no node has a
 * callable `then`: `await client` or `await client.post` never treats the client as a promise.
 * Every other string key (`toString`, `constructor`, `then`) is just another path segment.
 */
function proxyNode(path: readonly string[], call: Caller): unknown {
  const method = path[path.length - 1];
  const callable = method === "query" || method === "mutate";
  const target = callable ? () => undefined : Object.create(null);
  return new Proxy(target, {
    get: (_target, key) => (typeof key === "string" ? proxyNode([...path, key], call) : undefined),
    apply: (_target, _this, args: unknown[]) => call(path.slice(0, -1), method as "query" | "mutate", args),
  });
}

/**
 * Creates a typed client: `client.post.byId.query(input, { signal, context })` for queries,
 * `client.echo.mutate(input)` for mutations. Each call becomes one operation sent through
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
    const [input, callOptions] = args as [unknown, CallOptions | undefined];
    const op: Operation = {
      id: ++lastId,
      kind: method === "query" ? "query" : "mutation",
      path: path.join("."),
      input,
      signal: callOptions?.signal,
      context: { ...callOptions?.context },
    };
    return runChain(links, op, end).then((result) => result.data);
  };
  return proxyNode([], call) as Client<TProcs>;
}
