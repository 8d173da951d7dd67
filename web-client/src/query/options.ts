import type {
  DataTag,
  GetNextPageParamFunction,
  InfiniteData,
  InfiniteQueryObserverOptions,
  MutationFunction,
  MutationObserverOptions,
  QueryFilters,
  QueryFunction,
  QueryFunctionContext,
  QueryObserverOptions,
} from "@tanstack/query-core";
import type { TabAuth } from "../auth/tabAuth.js";
import type {
  AfterSegment,
  CallInput,
  CallOutput,
  Client,
  FirstSegment,
  InputOptional,
  ProcedureDef,
  ProcedureMap,
  SubscriptionHandlers,
  Unsubscribable,
} from "../client.js";
import { TabrpcError } from "../error.js";
import { otherAccountError } from "../internals/auth.js";
import { resolveScope } from "../internals/scope.js";
import { internalsOf } from "../internals/tab.js";
import { sessionChangeError } from "../session/change.js";
import type { SessionStore } from "../session/store.js";
import {
  accountFilterKeyOf,
  infiniteQueryKeyOf,
  mutationKeyOf,
  pathKey,
  queryKeyOf,
  type AccountFilterKey,
  type KeyInput,
  type PathKey,
  type PathSegments,
  type ProcedureInfiniteQueryKey,
  type ProcedureMutationKey,
  type ProcedureQueryKey,
  type WithoutCursor,
} from "./keys.js";
import { callForViewer } from "./viewerCall.js";

/** The data a query of `TDef` caches: its output, with a unit output as `null` (TanStack Query refuses `undefined`). */
export type QueryData<TDef extends ProcedureDef> = [CallOutput<TDef>] extends [undefined] ? null : CallOutput<TDef>;

/** The error a call of `TDef` rejects with. */
export type QueryError<TDef extends ProcedureDef> = TabrpcError<TDef["error"]>;

/**
 * The input the option builders take: the call's input, without the fields the client fills in
 * (`viewerId` of `"viewer"` procedures: the tab's current account; `sessionId` of `"session"`
 * ones: the tab's session id).
 */
export type OptionsInput<TDef extends ProcedureDef> = CallInput<TDef>;

type SessionKeyed<T> = T extends null | undefined
  ? { sessionId: string | null }
  : T extends readonly unknown[]
    ? T
    : T extends object
      ? Omit<T, "sessionId"> & { sessionId: string | null }
      : T;

/**
 * The input as a query key holds it: for `"session"` procedures, with the session id the query
 * is for (`null` while the tab has none: the query is disabled).
 */
export type KeyedInput<TDef extends ProcedureDef> = "session" extends TDef["scopes"] ? SessionKeyed<TDef["input"]> : TDef["input"];

/** A query key tagged with its data and error types (so `queryClient.getQueryData(key)` is typed). */
export type TaggedQueryKey<TDef extends ProcedureDef, TPath extends string> = DataTag<
  ProcedureQueryKey<TPath, KeyedInput<TDef>>,
  QueryData<TDef>,
  QueryError<TDef>
>;

/** The TanStack options a query builder accepts (everything but the key and the function). */
export type ProcedureQueryOptionsIn<TDef extends ProcedureDef, TPath extends string, TData = QueryData<TDef>> = Omit<
  QueryObserverOptions<QueryData<TDef>, QueryError<TDef>, TData, QueryData<TDef>, ProcedureQueryKey<TPath, KeyedInput<TDef>>>,
  "queryKey" | "queryFn"
>;

/** What a query builder returns: options for `useQuery`, `QueryObserver`, `fetchQuery`, `prefetchQuery`. */
export type ProcedureQueryOptions<TDef extends ProcedureDef, TPath extends string, TData = QueryData<TDef>> = QueryObserverOptions<
  QueryData<TDef>,
  QueryError<TDef>,
  TData,
  QueryData<TDef>,
  ProcedureQueryKey<TPath, KeyedInput<TDef>>
> & {
  queryKey: TaggedQueryKey<TDef, TPath>;
  queryFn: QueryFunction<QueryData<TDef>, ProcedureQueryKey<TPath, KeyedInput<TDef>>>;
};

/** The variables of a mutation (its input; left out when the input may be). */
export type MutationVariables<TDef extends ProcedureDef> = InputOptional<TDef> extends true
  ? OptionsInput<TDef> | undefined
  : OptionsInput<TDef>;

