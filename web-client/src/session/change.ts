/**
 * The error of a session call whose answer belongs to a session id the tab has left.
 *
 * @module
 */
import { TabrpcError } from "../error.js";

/** Marks a `TabrpcError` as "dropped because the tab's session id changed" (see {@link isSessionChange}). */
export class SessionChangeCause {
  constructor(
    /** The session epoch the call started in. */
    readonly from: number,
    /** The session epoch when it was dropped. */
    readonly to: number,
  ) {}
}

/** @internal The error of a call dropped because the session epoch moved on. */
export function sessionChangeError(path: string, from: number, to: number, response?: Response): TabrpcError {
  return new TabrpcError({
    code: "CLIENT_CLOSED_REQUEST",
    message: `Dropped: the tab's session id changed (refresh, another tab, or a copied tab) while the call to ${path || "the server"} was in flight`,
    httpStatus: 0,
    path,
    response,
    cause: new SessionChangeCause(from, to),
  });
}

/**
 * Whether `error` is a session call dropped because the tab's session id changed while it was in
 * flight (`SessionStore.refresh`, another tab in `localStorage` mode, or a copied tab getting its
 * own id): its answer belongs to the old id. Expected: do not show it. A `TabrpcError` with code
 * `CLIENT_CLOSED_REQUEST`; the server may still have run the call (for the old id).
 */
export function isSessionChange(error: unknown): error is TabrpcError {
  return error instanceof TabrpcError && error.cause instanceof SessionChangeCause;
}
