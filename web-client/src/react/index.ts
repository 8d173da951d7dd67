/**
 * `@tabrpc/client/react`: thin React hooks over `@tanstack/react-query` (optional peer
 * dependencies `react` and `@tanstack/react-query`; the main entry never imports them).
 *
 * The idiom, as tRPC's: `createTabrpcContext<Procedures>()` gives `TabrpcProvider` and
 * `useTabrpc()` (the option builders of the tab's current account), used with TanStack's own
 * hooks (`useQuery(rq.profile.getUser.queryOptions())`, `useInfiniteQuery`, `useSuspenseQuery`,
 * `useQueries`, `useMutation`) and `useSubscription` for subscriptions. The older shortcuts:
 *
 * ```tsx
 * function Profile() {
 *   useConnectQueryClient(client);
 *   const user = useTabrpcQuery(rq.profile.getUser);
 *   const save = useTabrpcMutation(rq.onboarding.saveStep);
 *   return <button onClick={() => save.mutate({ step: "profile" })}>{user.data?.displayName}</button>;
 * }
 * ```
 *
 * @module
 */
import {
  hashKey,
  useMutation,
  useQuery,
  useQueryClient,
  type QueryClient,
  type UseMutationResult,
  type UseQueryOptions,
  type UseQueryResult,
} from "@tanstack/react-query";
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactElement,
  type ReactNode,
} from "react";
import type { TabAuth } from "../auth/tabAuth.js";
import type { CallOutput, Client, ProcedureDef, ProcedureMap } from "../client.js";
import type { TabrpcError } from "../error.js";
import { internalsOf } from "../internals/tab.js";
import { connectQueryClient } from "../query/connect.js";
import type { SessionStore } from "../session/store.js";
import {
  builderAuth,
  builderSession,
  createOptionsProxy,
  type OptionsProxy,
  type ProcedureSubscriptionOptions,
  type MutationProcedureBuilders,
  type MutationVariables,
  type OptionsInput,
  type ProcedureMutationOptionsIn,
  type ProcedureQueryOptionsIn,
  type QueryData,
  type QueryError,
  type QueryProcedureBuilders,
} from "../query/options.js";

/**
 * The tab's current account id (`null`: signed out); the component re-renders when it changes,
 * so keys built from it (every option builder's) follow the account.
 */
export function useAccountId(auth: TabAuth): string | null {
  const subscribe = useCallback((onChange: () => void) => auth.subscribe(onChange), [auth]);
  const read = () => auth.accountId;
  return useSyncExternalStore(subscribe, read, read);
}

const noSubscription = () => () => undefined;

/**
 * The tab's session id (`null` until there is one, or without a store); the component
 * re-renders when it changes, so keys of session procedures follow it.
 */
export function useSessionId(session: SessionStore | undefined): string | null {
  const subscribe = useCallback((onChange: () => void) => session?.subscribe(onChange) ?? (() => undefined), [session]);
  const read = () => session?.id ?? null;
  return useSyncExternalStore(session === undefined ? noSubscription : subscribe, read, read);
}

/**
 * Connects the nearest `QueryClient` to the client's tab (its auth state and session store) for
 * as long as the component is mounted (see `connectQueryClient`): an account's queries are
 * cancelled when the tab leaves it and removed at its sign-out; an old session id's queries are
 * removed when the id changes. Mount it once, near the root.
 */
export function useConnectQueryClient<TProcs extends ProcedureMap>(client: Client<TProcs>): void {
  const queryClient = useQueryClient();
  useEffect(() => connectQueryClient(queryClient, client), [queryClient, client]);
}

/** The arguments after the procedure: the input (optional when it may be left out) and options. */
type QueryHookArgs<TDef extends ProcedureDef, TPath extends string, TData> = Parameters<
  QueryProcedureBuilders<TDef, TPath>["queryOptions"]
> extends [input?: unknown, options?: unknown]
  ? [input?: OptionsInput<TDef> | undefined, options?: ProcedureQueryOptionsIn<TDef, TPath, TData>]
  : [input: OptionsInput<TDef>, options?: ProcedureQueryOptionsIn<TDef, TPath, TData>];