/** The TanStack options a mutation builder accepts (everything but the key and the function). */
export type ProcedureMutationOptionsIn<TDef extends ProcedureDef, TOnMutateResult = unknown> = Omit<
  MutationObserverOptions<CallOutput<TDef>, QueryError<TDef>, MutationVariables<TDef>, TOnMutateResult>,
  "mutationFn" | "mutationKey"
>;

/** What a mutation builder returns: options for `useMutation`, `MutationObserver`. */
export type ProcedureMutationOptions<TDef extends ProcedureDef, TPath extends string, TOnMutateResult = unknown> = MutationObserverOptions<
  CallOutput<TDef>,
  QueryError<TDef>,
  MutationVariables<TDef>,
  TOnMutateResult
> & {
  mutationKey: ProcedureMutationKey<TPath>;
  mutationFn: MutationFunction<CallOutput<TDef>, MutationVariables<TDef>>;
};

/**
 * The page parameter of a cursor-paginated query: the type of its input's `cursor` (`null` for
 * the first page).
 */
export type CursorOf<TDef extends ProcedureDef> = NonNullable<TDef["input"]> extends { cursor?: infer C } ? NonNullable<C> | null : never;

/** Whether a query procedure pages by cursor: its input (an object) has a `cursor` field. */
export type HasCursor<TDef extends ProcedureDef> = [NonNullable<TDef["input"]>] extends [object]
  ? "cursor" extends keyof NonNullable<TDef["input"]>
    ? true
    : false
  : false;

/** The input an infinite query builder takes: the options input without `cursor` (the pages' business). */
export type InfiniteInput<TDef extends ProcedureDef> = WithoutCursor<OptionsInput<TDef>>;

/** The key of an infinite query of `TDef`. */
export type InfiniteKey<TDef extends ProcedureDef, TPath extends string> = ProcedureInfiniteQueryKey<TPath, KeyedInput<TDef>>;

/** The cached data of an infinite query: every page, and the cursor each one was read at. */
export type InfiniteQueryData<TDef extends ProcedureDef> = InfiniteData<QueryData<TDef>, CursorOf<TDef>>;

/** An infinite query's key tagged with its data (`InfiniteData`) and error types. */
export type TaggedInfiniteQueryKey<TDef extends ProcedureDef, TPath extends string> = DataTag<
  InfiniteKey<TDef, TPath>,
  InfiniteQueryData<TDef>,
  QueryError<TDef>
>;

/**
 * The TanStack options an infinite query builder accepts: everything but the key and the
 * function, with `initialCursor` (the first page's cursor, default `null`) for
 * `initialPageParam`, and `getNextPageParam` optional (default: the page's `nextCursor`).
 */
export type ProcedureInfiniteQueryOptionsIn<TDef extends ProcedureDef, TPath extends string> = Omit<
  InfiniteQueryObserverOptions<QueryData<TDef>, QueryError<TDef>, InfiniteQueryData<TDef>, InfiniteKey<TDef, TPath>, CursorOf<TDef>>,
  "queryKey" | "queryFn" | "initialPageParam" | "getNextPageParam"
> & {
  /** The first page's cursor. Defaults to `null`. */
  initialCursor?: CursorOf<TDef>;
  /**
   * The next page's cursor from the last page (`null` or `undefined`: there is none). Defaults
   * to the page's `nextCursor`.
   */
  getNextPageParam?: GetNextPageParamFunction<CursorOf<TDef>, QueryData<TDef>>;
};

/** What an infinite query builder returns: options for `useInfiniteQuery`, `InfiniteQueryObserver`, `prefetchInfiniteQuery`. */
export type ProcedureInfiniteQueryOptions<TDef extends ProcedureDef, TPath extends string> = InfiniteQueryObserverOptions<
  QueryData<TDef>,
  QueryError<TDef>,
  InfiniteQueryData<TDef>,
  InfiniteKey<TDef, TPath>,
  CursorOf<TDef>
> & {
  queryKey: TaggedInfiniteQueryKey<TDef, TPath>;
  queryFn: QueryFunction<QueryData<TDef>, InfiniteKey<TDef, TPath>, CursorOf<TDef>>;
  initialPageParam: CursorOf<TDef>;
  getNextPageParam: GetNextPageParamFunction<CursorOf<TDef>, QueryData<TDef>>;
};

