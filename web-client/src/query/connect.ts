import type { QueryClient } from "@tanstack/query-core";
import type { AuthChange } from "../auth/tabAuth.js";
import type { Client, ProcedureMap } from "../client.js";
import { internalsOf } from "../internals/tab.js";
import type { SessionChange } from "../session/store.js";
import { accountKey, sessionKey } from "./keys.js";

/**
 * Keeps a `QueryClient`'s cache in step with the tab's account (client.md section 5). On every
 * change of account it cancels the previous account's queries in flight (their answers would be
 * dropped anyway; cancelling puts them back as they were and aborts their requests). When an
 * account signs out (`AuthChange.signedOut`: in this tab, or in another tab when the source
 * lists the signed-in accounts), it then removes every cached query and every mutation of that
 * account, at once: nothing of it stays readable in this tab.
 *
 * When the client has a session store (client.md section 6), it does the same for session ids:
 * when the id changes (a refresh, another tab in `localStorage` mode, a copied tab taking its
 * own id), every query of the previous id (`sessionKey(previous)`) is cancelled, then removed.
 *
 * The auth state and session store are the client's (see `createOptionsProxy`); throws
 * `TypeError` for a client without `authLink`. Returns the function that stops it.
 *
 * @example
 * ```ts
 * const queryClient = new QueryClient();
 * const stop = connectQueryClient(queryClient, client);
 * ```
 */
export function connectQueryClient<TProcs extends ProcedureMap>(queryClient: QueryClient, client: Client<TProcs>): () => void {
  const { auth, session } = internalsOf(client, "connectQueryClient");
  if (auth === undefined) throw new TypeError("tabrpc: connectQueryClient: the client has no authLink (build its links with tabLinks({ url, auth }))");
  const stopAuth = auth.subscribe((change: AuthChange) => {
    // `cancelQueries` cancels synchronously (the promise only reports the end), so the removal
    // below never waits for a request or a token fetch in flight.
    if (change.type !== "signed-out-elsewhere") void queryClient.cancelQueries({ queryKey: accountKey(change.previous) });
    if (change.signedOut === null) return;
    const key = accountKey(change.signedOut);
    void queryClient.cancelQueries({ queryKey: key });
    queryClient.removeQueries({ queryKey: key });
    const mutations = queryClient.getMutationCache();
    for (const mutation of mutations.findAll({ mutationKey: key })) mutations.remove(mutation);
  });
  const stopSession = session?.subscribe((change: SessionChange) => {
    // Also the `null` keys of queries built before the first id (disabled, never fetched).
    void queryClient.cancelQueries({ queryKey: sessionKey(change.previous) });
    queryClient.removeQueries({ queryKey: sessionKey(change.previous) });
  });
  return () => {
    stopAuth();
    stopSession?.();
  };
}
