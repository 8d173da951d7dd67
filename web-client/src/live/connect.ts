/**
 * One call that keeps the tab's live-invalidation stream open (live.md section 2).
 *
 * @module
 */
import type { QueryClient } from "@tanstack/query-core";
import { isAuthChange } from "../auth/tabAuth.js";
import type { Client, ProcedureMap, SubscribeOptions, Unsubscribable } from "../client.js";
import { TabrpcError } from "../error.js";
import { internalsOf } from "../internals/tab.js";
import { isViewerMismatch } from "../query/viewerCall.js";
import { isSessionChange } from "../session/change.js";
import type { LiveEvent } from "./events.js";
import { eventFilter, parseLiveEvent, type StreamOwner } from "./match.js";

/** The paths of the subscriptions of `TProcs`. */
export type SubscriptionPath<TProcs extends ProcedureMap> = {
  [K in keyof TProcs & string]: TProcs[K]["kind"] extends "subscription" ? K : never;
}[keyof TProcs & string];

/** Options of {@link connectLive}. */
export interface ConnectLiveOptions<TPath extends string = string> {
  /** The subscription procedure that streams the events. Defaults to `"live.events"`. */
  procedure?: TPath | undefined;
  /**
   * The pause before opening the stream again after it failed (a server error, an unreachable
   * server: drops of an open stream are resumed by the subscription link itself), doubled after
   * each failure in a row up to `maxRetryDelayMs`, each pause drawn between half and all of it
   * (so that tabs do not all come back at once after a server restart). Defaults to 1000 ms.
   */
  retryDelayMs?: number | undefined;
  /** The longest pause between attempts. Defaults to 30 000 ms. */
  maxRetryDelayMs?: number | undefined;
  /** Told about each event applied (after its queries were invalidated). Defaults to none. */
  onEvent?: ((event: LiveEvent) => void) | undefined;
  /** Told about each failure of the stream (it is retried, or waits for the next epoch). Defaults to none. */
  onError?: ((error: unknown) => void) | undefined;
}

/**
 * Where the stream is: `connecting` (opened, the server has not said `ready`), `connected`,
 * `reconnecting` (it failed and is opened again after a pause), `failed` (refused for good,
 * e.g. no such procedure: opened again only at the next epoch or session change), `stopped`.
 */
export type LiveStatus = "connecting" | "connected" | "reconnecting" | "failed" | "stopped";

/** What {@link LiveConnection.state} tells a UI. */
export interface LiveState {
  readonly status: LiveStatus;
  /** The account of the stream: the server's `ready` once connected, the tab's before (`null`: anonymous). */
  readonly account: string | null;
  /** The session id the stream names (`null`: none; the server's `ready` once connected). */
  readonly session: string | null;
  /** The auth epoch the stream belongs to (client.md section 4). */
  readonly epoch: number;
  /** Events received (not `ready`) since `connectLive`, whatever their scope. */
  readonly received: number;
  /** Events that invalidated queries of this tab (their scope was the stream's). */
  readonly applied: number;
  /** Events dropped: received after their stream's epoch (or session) ended, or unreadable. */
  readonly dropped: number;
  /** Times the stream was opened again in one epoch (after a drop or a failure). */
  readonly reconnects: number;
  /** The last event received (not `ready`), and when (`Date.now()`). */
  readonly lastEvent: { readonly type: LiveEvent["type"]; readonly at: number } | null;
  /** The last failure, while `reconnecting` or `failed`. */
  readonly error: unknown;
}

/**
 * What {@link connectLive} returns: call it to stop (the stream closes); `state` and
 * `subscribe` for UIs.
 */
export interface LiveConnection {
  (): void;
  /** The state now. */
  readonly state: LiveState;
  /** Calls `listener` after every change of {@link LiveConnection.state}. Returns the unsubscribe function. */
  subscribe(listener: (state: LiveState) => void): () => void;
}

/**
 * The options argument of {@link connectLive}: optional when the procedures have the
 * subscription `live.events`, else it must name the procedure.
 */
export type ConnectLiveArgs<TProcs extends ProcedureMap> = "live.events" extends SubscriptionPath<TProcs>
  ? [options?: ConnectLiveOptions<SubscriptionPath<TProcs>>]
  : [options: ConnectLiveOptions<SubscriptionPath<TProcs>> & { procedure: SubscriptionPath<TProcs> }];

type Subscribable = { subscribe(input: undefined, options: SubscribeOptions<unknown>): Unsubscribable };

/**
 * Refused for good: a retry would get the same answer. 408, 429, a 403 `viewer_mismatch`
 * (transient during an account switch) and, for a signed-in tab, 401 (a token refused or
 * expired: the next one may pass) are worth retrying; an anonymous tab's 401 is not (it has no
 * token to renew).
 */