/**
 * Query filters scoped to the tab's current account (`invalidateQueries`, `refetchQueries`,
 * `cancelQueries`, `removeQueries`, `getQueriesData`...): the key matches one account's entries only.
 */
export type AccountQueryFilters<TPath extends string> = QueryFilters<AccountFilterKey<TPath>> & { queryKey: AccountFilterKey<TPath> };

/** The key of a subscription (what `useSubscription` re-subscribes on). */
export type ProcedureSubscriptionKey<TPath extends string, TInput> = [PathSegments<TPath>, { input: KeyInput<TInput>; type: "subscription" }];

/** What a subscription builder accepts besides the input. */
export interface SubscriptionOptionsIn<TDef extends ProcedureDef> {
  /** Whether to subscribe (default `true`). */
  enabled?: boolean | undefined;
  /** The server accepted the subscription. */
  onStarted?: (() => void) | undefined;
  /** One value. */
  onData?: ((value: TDef["output"]) => void) | undefined;
  /** The subscription failed; it is over. */
  onError?: ((error: QueryError<TDef>) => void) | undefined;
  /** The server ended it normally. */
  onComplete?: (() => void) | undefined;
}

/** What a subscription builder returns: options for `useSubscription` (`@tabrpc/client/react`). */
export interface ProcedureSubscriptionOptions<TDef extends ProcedureDef, TPath extends string> extends SubscriptionOptionsIn<TDef> {
  /** The subscription's key: path, input and account (`viewerId`), like a query's. */
  queryKey: ProcedureSubscriptionKey<TPath, KeyedInput<TDef>>;
  /** Whether to subscribe. */
  enabled: boolean;
  /**
   * Subscribes for the key's account. When the tab is no longer on that account, nothing is
   * sent and no handler is called (options built for an account the tab has left are stale:
   * build them again, as `useTabrpc()` does on every account change).
   */
  subscribe(handlers: SubscriptionHandlers<TDef["output"], TDef["error"]>): Unsubscribable;
}

/** Reads the auth state of a builder (used by the React hooks). @internal */
export const builderAuth: unique symbol = Symbol.for("tabrpc.builderAuth");

/** Reads the session store of a builder, if it has one (used by the React hooks). @internal */
export const builderSession: unique symbol = Symbol.for("tabrpc.builderSession");

/** Phantom: the procedure types of a builder, for inference only (never present at run time). */
declare const builderTypes: unique symbol;

/** The builders of one query procedure. */
export interface QueryProcedureBuilders<TDef extends ProcedureDef, TPath extends string> {
  /**
   * The query's key, with `viewerId` filled in (the input's, else the tab's current account,
   * else `null`), and for session procedures `sessionId` (the input's, else the tab's current
   * session id, else `null`).
   */
  queryKey: InputOptional<TDef> extends true
    ? (input?: OptionsInput<TDef> | undefined) => TaggedQueryKey<TDef, TPath>
    : (input: OptionsInput<TDef>) => TaggedQueryKey<TDef, TPath>;
  /**
   * Options for TanStack Query: the key, a `queryFn` that calls the procedure for the key's
   * account and session (see `createOptionsProxy`), and `options` as given (for a session
   * procedure while the tab has no session id yet, `enabled: false`).
   */
  queryOptions: InputOptional<TDef> extends true
    ? <TData = QueryData<TDef>>(
        input?: OptionsInput<TDef> | undefined,
        options?: ProcedureQueryOptionsIn<TDef, TPath, TData>,
      ) => ProcedureQueryOptions<TDef, TPath, TData>
    : <TData = QueryData<TDef>>(
        input: OptionsInput<TDef>,
        options?: ProcedureQueryOptionsIn<TDef, TPath, TData>,
      ) => ProcedureQueryOptions<TDef, TPath, TData>;
  /**
   * Filters for this procedure's queries **of the tab's current account** (`viewerId` as in the
   * keys), narrowed to those whose input has the given fields: `queryClient.invalidateQueries(
   * rq.profile.getUser.queryFilter())` never touches another account's entries. `filters` are
   * TanStack's (`exact`, `type`, `predicate`, `stale`...).
   */
  queryFilter(input?: Partial<OptionsInput<TDef>>, filters?: Omit<QueryFilters, "queryKey">): AccountQueryFilters<TPath>;
  /** `[["a","b"]]`: matches this procedure's queries for every account and input. */
  pathKey(): PathKey<TPath>;
  /** Filters for every query of this procedure of the tab's current account (any input, any type). */
  pathFilter(filters?: Omit<QueryFilters, "queryKey">): AccountQueryFilters<TPath>;
  /** @internal */
  readonly [builderAuth]: TabAuth;
  /** @internal */
  readonly [builderSession]: SessionStore | undefined;
  /** @internal */
  readonly [builderTypes]?: { def: TDef; path: TPath };
}

