import type {
  DataTag,
  MutationFunction,
  MutationObserverOptions,
  QueryFunction,
  QueryFunctionContext,
  QueryObserverOptions,
} from "@tanstack/query-core";
import type { TabAuth } from "../auth/tabAuth.js";
import type { AfterSegment, CallInput, CallOptions, CallOutput, Client, FirstSegment, ProcedureDef, ProcedureMap } from "../client.js";
import { TabrpcError } from "../error.js";
import { otherAccountError } from "../internals/auth.js";
import { isRecord } from "../internals/envelope.js";
import { sessionChangeError } from "../session/change.js";
import type { SessionStore } from "../session/store.js";
import { mutationKeyOf, pathKey, queryKeyOf, type PathKey, type ProcedureMutationKey, type ProcedureQueryKey } from "./keys.js";
import { callForViewer } from "./viewerCall.js";

/** The data a query of `TDef` caches: its output, with a unit output as `null` (TanStack Query refuses `undefined`). */
export type QueryData<TDef extends ProcedureDef> = [CallOutput<TDef>] extends [undefined] ? null : CallOutput<TDef>;

/** The error a call of `TDef` rejects with. */
export type QueryError<TDef extends ProcedureDef> = TabrpcError<TDef["error"]>;

type ViewerOptional<T> = T extends null | undefined ? T : T extends object ? Omit<T, "viewerId"> & { viewerId?: string } : T;

/**
 * The input the option builders take: for procedures marked `"viewer"` in the bindings,
 * `viewerId` may be left out (the tab's current account is filled in); give it to pin another
 * account. For procedures marked `"session"`, `sessionId` may be left out (the tab's session id
 * is filled in); give it to pin another session.
 */
export type OptionsInput<TDef extends ProcedureDef> = "viewer" extends TDef["markers"] ? ViewerOptional<CallInput<TDef>> : CallInput<TDef>;

/** Whether the input may be left out. */
type InputOptional<TDef extends ProcedureDef> = null extends TDef["input"]
  ? true
  : undefined extends TDef["input"]
    ? true
    : [Extract<TDef["markers"], "viewer" | "session">] extends [never]
      ? false
      : {} extends OptionsInput<TDef>
        ? true
        : false;

type SessionKeyed<T> = T extends null | undefined
  ? { sessionId: string | null }
  : T extends readonly unknown[]
    ? T
    : T extends object
      ? Omit<T, "sessionId"> & { sessionId: string | null }
      : T;

/**
 * The input as a query key holds it: for procedures marked `"session"`, with the session id the
 * query is for (`null` while the tab has none: the query is disabled).
 */
export type KeyedInput<TDef extends ProcedureDef> = "session" extends TDef["markers"] ? SessionKeyed<TDef["input"]> : TDef["input"];

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
  /** `[["a","b"]]`: matches this procedure's queries for every account and input. */
  pathKey(): PathKey<TPath>;
  /** @internal */
  readonly [builderAuth]: TabAuth;
  /** @internal */
  readonly [builderSession]: SessionStore | undefined;
  /** @internal */
  readonly [builderTypes]?: { def: TDef; path: TPath };
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

/** A namespace (or any node): its path key. */
export interface NamespaceBuilders<TPath extends string> {
  /** `[["a"]]`: matches every procedure under this path, for every account. */
  pathKey(): PathKey<TPath>;
}

type ProcedureBuilders<TDef extends ProcedureDef, TPath extends string> = TDef["kind"] extends "query"
  ? QueryProcedureBuilders<TDef, TPath>
  : TDef["kind"] extends "mutation"
    ? MutationProcedureBuilders<TDef, TPath>
    : NamespaceBuilders<TPath>;

type OptionsTree<TProcs extends ProcedureMap, TPrefix extends string, TRest extends string> = {
  [Head in FirstSegment<TRest>]: (Head extends TRest
    ? ProcedureBuilders<TProcs[`${TPrefix}${Head}`], `${TPrefix}${Head}`>
    : NamespaceBuilders<`${TPrefix}${Head}`>) &
    OptionsTree<TProcs, `${TPrefix}${Head}.`, AfterSegment<TRest, Head>>;
};

/** The builders for every procedure of `TProcs`, nested like the client. */
export type OptionsProxy<TProcs extends ProcedureMap> = OptionsTree<TProcs, "", keyof TProcs & string> & NamespaceBuilders<"">;

