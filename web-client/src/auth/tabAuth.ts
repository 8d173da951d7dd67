import { TabrpcError } from "../error.js";
import { AuthChangeCause, authChangeError, isUsableToken, nearExpiry, notifyAll, raceAbort, sleep, TimeoutError, withTimeout } from "../internals/auth.js";
import type { AuthSource } from "./source.js";

/**
 * Whether `error` is a call the auth link cancelled or dropped because the tab signed in, signed
 * out or switched accounts while it was in flight (its answer would belong to the old state), or
 * because it was made for an account that is not the tab's (it was not sent). Such a failure is
 * expected: do not show it. A `TabrpcError` with code `CLIENT_CLOSED_REQUEST`.
 *
 * One case deserves a word to the user: a **mutation** dropped after its request may have left
 * ({@link isOutcomeUnknown}, message starting with "Outcome unknown"). The server may have run it;
 * only its answer was dropped. Re-read the data before offering to submit again.
 */
export function isAuthChange(error: unknown): error is TabrpcError {
  return error instanceof TabrpcError && error.cause instanceof AuthChangeCause;
}

/**
 * Whether `error` is a mutation dropped by an auth change after its request may have been sent
 * (see {@link isAuthChange}): the server may have run it.
 */
export function isOutcomeUnknown(error: unknown): error is TabrpcError {
  return isAuthChange(error) && (error.cause as AuthChangeCause).outcomeUnknown;
}

/** What changed in this tab, as {@link TabAuth.subscribe} reports it. */
export interface AuthChange {
  /**
   * `sign-in`: from no account to one; `sign-out`: from an account to none; `switch`: from one
   * account (or session) to another; `signed-out-elsewhere`: another account of this browser
   * signed out (in another tab; see `AuthSource.signedInAccountIds`): this tab's account did not
   * change (`previous` = `current`) and the epoch did not move, but `signedOut`'s data must go.
   */
  readonly type: "sign-in" | "sign-out" | "switch" | "signed-out-elsewhere";
  /** The epoch after the change. */
  readonly epoch: number;
  /** The account before the change (`null`: signed out). */
  readonly previous: string | null;
  /** The account after the change (`null`: signed out). */
  readonly current: string | null;
  /**
   * The account whose data must go: `previous` on a sign-out, and on a switch away from an
   * account that is no longer signed in (when the source tells, see
   * `AuthSource.signedInAccountIds`), and the account of a `signed-out-elsewhere`. `null`
   * otherwise.
   */
  readonly signedOut: string | null;
}

/** Options of {@link createTabAuth}. */
export interface TabAuthOptions {
  /**
   * How long one `getToken` call may take before it counts as failed. Defaults to 5000 ms.
   *
   * A timeout is paid once per epoch, not once per request: after a `getToken` call of the
   * current epoch timed out, the tab counts as having no token for the rest of the epoch, and
   * every later request gets `null` at once (the fail-closed marker rules apply, client.md
   * section 3 rule 5) instead of waiting for the timeout again. The retry of the timed-out call
   * (rule 3) runs in the background, once, after `tokenRetryDelayMs`; if it (or the timed-out
   * call itself, answering late) yields a usable token while the epoch is still current, the
   * tab uses the provider again. Risk: a provider that hangs twice in a row leaves the tab
   * without a token (anonymous, or on the cookie when it is the browser's only account) until
   * the next sign-in, sign-out or switch, or until the hung call answers.
   */
  tokenTimeoutMs?: number | undefined;
  /** The pause before the one retry of a failed or empty `getToken`. Defaults to 500 ms. */
  tokenRetryDelayMs?: number | undefined;
  /**
   * How long the account must stay unchanged for the auth state to count as settled (see
   * {@link TabAuth.settled}). Defaults to 300 ms.
   */
  settleMs?: number | undefined;
  /**
   * Whether every token request skips the provider's cache (`getToken({ skipCache: true })`).
   * Defaults to `false` (client.md section 3 rule 2): the provider answers from its own cache,
   * which is per session, so still this tab's token (Clerk then makes no network call per
   * request), and the cache is skipped only on the retry after a 401 `invalid_token`, on the
   * retry after a failed call, and when the cached token is within `refreshMarginMs` of its
   * `exp`. `true` costs a provider round trip per HTTP request (latency, the provider's rate
   * limits); use it only for a provider whose cache cannot be trusted to be this tab's.
   */
  alwaysSkipCache?: boolean | undefined;
  /**
   * How close to its expiry (the `exp` claim of the JWT's payload, decoded without verifying) a
   * token from the provider's cache must be for the tab to ask again with `skipCache`: when the
   * last token of this epoch is that close, the next request asks with `skipCache` directly; when
   * a cached answer is that close, it is asked for once more with `skipCache`. A token whose
   * `exp` cannot be decoded (not a JWT) counts as not close: the provider's cache decides, and a
   * refused one is renewed by the 401 `invalid_token` retry. Defaults to 10000 ms. Risk: a
   * margin shorter than the request's way to the server (plus clock skew between browser and
   * server) lets a token expire in flight (answered 401 `invalid_token`, then retried once).
   */
  refreshMarginMs?: number | undefined;
  /** Told about every failed `getToken` call (the link goes on without a token). Defaults to none. */
  onTokenError?: ((error: unknown) => void) | undefined;
  /**
   * How long {@link TabAuth.signOut} waits for its `beforeSignOut` steps (such as ending the
   * session) before it signs the tab out anyway. Defaults to 3000 ms.
   */
  signOutGraceMs?: number | undefined;
}

