/**
 * The tab's session id (client.md section 6): made by the client, kept in web storage, followed
 * across tabs, and replaced by {@link SessionStore.refresh}.
 *
 * @module
 */
import { notifyAll } from "../internals/auth.js";
import { digestOf, generateSessionId, isSessionId } from "./id.js";
import { resolveStorage, StorageSlot, type SessionPersistence, type SessionStorageOption, type StorageWindow } from "./storage.js";
import { TabClaims, type CopyCheckOptions } from "./tabClaims.js";

/** What changed, as {@link SessionStore.subscribe} reports it. */
export interface SessionChange {
  /**
   * `start`: the first id (`previous` is `null`); `refresh`: {@link SessionStore.refresh};
   * `storage`: another tab changed the shared id (`localStorage` mode); `copy`: this tab was
   * found to share its id with a live tab it was copied from, and took a new one.
   */
  readonly type: "start" | "refresh" | "storage" | "copy";
  /** The id before (`null` before the first one). */
  readonly previous: string | null;
  /** The id now. */
  readonly current: string;
  /** The epoch after the change. */
  readonly epoch: number;
}

/** The window a store belongs to: its storages, and the events it follows. */
export interface SessionWindow extends StorageWindow {
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
}

/** Options of {@link createSessionStore}. */
export interface SessionStoreOptions {
  /**
   * Where the id is kept: `"session"` (one per tab), `"local"` (one per browser: every tab
   * follows changes through `storage` events), `"memory"` (this page only), or a storage object
   * of your own (`getItem`/`setItem`/`removeItem`, synchronous). Defaults to `"session"`. A
   * storage that throws (private modes, sandboxed frames, a full quota) is replaced by memory
   * for the rest of the page's life, and `onStorageError` is told; the id then lasts until
   * reload.
   */
  storage?: SessionStorageOption | undefined;
  /** The storage key. Defaults to `tabrpc.sessionId`. */
  key?: string | undefined;
  /**
   * Server-rendering mode: the store has no id until {@link SessionStore.start} is called (call
   * it in the browser after hydration, e.g. in a `useEffect`), so that the server's HTML and the
   * first browser render agree. Meanwhile queries of session procedures built by
   * `createOptionsProxy` are disabled, and calls through `sessionLink` wait for the id.
   * Defaults to `true` when the storage is `"session"` or `"local"` and there is no `window`
   * (on a server), else `false` (the id is read or made at once).
   */
  serverRendering?: boolean | undefined;
  /**
   * The copied-tab check of `"session"` mode (see {@link createSessionStore}); `false` turns it
   * off. Defaults to `{ probeMs: 300, releaseMs: 1000 }` (a busy opener may need a few hundred ms to answer). Ignored in the other modes.
   */
  copyCheck?: CopyCheckOptions | false | undefined;
  /**
   * The window whose storages and events (`storage`, `pagehide`, `pageshow`) the store uses.
   * Defaults to the global `window` when there is one.
   */
  window?: SessionWindow | undefined;
  /** Told about a storage failure (the store then keeps the id in memory). Defaults to none. */
  onStorageError?: ((error: unknown) => void) | undefined;
}

/**
 * The session id of one tab (or one browser, in `localStorage` mode). Give it to `tabLinks`: the
 * client, its option builders, `connectQueryClient` and `connectSession` read it from there.
 */
export interface SessionStore {
  /**
   * The current id (a lower-case UUID v4), or `null` until there is one: in server-rendering
   * mode before {@link SessionStore.start}, and in a tab whose stored id is being checked for a
   * copy (a few hundred milliseconds at most).
   */
  readonly id: string | null;
  /** Moves on each time the id changes from one id to another (starts at 0). */
  readonly epoch: number;
  /** Where the id is kept now: `"memory"` also after a storage failure. */
  readonly persistence: SessionPersistence;
  /** Resolves with the id as soon as there is one. Rejects with `signal.reason` if `signal` fires, and when the store is disposed. */
  ready(signal?: AbortSignal): Promise<string>;
  /**
   * Calls `listener` after every change of id, synchronously, in order. Returns the
   * unsubscribe function.
   */
  subscribe(listener: (change: SessionChange) => void): () => void;
  /**
   * Replaces the id; call it at sign-in and sign-out. Makes a new id, runs
   * `beforeUpdate(newId, oldId)` while the old id is still current (session calls made meanwhile
   * still carry the old id: e.g. `session.rotate`, which moves the session's data to the new id),
   * and switches to the new id only if it resolves. Then the epoch moves on (answers to calls
   * made with the old id are dropped, see `sessionLink`), the id is stored, and listeners are
   * told (`connectQueryClient` removes the old id's queries).
   *
   * Serialised: a refresh starts once the previous one has finished, so two never interleave.
   * Resolves with the new id; rejects with `beforeUpdate`'s error (the old id stays) or when no
   * id can be made. Waits for the first id if there is none yet. Never call it from inside
   * `beforeUpdate` (it would wait for itself).
   */
  refresh(beforeUpdate?: (newId: string, oldId: string) => unknown): Promise<string>;
  /** Reads or makes the id, in server-rendering mode (else it is done at creation). Idempotent. */
  start(): void;
  /** Stops following storage and page events; pending `ready` calls reject. */
  dispose(): void;
}