/**
 * `useQuery` with a procedure's options (`procedure.queryOptions(input, options)`), re-built
 * when the tab's account or session id changes: `useTabrpcQuery(rq.profile.getUser)`.
 */
export function useTabrpcQuery<TDef extends ProcedureDef, TPath extends string, TData = QueryData<TDef>>(
  procedure: QueryProcedureBuilders<TDef, TPath>,
  ...args: QueryHookArgs<TDef, TPath, TData>
): UseQueryResult<TData, QueryError<TDef>> {
  useAccountId(procedure[builderAuth]);
  useSessionId(procedure[builderSession]);
  // The builder's two signatures (input optional or not) are one function at run time.
  const build = procedure.queryOptions as unknown as (
    input: unknown,
    options: unknown,
  ) => UseQueryOptions<QueryData<TDef>, QueryError<TDef>, TData>;
  return useQuery(build(args[0], args[1]));
}

/**
 * `useMutation` with a procedure's options (`procedure.mutationOptions(options)`), re-built when
 * the tab's account or session id changes: `useTabrpcMutation(rq.onboarding.saveStep).mutate({ step })`.
 */
export function useTabrpcMutation<TDef extends ProcedureDef, TPath extends string, TOnMutateResult = unknown>(
  procedure: MutationProcedureBuilders<TDef, TPath>,
  options?: ProcedureMutationOptionsIn<TDef, TOnMutateResult>,
): UseMutationResult<CallOutput<TDef>, QueryError<TDef>, MutationVariables<TDef>, TOnMutateResult> {
  useAccountId(procedure[builderAuth]);
  useSessionId(procedure[builderSession]);
  return useMutation(procedure.mutationOptions(options));
}

/** What `useSubscription` reports (tRPC's shape). */
export interface SubscriptionResult<TOutput, TError> {
  /**
   * `"idle"`: not subscribed (disabled, ended, or built for an account the tab has left);
   * `"connecting"`: subscribed, not yet accepted; `"pending"`: accepted, receiving values;
   * `"error"`: failed (see `error`).
   */
  status: "idle" | "connecting" | "pending" | "error";
  /** The last value received (kept across a re-subscription of the same key). */
  data: TOutput | undefined;
  /** The failure, when `status` is `"error"`. */
  error: TabrpcError<TError> | null;
  /** Clears `data` and `error` and subscribes again. */
  reset(): void;
}

/** Options `useSubscription` takes: what `rq.x.subscriptionOptions(input, opts)` returns. */
export type UseSubscriptionOptions<TDef extends ProcedureDef, TPath extends string> = ProcedureSubscriptionOptions<TDef, TPath>;

/**
 * Subscribes while mounted and enabled, with the options of `rq.feed.subscriptionOptions(input,
 * { onData })` (tRPC's `useSubscription`): re-subscribes when the key changes (another input, or
 * another account or session: the options of an account-reactive proxy such as `useTabrpc()`'s
 * are re-built on an account change, and the old account's subscription is closed), and
 * unsubscribes on unmount. The latest `onData`/`onError`/`onStarted`/`onComplete` are called
 * without re-subscribing when only they change.
 *
 * ```tsx
 * const rq = useTabrpc();
 * const feed = useSubscription(rq.feed.subscriptionOptions(undefined, { onData: (event) => log(event) }));
 * ```
 */