/**
 * The infinite-query builders of a query procedure whose input has a `cursor` (cursor
 * pagination, the output carrying the next page's cursor, by default in `nextCursor`).
 */
export interface InfiniteQueryProcedureBuilders<TDef extends ProcedureDef, TPath extends string> {
  /** The infinite query's key: the input without `cursor`, `viewerId` (and `sessionId`) as in `queryKey`, `type: "infinite"`. */
  infiniteQueryKey(input?: InfiniteInput<TDef>): TaggedInfiniteQueryKey<TDef, TPath>;
  /**
   * Options for `useInfiniteQuery` (and `useSuspenseInfiniteQuery`, `prefetchInfiniteQuery`):
   * the key, a `queryFn` that calls the procedure with the page's cursor for the key's account
   * (same rules as `queryOptions`), `initialPageParam` (`initialCursor`, default `null`) and
   * `getNextPageParam` (default: the page's `nextCursor`).
   */
  infiniteQueryOptions: InputOptional<TDef> extends true
    ? (input?: InfiniteInput<TDef> | undefined, options?: ProcedureInfiniteQueryOptionsIn<TDef, TPath>) => ProcedureInfiniteQueryOptions<TDef, TPath>
    : (input: InfiniteInput<TDef>, options?: ProcedureInfiniteQueryOptionsIn<TDef, TPath>) => ProcedureInfiniteQueryOptions<TDef, TPath>;
  /** Like `queryFilter`, for the infinite queries of the tab's current account. */
  infiniteQueryFilter(input?: Partial<InfiniteInput<TDef>>, filters?: Omit<QueryFilters, "queryKey">): AccountQueryFilters<TPath>;
}

/** The builders of one subscription procedure. */
export interface SubscriptionProcedureBuilders<TDef extends ProcedureDef, TPath extends string> {
  /**
   * Options for `useSubscription`: the key (the account and session as in a query's key) and a
   * `subscribe` for that account; `options` as given.
   */
  subscriptionOptions: InputOptional<TDef> extends true
    ? (input?: OptionsInput<TDef> | undefined, options?: SubscriptionOptionsIn<TDef>) => ProcedureSubscriptionOptions<TDef, TPath>
    : (input: OptionsInput<TDef>, options?: SubscriptionOptionsIn<TDef>) => ProcedureSubscriptionOptions<TDef, TPath>;
  /** `[["a","b"]]`. */
  pathKey(): PathKey<TPath>;
  /** @internal */
  readonly [builderAuth]: TabAuth;
  /** @internal */
  readonly [builderSession]: SessionStore | undefined;
}

/** The builders of one mutation procedure. */
export interface MutationProcedureBuilders<TDef extends ProcedureDef, TPath extends string> {
  /** The mutation's key, for the tab's current account. */
  mutationKey(): ProcedureMutationKey<TPath>;
  /**
   * Options for TanStack Query: the key, a `mutationFn` that calls the procedure for the account
   * that was current when the options were built (the account the screen shows), and `options`
   * as given.
   */
  mutationOptions<TOnMutateResult = unknown>(
    options?: ProcedureMutationOptionsIn<TDef, TOnMutateResult>,
  ): ProcedureMutationOptions<TDef, TPath, TOnMutateResult>;
  /** `[["a","b"]]`: matches this procedure's mutations for every account. */
  pathKey(): PathKey<TPath>;
  /** @internal */
  readonly [builderAuth]: TabAuth;
  /** @internal */
  readonly [builderSession]: SessionStore | undefined;
  /** @internal */
  readonly [builderTypes]?: { def: TDef; path: TPath };
}