/** Options of {@link TabAuth.token}. */
export interface TokenOptions {
  /** The epoch the caller belongs to; the token is refused if it is no longer current. Defaults to the current one. */
  epoch?: number | undefined;
  /** Do not share a fetch already in flight (after a 401 `invalid_token`). Defaults to false. */
  fresh?: boolean | undefined;
}

/**
 * The auth state of one browser tab: its account, and an **epoch** counter that moves on every
 * sign-in, sign-out or account switch (client.md section 4). A call is tagged with the epoch it
 * started in; once the epoch moved on, its token is never attached and its answer is dropped.
 */
export interface TabAuth {
  /** The provider this state follows. */
  readonly source: AuthSource;
  /** The current epoch (starts at 0). */
  readonly epoch: number;
  /** The tab's current account id, `null` when signed out (as last reported by the source). */
  readonly accountId: string | null;
  /**
   * Fires when the current epoch ends (reason: an `isAuthChange` error). Read it when a call
   * starts: the auth link aborts the call's requests and streams with it.
   */
  readonly signal: AbortSignal;
  /**
   * Calls `listener` after every change, synchronously, in the order of changes. Repeated
   * reports of the same state are not changes. Returns the unsubscribe function.
   */
  subscribe(listener: (change: AuthChange) => void): () => void;
  /**
   * A fresh token for this tab, as the auth link gets one for each HTTP request. A signed-out
   * tab (`source.accountId()` is `null`) has none: `null` at once, without asking the provider
   * (nor waiting for a retry). Otherwise `getToken({ skipCache })` with a timeout (`skipCache`
   * only for `fresh`, a token near its expiry, a retry, or `alwaysSkipCache`), and one retry
   * (with `skipCache`) after a pause if it throws or gives nothing usable (`""`, `"null"`,
   * `"undefined"`). Resolves to `null` when there is no usable token. Callers of one epoch share a
   * fetch in flight; a failed one is not remembered, so the next call tries again, except a
   * timeout: after one, the rest of the epoch gets `null` at once (see `tokenTimeoutMs`).
   *
   * Rejects with a `TabrpcError` (`CLIENT_CLOSED_REQUEST`, see `isAuthChange`) as soon as the
   * epoch moves on: it never waits for the fetch, and never hands out a token fetched for an
   * older epoch.
   */
  token(options?: TokenOptions): Promise<string | null>;
  /**
   * Resolves once the account has stayed unchanged for `settleMs` (counted from now, restarted
   * by each change). Rejects with `signal.reason` if `signal` fires.
   */
  settled(signal?: AbortSignal): Promise<void>;
  /**
   * Starts this tab's sign-out **now**, before the provider's own sign-out (which notifies only
   * after its network round trip, e.g. Clerk's `signOut()`). From this call on the tab counts as
   * signed out: the epoch moves on (calls in flight are dropped), no token is fetched or
   * attached, requests carry the fail-closed marker (the shared cookie may still be the
   * account's), `accountId` is `null`, and subscribers get a `sign-out` change (so
   * `connectQueryClient` removes the account's queries at once). Nothing else happens when the
   * provider's notification follows. No effect on a signed-out tab.
   *
   * Ends by itself as soon as the source reports another account or session. If the provider's
   * sign-out fails, call the returned function: the tab follows the source again (a `sign-in`
   * change back to the account it still has).
   *
   * @example
   * ```ts
   * const undo = auth.beginSignOut();
   * await clerk.signOut().catch((error) => { undo(); throw error; });
   * ```
   */
  beginSignOut(): () => void;
  /**
   * Adds a step that {@link TabAuth.signOut} runs before the tab signs out, while its token is
   * still there (`connectSession` ends the session this way: a session linked to an account
   * answers only that account). Returns the function that removes it.
   */
  beforeSignOut(step: () => unknown): () => void;
  /**
   * Signs this tab out: runs the `beforeSignOut` steps (together, for at most `signOutGraceMs`;
   * a failing step does not stop the sign-out), then {@link TabAuth.beginSignOut} (signed out
   * here at once), then `providerSignOut` (e.g. `() => clerk.signOut()`). If that fails, the tab
   * follows the provider again (the undo of `beginSignOut`) and the promise rejects with its
   * error. Resolves at once on a signed-out tab; calls made while one is in flight share it.
   *
   * @example
   * ```ts
   * signOutButton.onclick = () => void auth.signOut(() => clerk.signOut());
   * ```
   */
  signOut(providerSignOut: () => unknown): Promise<void>;
  /** Re-reads the source now, as a change notification would. */
  refresh(): void;
  /** Stops following the source; calls waiting for a token are dropped. */
  dispose(): void;
}

