/**
 * The link contract: every call of a client becomes one {@link Operation} that passes a chain of
 * {@link Link}s. A link is a plain async function. It may look at or replace the operation, call
 * `next` zero, one or several times (a retry), and must return a promise of the
 * {@link OperationResult}. A *terminating* link (`httpLink`, `httpBatchLink`,
 * `httpBatchStreamLink`) ignores `next` and answers from the network.
 *
 * Why promises and not observables: every call answers once. A streamed output (a procedure whose
 * output is many values) is a single answer too: its `data` is an `AsyncIterable`.
 *
 * @example A link that adds a value to the context of every call.
 * ```ts
 * const tagLink: Link = (op, next) => next({ ...op, context: { ...op.context, tag: "x" } });
 * ```
 *
 * @module
 */
import type { Scope } from "./codes.js";

/**
 * The kind of a call: queries are sent with `GET`, mutations with `POST`, subscriptions as an
 * event stream (`httpSubscriptionLink` only).
 */
export type OperationKind = "query" | "mutation" | "subscription";

/**
 * Free-form per-call values shared by the links of one call (for example an account id that an
 * auth link reads). Extend it by declaration merging to type your own keys:
 *
 * ```ts
 * declare module "@tabrpc/client" { interface OperationContext { viewerId?: string | null } }
 * ```
 */
export interface OperationContext {
  [key: string]: unknown;
  /**
   * Pins the account this call is for (`null`: anonymous), as its cache key says: the TanStack
   * Query integration sets it. Defaults to the tab's current account. A call pinned to an
   * account that is not the tab's current one is dropped unsent by `authLink`.
   */
  viewerId?: string | null | undefined;
  /**
   * Pins the client session id a `"session"` procedure is called with (client.md section 6),
   * e.g. to end a session the tab has left. Defaults to the tab's current one. `sessionLink` sets
   * it on the calls it fills in; calls of different session ids never share an HTTP request.
   */
  sessionId?: string | null | undefined;
}

/** One call on its way through the links. Links never mutate it; they pass a copy to `next`. */
export interface Operation {
  /** Unique per client, increasing; useful to match log lines. */
  readonly id: number;
  /** `query` (GET), `mutation` (POST) or `subscription` (an event stream). */
  readonly kind: OperationKind;
  /** The dotted procedure path, for example `post.byId`. */
  readonly path: string;
  /** The input; `undefined` means "no input" and sends none on the wire. */
  readonly input: unknown;
  /**
   * The procedure's scopes, from the procedures table the client was created with: a
   * `"viewer"` procedure gets the call's `viewerId` in its input (`authLink`), a `"session"` one
   * the tab's `sessionId` (`sessionLink`). Empty for a path the table does not list.
   */
  readonly scopes: readonly Scope[];
  /** Whether the procedure's output is streamed (from the procedures table; `false` when unlisted). */
  readonly stream: boolean;
  /** Aborts this call only; see each transport link for what it does on the wire. */
  readonly signal: AbortSignal | undefined;
  /** A copy of the caller's `context` option, private to this call. */
  readonly context: OperationContext;
  /** What links before the transport ask of the HTTP request that will carry this call. */
  readonly transport?: TransportHints | undefined;
}

/**
 * Requests a link (such as `authLink`) makes of the HTTP request that carries a call; the HTTP
 * transport links honour them. A link sets them by passing a copy of the operation to `next`.
 */
export interface TransportHints {
  /**
   * Calls whose keys differ never share an HTTP request (on top of the batch links' own
   * `groupKey` option). Defaults to one group.
   */
  readonly groupKey?: string | undefined;
  /**
   * Headers for the HTTP request, resolved once per request right before `fetch`, after the
   * link's `headers` option, and merged over it. Calls of one request that carry the same
   * function get it called once, with all of them. Fails like a {@link HeadersOption} function:
   * the request is not sent and each of its calls rejects.
   */
  readonly headers?: ((request: HTTPRequestInfo) => HTTPHeaders | Promise<HTTPHeaders>) | undefined;
}

/** What a call resolves to. */
export interface OperationResult {
  /**
   * The procedure's output; `undefined` when the server sent none (`{"result":{}}`, a unit
   * output). For streamed outputs an `AsyncIterable` of the items.
   */
  readonly data: unknown;
  /** The HTTP response that carried the result (shared by every call of a batch), if any. */
  readonly response?: Response | undefined;
}

/** Passes an operation to the rest of the chain. */
export type Next = (op: Operation) => Promise<OperationResult>;

/**
 * One step of the chain. Rejections should be `TabrpcError`s; the transport links only ever
 * reject with that class.
 */
export type Link = (op: Operation, next: Next) => Promise<OperationResult>;

/** Header values; `undefined` entries are left out of the request. */
export type HTTPHeaders = Readonly<Record<string, string | undefined>>;

/** The operations that one HTTP request is about to carry (one for `httpLink`). */
export interface HTTPRequestInfo {
  readonly operations: readonly Operation[];
}

/**
 * Headers for an HTTP request: fixed values, or a function called once per HTTP request, right
 * before `fetch` (after batching), so it can fetch a fresh token for exactly these operations.
 * If it throws or rejects, the request is not sent and every call of it rejects: with the thrown
 * error if it is a `TabrpcError`, else with `CLIENT_CLOSED_REQUEST` whose `cause` is the error.
 */
export type HeadersOption =
  | HTTPHeaders
  | ((request: HTTPRequestInfo) => HTTPHeaders | Promise<HTTPHeaders>);

/** The subset of `fetch` the links use. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Options shared by the HTTP transport links. */
export interface HTTPLinkOptions {
  /** Base URL; procedures are at `<url>/<path>`. Trailing slashes are ignored. */
  url: string;
  /** Extra request headers. Defaults to none. See {@link HeadersOption}. */
  headers?: HeadersOption | undefined;
  /**
   * The `fetch` to use. Defaults to `globalThis.fetch`, looked up at each request (so test stubs
   * apply); creating a link throws if neither exists.
   */
  fetch?: FetchLike | undefined;
  /**
   * `fetch`'s `credentials`: whether the browser sends cookies. Defaults to fetch's own default,
   * `"same-origin"`. A front end on another origin that relies on the session cookie sets
   * `"include"` (the server must list its origin for CORS, e.g. `TABRPC_CORS_ORIGINS`). Its
   * mutations by cookie are still refused by the server's CSRF rule, which does not accept a
   * foreign origin: send those with a bearer token.
   */
  credentials?: RequestCredentials | undefined;
}

/** Options of `httpBatchLink` and `httpBatchStreamLink`. */
export interface HTTPBatchLinkOptions extends HTTPLinkOptions {
  /**
   * The longest URL a request may have, in characters (the URL as built from `url`). Calls are
   * split greedily, in call order, into requests that fit; a call that does not fit on its own
   * fails locally with `PAYLOAD_TOO_LARGE` and is never sent. Defaults to 8192 (common proxy
   * limits; a tabrpc server accepts 16 KiB by default). Mutations carry inputs in the body, so
   * only their paths count.
   */
  maxURLLength?: number | undefined;
  /**
   * The most calls in one request. Defaults to 100, the tabrpc server's default
   * `max_batch_size`; a server answers a larger batch with a 400 for every call.
   */
  maxItems?: number | undefined;
  /**
   * Calls whose keys differ never share a request (e.g. calls for different accounts, so that one
   * request carries one account's token). Defaults to one group for all calls. Operations can
   * ask for more separation themselves (`Operation.transport.groupKey`, set by `authLink`).
   */
  groupKey?: ((op: Operation) => string) | undefined;
}
