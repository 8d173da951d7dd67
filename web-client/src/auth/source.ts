/**
 * Where a tab's identity comes from: an identity provider's client SDK (Clerk and alike) seen
 * through one small interface, so the auth link and the query integration do not depend on any
 * provider. Adapters: `clerkAuthSource` (a Clerk-shaped object) and `devIdpAuthSource` (the demo
 * server's development identity provider).
 *
 * @example A hand-written source for a provider with one account per browser.
 * ```ts
 * const source: AuthSource = {
 *   getToken: () => sdk.currentToken(),
 *   accountId: () => sdk.user?.id ?? null,
 *   signedInAccounts: () => (sdk.user ? 1 : 0),
 *   subscribe: (onChange) => sdk.onChange(onChange),
 * };
 * ```
 *
 * @module
 */

/** Options of {@link AuthSource.getToken}. */
export interface GetTokenOptions {
  /**
   * Ask the provider for a new token rather than a cached one. The auth link asks with it only on
   * the retry after a 401 `invalid_token` or a failed call, and when the cached token is near its
   * `exp` (client.md section 3 rule 2; `TabAuthOptions.alwaysSkipCache` makes it ask every time):
   * a provider's cache must therefore be per session (this tab's), as Clerk's is.
   */
  readonly skipCache: boolean;
}

/** The identity of one browser tab, as an identity provider's client SDK knows it. */
export interface AuthSource {
  /**
   * A token for **this tab's** account (e.g. Clerk's `session.getToken()`), never the shared
   * cookie's. Resolves to `null`, `undefined` or `""` when there is none (signed out); may
   * reject or hang: the auth link puts a timeout on it and retries once.
   */
  getToken(options: GetTokenOptions): Promise<string | null | undefined>;
  /** This tab's current account (user) id, `null` when the tab is signed out. */
  accountId(): string | null;
  /**
   * The provider's session id of this tab, when it has one. Optional: when given, a new session
   * of the same account (sign-out then sign-in) also counts as a change.
   */
  sessionId?(): string | null;
  /**
   * How many accounts are signed in in this browser, every tab included. When the provider does
   * not know yet (still loading), answer `Infinity`: the auth link then fails closed (sends the
   * marker rather than let the shared cookie decide).
   */
  signedInAccounts(): number;
  /**
   * The ids of the accounts signed in in this browser; `null` while the provider does not know
   * yet. Optional: when given, an account that disappears from it is treated as signed out (its
   * cached queries and mutations are removed in every tab, see `AuthChange.signedOut`).
   */
  signedInAccountIds?(): readonly string[] | null;
  /**
   * Calls `onChange` after any change of the values above (sign-in, sign-out, switch, another
   * tab's sign-in). Extra calls are harmless: changes are de-duplicated by value. Returns the
   * unsubscribe function.
   */
  subscribe(onChange: () => void): () => void;
}
