/**
 * The TanStack Query integration: option builders (`createOptionsProxy`), cache keys and
 * filters, the cache's link to the tab (`connectQueryClient`) and server rendering per account.
 *
 * @module
 */
export { connectQueryClient } from "./connect.js";
export {
  accountFilterKeyOf,
  accountKey,
  infiniteQueryKeyOf,
  keyInput,
  mutationKeyOf,
  pathKey,
  queryKeyOf,
  sessionKey,
} from "./keys.js";
export type {
  AccountFilterKey,
  AccountKey,
  KeyInput,
  PathKey,
  PathSegments,
  ProcedureInfiniteQueryKey,
  ProcedureMutationKey,
  ProcedureQueryKey,
  SessionKey,
  WithoutCursor,
} from "./keys.js";
export { createOptionsProxy } from "./options.js";
export type {
  AccountQueryFilters,
  CursorOf,
  HasCursor,
  InfiniteInput,
  InfiniteKey,
  InfiniteQueryData,
  InfiniteQueryProcedureBuilders,
  KeyedInput,
  MutationProcedureBuilders,
  MutationVariables,
  NamespaceBuilders,
  OptionsInput,
  OptionsProxy,
  ProcedureInfiniteQueryOptions,
  ProcedureInfiniteQueryOptionsIn,
  ProcedureMutationOptions,
  ProcedureMutationOptionsIn,
  ProcedureQueryOptions,
  ProcedureQueryOptionsIn,
  ProcedureSubscriptionKey,
  ProcedureSubscriptionOptions,
  QueryData,
  QueryError,
  QueryProcedureBuilders,
  SubscriptionOptionsIn,
  SubscriptionProcedureBuilders,
  TaggedInfiniteQueryKey,
  TaggedQueryKey,
} from "./options.js";
export { dehydrateForAccount, hydrateForAccount, requestAuthSource, serializeForHtml } from "./ssr.js";
export type { AccountDehydratedState, HydrateOutcome, HydrateRefusal, RequestAuthOptions } from "./ssr.js";
export { isViewerMismatch } from "./viewerCall.js";
