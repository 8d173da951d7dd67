import type { QueryClient } from "@tanstack/query-core";
import type { AuthChange, TabAuth } from "../auth/tabAuth.js";
import { accountKey } from "./keys.js";

/**
 * Keeps a `QueryClient`'s cache in step with the tab's account (client.md section 5). On every
 * change of account it cancels the previous account's queries in flight (their answers would be
 * dropped anyway; cancelling puts them back as they were and aborts their requests). When an
 * account signs out (`AuthChange.signedOut`), it then removes every cached query of that account,
 * at once: nothing of it stays readable in this tab.
 *
 * Returns the function that stops it.
 *
 * @example
 * ```ts
 * const queryClient = new QueryClient();
 * const stop = connectQueryClient(queryClient, auth);
 * ```
 */
export function connectQueryClient(queryClient: QueryClient, auth: TabAuth): () => void {
  return auth.subscribe((change: AuthChange) => {
    // `cancelQueries` cancels synchronously (the promise only reports the end), so the removal
    // below never waits for a request or a token fetch in flight.
    void queryClient.cancelQueries({ queryKey: accountKey(change.previous) });
    if (change.signedOut !== null) queryClient.removeQueries({ queryKey: accountKey(change.signedOut) });
  });
}
