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
export { httpBatchLink } from "./links/httpBatchLink.js";
export { httpBatchStreamLink } from "./links/httpBatchStreamLink.js";
export { httpLink } from "./links/httpLink.js";
export { loggerLink } from "./links/loggerLink.js";
export type { LogEvent, LoggerLinkOptions } from "./links/loggerLink.js";
export { splitLink } from "./links/splitLink.js";
export type { SplitLinkOptions } from "./links/splitLink.js";
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
} from "./types.js";
