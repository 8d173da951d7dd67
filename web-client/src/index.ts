export { clerkAuthSource } from "./auth/clerk.js";
export type { ClerkClientLike, ClerkLike, ClerkSessionLike } from "./auth/clerk.js";
export { devIdpAuthSource } from "./auth/devIdp.js";
export type { DevIdpAuthSource, DevIdpAuthSourceOptions, DevIdpSession, FocusEvents, TabStorage } from "./auth/devIdp.js";
export type { AuthSource, GetTokenOptions } from "./auth/source.js";
export { createTabAuth, isAuthChange } from "./auth/tabAuth.js";
export type { AuthChange, TabAuth, TabAuthOptions, TokenOptions } from "./auth/tabAuth.js";
export { createClient } from "./client.js";
export type {
  CallOptions,
  Client,
  ClientOptions,
  ProcedureDef,
  ProcedureError,
  ProcedureInput,
  ProcedureMap,
  ProcedureOutput,
} from "./client.js";
export { ERROR_CODES } from "./codes.js";
export type { ErrorCodeName } from "./codes.js";
export { TabrpcError } from "./error.js";
export type { ErrorShape, TabrpcErrorInit } from "./error.js";
export { authLink } from "./links/authLink.js";
export type { AuthLinkOptions } from "./links/authLink.js";
export { httpBatchLink } from "./links/httpBatchLink.js";
export { httpBatchStreamLink } from "./links/httpBatchStreamLink.js";
export { httpLink } from "./links/httpLink.js";
export { loggerLink } from "./links/loggerLink.js";
export type { LogEvent, LoggerLinkOptions } from "./links/loggerLink.js";
export { splitLink } from "./links/splitLink.js";
export type { SplitLinkOptions } from "./links/splitLink.js";
export { connectQueryClient } from "./query/connect.js";
export { accountKey, keyInput, mutationKeyOf, pathKey, queryKeyOf } from "./query/keys.js";
export type { AccountKey, KeyInput, PathKey, PathSegments, ProcedureMutationKey, ProcedureQueryKey } from "./query/keys.js";
export { createOptionsProxy } from "./query/options.js";
export type {
  MarkedPaths,
  MutationProcedureBuilders,
  MutationVariables,
  NamespaceBuilders,
  OptionsInput,
  OptionsProxy,
  OptionsProxyOptions,
  ProcedureMarkers,
  ProcedureMutationOptions,
  ProcedureMutationOptionsIn,
  ProcedureQueryOptions,
  ProcedureQueryOptionsIn,
  QueryData,
  QueryError,
  QueryProcedureBuilders,
  TaggedQueryKey,
} from "./query/options.js";
export { isViewerMismatch, VIEWER_MISMATCH } from "./query/viewerCall.js";
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