/** A namespace (or any node): its path key and filter. */
export interface NamespaceBuilders<TPath extends string> {
  /** `[["a"]]`: matches every procedure under this path, for every account. */
  pathKey(): PathKey<TPath>;
  /**
   * Filters for every query under this path **of the tab's current account only**:
   * `queryClient.invalidateQueries(rq.profile.pathFilter())`. (`pathKey()` matches every account's.)
   */
  pathFilter(filters?: Omit<QueryFilters, "queryKey">): AccountQueryFilters<TPath>;
}

type ProcedureBuilders<TDef extends ProcedureDef, TPath extends string> = TDef["kind"] extends "query"
  ? QueryProcedureBuilders<TDef, TPath> & (HasCursor<TDef> extends true ? InfiniteQueryProcedureBuilders<TDef, TPath> : unknown)
  : TDef["kind"] extends "mutation"
    ? MutationProcedureBuilders<TDef, TPath>
    : TDef["kind"] extends "subscription"
      ? SubscriptionProcedureBuilders<TDef, TPath>
      : NamespaceBuilders<TPath>;

type OptionsTree<TProcs extends ProcedureMap, TPrefix extends string, TRest extends string> = {
  [Head in FirstSegment<TRest>]: (Head extends TRest
    ? ProcedureBuilders<TProcs[`${TPrefix}${Head}`], `${TPrefix}${Head}`>
    : NamespaceBuilders<`${TPrefix}${Head}`>) &
    OptionsTree<TProcs, `${TPrefix}${Head}.`, AfterSegment<TRest, Head>>;
};

/** The builders for every procedure of `TProcs`, nested like the client. */
export type OptionsProxy<TProcs extends ProcedureMap> = OptionsTree<TProcs, "", keyof TProcs & string> & NamespaceBuilders<"">;

/**
 * TanStack Query option builders for every procedure (client.md section 5), nested like the
 * client:
 *
 * ```ts
 * const rq = createOptionsProxy(client);
 * const observer = new QueryObserver(queryClient, rq.profile.getUser.queryOptions());
 * // key: [["profile","getUser"], { input: { viewerId: "user_alice" }, type: "query" }]
 * queryClient.invalidateQueries(rq.profile.pathFilter()); // this account's profile.* only
 * queryClient.invalidateQueries({ queryKey: rq.profile.pathKey() }); // every account's
 * ```
 *
 * The builders follow tRPC's TanStack integration: `queryOptions`, `queryKey`, `queryFilter`
 * and, for procedures whose input has a `cursor`, `infiniteQueryOptions`, `infiniteQueryKey`,
 * `infiniteQueryFilter`; `mutationOptions`, `mutationKey`; `subscriptionOptions` (for
 * `useSubscription`); `pathKey` (every account) and `pathFilter` (the current account) on every
 * node. Infinite queries and subscriptions are keyed and guarded exactly like queries.
 *
 * The tab's auth state and session store are the client's (its `tabLinks`, or its `authLink`
 * and `sessionLink`); throws `TypeError` for a client without `authLink`, or without
 * `sessionLink` when the procedures have `"session"` ones.
 *
 * Keys: see `queryKeyOf`. `viewerId` is the tab's current account when the options are built
 * (`null`: anonymous), decided by the same scope resolver as the links; `"viewer"` procedures
 * also send it (the server checks it), the others have it in the key only.
 *
 * `"session"` procedures (client.md section 6): the key and the call carry the session store's
 * id when the options are built, so each session id has its own cache entries
 * (`connectQueryClient` removes an old id's). While the store has no id (server-rendering mode before `start`, a tab
 * checking for a copied id) the key says `sessionId: null` and the query is disabled (`enabled:
 * false`; fetching it anyway rejects with `PRECONDITION_FAILED`); build the options again once
 * there is one (`SessionStore.subscribe`). A query whose session id the tab has left by the time
 * it runs is cancelled silently, like an answer dropped by a session change. Mutations pass
 * their input on: `sessionLink` fills in the id current when they are sent, and waits for one.
 * The mutation's account is pinned when the options are built (the account the screen shows).
 *
 * The query function calls with the key's account in the call context (so batches never mix
 * accounts). A key whose account is not the tab's current one (`viewerId: null` while signed
 * in included) is never fetched: another account's answer must not land under it. It applies
 * the mismatch rule: a 403 with reason `viewer_mismatch` while the tab is on the key's account is
 * retried once the auth state settles; a key of another account, a mismatch for an account the
 * tab has left, and an answer dropped by an epoch change, cancel the fetch silently (the query
 * goes back to its state before the fetch: no error is shown). Any other error is the query's error.
 * A unit output is cached as `null`.
 */