class SessionStoreState implements SessionStore {
  #id: string | null = null;
  #epoch = 0;
  #started = false;
  #disposed = false;
  readonly #slot: StorageSlot;
  /** `sessionStorage` mode: the marker a page leaves for its successor in the same tab. */
  readonly #handoff: StorageSlot | null;
  readonly #mode: SessionPersistence;
  readonly #window: SessionWindow | undefined;
  readonly #copyCheck: CopyCheckOptions | false;
  readonly #key: string;
  #claims: TabClaims | null = null;
  readonly #listeners = new Set<(change: SessionChange) => void>();
  readonly #waiters = new Set<{ resolve: (id: string) => void; reject: (error: unknown) => void }>();
  #queue: Promise<unknown> = Promise.resolve();
  readonly #cleanup: (() => void)[] = [];

  constructor(options: SessionStoreOptions) {
    const option = options.storage ?? "session";
    this.#key = options.key ?? "tabrpc.sessionId";
    this.#window = options.window ?? (globalThis as { window?: SessionWindow }).window;
    this.#copyCheck = options.copyCheck ?? {};
    const onError = (error: unknown) => options.onStorageError?.(error);
    const storage = resolveStorage(option, this.#window, onError);
    this.#mode = typeof option === "string" ? option : "custom";
    this.#slot = new StorageSlot(storage, this.#key, onError);
    // Failures of the marker are not worth reporting: without it a reload just checks for a copy.
    this.#handoff = this.#mode === "session" ? new StorageSlot(storage, `${this.#key}.handoff`, () => undefined) : null;
    const onServer = this.#window === undefined && (option === "session" || option === "local");
    if (!(options.serverRendering ?? onServer)) this.start();
  }

  get id(): string | null {
    return this.#id;
  }

  get epoch(): number {
    return this.#epoch;
  }

  get persistence(): SessionPersistence {
    return this.#slot.storage === null ? "memory" : this.#mode;
  }

  ready(signal?: AbortSignal): Promise<string> {
    if (this.#id !== null) return Promise.resolve(this.#id);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#disposed) return Promise.reject(new Error("tabrpc: the session store was disposed"));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(waiter);
        reject(signal?.reason);
      };
      const waiter = {
        resolve: (id: string) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(id);
        },
        reject: (error: unknown) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  subscribe(listener: (change: SessionChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  refresh(beforeUpdate?: (newId: string, oldId: string) => unknown): Promise<string> {
    const run = this.#queue.then(() => this.#refresh(beforeUpdate));
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #refresh(beforeUpdate: ((newId: string, oldId: string) => unknown) | undefined): Promise<string> {
    const oldId = this.#id ?? (await this.ready());
    const newId = generateSessionId();
    if (beforeUpdate !== undefined) await beforeUpdate(newId, oldId);
    if (this.#disposed) throw new Error("tabrpc: the session store was disposed during refresh");
    this.#adopt(newId, "refresh");
    return newId;
  }

  start(): void {
    if (this.#started || this.#disposed) return;
    this.#started = true;
    this.#listen();
    const stored = this.#slot.read();
    if (!isSessionId(stored)) {
      // Missing, or not an id (tampered with, another app's key, an old format): a new one.
      this.#adopt(generateSessionId(), "start");
      return;
    }
    const id = stored.toLowerCase();
    if (id !== stored) this.#slot.write(id);
    const claims = this.#claims;
    if (claims === null || this.#handoff === null) {
      this.#set(id, "start");
      return;
    }
    // The id came from sessionStorage, which the browser copies into tabs opened by
    // `window.open` and into duplicated tabs. The page before this one in the same tab leaves
    // a marker at `pagehide`; a copy made while the original was alive has none.
    const handedOver = this.#handoff.read() === digestOf(id);
    this.#handoff.remove();
    if (handedOver) {
      this.#set(id, "start");
      claims.own(id);
      // Still ask: a tab duplicated while on another site kept the marker too.
      void this.#recheck(id);
      return;
    }
    void claims.verify(id).then((verdict) => {
      if (this.#disposed || this.#id !== null) return;
      if (verdict === "copy") this.#adopt(generateSessionId(), "start");
      else {
        // A page of this tab that was still unloading wrote its marker meanwhile: stale now.
        this.#handoff?.remove();
        claims.own(id);
        this.#set(id, "start");
      }
    });
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const stop of this.#cleanup.splice(0)) stop();
    this.#claims?.dispose();
    this.#listeners.clear();
    const error = new Error("tabrpc: the session store was disposed");
    for (const waiter of [...this.#waiters]) waiter.reject(error);
    this.#waiters.clear();
  }

  /** Stores `id`, answers for it, and makes it current. */
  #adopt(id: string, type: SessionChange["type"]): void {
    this.#slot.write(id);
    this.#claims?.own(id);
    this.#set(id, type);
  }

  #set(id: string, type: SessionChange["type"]): void {
    const previous = this.#id;
    if (previous === id) return;
    this.#id = id;
    if (previous !== null) this.#epoch += 1;
    for (const waiter of [...this.#waiters]) waiter.resolve(id);
    this.#waiters.clear();
    notifyAll(this.#listeners, { type, previous, current: id, epoch: this.#epoch });
  }

  /** Checks an id already in use; a live tab that keeps it makes this one take a new id. */
  async #recheck(id: string): Promise<void> {
    const verdict = (await this.#claims?.verify(id)) ?? "own";
    if (verdict === "copy" && this.#id === id && !this.#disposed) this.#adopt(generateSessionId(), "copy");
  }

  #on(type: string, listener: (event: Event) => void): void {
    const win = this.#window;
    if (win === undefined) return;
    win.addEventListener(type, listener);
    this.#cleanup.push(() => win.removeEventListener(type, listener));
  }

  #listen(): void {
    if (this.#mode === "local") this.#on("storage", (event) => this.#onStorage(event as StorageEvent));
    // Only an id read from a real sessionStorage can be a copy (a memory fallback never is).
    if (this.#mode !== "session" || this.#copyCheck === false || this.#slot.storage === null) return;
    try {
      this.#claims = new TabClaims(`tabrpc.session ${this.#key}`, this.#copyCheck);
    } catch {
      // No Web Crypto for the page's name on the channel: no id can be made either, and
      // `start` says so; an id already stored is used without the check.
      return;
    }
    this.#on("pagehide", () => {
      if (this.#id !== null) this.#handoff?.write(digestOf(this.#id));
      this.#claims?.hide();
    });
    this.#on("pageshow", (event) => {
      if (!(event as PageTransitionEvent).persisted || this.#id === null) return;
      // Back from the back/forward cache: the marker is ours, and the tab may have been
      // duplicated meanwhile.
      this.#handoff?.remove();
      this.#claims?.show();
      void this.#recheck(this.#id);
    });
  }

  /** `localStorage` mode: another tab wrote the key (or cleared the storage). */
  #onStorage(event: StorageEvent): void {
    if (event.key !== this.#key && event.key !== null) return;
    if (event.storageArea != null && event.storageArea !== this.#slot.storage) return;
    const value = this.#slot.read();
    if (isSessionId(value)) {
      const id = value.toLowerCase();
      if (id !== this.#id && this.#id !== null) this.#set(id, "storage");
      return;
    }
    // Removed, cleared or overwritten with garbage: put the current id back. Every tab has the
    // same one, so they all write the same value and agree.
    if (this.#id !== null) this.#slot.write(this.#id);
  }
}

/**
 * Creates the session store of this tab (client.md section 6): one opaque id, a random UUID v4
 * made by the client (`crypto.randomUUID`, else `crypto.getRandomValues`, never
 * `Math.random`), kept under `key` in `sessionStorage` (default: one id per tab), in
 * `localStorage` (one per browser; every tab follows a change made in another through `storage`
 * events), in memory, or in a storage of your own. A stored value that is not a UUID v4 is
 * replaced by a new id.
 *
 * **Copied tabs** (`sessionStorage` mode): the browser copies `sessionStorage` into a tab opened
 * by `window.open` and into a duplicated tab, so the copy would share the original's id (and
 * cart). The store tells its own id from a copied one: a page that leaves (`pagehide`: reload,
 * navigation) leaves a marker for the next page of the same tab, which takes the id at once;
 * without the marker the store asks the other live tabs over a `BroadcastChannel` whether one of
 * them uses the id (see `copyCheck`), and has no id meanwhile (`id === null`: session queries
 * wait; `ready()` resolves when the check ends): 300 ms (`probeMs`) when no tab answers; when one answers,
 * until it lets go of the id (the previous page of this tab, still unloading) or for 1 s, after
 * which the tab is a copy and takes a new id. The live original keeps its id. A page that took its
 * id from the marker checks in the background too (a tab duplicated while on another site copied
 * the marker), and, if a live tab keeps the id, switches to a new one (change `"copy"`). Where
 * `BroadcastChannel` is missing, nothing is detected.
 *
 * Throws when no id can be made (no Web Crypto), except in server-rendering mode, where
 * {@link SessionStore.start} throws.
 *
 * @example
 * ```ts
 * const session = createSessionStore(); // per tab, in sessionStorage
 * const client = createClient(procedures, { links: tabLinks({ url: "/trpc", auth, session }) });
 * await client.cart.add.mutate({ item: "apple" }); // sends { sessionId: session.id, item: "apple" }
 * ```
 */
export function createSessionStore(options: SessionStoreOptions = {}): SessionStore {
  return new SessionStoreState(options);
}
