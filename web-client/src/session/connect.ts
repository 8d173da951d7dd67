/**
 * One call that keeps the tab's session id in step with its account (client.md section 6).
 *
 * @module
 */
import { isAuthChange } from "../auth/tabAuth.js";
import type { CallOutput, Client, ProcedureDef, ProcedureMap } from "../client.js";
import { ERROR_REASONS } from "../codes.js";
import { isSessionEnded, onSessionEnded } from "../internals/sessionEvents.js";
import { internalsOf } from "../internals/tab.js";

/** The procedures `connectSession` calls, as `tabrpc-sessions` nests them under `session`. */
export type SessionProcedures = {
  "session.rotate": ProcedureDef & { kind: "mutation"; input: { sessionId: string; newSessionId: string } };
  "session.end": ProcedureDef & { kind: "mutation"; input: { sessionId: string } };
};

/** What {@link connectSession} did. */
export interface SessionFollowEvent<TRotation = unknown> {
  /**
   * `rotated`: the session moved to a new id, linked to the account (`rotation` is
   * `session.rotate`'s answer); `renewed`: the tab took a new id; `ended`: the session was ended
   * before this tab's sign-out.
   */
  readonly type: "rotated" | "renewed" | "ended";
  /**
   * `sign-in`, `sign-out` (here or in another tab), `switch` (to another account); `expired`
   * (the server answered `session_expired`), `mismatch` (`session_mismatch`: the id is another
   * account's); `rotation-failed` (the rotation was refused: the tab took a new id, the old one
   * keeps its data).
   */
  readonly reason: "sign-in" | "sign-out" | "switch" | "expired" | "mismatch" | "rotation-failed";
  /** The account the tab's session id belongs to now (`null`: anonymous). */
  readonly account: string | null;
  /** The tab's session id before. */
  readonly previous: string;
  /** The tab's session id now (the same as `previous` for `ended`: the new one follows the sign-out). */
  readonly sessionId: string;
  /** `session.rotate`'s answer, for `rotated`. */
  readonly rotation?: TRotation | undefined;
}

/** Options of {@link connectSession}. */
export interface ConnectSessionOptions<TRotation = unknown> {
  /** Told after each thing it did. Defaults to none. */
  onChange?: ((event: SessionFollowEvent<TRotation>) => void) | undefined;
  /**
   * Told about failures it worked around (a refused rotation, a session that could not be
   * ended). Defaults to none.
   */
  onError?: ((error: unknown) => void) | undefined;
}

/**
 * Ties the client's session store to its auth state (both from its links, as `tabLinks` gets
 * them), so that a session id always belongs to the tab's account:
 *
 * - **Sign-in** (from anonymous): `session.rotate`, sent with the new account's token (a refused
 *   token, 401 `invalid_token`, is retried once with a fresh one by `authLink`), moves the
 *   anonymous session's data to a new id linked to the account; the tab switches to it. A refused
 *   rotation leaves the data under the old id and the tab takes a new id.
 * - **Sign-out** through `auth.signOut(…)`: `session.end`, while the token is still there (a
 *   session linked to an account answers only that account), then the sign-out, then a new,
 *   anonymous id. A sign-out or a switch made elsewhere (another tab, the provider): a new id
 *   (the old session stays the old account's, until it expires).
 * - **An ended session**: any call answered `session_expired`, or `session_mismatch` (an id
 *   linked to another account), makes the tab take a new id (once per id).
 *
 * Epochs (client.md section 4): the steps run one at a time, each for the account current when
 * it runs, so rapid repeats settle on the last state. A rotation whose account changes while it
 * is in flight is dropped (pinned to its account, `authLink` drops it) and the old id stays; the
 * step queued by that change decides again. A rotation that may have run on the server before
 * being dropped leaves the old id ended: its next call answers `session_expired`, and the tab
 * takes a new id.
 *
 * Throws `TypeError` for a client without `authLink` and `sessionLink`, or whose procedures
 * table lacks `session.rotate` or `session.end`. Returns the function that disconnects it.
 *
 * @example
 * ```ts
 * const client = createClient(procedures, { links: tabLinks({ url: "/trpc", auth, session }) });
 * connectSession(client);
 * signOutButton.onclick = () => void auth.signOut(() => clerk.signOut());
 * ```
 */