export function createOptionsProxy<TProcs extends ProcedureMap>(client: Client<TProcs>): OptionsProxy<TProcs> {
  const { auth: given, session, procedures, call } = internalsOf(client, "createOptionsProxy");
  if (given === undefined) {
    throw new TypeError("tabrpc: createOptionsProxy: the client has no authLink (build its links with tabLinks({ url, auth }))");
  }
  const auth: TabAuth = given;
  const scopesOf = (path: string) => (Object.hasOwn(procedures, path) ? (procedures[path]?.scopes ?? []) : []);
  if (session === undefined && Object.keys(procedures).some((path) => scopesOf(path).includes("session"))) {
    throw new TypeError("tabrpc: createOptionsProxy: the procedures have \"session\" ones and the client has no sessionLink (tabLinks({ session }))");
  }
  /** The scope of a call of `path` built now: the tab's current account and session id. */
  const scopeOf = (path: string) => resolveScope({ scopes: scopesOf(path), context: {} }, auth, session);

  /**
   * The query function of a key of `path` built now: calls with `inputOf(context)` for the
   * key's account and session, under the rules above.
   */
  function fetcherOf(path: string, inputOf: (context: QueryFunctionContext) => unknown) {
    const { viewerId, sessionId, injectSession } = scopeOf(path);
    const builtEpoch = session?.epoch ?? 0;
    return async (context: QueryFunctionContext) => {
      if (injectSession && sessionId === null) {
        throw new TabrpcError({
          code: "PRECONDITION_FAILED",
          message: `${path} needs the tab's session id, and there is none yet (server rendering, or a tab checking for a copied id): the query is skipped`,
          httpStatus: 0,
          path,
        });
      }
      const input = inputOf(context);
      const send = () => {
        if (auth.accountId !== viewerId) {
          // A key of another account (or the anonymous key of a tab now signed in, and the
          // reverse): the answer would be another account's data under this key. Not sent; the
          // query goes back to its state before the fetch.
          return Promise.reject(otherAccountError(path, viewerId, auth.accountId, auth.epoch));
        }
        if (injectSession && session !== undefined && session.id !== sessionId) {
          // Built for a session id the tab has left: its answer would belong to the old id.
          return Promise.reject(sessionChangeError(path, builtEpoch, session.epoch));
        }
        // The key's account and session, pinned: the answer is for exactly this key.
        return call(path, "query", input, { signal: context.signal, context: injectSession ? { viewerId, sessionId } : { viewerId } });
      };
      const data = await callForViewer(auth, viewerId, context.signal, send, () => {
        // Put the query back as it was before this fetch: the answer is for an account state
        // the tab has left, not an error to show.
        void context.client?.cancelQueries({ queryKey: context.queryKey, exact: true });
      });
      return data === undefined ? null : data;
    };
  }

  /** `{ enabled: false }` while a session procedure's key has no session id yet. */
  const disabledOf = (path: string) => {
    const { sessionId, injectSession } = scopeOf(path);
    return injectSession && sessionId === null ? { enabled: false } : {};
  };

  function queryOptions(path: string, input: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...extra, ...disabledOf(path), queryKey: keyOf(path, input), queryFn: fetcherOf(path, () => input) };
  }

  function infiniteQueryOptions(path: string, input: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const { initialCursor, getNextPageParam, ...rest } = extra;
    const base = input !== null && typeof input === "object" && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
    return {
      ...rest,
      ...disabledOf(path),
      queryKey: infiniteKeyOf(path, input),
      queryFn: fetcherOf(path, (context) => ({ ...base, cursor: (context as { pageParam?: unknown }).pageParam ?? null })),
      initialPageParam: initialCursor ?? null,
      getNextPageParam: getNextPageParam ?? ((page: unknown) => (page as { nextCursor?: unknown } | null)?.nextCursor ?? null),
    };
  }

  /** The key of a query of `path` built now. */
  const keyOf = (path: string, input: unknown) => {
    const { viewerId, sessionId, injectSession } = scopeOf(path);
    return queryKeyOf(path, input, viewerId, injectSession ? sessionId : undefined);
  };

  /** The key of an infinite query of `path` built now. */
  const infiniteKeyOf = (path: string, input: unknown) => {
    const { viewerId, sessionId, injectSession } = scopeOf(path);
    return infiniteQueryKeyOf(path, input, viewerId, injectSession ? sessionId : undefined);
  };

  /** Filters of the tab's current account under `path`. */
  const filterOf = (path: string, input: unknown, type: "query" | "infinite" | undefined, filters: Record<string, unknown> = {}) => ({
    ...filters,
    queryKey: accountFilterKeyOf(path, input, auth.accountId, type),
  });

  function subscriptionOptions(path: string, input: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const { viewerId, sessionId, injectSession } = scopeOf(path);
    const [segments, { input: fields }] = queryKeyOf(path, input, viewerId, injectSession ? sessionId : undefined);
    const subscribe = (handlers: SubscriptionHandlers<unknown>): Unsubscribable => {
      if (auth.accountId !== viewerId || (injectSession && (sessionId === null || session?.id !== sessionId))) {
        // Built for an account (or session) the tab has left: its events would be another
        // account's. Nothing is sent.
        return { unsubscribe: () => undefined };
      }
      let target: unknown = client;
      for (const segment of path.split(".")) target = (target as Record<string, unknown>)[segment];
      const { subscribe: open } = target as { subscribe: (input: unknown, options: object) => Unsubscribable };
      return open(input, { ...handlers, context: injectSession ? { viewerId, sessionId } : { viewerId } });
    };
    const enabled = extra["enabled"] !== false && !(injectSession && sessionId === null);
    return { ...extra, enabled, queryKey: [segments, { input: fields, type: "subscription" }], subscribe };
  }

  function mutationOptions(path: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    // The account the screen shows when it builds the options: if the tab has moved on by the
    // time the user submits, the auth link drops the call unsent (`isAuthChange`) rather than
    // write to the other account.
    const { viewerId } = scopeOf(path);
    const mutationFn = (input: unknown) =>
      callForViewer(auth, viewerId, undefined, () => call(path, "mutation", input, { context: { viewerId } }), () => undefined);
    return { ...extra, mutationKey: mutationKeyOf(path, viewerId), mutationFn };
  }

  const nodes = new Map<string, unknown>();
  const node = (path: string): unknown => {
    const cached = nodes.get(path);
    if (cached !== undefined) return cached;
    const methods: Record<string, unknown> = {
      queryKey: (input?: unknown) => keyOf(path, input),
      queryOptions: (input?: unknown, extra?: Record<string, unknown>) => queryOptions(path, input, extra),
      queryFilter: (input?: unknown, filters?: Record<string, unknown>) => filterOf(path, input, "query", filters),
      infiniteQueryKey: (input?: unknown) => infiniteKeyOf(path, input),
      infiniteQueryOptions: (input?: unknown, extra?: Record<string, unknown>) => infiniteQueryOptions(path, input, extra),
      infiniteQueryFilter: (input?: unknown, filters?: Record<string, unknown>) => filterOf(path, input, "infinite", filters),
      subscriptionOptions: (input?: unknown, extra?: Record<string, unknown>) => subscriptionOptions(path, input, extra),
      pathFilter: (filters?: Record<string, unknown>) => filterOf(path, undefined, undefined, filters),
      mutationKey: () => mutationKeyOf(path, scopeOf(path).viewerId),
      mutationOptions: (extra?: Record<string, unknown>) => mutationOptions(path, extra),
      pathKey: () => pathKey(path),
    };
    const proxy = new Proxy(Object.create(null) as object, {
      get: (_target, key) => {
        if (key === builderAuth) return auth;
        if (key === builderSession) return session;
        if (typeof key !== "string") return undefined;
        return Object.hasOwn(methods, key) ? methods[key] : node(path === "" ? key : `${path}.${key}`);
      },
    });
    nodes.set(path, proxy);
    return proxy;
  };
  return node("") as OptionsProxy<TProcs>;
}
