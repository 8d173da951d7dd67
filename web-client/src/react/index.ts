/**
 * `@tabrpc/client/react`: thin React hooks over `@tanstack/react-query` (optional peer
 * dependencies `react` and `@tanstack/react-query`; the main entry never imports them).
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
  useMutation,
  useQuery,
  useQueryClient,
  type UseMutationResult,
  type UseQueryOptions,
  type UseQueryResult,
} from "@tanstack/react-query";
import { useCallback, useEffect, useSyncExternalStore } from "react";
import type { TabAuth } from "../auth/tabAuth.js";
import type { CallOutput, Client, ProcedureDef, ProcedureMap } from "../client.js";
import { connectQueryClient } from "../query/connect.js";
import type { SessionStore } from "../session/store.js";
import {
  builderAuth,
  builderSession,
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
