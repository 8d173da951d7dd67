import { isAuthChange, type TabAuth } from "../auth/tabAuth.js";
import { ERROR_REASONS } from "../codes.js";
import { TabrpcError } from "../error.js";
import { isSessionChange } from "../session/change.js";

/**
 * Whether `error` is the viewer guard's 403 (`error.data.reason` `viewer_mismatch`, auth.md
 * section 3): the call's `viewerId` (its cache key's account) is not the account its
 * credentials authenticate. The procedure did not run. During an account switch it is expected
 * and transient; any other 403 is a real error. Decided by the reason alone, never by the
 * message, which is prose for people and may change.
 */
export function isViewerMismatch(error: unknown): error is TabrpcError {
  return error instanceof TabrpcError && error.code === "FORBIDDEN" && error.reason === ERROR_REASONS.VIEWER_MISMATCH;
}

/** What became of a call made for one account (see {@link callForViewer}). */
export type ViewerCallFailure = "drop" | "throw";

/**
 * Runs `call` for account `viewerId`, applying the mismatch rule of client.md section 5:
 *
 * - a viewer mismatch (see {@link isViewerMismatch}) while the tab's account **is** `viewerId` (the provider's token
 *   lagged behind the switch): wait until the auth state settles, then retry once; a second
 *   mismatch is a real error;
 * - a mismatch while the tab is on another account, or a call dropped by an epoch change (of the
 *   auth state, or of the session id): the answer belongs to a state the tab has left; `onDrop`
 *   decides what to do (a query reverts silently) and the error is rethrown for whoever still
 *   awaits it.
 */
export async function callForViewer<T>(
  auth: TabAuth,
  viewerId: string | null,
  signal: AbortSignal | undefined,
  call: () => Promise<T>,
  onDrop: (error: TabrpcError) => void,
): Promise<T> {
  let retried = false;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (isViewerMismatch(error) && auth.accountId === viewerId && !retried) {
        retried = true;
        try {
          await auth.settled(signal);
        } catch {
          throw error;
        }
        if (auth.accountId === viewerId) continue;
      }
      if (isAuthChange(error) || isSessionChange(error) || (isViewerMismatch(error) && auth.accountId !== viewerId)) onDrop(error);
      throw error;
    }
  }
}
