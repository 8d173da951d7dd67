import { TabrpcError } from "../error.js";
import { resolveScope, scopedInput } from "../internals/scope.js";
import { reportEnded } from "../internals/sessionEvents.js";
import { declareTabState } from "../internals/tab.js";
import { sessionChangeError } from "../session/change.js";
import type { SessionStore } from "../session/store.js";
import type { Link, OperationResult } from "../types.js";

/** Options of {@link sessionLink}. */
export interface SessionLinkOptions {
  /** The tab's session store (`createSessionStore`). */
  session: SessionStore;
}

/**
 * Fills in the tab's session id (client.md section 6) for `"session"` procedures (the client
 * knows them from its procedures table), so callers never pass it: `client.cart.add.mutate({
 * item })` sends `{ item, sessionId }`. `tabLinks({ url, auth, session })` puts it in the right
 * place; in a chain of your own, put it **before** `authLink`, which keeps calls of different
 * session ids in different HTTP requests (and refuses a session call that did not pass here):
 *
 * ```ts
 * const session = createSessionStore();
 * createClient(procedures, { links: [sessionLink({ session }), authLink({ auth }), httpBatchLink({ url })] });
 * ```
 *
 * - The id is the call's pin (`context.sessionId`) if it has one, else the store's current id
 *   (the scope resolver's decision, shared with `authLink` and the option builders).
 * - While the store has no id yet (server-rendering mode before `start`, or a tab checking for
 *   a copied id), calls wait for it; a call whose `signal` fires meanwhile rejects with
 *   `CLIENT_CLOSED_REQUEST`.
 * - Epochs: a call made with the store's current id, whose answer (or error) arrives after the
 *   id changed (`refresh`, another tab, a copied tab), is dropped: it rejects with
 *   `CLIENT_CLOSED_REQUEST` and `isSessionChange(error)` is true. Calls made inside
 *   `refresh(beforeUpdate)` finish before the switch, so they are kept.
 */
export function sessionLink(options: SessionLinkOptions): Link {
  const { session } = options;

  const link: Link = async (op, next): Promise<OperationResult> => {
    let scope = resolveScope(op, undefined, session);
    if (!scope.injectSession) return next(op);
    if (scope.sessionId === null) {
      try {
        await session.ready(op.signal);
      } catch (error) {
        throw new TabrpcError({
          code: "CLIENT_CLOSED_REQUEST",
          message: `The call to ${op.path} was cancelled while it waited for the tab's session id`,
          httpStatus: 0,
          path: op.path,
          cause: error,
        });
      }
      scope = resolveScope(op, undefined, session);
    }
    const sessionId = scope.sessionId as string;
    const epoch = session.epoch;
    // Only answers for the id that was current are dropped: a call pinned to another id (say,
    // `session.end` for an old id) answers for that id whatever the tab uses now.
    const current = sessionId === session.id;
    const dropped = () => current && session.epoch !== epoch;
    let result: OperationResult;
    try {
      result = await next({ ...op, input: scopedInput(op.input, scope, ["session"]), context: { ...op.context, sessionId } });
    } catch (error) {
      if (dropped()) throw sessionChangeError(op.path, epoch, session.epoch, error instanceof TabrpcError ? error.response : undefined);
      reportEnded(session, sessionId, error);
      throw error;
    }
    if (dropped()) throw sessionChangeError(op.path, epoch, session.epoch, result.response);
    return result;
  };
  return declareTabState(link, { session });
}
