/**
 * Whose call is this: the one place that decides a call's account and session id (client.md
 * sections 3–6), used by `authLink`, `sessionLink` and the TanStack Query option builders.
 *
 * @module
 */
import type { TabAuth } from "../auth/tabAuth.js";
import type { Scope } from "../codes.js";
import type { SessionStore } from "../session/store.js";
import type { Operation } from "../types.js";
import { isRecord } from "./envelope.js";

/** A call's scope, as {@link resolveScope} decides it. */
export interface CallScope {
  /** The call's account: its pin (`context.viewerId`), else the tab's current one; `null`: anonymous. */
  readonly viewerId: string | null;
  /**
   * The call's session id: its pin (`context.sessionId`), else, for a `"session"` procedure, the
   * store's current id. `null`: the call has none (not a session procedure), or none yet.
   */
  readonly sessionId: string | null;
  /** A `"viewer"` procedure: `viewerId` goes in its input. */
  readonly injectViewer: boolean;
  /** A `"session"` procedure: `sessionId` goes in its input (the call waits while there is none). */
  readonly injectSession: boolean;
  /**
   * The session id is the store's current one, not a pin: once the store moves on, the call's
   * answer belongs to an id the tab has left.
   */
  readonly followsStore: boolean;
}

/**
 * Decides the call's account and session id. A pin in the call's context wins (the option
 * builders pin the key's account and session, so that the answer matches the key); otherwise
 * the tab's current account (`auth`; `null` without one) and, for `"session"` procedures, the
 * store's current id. Inputs never decide: a scoped procedure's `viewerId` and `sessionId` are
 * always the scope's ({@link scopedInput}).
 */
export function resolveScope(
  op: Pick<Operation, "scopes" | "context">,
  auth: TabAuth | undefined,
  session: SessionStore | undefined,
): CallScope {
  const pinnedViewer = op.context.viewerId;
  const viewerId = typeof pinnedViewer === "string" || pinnedViewer === null ? pinnedViewer : (auth?.accountId ?? null);
  const injectSession = op.scopes.includes("session");
  const pinnedSession = op.context.sessionId;
  const pinned = typeof pinnedSession === "string";
  return {
    viewerId,
    sessionId: pinned ? pinnedSession : injectSession ? (session?.id ?? null) : null,
    injectViewer: op.scopes.includes("viewer"),
    injectSession,
    followsStore: injectSession && !pinned,
  };
}

/**
 * The input with the scope's fields for the scopes in `which`: `viewerId` for a `"viewer"`
 * procedure (left out when anonymous), `sessionId` for a `"session"` one (once there is one). A
 * left-out input becomes an object (`{ viewerId }`, `{ sessionId }`, or `{}` for an anonymous
 * viewer call, so that an input struct without `Option` still parses); an input that is not an
 * object (an array, a string) is left as it is.
 */
export function scopedInput(input: unknown, scope: CallScope, which: readonly Scope[]): unknown {
  let out = input;
  if (scope.injectViewer && which.includes("viewer")) out = withField(out, "viewerId", scope.viewerId);
  if (scope.injectSession && which.includes("session") && scope.sessionId !== null) out = withField(out, "sessionId", scope.sessionId);
  return out;
}

function withField(input: unknown, field: string, value: string | null): unknown {
  if (input === undefined || input === null) return value !== null ? { [field]: value } : input === null ? null : {};
  if (!isRecord(input)) return input;
  if (value !== null) return { ...input, [field]: value };
  if (!Object.hasOwn(input, field)) return input;
  const { [field]: _dropped, ...rest } = input;
  return rest;
}