export function useSubscription<TDef extends ProcedureDef, TPath extends string>(
  options: UseSubscriptionOptions<TDef, TPath>,
): SubscriptionResult<TDef["output"], TDef["error"]> {
  type Output = TDef["output"];
  type Failure = TabrpcError<TDef["error"]>;
  const latest = useRef(options);
  latest.current = options;
  const [state, setState] = useState<{ status: SubscriptionResult<Output, TDef["error"]>["status"]; data: Output | undefined; error: Failure | null }>(
    () => ({ status: options.enabled ? "connecting" : "idle", data: undefined, error: null }),
  );
  const [generation, setGeneration] = useState(0);
  const keyHash = hashKey(options.queryKey);
  const enabled = options.enabled;
  useEffect(() => {
    if (!enabled) {
      setState((previous) => (previous.status === "idle" ? previous : { ...previous, status: "idle" }));
      return undefined;
    }
    let live = true;
    setState((previous) => ({ ...previous, status: "connecting", error: null }));
    const subscription = latest.current.subscribe({
      onStarted: () => {
        if (!live) return;
        setState((previous) => ({ ...previous, status: "pending" }));
        latest.current.onStarted?.();
      },
      onData: (value) => {
        if (!live) return;
        setState((previous) => ({ ...previous, status: "pending", data: value }));
        latest.current.onData?.(value);
      },
      onError: (error) => {
        if (!live) return;
        setState((previous) => ({ ...previous, status: "error", error }));
        latest.current.onError?.(error);
      },
      onComplete: () => {
        if (!live) return;
        setState((previous) => ({ ...previous, status: "idle" }));
        latest.current.onComplete?.();
      },
    });
    return () => {
      live = false;
      subscription.unsubscribe();
    };
  }, [keyHash, enabled, generation]);
  const reset = useCallback(() => {
    setState({ status: "idle", data: undefined, error: null });
    setGeneration((n) => n + 1);
  }, []);
  return { ...state, reset };
}

/** What `createTabrpcContext` makes (tRPC's `createTRPCContext` shape). */
export interface TabrpcContext<TProcs extends ProcedureMap> {
  /**
   * Gives its subtree the client, and connects `queryClient` to the client's tab for as long as
   * it is mounted (see `connectQueryClient`). Put it inside `QueryClientProvider`.
   */
  TabrpcProvider: (props: { client: Client<TProcs>; queryClient: QueryClient; children?: ReactNode }) => ReactElement;
  /**
   * The option builders (`createOptionsProxy`) for the tab's **current** account and session:
   * the component re-renders when either changes, and the returned object is a new one then (so
   * `useMemo` depending on it re-runs), so every key it builds is the current account's.
   */
  useTabrpc: () => OptionsProxy<TProcs>;
  /** The client given to the provider. */
  useTabrpcClient: () => Client<TProcs>;
}

/**
 * A React context for one set of procedures, as tRPC's `createTRPCContext`:
 *
 * ```tsx
 * export const { TabrpcProvider, useTabrpc } = createTabrpcContext<Procedures>();
 * // root: <QueryClientProvider client={queryClient}><TabrpcProvider client={client} queryClient={queryClient}>…
 * function Profile() {
 *   const rq = useTabrpc();
 *   const user = useQuery(rq.profile.getUser.queryOptions());
 * }
 * ```
 */
export function createTabrpcContext<TProcs extends ProcedureMap>(): TabrpcContext<TProcs> {
  const Context = createContext<Client<TProcs> | null>(null);
  const useTabrpcClient = (): Client<TProcs> => {
    const client = useContext(Context);
    if (client === null) throw new Error("tabrpc: useTabrpc() needs a <TabrpcProvider> above it");
    return client;
  };
  function TabrpcProvider(props: { client: Client<TProcs>; queryClient: QueryClient; children?: ReactNode }): ReactElement {
    const { client, queryClient } = props;
    useEffect(() => connectQueryClient(queryClient, client), [queryClient, client]);
    return createElement(Context.Provider, { value: client }, props.children);
  }
  const useTabrpc = (): OptionsProxy<TProcs> => {
    const client = useTabrpcClient();
    const { auth, session } = useMemo(() => internalsOf(client, "useTabrpc"), [client]);
    if (auth === undefined) throw new TypeError("tabrpc: useTabrpc: the client has no authLink (build its links with tabLinks({ url, auth }))");
    const accountId = useAccountId(auth);
    const sessionId = useSessionId(session);
    // A new proxy per account and session: memos over it follow the account.
    return useMemo(() => createOptionsProxy(client), [client, accountId, sessionId]);
  };
  return { TabrpcProvider, useTabrpc, useTabrpcClient };
}