interface Snapshot {
  readonly accountId: string | null;
  readonly sessionId: string | null;
}

function read(source: AuthSource): Snapshot {
  return { accountId: source.accountId(), sessionId: source.sessionId?.() ?? null };
}

/** The browser's signed-in accounts, `undefined` when the source does not tell (or not yet). */
function readIds(source: AuthSource): ReadonlySet<string> | undefined {
  const ids = source.signedInAccountIds?.();
  return ids === undefined || ids === null ? undefined : new Set(ids);
}

class TabAuthState implements TabAuth {
  readonly source: AuthSource;
  #epoch = 0;
  #state: Snapshot;
  /** The browser's signed-in accounts at the last read (`undefined`: unknown). */
  #ids: ReadonlySet<string> | undefined;
  /** Fires when the current epoch ends. */
  #controller = new AbortController();
  /** The source's state that `beginSignOut` hides until the source reports another one. */
  #leaving: Snapshot | undefined;
  /** The account this tab's last own sign-out (or switch away) reported, until it leaves the list. */
  #signedOutHere: string | null = null;
  /** The token fetch of the current epoch in flight, shared by its callers. */
  #inflight: Promise<string | null> | undefined;
  readonly #listeners = new Set<(change: AuthChange) => void>();
  readonly #unsubscribe: () => void;
  readonly #timeoutMs: number;
  readonly #retryDelayMs: number;
  readonly #settleMs: number;
  readonly #onTokenError: ((error: unknown) => void) | undefined;
  readonly #alwaysSkipCache: boolean;
  readonly #refreshMarginMs: number;
  /** The last usable token of the current epoch (to see when it nears its expiry). */
  #last: string | undefined;
  /** A `getToken` call of the current epoch timed out: no token until one answers (see `tokenTimeoutMs`). */
  #hung = false;
  readonly #signOutGraceMs: number;
  readonly #beforeSignOut = new Set<() => unknown>();
  /** The sign-out in flight, shared by repeated calls. */
  #signingOut: Promise<void> | undefined;

  constructor(source: AuthSource, options: TabAuthOptions) {
    this.source = source;
    this.#timeoutMs = options.tokenTimeoutMs ?? 5000;
    this.#retryDelayMs = options.tokenRetryDelayMs ?? 500;
    this.#settleMs = options.settleMs ?? 300;
    this.#onTokenError = options.onTokenError;
    this.#alwaysSkipCache = options.alwaysSkipCache ?? false;
    this.#refreshMarginMs = options.refreshMarginMs ?? 10_000;
    this.#signOutGraceMs = options.signOutGraceMs ?? 3000;
    this.#state = read(source);
    this.#ids = readIds(source);
    this.#unsubscribe = source.subscribe(() => this.refresh());
  }

  get epoch(): number {
    return this.#epoch;
  }

