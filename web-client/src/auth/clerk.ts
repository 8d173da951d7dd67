import type { AuthSource } from "./source.js";

/** The part of a Clerk `Session` the adapter reads. */
export interface ClerkSessionLike {
  readonly id: string;
  readonly user?: { readonly id: string } | null | undefined;
  getToken(options?: { skipCache?: boolean }): Promise<string | null>;
}

/** The part of a Clerk `Client` the adapter reads (`activeSessions` in older versions). */
export interface ClerkClientLike {
  readonly signedInSessions?: readonly ClerkSessionLike[] | undefined;
  readonly activeSessions?: readonly ClerkSessionLike[] | undefined;
}

/**
 * The part of the `Clerk` object (`new Clerk(key)` of `@clerk/clerk-js`, `window.Clerk`,
 * `useClerk()`) the adapter reads. Typed structurally, so the package needs none of Clerk's
 * packages, at run time or for its types; type tests (`clerk.test-d.ts`) check that Clerk's own
 * types (`Clerk` of `@clerk/clerk-js` 6, `LoadedClerk` and the session and client resources of
 * `@clerk/shared/types`) are accepted.
 */
export interface ClerkLike {
  /** Whether Clerk has loaded (`clerk.loaded`); until then the adapter fails closed. */
  readonly loaded?: boolean | undefined;
  /** This tab's active session (`null` when signed out, `undefined` before Clerk has loaded). */
  readonly session?: ClerkSessionLike | null | undefined;
  /** The browser's client: every signed-in session. */
  readonly client?: ClerkClientLike | null | undefined;
  /** Calls `listener` on every change of client, session or user; returns the unsubscribe function. */
  addListener(listener: (resources: unknown) => void): (() => void) | void;
}

/** The browser's signed-in sessions; `undefined` while Clerk has not loaded (not known yet). */
function signedInSessions(clerk: ClerkLike): readonly ClerkSessionLike[] | undefined {
  const client = clerk.client;
  if (clerk.loaded === false || client === undefined || client === null) return undefined;
  return client.signedInSessions ?? client.activeSessions ?? [];
}

/**
 * An {@link AuthSource} over a Clerk-shaped object: the token is this tab's session's
 * (`clerk.session.getToken`), never the shared `__session` cookie; the account is the session's
 * user; the signed-in accounts are `clerk.client.signedInSessions`; changes come from
 * `clerk.addListener`. Until Clerk has loaded (`clerk.loaded` false, or no `clerk.client`) the
 * number of signed-in accounts is unknown and reported as `Infinity`, so requests carry the
 * fail-closed marker rather than let the shared cookie pick an account.
 *
 * Clerk re-reads `clerk.session` on each call, so a token is always asked of the session that is
 * active when the HTTP request is made.
 *
 * @example
 * ```ts
 * const clerk = new Clerk(publishableKey); // from "@clerk/clerk-js"
 * await clerk.load();
 * const auth = createTabAuth(clerkAuthSource(clerk));
 * ```
 */
export function clerkAuthSource(clerk: ClerkLike): AuthSource {
  return {
    async getToken(options) {
      const session = clerk.session;
      if (session === null || session === undefined) return null;
      return session.getToken({ skipCache: options.skipCache });
    },
    accountId: () => clerk.session?.user?.id ?? null,
    sessionId: () => clerk.session?.id ?? null,
    signedInAccounts: () => signedInSessions(clerk)?.length ?? Number.POSITIVE_INFINITY,
    signedInAccountIds: () =>
      signedInSessions(clerk)?.flatMap((session) => (session.user?.id === undefined ? [] : [session.user.id])) ?? null,
    subscribe(onChange) {
      const unsubscribe = clerk.addListener(() => onChange());
      return typeof unsubscribe === "function" ? unsubscribe : () => undefined;
    },
  };
}
