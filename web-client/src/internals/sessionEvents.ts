/**
 * The server's word that a session id is over: `sessionLink` reports the errors that say so,
 * `connectSession` listens (and takes a new id). Keyed by store, so two clients never hear each
 * other's.
 *
 * @module
 */
import { ERROR_REASONS } from "../codes.js";
import { TabrpcError } from "../error.js";
import type { SessionStore } from "../session/store.js";
import { notifyAll } from "./auth.js";

/** A session id the server said is over, and the error that said so. */
export interface SessionEnded {
  readonly sessionId: string;
  readonly error: TabrpcError;
}

type Listener = (ended: SessionEnded) => void;

const listeners = new WeakMap<SessionStore, Set<Listener>>();

/**
 * Whether `error` says the session is unusable for this tab: it expired or was revoked
 * (`session_expired`), or it is linked to another account (`session_mismatch`).
 */
export function isSessionEnded(error: unknown): error is TabrpcError {
  return error instanceof TabrpcError && (error.reason === ERROR_REASONS.SESSION_EXPIRED || error.reason === ERROR_REASONS.SESSION_MISMATCH);
}

/** Tells the store's listeners when `error`, the answer to a call made with `sessionId`, says it is over. */
export function reportEnded(store: SessionStore, sessionId: string, error: unknown): void {
  const set = listeners.get(store);
  if (set !== undefined && isSessionEnded(error)) notifyAll(set, { sessionId, error });
}

/** Listens for {@link reportEnded}; returns the function that stops. */
export function onSessionEnded(store: SessionStore, listener: Listener): () => void {
  let set = listeners.get(store);
  if (set === undefined) {
    set = new Set();
    listeners.set(store, set);
  }
  set.add(listener);
  return () => set.delete(listener);
}