export function connectSession<TProcs extends ProcedureMap & SessionProcedures>(
  client: Client<TProcs>,
  options: ConnectSessionOptions<CallOutput<TProcs["session.rotate"]>> = {},
): () => void {
  type Event = SessionFollowEvent<CallOutput<TProcs["session.rotate"]>>;
  const { auth, session, procedures, call } = internalsOf(client, "connectSession");
  if (auth === undefined || session === undefined) {
    throw new TypeError("tabrpc: connectSession: the client needs authLink and sessionLink (tabLinks({ url, auth, session }))");
  }
  for (const path of ["session.rotate", "session.end"]) {
    if (!Object.hasOwn(procedures, path)) throw new TypeError(`tabrpc: connectSession: the procedures table has no ${path}`);
  }
  /** The account the tab's session id belongs to: a new id is linked to its first caller, the tab's account. */
  let owner = auth.accountId;
  let queue: Promise<void> = Promise.resolve();
  let stopped = false;
  const emit = (event: Event) => options.onChange?.(event);
  /** Runs `step` after the steps before it; a failure is reported, and does not stop the queue. */
  const enqueue = (step: () => Promise<void>): Promise<void> => {
    const run = queue.then(() => (stopped ? undefined : step())).catch((error: unknown) => {
      if (!isAuthChange(error)) options.onError?.(error);
    });
    queue = run;
    return run;
  };

  /** A new id for the tab's current account. */
  const renew = async (reason: Event["reason"], previous: string) => {
    const sessionId = await session.refresh();
    owner = auth.accountId;
    emit({ type: "renewed", reason, account: owner, previous, sessionId });
  };

  /** Brings the id in line with the account (after a sign-in, a sign-out, a switch). */
  const follow = async () => {
    const previous = await session.ready();
    const target = auth.accountId;
    if (target === owner) return;
    if (owner === null && target !== null) {
      let rotation: CallOutput<TProcs["session.rotate"]> | undefined;
      try {
        const sessionId = await session.refresh(async (newSessionId) => {
          // Pinned to the account: if the tab leaves it meanwhile, the call is dropped, not sent
          // with (or answered for) another account.
          rotation = (await call("session.rotate", "mutation", { newSessionId }, { context: { viewerId: target } })) as typeof rotation;
        });
        owner = target;
        emit({ type: "rotated", reason: "sign-in", account: target, previous, sessionId, rotation });
        return;
      } catch (error) {
        // The account changed again: the step queued by that change decides.
        if (isAuthChange(error) || auth.accountId !== target) return;
        options.onError?.(error);
        await renew("rotation-failed", previous);
        return;
      }
    }
    await renew(target === null ? "sign-out" : "switch", previous);
  };

  /** Ends the tab's session before its sign-out, while the token is still there. */
  const end = async () => {
    const sessionId = session.id;
    const account = auth.accountId;
    // Only the account's own session: an anonymous one needs no ending, and another account's
    // would be refused.
    if (sessionId === null || account === null || owner !== account) return;
    try {
      await call("session.end", "mutation", undefined, { context: { viewerId: account, sessionId } });
      emit({ type: "ended", reason: "sign-out", account, previous: sessionId, sessionId });
    } catch (error) {
      // Left to expire (nobody else can use it); the sign-out goes on.
      if (!isSessionEnded(error)) options.onError?.(error);
    }
  };

  const stopAuth = auth.subscribe(() => void enqueue(follow));
  const stopSignOut = auth.beforeSignOut(() => enqueue(end));
  const stopEnded = onSessionEnded(session, ({ sessionId, error }) => {
    void enqueue(async () => {
      if (session.id !== sessionId) return; // already replaced
      await renew(error.reason === ERROR_REASONS.SESSION_MISMATCH ? "mismatch" : "expired", sessionId);
    });
  });
  // Any new id (another tab's in `localStorage` mode, a copied tab's, the app's own refresh) is
  // linked by its first call, from this tab's account; the steps above say so themselves too.
  const stopSession = session.subscribe(() => {
    owner = auth.accountId;
  });
  return () => {
    stopped = true;
    stopAuth();
    stopSignOut();
    stopEnded();
    stopSession();
  };
}
