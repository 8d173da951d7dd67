import type { ErrorCodeName } from "../codes.js";
import { TabrpcError } from "../error.js";
import type { Operation } from "../types.js";

/** A failure detected by the client itself (nothing, or nothing usable, came back). */
export function localError(
  code: ErrorCodeName,
  message: string,
  path: string,
  extra: { response?: Response | undefined; cause?: unknown } = {},
): TabrpcError {
  return new TabrpcError({
    code,
    message,
    httpStatus: extra.response?.status ?? 0,
    path,
    response: extra.response,
    cause: extra.cause,
  });
}

/** The error of a call whose `AbortSignal` fired. */
export function abortError(op: Operation): TabrpcError {
  return localError("CLIENT_CLOSED_REQUEST", `The call to ${op.path} was aborted`, op.path, {
    cause: op.signal?.reason,
  });
}

/** A reply the client cannot read. */
export function badGateway(
  message: string,
  path: string,
  response: Response | undefined,
  cause?: unknown,
): TabrpcError {
  return localError("BAD_GATEWAY", message, path, { response, cause });
}

/**
 * The same error for another call: request-level failures (a top-level error envelope, a failed
 * fetch) are raised once per HTTP request and given to each call with its own path.
 */
export function forCall(error: unknown, op: Operation): TabrpcError {
  if (error instanceof TabrpcError) {
    if (error.path === op.path) return error;
    return new TabrpcError({
      code: error.code,
      message: error.message,
      httpStatus: error.httpStatus,
      path: op.path,
      payload: error.payload,
      shape: error.shape,
      response: error.response,
      cause: error.cause,
    });
  }
  // Only a bug in the client can land here; still reject with the one error class.
  return localError("INTERNAL_SERVER_ERROR", `Unexpected client failure: ${String(error)}`, op.path, {
    cause: error,
  });
}

/**
 * The error of a call a transport link cannot carry: `link` names the link (`httpBatchLink`),
 * `carries` what it does carry. Nothing is sent.
 */
export function wrongLink(op: Operation, link: string, carries: string): TabrpcError {
  return localError(
    "BAD_REQUEST",
    `${link} carries ${carries} only, not the ${op.kind} ${op.path}: route it to the right link with splitLink`,
    op.path,
  );
}
