import { TabrpcError } from "../error.js";
import { AuthChangeCause, authChangeError, isUsableToken, notifyAll, raceAbort, sleep, withTimeout } from "../internals/auth.js";
import type { AuthSource } from "./source.js";

/**
 * Whether `error` is a call the auth link cancelled or dropped because the tab signed in, signed
 * out or switched accounts while it was in flight (its answer would belong to the old state).
 * Such a failure is expected: do not show it. A `TabrpcError` with code `CLIENT_CLOSED_REQUEST`.
 */
export function isAuthChange(error: unknown): error is TabrpcError {
  return error instanceof TabrpcError && error.cause instanceof AuthChangeCause;
}

/** What changed in this tab, as {@link TabAuth.subscribe} reports it. */
export interface AuthChange {
  /**
   * `sign-in`: from no account to one; `sign-out`: from an account to none; `switch`: from one
   * account (or session) to another.
   */
  readonly type: "sign-in" | "sign-out" | "switch";
  /** The epoch after the change. */
  readonly epoch: number;
  /** The account before the change (`null`: signed out). */
  readonly previous: string | null;
  /** The account after the change (`null`: signed out). */
  readonly current: string | null;
  /**
   * The account whose data must go: `previous` on a sign-out, and on a switch away from an
   * account that is no longer signed in (when the source tells, see
   * `AuthSource.signedInAccountIds`). `null` otherwise.
   */
  readonly signedOut: string | null;
}

/** Options of {@link createTabAuth}. */
export interface TabAuthOptions {
  /** How long one `getToken` call may take before it counts as failed. Defaults to 5000 ms. */
  tokenTimeoutMs?: number | undefined;
  /** The pause before the one retry of a failed or empty `getToken`. Defaults to 500 ms. */
  tokenRetryDelayMs?: number | undefined;
  /**
   * How long the account must stay unchanged for the auth state to count as settled (see
   * {@link TabAuth.settled}). Defaults to 300 ms.
   */
  settleMs?: number | undefined;
  /**
   * Whether every token request skips the provider's cache (`getToken({ skipCache: true })`,
   * client.md section 3). `false` lets the provider answer from its cache (its cache is per
   * session, so still this tab's token; Clerk then makes no network call per request), and only
   * the retry after a 401 `invalid_token` skips it. Defaults to `true`.
   */
  alwaysSkipCache?: boolean | undefined;
  /** Told about every failed `getToken` call (the link goes on without a token). Defaults to none. */
  onTokenError?: ((error: unknown) => void) | undefined;
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
   * Calls `listener` after every change, synchronously, in the order of changes. Repeated
   * reports of the same state are not changes. Returns the unsubscribe function.
   */
  subscribe(listener: (change: AuthChange) => void): () => void;
  /**
   * A fresh token for this tab, as the auth link gets one for each HTTP request: `getToken({
   * skipCache: true })` (see `alwaysSkipCache`) with a timeout, and one retry after a pause if it
   * throws, times out or gives nothing usable (`""`, `"null"`, `"undefined"`). Resolves to
   * `null` when there is no usable token. Callers of one epoch share a fetch in flight; a failed
   * one is not remembered, so the next call tries again.
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

class TabAuthState implements TabAuth {
  readonly source: AuthSource;
  #epoch = 0;
  #state: Snapshot;
  /** Fires when the current epoch ends. */
  #controller = new AbortController();
  /** The token fetch of the current epoch in flight, shared by its callers. */
  #inflight: Promise<string | null> | undefined;
  readonly #listeners = new Set<(change: AuthChange) => void>();
  readonly #unsubscribe: () => void;
  readonly #timeoutMs: number;
  readonly #retryDelayMs: number;
  readonly #settleMs: number;
  readonly #onTokenError: ((error: unknown) => void) | undefined;
  readonly #alwaysSkipCache: boolean;

  constructor(source: AuthSource, options: TabAuthOptions) {
    this.source = source;
    this.#timeoutMs = options.tokenTimeoutMs ?? 5000;
    this.#retryDelayMs = options.tokenRetryDelayMs ?? 500;
    this.#settleMs = options.settleMs ?? 300;
    this.#onTokenError = options.onTokenError;
    this.#alwaysSkipCache = options.alwaysSkipCache ?? true;
    this.#state = read(source);
    this.#unsubscribe = source.subscribe(() => this.refresh());
  }

  get epoch(): number {
    return this.#epoch;
  }

  get accountId(): string | null {
    return this.#state.accountId;
  }

  subscribe(listener: (change: AuthChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  refresh(): void {
    const next = read(this.source);
    const previous = this.#state;
    // Providers report the same state many times (Clerk calls its listeners on every resource
    // update): only a different account or session is a change.
    if (next.accountId === previous.accountId && next.sessionId === previous.sessionId) return;
    this.#state = next;
    this.#advance();
    const from = previous.accountId;
    const to = next.accountId;
    const type = from === null ? "sign-in" : to === null ? "sign-out" : "switch";
    let signedOut: string | null = null;
    if (type === "sign-out") signedOut = from;
    else if (type === "switch" && from !== to && this.source.signedInAccountIds?.().includes(from as string) === false) {
      signedOut = from;
    }
    notifyAll(this.#listeners, { type, epoch: this.#epoch, previous: from, current: to, signedOut });
  }

  /** Ends the current epoch: whoever waits for its token is dropped at once. */
  #advance(): void {
    const ended = this.#epoch;
    this.#epoch += 1;
    this.#inflight = undefined;
    const controller = this.#controller;
    this.#controller = new AbortController();
    controller.abort(authChangeError("", ended, this.#epoch));
  }

  async token(options: TokenOptions = {}): Promise<string | null> {
    const epoch = options.epoch ?? this.#epoch;
    if (epoch !== this.#epoch) throw authChangeError("", epoch, this.#epoch);
    const { signal } = this.#controller;
    let fetch = this.#inflight;
    if (fetch === undefined || options.fresh === true) {
      const started = this.#fetchToken(signal, this.#alwaysSkipCache || options.fresh === true);
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

  /** Never rejects: a failure is `null` (no usable token). */
  async #fetchToken(signal: AbortSignal, skipCache: boolean): Promise<string | null> {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        if (attempt > 0) await sleep(this.#retryDelayMs, signal);
        if (signal.aborted) return null;
        const token = await withTimeout(
          // The retry after a failure always skips the cache: a cached token may be the problem.
          Promise.resolve().then(() => this.source.getToken({ skipCache: skipCache || attempt > 0 })),
          this.#timeoutMs,
          "getToken",
        );
        if (isUsableToken(token)) return token;
      } catch (error) {
        if (signal.aborted) return null;
        this.#onTokenError?.(error);
      }
    }
    return null;
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
 * token for each HTTP request. Create one per tab and share it between `authLink`, the query
 * integration and `connectQueryClient`.
 *
 * @example
 * ```ts
 * const auth = createTabAuth(clerkAuthSource(window.Clerk));
 * const client = createClient<Procedures>({ links: [authLink({ auth }), httpBatchLink({ url })] });
 * ```
 */
export function createTabAuth(source: AuthSource, options: TabAuthOptions = {}): TabAuth {
  return new TabAuthState(source, options);
}
