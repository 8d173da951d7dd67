export { clerkAuthSource } from "./auth/clerk.js";
export type { ClerkClientLike, ClerkLike, ClerkSessionLike } from "./auth/clerk.js";
export { devIdpAuthSource } from "./auth/devIdp.js";
export type { DevIdpAuthSource, DevIdpAuthSourceOptions, DevIdpSession, FocusEvents, TabStorage } from "./auth/devIdp.js";
export type { AuthSource, GetTokenOptions } from "./auth/source.js";
export { createTabAuth, isAuthChange, isOutcomeUnknown } from "./auth/tabAuth.js";
export type { AuthChange, TabAuth, TabAuthOptions, TokenOptions } from "./auth/tabAuth.js";
export { createClient } from "./client.js";
export type {
  CallInput,
  CallOptions,
  Client,
  ClientOptions,
  InputOptional,
  ProcedureDef,
  ProcedureError,
  ProcedureInput,
  ProcedureMap,
  ProcedureOutput,
  ScopedFields,
  SubscribeOptions,
  SubscriptionHandlers,
  Unsubscribable,
} from "./client.js";
export { ERROR_CODES, ERROR_REASONS, HEADERS } from "./codes.js";
export type { ErrorCodeName, ErrorReason, ProcedureTable, Scope } from "./codes.js";
export { TabrpcError } from "./error.js";
export type { ErrorShape, TabrpcErrorInit } from "./error.js";
export { authLink } from "./links/authLink.js";
export type { AuthLinkOptions } from "./links/authLink.js";
export { httpBatchLink } from "./links/httpBatchLink.js";
export { httpBatchStreamLink } from "./links/httpBatchStreamLink.js";
export { httpLink } from "./links/httpLink.js";
export { httpSubscriptionLink } from "./links/httpSubscriptionLink.js";
export type { HTTPSubscriptionLinkOptions } from "./links/httpSubscriptionLink.js";
export { loggerLink } from "./links/loggerLink.js";
export type { LogEvent, LoggerLinkOptions } from "./links/loggerLink.js";
export { sessionLink } from "./links/sessionLink.js";
export type { SessionLinkOptions } from "./links/sessionLink.js";
export { splitLink } from "./links/splitLink.js";
export type { SplitLinkOptions } from "./links/splitLink.js";
export { tabLinks } from "./links/tabLinks.js";
export type { TabLinksOptions } from "./links/tabLinks.js";
export { connectQueryClient } from "./query/connect.js";
export { accountKey, keyInput, mutationKeyOf, pathKey, queryKeyOf, sessionKey } from "./query/keys.js";
export type { AccountKey, KeyInput, PathKey, PathSegments, ProcedureMutationKey, ProcedureQueryKey, SessionKey } from "./query/keys.js";
export { createOptionsProxy } from "./query/options.js";
export type {
  KeyedInput,
  MutationProcedureBuilders,
  MutationVariables,
  NamespaceBuilders,
  OptionsInput,
  OptionsProxy,
  ProcedureMutationOptions,
  ProcedureMutationOptionsIn,
  ProcedureQueryOptions,
  ProcedureQueryOptionsIn,
  QueryData,
  QueryError,
  QueryProcedureBuilders,
  TaggedQueryKey,
} from "./query/options.js";
export { isViewerMismatch } from "./query/viewerCall.js";
export { isSessionChange } from "./session/change.js";
export { connectSession } from "./session/connect.js";
export type { ConnectSessionOptions, SessionFollowEvent, SessionProcedures } from "./session/connect.js";
export { generateSessionId, isSessionId } from "./session/id.js";
export type { SessionPersistence, SessionStorageOption, StorageWindow } from "./session/storage.js";
export { createSessionStore } from "./session/store.js";
export type { SessionChange, SessionStore, SessionStoreOptions, SessionWindow } from "./session/store.js";
export type { CopyCheckOptions } from "./session/tabClaims.js";
export type {
  FetchLike,
  HeadersOption,
  HTTPBatchLinkOptions,
  HTTPHeaders,
  HTTPLinkOptions,
  HTTPRequestInfo,
  Link,
  Next,
  Operation,
  OperationContext,
  OperationKind,
  OperationResult,
  TransportHints,
} from "./types.js";