/** The paths of `TProcs` that carry markers. */
export type MarkedPaths<TProcs extends ProcedureMap> = {
  [P in keyof TProcs & string]: [TProcs[P]["markers"]] extends [never] ? never : P;
}[keyof TProcs & string];

/**
 * The markers of the bindings as a value, for the run time (the bindings carry them as types
 * only): every marked procedure, with its markers. Checked against the bindings: a missing or
 * extra procedure, or a wrong marker, is a compile error.
 */
export type ProcedureMarkers<TProcs extends ProcedureMap> = {
  readonly [P in MarkedPaths<TProcs>]: readonly [TProcs[P]["markers"], ...TProcs[P]["markers"][]];
};

/** The paths of `TProcs` marked `"session"`. */
export type SessionPaths<TProcs extends ProcedureMap> = {
  [P in keyof TProcs & string]: "session" extends TProcs[P]["markers"] ? P : never;
}[keyof TProcs & string];

/** Options of {@link createOptionsProxy}. */
export type OptionsProxyOptions<TProcs extends ProcedureMap> = {
  /**
   * The client the query and mutation functions call through (its chain should have `authLink`,
   * and `sessionLink` when the bindings have session procedures).
   */
  client: Client<TProcs>;
  /** The tab's auth state: the current account fills in `viewerId`. */
  auth: TabAuth;
} & ([SessionPaths<TProcs>] extends [never]
  ? { session?: SessionStore | undefined }
  : {
      /**
       * The tab's session store (`createSessionStore`): its id fills in `sessionId` and is part
       * of the keys of session procedures. Required when the bindings mark any procedure
       * `"session"`.
       */
      session: SessionStore;
    }) &
  ([MarkedPaths<TProcs>] extends [never]
  ? { markers?: ProcedureMarkers<TProcs> | undefined }
  : {
      /**
       * Which procedures are marked `"viewer"` (and others): required when the bindings mark
       * any, so a marked procedure never goes out without its `viewerId`.
       */
      markers: ProcedureMarkers<TProcs>;
    });

type AnyCaller = Record<"query" | "mutate", (input: unknown, options: CallOptions) => Promise<unknown>>;