function isPermanent(error: unknown, anonymous: boolean): boolean {
  if (!(error instanceof TabrpcError) || isViewerMismatch(error)) return false;
  const status = error.httpStatus;
  if (status === 401) return anonymous;
  return status >= 400 && status < 500 && status !== 408 && status !== 429 && status !== 499;
}

/**
 * Keeps this tab's live-invalidation stream open and applies its events to `queryClient`
 * (live.md section 2). The stream is the subscription `procedure` (`live.events`), opened
 * through the client's links like any call: with the tab's own token (`authLink`) and its
 * session id (`sessionLink`), for the tab's current account.
 *
 * - **Epochs**: at every sign-in, sign-out, account switch (client.md section 4) and change of
 *   the tab's session id, the stream is closed and a new one is opened for the new state. An
 *   event that arrives on a stream whose epoch (or session id) has ended is dropped.
 * - **Only this stream's keys**: an `invalidate` event for the stream's account touches only
 *   keys `[[...path], { input: { viewerId: <that account>, … } }]`; for its session id, keys
 *   whose input has that `sessionId` (and the account's `viewerId`); a `public` one, keys of the
 *   account, anonymous keys (`viewerId: null`) and keys naming no account: never another
 *   account's. Paths match exactly, prefixes on a dot boundary (`cart` is `cart` and `cart.*`);
 *   an `input` subset keeps only keys whose input has those fields with equal values. An
 *   event for a scope the stream was not opened for is ignored.
 * - **Reset**: every query of that scope is invalidated. A new stream (a new epoch, a failure
 *   retried) hears nothing of what happened before it: once it is `ready`, the queries of its
 *   scopes whose data is older than the stream are invalidated (e.g. the cache of an account the
 *   tab comes back to). Queries fetched after it was opened are left alone.
 * - Invalidated queries that are in use refetch at once, in background tabs too (with the tab's
 *   own token); the others refetch when next used (`invalidateQueries`).
 * - **Drops**: the subscription link resumes a dropped stream after a pause with
 *   `Last-Event-ID` (the server replays what was missed, or says `reset`); a stream that fails
 *   is opened again after a growing pause (`retryDelayMs`), one that is refused (a 4xx other
 *   than 408, 429, a 403 `viewer_mismatch` and a signed-in tab's 401) waits for the next epoch
 *   or session id (a session of another account is replaced by `connectSession`, which opens a
 *   new stream).
 * - Nothing runs unless this is called: no connection, no timer.
 *
 * Throws `TypeError` for a client without `authLink`, or whose procedures table has no
 * subscription `procedure` (a compile error when its procedure types have none).
 *
 * @example
 * ```ts
 * const live = connectLive(client, queryClient);
 * live.subscribe((state) => (statusLine.textContent = state.status));
 * // later: live();
 * ```
 */
