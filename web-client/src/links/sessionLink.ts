import { TabrpcError } from "../error.js";
import { isRecord } from "../internals/envelope.js";
import { sessionChangeError } from "../session/change.js";
import type { SessionStore } from "../session/store.js";
import type { Link, Operation, OperationResult } from "../types.js";

/** Options of {@link sessionLink}. */
export interface SessionLinkOptions {
  /** The tab's session store (`createSessionStore`). */
  store: SessionStore;
  /**
   * The procedures' markers, as the bindings export them (`PROCEDURE_MARKERS`): procedures
   * marked `"session"` get the session id; the others pass untouched.
   */
  markers: { readonly [path: string]: readonly string[] | undefined };
}

/** The call's own session id: its input's `sessionId`, else its context's. */
function pinnedOf(op: Operation): string | undefined {
  if (isRecord(op.input) && typeof op.input.sessionId === "string") return op.input.sessionId;
  return typeof op.context.sessionId === "string" ? op.context.sessionId : undefined;
}

/** The input with `sessionId` set: a left-out input becomes `{ sessionId }`. */
function withSession(input: unknown, sessionId: string): unknown {
  if (input === undefined || input === null) return { sessionId };
  return isRecord(input) ? { ...input, sessionId } : input;
}

/**
 * Fills in the tab's session id (client.md section 6) for procedures marked `"session"`, so
 * callers never pass it: `client.cart.add.mutate({ item })` sends `{ item, sessionId }`. Place
 * it **before** `authLink`, which keeps calls of different session ids in different HTTP
 * requests by the call's `context.sessionId` (this link sets it):
 *
 * ```ts
 * const session = createSessionStore();
 * createClient<Procedures>({
 *   links: [sessionLink({ store: session, markers: PROCEDURE_MARKERS }), authLink({ auth }), httpBatchLink({ url })],
 * });
 * ```
 *
 * - A call that gives `sessionId` itself (in its input or its context) keeps it.
 * - While the store has no id yet (server-rendering mode before `start`, or a tab checking for
 *   a copied id), calls wait for it; a call whose `signal` fires meanwhile rejects with
 *   `CLIENT_CLOSED_REQUEST`.
 * - Epochs: a call made with the store's current id, whose answer (or error) arrives after the
 *   id changed (`refresh`, another tab, a copied tab), is dropped: it rejects with
 *   `CLIENT_CLOSED_REQUEST` and `isSessionChange(error)` is true. Calls made inside
 *   `refresh(beforeUpdate)` finish before the switch, so they are kept.
 */
export function sessionLink(options: SessionLinkOptions): Link {
  const { store, markers } = options;
  const isSession = (path: string) => markers[path]?.includes("session") === true;

  return async (op, next): Promise<OperationResult> => {
    if (!isSession(op.path)) return next(op);
    let sessionId = pinnedOf(op);
    if (sessionId === undefined) {
      try {
        sessionId = store.id ?? (await store.ready(op.signal));
      } catch (error) {
        throw new TabrpcError({
          code: "CLIENT_CLOSED_REQUEST",
          message: `The call to ${op.path} was cancelled while it waited for the tab's session id`,
          httpStatus: 0,
          path: op.path,
          cause: error,
        });
      }
    }
    const epoch = store.epoch;
    // Only answers for the id that was current are dropped: a call pinned to another id (say,
    // `session.end` for an old id) answers for that id whatever the tab uses now.
    const current = sessionId === store.id;
    const dropped = () => current && store.epoch !== epoch;
    let result: OperationResult;
    try {
      result = await next({
        ...op,
        input: withSession(op.input, sessionId),
        context: { ...op.context, sessionId },
      });
    } catch (error) {
      if (dropped()) throw sessionChangeError(op.path, epoch, store.epoch, error instanceof TabrpcError ? error.response : undefined);
      throw error;
    }
    if (dropped()) throw sessionChangeError(op.path, epoch, store.epoch, result.response);
    return result;
  };
}
