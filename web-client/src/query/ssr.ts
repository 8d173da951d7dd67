/**
 * Server rendering with per-request identity (client.md section 7).
 *
 * On the server, per page request: a client whose auth is the **request's own** token
 * ({@link requestAuthSource}), prefetch with the usual option builders, then
 * {@link dehydrateForAccount}: the dehydrated cache, labelled with the account it was rendered
 * for. In the browser, {@link hydrateForAccount} puts it in the tab's cache only when the tab is
 * on that same account; otherwise it drops it whole, so a page rendered for account A (the shared
 * cookie followed another tab) never fills a tab of account B.
 *
 * @module
 */
import { dehydrate, hydrate, type DehydratedState, type DehydrateOptions, type HydrateOptions, type QueryClient } from "@tanstack/query-core";
import type { AuthSource } from "../auth/source.js";
import type { Client, ProcedureMap } from "../client.js";
import { internalsOf } from "../internals/tab.js";

/** A dehydrated cache and the account it was rendered for. Plain JSON. */
export interface AccountDehydratedState {
  /** The format's version. */
  readonly tabrpc: 1;
  /** The account the page was rendered for: the request token's (`null`: anonymous). */
  readonly accountId: string | null;
  /** TanStack Query's dehydrated state: only queries of keys of `accountId`. */
  readonly state: DehydratedState;
}

/** The account of a key built by the option builders (`undefined`: not such a key). */
function keyAccount(queryKey: readonly unknown[]): string | null | undefined {
  const meta = queryKey[1] as { input?: { viewerId?: unknown } } | null | undefined;
  const viewerId = typeof meta === "object" && meta !== null ? meta.input?.viewerId : undefined;
  return typeof viewerId === "string" || viewerId === null ? viewerId : undefined;
}

function authOf(client: unknown, who: string) {
  const { auth } = internalsOf(client, who);
  if (auth === undefined) throw new TypeError(`tabrpc: ${who}: the client has no authLink (build its links with tabLinks({ url, auth }))`);
  return auth;
}

/**
 * Dehydrates `queryClient` for the client's account (on the server: the request's, see
 * {@link requestAuthSource}): TanStack's `dehydrate`, keeping only successful queries whose key
 * says that account (`viewerId`), never a mutation, and the account id next to it. `options`
 * narrow it further (`shouldDehydrateQuery` is asked after the account check).
 */
export function dehydrateForAccount<TProcs extends ProcedureMap>(
  queryClient: QueryClient,
  client: Client<TProcs>,
  options: DehydrateOptions = {},
): AccountDehydratedState {
  const accountId = authOf(client, "dehydrateForAccount").accountId;
  const state = dehydrate(queryClient, {
    ...options,
    shouldDehydrateMutation: () => false,
    shouldDehydrateQuery: (query) =>
      keyAccount(query.queryKey) === accountId && (options.shouldDehydrateQuery?.(query) ?? query.state.status === "success"),
  });
  return { tabrpc: 1, accountId, state };
}

/** Why {@link hydrateForAccount} did not hydrate. */
export type HydrateRefusal = "other-account" | "not-tabrpc-state";

/** What {@link hydrateForAccount} did. */
export type HydrateOutcome = { hydrated: true; queries: number } | { hydrated: false; reason: HydrateRefusal };

function isAccountState(value: unknown): value is AccountDehydratedState {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<AccountDehydratedState>;
  return (
    candidate.tabrpc === 1 &&
    (typeof candidate.accountId === "string" || candidate.accountId === null) &&
    typeof candidate.state === "object" &&
    candidate.state !== null &&
    Array.isArray(candidate.state.queries)
  );
}

/**
 * Hydrates `queryClient` with a state from {@link dehydrateForAccount}, **only when the tab's
 * current account is the one it was rendered for**; otherwise (another account, anonymous
 * against signed-in either way, or not such a state at all) it hydrates nothing and says why:
 * render from scratch then (`createRoot` rather than `hydrateRoot`), so the server's HTML of the
 * other account is replaced. Even when it hydrates, a query whose key names another account is
 * left out.
 *
 * Call it once the tab's account is known (after the identity provider has loaded): a provider
 * still loading reports no account, and the state of a signed-in page is then refused.
 */
export function hydrateForAccount<TProcs extends ProcedureMap>(
  queryClient: QueryClient,
  client: Client<TProcs>,
  dehydrated: unknown,
  options?: HydrateOptions,
): HydrateOutcome {
  const accountId = authOf(client, "hydrateForAccount").accountId;
  if (!isAccountState(dehydrated)) return { hydrated: false, reason: "not-tabrpc-state" };
  if (dehydrated.accountId !== accountId) return { hydrated: false, reason: "other-account" };
  const queries = dehydrated.state.queries.filter((query) => Array.isArray(query.queryKey) && keyAccount(query.queryKey) === accountId);
  hydrate(queryClient, { mutations: [], queries }, options);
  return { hydrated: true, queries: queries.length };
}

/**
 * `JSON.stringify(value)` safe to put inside an HTML `<script>` element: `<`, `>`, `&` and the
 * line separators are escaped, so data can never close the script or open a tag.
 */
export function serializeForHtml(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The `sub` claim of a JWT, read without verification (`null`: not a JWT with one). */
function unverifiedSubject(token: string): string | null {
  const payload = token.split(".")[1];
  if (payload === undefined || payload === "") return null;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(payload.length / 4) * 4, "="));
    const sub = (JSON.parse(json) as { sub?: unknown } | null)?.sub;
    return typeof sub === "string" && sub !== "" ? sub : null;
  } catch {
    return null;
  }
}

/** Options of {@link requestAuthSource}. */
export interface RequestAuthOptions {
  /**
   * The token's account id. Defaults to the token's `sub` claim, read **without** verifying
   * the token: it only labels the cache keys; the API server verifies the token and refuses
   * (403 `viewer_mismatch`) a `viewerId` that is not the token's account, so a wrong label
   * fails closed.
   */
  accountId?: string | undefined;
}

/**
 * An auth source for one server-side request: the request's own bearer token (from its
 * `Authorization` header or its session cookie), never a shared or service credential. Give it
 * to `createTabAuth`, and the result to `tabLinks`, in a client made for this request only.
 * No token (`null`, `undefined`, `""`): anonymous. Throws `TypeError` for a token whose account
 * cannot be told (not a JWT with a `sub`) when `options.accountId` is not given: its answers
 * would be cached under no account.
 *
 * @example
 * ```ts
 * const auth = createTabAuth(requestAuthSource(bearerOf(request)));
 * const client = createClient(procedures, { links: tabLinks({ url: "http://127.0.0.1:3000/trpc", auth, session: createSessionStore({ storage: "memory", serverRendering: true }) }) });
 * ```
 */
export function requestAuthSource(token: string | null | undefined, options: RequestAuthOptions = {}): AuthSource {
  const usable = typeof token === "string" && token !== "" ? token : null;
  const accountId = usable === null ? null : (options.accountId ?? unverifiedSubject(usable));
  if (usable !== null && accountId === null) {
    throw new TypeError("tabrpc: requestAuthSource: the token is not a JWT with a `sub` claim: pass its account id (requestAuthSource(token, { accountId }))");
  }
  return {
    getToken: () => Promise.resolve(usable),
    accountId: () => accountId,
    signedInAccounts: () => (accountId === null ? 0 : 1),
    signedInAccountIds: () => (accountId === null ? [] : [accountId]),
    subscribe: () => () => undefined,
  };
}