export function connectLive<TProcs extends ProcedureMap>(client: Client<TProcs>, queryClient: QueryClient, ...args: ConnectLiveArgs<TProcs>): LiveConnection {
  const options: ConnectLiveOptions = args[0] ?? {};
  const { auth, session, procedures } = internalsOf(client, "connectLive");
  if (auth === undefined) throw new TypeError("tabrpc: connectLive: the client has no authLink (build its links with tabLinks({ url, auth }))");
  const path = options.procedure ?? "live.events";
  const entry = Object.hasOwn(procedures, path) ? procedures[path] : undefined;
  if (entry?.kind !== "subscription") throw new TypeError(`tabrpc: connectLive: the procedures table has no subscription ${path}`);
  const usesSession = entry.scopes.includes("session") && session !== undefined;
  const firstDelay = Math.max(1, options.retryDelayMs ?? 1000);
  const maxDelay = Math.max(firstDelay, options.maxRetryDelayMs ?? 30_000);
  let procedure: unknown = client;
  for (const segment of path.split(".")) procedure = (procedure as Record<string, unknown>)[segment];

  const listeners = new Set<(state: LiveState) => void>();
  let state: LiveState = {
    status: "connecting",
    account: auth.accountId,
    session: null,
    epoch: auth.epoch,
    received: 0,
    applied: 0,
    dropped: 0,
    reconnects: 0,
    lastEvent: null,
    error: undefined,
  };
  const update = (patch: Partial<LiveState>) => {
    state = { ...state, ...patch };
    for (const listener of [...listeners]) {
      try {
        listener(state);
      } catch (error) {
        options.onError?.(error);
      }
    }
  };

  let stopped = false;
  /** Bumped whenever a stream is opened or given up: events of older ones are dropped. */
  let generation = 0;
  let stream: Unsubscribable | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** Failures in a row in this epoch (for the pause). */
  let failures = 0;

  const close = () => {
    generation += 1;
    clearTimeout(timer);
    timer = undefined;
    const previous = stream;
    stream = undefined;
    previous?.unsubscribe();
  };

  /** Invalidates the queries whose key passes `filter` (and whose data is older than `before`, if given). */
  const invalidate = (filter: (key: readonly unknown[]) => boolean, before?: number) =>
    void queryClient
      .invalidateQueries({
        predicate: (query) => filter(query.queryKey) && (before === undefined || (query.state.dataUpdatedAt > 0 && query.state.dataUpdatedAt < before)),
      })
      .catch((error: unknown) => options.onError?.(error));

  /** Opens a stream for the tab's state of now; `gap`: an earlier stream of this epoch failed. */
  const open = (gap: boolean) => {
    close();
    if (stopped) return;
    const sessionId = usesSession ? (session?.id ?? null) : null;
    const owner: StreamOwner = { account: auth.accountId, session: sessionId };
    const epoch = auth.epoch;
    const sessionEpoch = session?.epoch;
    update({ status: gap ? "reconnecting" : "connecting", account: owner.account, session: owner.session, epoch, error: undefined });
    // Waits for the tab's session id (server rendering, a copied tab's check): its arrival is a
    // session change, which opens the stream.
    if (usesSession && sessionId === null) return;
    const mine = ++generation;
    const openedAt = Date.now();
    /** This stream is still the tab's: same epoch, same session id, not replaced. */
    const current = () => mine === generation && !stopped && auth.epoch === epoch && (!usesSession || session?.epoch === sessionEpoch);
    let readies = 0;
    const fail = (error: unknown) => {
      if (!current()) return;
      // The epoch or the session id moved on: their listeners open the next stream.
      if (isAuthChange(error) || isSessionChange(error)) return;
      options.onError?.(error);
      close();
      if (isPermanent(error, owner.account === null)) {
        update({ status: "failed", error });
        return;
      }
      const ceiling = Math.min(maxDelay, firstDelay * 2 ** Math.min(failures, 30));
      failures += 1;
      update({ status: "reconnecting", error });
      timer = setTimeout(() => open(true), ceiling / 2 + (Math.random() * ceiling) / 2);
    };
    stream = (procedure as Subscribable).subscribe(undefined, {
      context: usesSession ? { viewerId: owner.account, sessionId } : { viewerId: owner.account },
      onData: (value) => {
        if (!current()) {
          update({ dropped: state.dropped + 1 });
          return;
        }
        const event = parseLiveEvent(value);
        if (event === undefined) {
          update({ dropped: state.dropped + 1 });
          options.onError?.(new TypeError(`tabrpc: connectLive: ${path} sent something that is not a live event`));
          return;
        }
        if (event.type === "ready") {
          if (event.account !== owner.account) {
            // Answered for another account than the tab's: nothing of it may touch the cache.
            fail(new TabrpcError({ code: "BAD_GATEWAY", message: `The live stream was opened for ${owner.account ?? "nobody"} but answered for ${event.account ?? "nobody"}`, httpStatus: 0, path }));
            return;
          }
          readies += 1;
          const resumed = readies > 1;
          failures = 0;
          update({ status: "connected", account: event.account, session: event.session, reconnects: state.reconnects + (gap || resumed ? 1 : 0), error: undefined });
          // A new stream hears nothing of what happened before it: the account's and session's
          // data cached before it was opened (from an earlier epoch of the same account, before
          // a failure) may have missed events. A stream the subscription link resumed gets them
          // replayed (or a reset) instead.
          if (readies === 1) {
            const filter = eventFilter({ type: "reset", scope: null }, owner);
            if (filter !== undefined) invalidate(filter, openedAt);
          }
          return;
        }
        const filter = eventFilter(event, owner);
        update({ received: state.received + 1, applied: state.applied + (filter === undefined ? 0 : 1), lastEvent: { type: event.type, at: Date.now() } });
        if (filter === undefined) return;
        invalidate(filter);
        options.onEvent?.(event);
      },
      onError: fail,
      // A live stream does not end: the server stopped it (a restart, a deploy). Open a new one.
      onComplete: () => fail(new TabrpcError({ code: "SERVICE_UNAVAILABLE", message: `The live stream ${path} ended`, httpStatus: 0, path })),
    });
  };

  /** A new epoch (or session id): a new stream, the pause starts over. */
  const restart = () => {
    failures = 0;
    open(false);
  };
  const stopAuth = auth.subscribe((change) => {
    // Another tab's sign-out: this tab's account and epoch did not change.
    if (change.type !== "signed-out-elsewhere") restart();
  });
  const stopSession = usesSession ? session?.subscribe(restart) : undefined;
  restart();

  const stop = () => {
    if (stopped) return;
    stopped = true;
    stopAuth();
    stopSession?.();
    close();
    update({ status: "stopped" });
    listeners.clear();
  };
  return Object.defineProperties(stop, {
    state: { get: () => state, enumerable: true },
    subscribe: {
      value: (listener: (state: LiveState) => void) => {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
    },
  }) as LiveConnection;
}