/**
 * TanStack Query option builders for every procedure (client.md section 5), nested like the
 * client:
 *
 * ```ts
 * const rq = createOptionsProxy<Procedures>({ client, auth, markers });
 * const observer = new QueryObserver(queryClient, rq.profile.getUser.queryOptions());
 * // key: [["profile","getUser"], { input: { viewerId: "user_alice" }, type: "query" }]
 * queryClient.invalidateQueries({ queryKey: rq.profile.pathKey() });
 * ```
 *
 * Keys: see `queryKeyOf`. `viewerId` is the input's, else the tab's current account when the
 * options are built, else `null`. For procedures marked `"viewer"` it is also sent (the server
 * checks it); for others it is in the key only.
 *
 * Session procedures (marked `"session"`, client.md section 6): the key and the call carry
 * `sessionId`, the input's, else the session store's id when the options are built, so each
 * session id has its own cache entries (`connectQueryClient(queryClient, auth, { session })`
 * removes an old id's). While the store has no id (server-rendering mode before `start`, a tab
 * checking for a copied id) the key says `sessionId: null` and the query is disabled (`enabled:
 * false`; fetching it anyway rejects with `PRECONDITION_FAILED`); build the options again once
 * there is one (`SessionStore.subscribe`). A query whose session id the tab has left by the time
 * it runs is cancelled silently, like an answer dropped by a session change. Mutations pass
 * their input on: `sessionLink` fills in the id current when they are sent, and waits for one.
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
export function createOptionsProxy<TProcs extends ProcedureMap>(options: OptionsProxyOptions<TProcs>): OptionsProxy<TProcs> {
  const { client, auth } = options;
  const session = options.session as SessionStore | undefined;
  const markers = (options.markers ?? {}) as Readonly<Record<string, readonly string[] | undefined>>;
  const isViewer = (path: string) => markers[path]?.includes("viewer") === true;
  const isSession = (path: string) => markers[path]?.includes("session") === true;
  if (session === undefined && Object.keys(markers).some(isSession)) {
    throw new TypeError("tabrpc: createOptionsProxy: the markers have session procedures: pass the session store (`session`)");
  }

  const caller = (path: string): AnyCaller => {
    let node: unknown = client;
    for (const segment of path.split(".")) node = (node as Record<string, unknown>)[segment];
    return node as AnyCaller;
  };

  const viewerOf = (input: unknown): string | null =>
    isRecord(input) && typeof input.viewerId === "string" ? input.viewerId : auth.accountId;

  /**
   * A session procedure's session id: the input's, else the store's current one (`null`: none
   * yet). `undefined` for other procedures.
   */
  const sessionOf = (path: string, input: unknown): string | null | undefined => {
    if (!isSession(path)) return undefined;
    if (isRecord(input) && typeof input.sessionId === "string") return input.sessionId;
    return session?.id ?? null;
  };

  /** What goes on the wire: the input, with `viewerId` for viewer procedures. */
  const wireInput = (path: string, input: unknown, viewerId: string | null): unknown => {
    if (!isViewer(path)) return input;
    // Left out: `{}` rather than no input, so an input struct without `Option` still parses.
    if (input === undefined) return viewerId === null ? {} : { viewerId };
    if (input === null) return viewerId === null ? null : { viewerId };
    return viewerId === null || !isRecord(input) ? input : { ...input, viewerId };
  };

  function queryOptions(path: string, input: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const viewerId = viewerOf(input);
    const sessionId = sessionOf(path, input);
    // Taken from the store (not pinned by the caller): the query is for the tab's session of now.
    const followsStore = sessionId !== undefined && !(isRecord(input) && typeof input.sessionId === "string");
    const builtEpoch = session?.epoch ?? 0;
    let wire = wireInput(path, input, viewerId);
    if (typeof sessionId === "string") wire = isRecord(wire) ? { ...wire, sessionId } : { sessionId };
    const queryFn = async (context: QueryFunctionContext) => {
      if (sessionId === null) {
        throw new TabrpcError({
          code: "PRECONDITION_FAILED",
          message: `${path} needs the tab's session id, and there is none yet (server rendering, or a tab checking for a copied id): the query is skipped`,
          httpStatus: 0,
          path,
        });
      }
      const call = () => {
        if (auth.accountId !== viewerId) {
          // A key of another account (or the anonymous key of a tab now signed in, and the
          // reverse): the answer would be another account's data under this key. Not sent; the
          // query goes back to its state before the fetch.
          return Promise.reject(otherAccountError(path, viewerId, auth.accountId, auth.epoch));
        }
        if (followsStore && session !== undefined && session.id !== sessionId) {
          // Built for a session id the tab has left: its answer would belong to the old id.
          return Promise.reject(sessionChangeError(path, builtEpoch, session.epoch));
        }
        return caller(path).query(wire, { signal: context.signal, context: sessionId === undefined ? { viewerId } : { viewerId, sessionId } });
      };
      const data = await callForViewer(
        auth,
        viewerId,
        context.signal,
        call,
        () => {
          // Put the query back as it was before this fetch: the answer is for an account state
          // the tab has left, not an error to show.
          void context.client?.cancelQueries({ queryKey: context.queryKey, exact: true });
        },
      );
      return data === undefined ? null : data;
    };
    const disabled = sessionId === null ? { enabled: false } : {};
    return { ...extra, ...disabled, queryKey: queryKeyOf(path, input, viewerId, sessionId), queryFn };
  }

  function mutationOptions(path: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    // The account the screen shows when it builds the options: if the tab has moved on by the
    // time the user submits, the auth link drops the call unsent (`isAuthChange`) rather than
    // write to the other account.
    const built = auth.accountId;
    const mutationFn = (input: unknown) => {
      const viewerId = isRecord(input) && typeof input.viewerId === "string" ? input.viewerId : built;
      return callForViewer(
        auth,
        viewerId,
        undefined,
        () => caller(path).mutate(wireInput(path, input, viewerId), { context: { viewerId } }),
        () => undefined,
      );
    };
    return { ...extra, mutationKey: mutationKeyOf(path, built), mutationFn };
  }

  const nodes = new Map<string, unknown>();
  const node = (path: string): unknown => {
    const cached = nodes.get(path);
    if (cached !== undefined) return cached;
    const methods: Record<string, unknown> = {
      queryKey: (input?: unknown) => queryKeyOf(path, input, viewerOf(input), sessionOf(path, input)),
      queryOptions: (input?: unknown, extra?: Record<string, unknown>) => queryOptions(path, input, extra),
      mutationKey: () => mutationKeyOf(path, auth.accountId),
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