  get accountId(): string | null {
    return this.#state.accountId;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  subscribe(listener: (change: AuthChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  beginSignOut(): () => void {
    const leaving = read(this.source);
    if (leaving.accountId === null || this.#leaving !== undefined) return () => {};
    this.#leaving = leaving;
    this.refresh();
    return () => {
      if (this.#leaving !== leaving) return;
      this.#leaving = undefined;
      this.refresh();
    };
  }

  beforeSignOut(step: () => unknown): () => void {
    // A wrapper per registration, so the same function added twice is removed once per call.
    const entry = () => step();
    this.#beforeSignOut.add(entry);
    return () => this.#beforeSignOut.delete(entry);
  }

  signOut(providerSignOut: () => unknown): Promise<void> {
    if (this.#signingOut !== undefined) return this.#signingOut;
    if (this.accountId === null) return Promise.resolve();
    const run = this.#signOut(providerSignOut).finally(() => {
      if (this.#signingOut === run) this.#signingOut = undefined;
    });
    this.#signingOut = run;
    return run;
  }

  async #signOut(providerSignOut: () => unknown): Promise<void> {
    const steps = [...this.#beforeSignOut].map((step) => Promise.resolve().then(step).catch(() => undefined));
    // Bounded: a step that hangs (a server that does not answer) must not keep the tab signed in.
    await withTimeout(Promise.all(steps), this.#signOutGraceMs, "the steps before sign-out").catch(() => undefined);
    const undo = this.beginSignOut();
    try {
      await providerSignOut();
    } catch (error) {
      undo();
      throw error;
    }
  }

  /** The source's state, as this tab follows it: signed out while `beginSignOut` hides it. */
  #read(): Snapshot {
    const next = read(this.source);
    const leaving = this.#leaving;
    if (leaving === undefined) return next;
    if (next.accountId === leaving.accountId && next.sessionId === leaving.sessionId) {
      return { accountId: null, sessionId: null };
    }
    this.#leaving = undefined;
    return next;
  }

  refresh(): void {
    const next = this.#read();
    const previous = this.#state;
    const knownIds = this.#ids;
    const ids = readIds(this.source);
    // Unknown for now (a provider still loading): keep the last known list to compare with later.
    if (ids !== undefined) this.#ids = ids;
    // Accounts that were signed in at the last read and no longer are (signed out in any tab).
    const gone = knownIds === undefined || ids === undefined ? [] : [...knownIds].filter((id) => !ids.has(id));
    // Providers report the same state many times (Clerk calls its listeners on every resource
    // update): only a different account or session is a change.
    const changed = next.accountId !== previous.accountId || next.sessionId !== previous.sessionId;
    let covered: string | null = null;
    if (changed) {
      this.#state = next;
      this.#advance();
      const from = previous.accountId;
      const to = next.accountId;
      const type = from === null ? "sign-in" : to === null ? "sign-out" : "switch";
      let signedOut: string | null = null;
      if (type === "sign-out") signedOut = from;
      else if (type === "switch" && from !== to && ids?.has(from as string) === false) signedOut = from;
      covered = signedOut;
      if (signedOut !== null) this.#signedOutHere = signedOut;
      else if (to === this.#signedOutHere) this.#signedOutHere = null; // back: its next sign-out is news
      notifyAll(this.#listeners, { type, epoch: this.#epoch, previous: from, current: to, signedOut });
    }
    const current = this.#state.accountId;
    for (const id of gone) {
      // This tab's own account (or one the change above already reported) is not "elsewhere":
      // it goes with this tab's own sign-out or switch, which bumps the epoch.
      // Nor is the account this tab signed out before the provider's list caught up (it may
      // report the account and the list in separate updates, as after `beginSignOut`).
      if (id === this.#signedOutHere) {
        this.#signedOutHere = null;
        continue;
      }
      if (id === covered || id === current || id === previous.accountId) continue;
      notifyAll(this.#listeners, { type: "signed-out-elsewhere", epoch: this.#epoch, previous: current, current, signedOut: id });
    }
  }

  /** Ends the current epoch: whoever waits for its token is dropped at once. */
  #advance(): void {
    const ended = this.#epoch;
    this.#epoch += 1;
    this.#inflight = undefined;
    this.#last = undefined;
    this.#hung = false;
    const controller = this.#controller;
    this.#controller = new AbortController();
    controller.abort(authChangeError("", ended, this.#epoch));
  }

  async token(options: TokenOptions = {}): Promise<string | null> {
    const epoch = options.epoch ?? this.#epoch;
    if (epoch !== this.#epoch) throw authChangeError("", epoch, this.#epoch);
    // Signed out: there is no token to wait for (the provider would answer null, then the retry
    // pause would delay every anonymous request).
    if (this.#read().accountId === null) return null;
    // The provider timed out in this epoch: fail closed at once rather than wait again.
    if (this.#hung) return null;
    const { signal } = this.#controller;
    let fetch = this.#inflight;
    if (fetch === undefined || options.fresh === true) {
      const last = this.#last;
      const skipCache = this.#alwaysSkipCache || options.fresh === true || (last !== undefined && nearExpiry(last, this.#refreshMarginMs));
      const started = this.#fetchToken(signal, skipCache);
      fetch = started;
      this.#inflight = started;
      // Only a fetch in flight is shared: once settled (a token, or a failure) the next call
      // fetches again, so a failure never sticks.
      void started.then(() => {
        if (this.#inflight === started) this.#inflight = undefined;
      });
    }
    const token = await raceAbort(fetch, signal);
    if (epoch !== this.#epoch) throw authChangeError("", epoch, this.#epoch);
    return token;
  }

  /** One `getToken` call of epoch `epoch`, with the timeout. A late usable answer ends the epoch's `#hung`. */
  #ask(skipCache: boolean, epoch: number): Promise<string | null | undefined> {
    const answer = Promise.resolve().then(() => this.source.getToken({ skipCache }));
    answer.then(
      (token) => {
        if (this.#hung && epoch === this.#epoch && isUsableToken(token)) {
          this.#hung = false;
          this.#last = token;
        }
      },
      () => undefined,
    );
    return withTimeout(answer, this.#timeoutMs, "getToken");
  }

  /** `token`, remembered as the epoch's last one if `epoch` is still current. */
  #keep(token: string, epoch: number): string {
    if (epoch === this.#epoch) this.#last = token;
    return token;
  }

  /** Never rejects: a failure is `null` (no usable token). */
  async #fetchToken(signal: AbortSignal, skipCache: boolean): Promise<string | null> {
    const epoch = this.#epoch;
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        if (attempt > 0) await sleep(this.#retryDelayMs, signal);
        if (signal.aborted) return null;
        // The retry after a failure always skips the cache: a cached token may be the problem.
        const skip = skipCache || attempt > 0;
        const token = await this.#ask(skip, epoch);
        if (!isUsableToken(token)) continue;
        if (skip || !nearExpiry(token, this.#refreshMarginMs)) return this.#keep(token, epoch);
        // The provider's cached token is about to expire: ask past its cache, once, at once.
        const renewed = await this.#ask(true, epoch);
        if (isUsableToken(renewed)) return this.#keep(renewed, epoch);
      } catch (error) {
        if (signal.aborted) return null;
        this.#onTokenError?.(error);
        if (error instanceof TimeoutError) {
          this.#timedOut(signal, epoch);
          return null;
        }
      }
    }
    return null;
  }

  /**
   * A `getToken` call of `epoch` timed out: the rest of the epoch fails closed at once, and the
   * retry runs in the background (once) instead of making this request wait for a second timeout.
   */
  #timedOut(signal: AbortSignal, epoch: number): void {
    if (epoch !== this.#epoch || this.#hung) return;
    this.#hung = true;
    void (async () => {
      try {
        await sleep(this.#retryDelayMs, signal);
        // A usable answer ends `#hung` (in `#ask`).
        await this.#ask(true, epoch);
      } catch (error) {
        if (!signal.aborted) this.#onTokenError?.(error);
      }
    })();
  }

  async settled(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const epoch = this.#epoch;
      await sleep(this.#settleMs, signal);
      if (epoch === this.#epoch) return;
    }
  }

  dispose(): void {
    this.#unsubscribe();
    this.#listeners.clear();
    this.#controller.abort(authChangeError("", this.#epoch, this.#epoch));
  }
}

/**
 * Follows `source` for one tab: the epoch, the current account, change events, and the tab's
 * token for each HTTP request. Create one per tab and give it to `tabLinks`: the client, its
 * option builders, `connectQueryClient` and `connectSession` read it from there.
 *
 * @example
 * ```ts
 * const auth = createTabAuth(clerkAuthSource(window.Clerk));
 * const client = createClient(procedures, { links: tabLinks({ url: "/trpc", auth }) });
 * ```
 */
export function createTabAuth(source: AuthSource, options: TabAuthOptions = {}): TabAuth {
  return new TabAuthState(source, options);
}
