import { notifyAll } from "../internals/auth.js";
import { isRecord } from "../internals/envelope.js";
import type { FetchLike } from "../types.js";
import type { AuthSource } from "./source.js";

/** One signed-in session of this browser at the development identity provider. */
export interface DevIdpSession {
  readonly sessionId: string;
  readonly userId: string;
}

/** The storage the tab keeps its session in (`sessionStorage` is one per tab). */
export interface TabStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Where focus and visibility changes come from (a window and its document). */
export interface FocusEvents {
  readonly window?: Pick<EventTarget, "addEventListener" | "removeEventListener"> | undefined;
  readonly document?: (Pick<EventTarget, "addEventListener" | "removeEventListener"> & { readonly visibilityState?: string }) | undefined;
}

/** Options of {@link devIdpAuthSource}. */
export interface DevIdpAuthSourceOptions {
  /** The demo server's origin, e.g. `http://127.0.0.1:3000` (the provider is under `/dev-idp/`). */
  url: string;
  /**
   * The `fetch` to use; it must carry the browser's cookies (the provider tells browsers apart
   * by an HttpOnly `__client` cookie). Defaults to `globalThis.fetch`, called with
   * `credentials: "include"`.
   */
  fetch?: FetchLike | undefined;
  /**
   * Where this tab keeps its session across reloads. Defaults to `sessionStorage` when it is
   * usable, else memory only. `null`: memory only.
   */
  storage?: TabStorage | null | undefined;
  /** The storage key. Defaults to `tabrpc.dev-idp.session`. */
  storageKey?: string | undefined;
  /**
   * Activates this tab's session (the shared cookie follows it, as Clerk's does) and re-reads the
   * browser's sessions whenever the tab gains focus or becomes visible. Defaults to the global
   * `window` and `document` when there are some; `false` turns it off.
   */
  focusEvents?: FocusEvents | false | undefined;
  /**
   * The `BroadcastChannel` through which the tabs of this browser tell each other of sign-ins
   * and sign-outs, so that every tab knows at once how many accounts are signed in (the auth
   * link sends the fail-closed marker on that count). Defaults, in a browser (where `window` and
   * `BroadcastChannel` exist), to `tabrpc.dev-idp <url>`; `false` turns it off (the tab then
   * learns of other tabs' sign-ins on focus, and whenever it cannot get a token).
   */
  channel?: string | false | undefined;
}

/** The development identity provider, as one tab sees it. */
export interface DevIdpAuthSource extends AuthSource {
  /** This tab's session id, `null` when signed out. */
  sessionId(): string | null;
  /** The accounts of this browser's signed-in sessions (kept current across tabs). */
  signedInAccountIds(): readonly string[];
  /** This browser's signed-in sessions, as last read. */
  sessions(): readonly DevIdpSession[];
  /** Signs in to a demo account (`alice`, `bob`, `carol`) in this tab; the shared cookie follows it. */
  signIn(account: string): Promise<DevIdpSession>;
  /**
   * Signs this tab's session out. The tab counts as signed out at once (before the request to
   * the provider), so the epoch moves on immediately.
   */
  signOut(): Promise<void>;
  /** Switches this tab to another signed-in session of this browser, and activates it. */
  switchTo(sessionId: string): Promise<void>;
  /** Makes the shared cookie follow this tab's session (what a tab does when it gains focus). */
  activate(): Promise<void>;
  /** Re-reads this browser's sessions (another tab may have signed in or out). */
  refresh(): Promise<void>;
  /** Removes the focus listeners and closes the channel to the other tabs. */
  dispose(): void;
}

function defaultStorage(): TabStorage | null {
  try {
    // Reading the property throws in sandboxed frames and some private modes.
    const storage = (globalThis as { sessionStorage?: TabStorage }).sessionStorage;
    return storage ?? null;
  } catch {
    return null;
  }
}

function parseSession(value: unknown): DevIdpSession | null {
  if (!isRecord(value) || typeof value.sessionId !== "string" || typeof value.userId !== "string") return null;
  return { sessionId: value.sessionId, userId: value.userId };
}

/** What one tab tells the others, once the provider has confirmed it. */
type TabMessage = { readonly type: "signed-in"; readonly session: DevIdpSession } | { readonly type: "signed-out"; readonly sessionId: string };

function parseMessage(value: unknown): TabMessage | null {
  if (!isRecord(value)) return null;
  if (value.type === "signed-in") {
    const session = parseSession(value.session);
    return session === null ? null : { type: "signed-in", session };
  }
  if (value.type === "signed-out" && typeof value.sessionId === "string") return { type: "signed-out", sessionId: value.sessionId };
  return null;
}

function openChannel(name: string | false | undefined, base: string): BroadcastChannel | undefined {
  const Channel = (globalThis as { BroadcastChannel?: typeof BroadcastChannel }).BroadcastChannel;
  if (name === false || Channel === undefined) return undefined;
  if (name === undefined && typeof window === "undefined") return undefined;
  try {
    return new Channel(name ?? `tabrpc.dev-idp ${base}`);
  } catch {
    // Opaque origins (sandboxed frames) may refuse: the tab still works, it learns later.
    return undefined;
  }
}

/**
 * An {@link AuthSource} for the demo server's development identity provider (`/dev-idp/*`,
 * shaped like Clerk): each tab keeps its **own** session id, gets its tokens from
 * `POST /dev-idp/token` for that session, and activates it on focus so the shared `__session`
 * cookie follows the active tab, exactly the situation tabrpc protects against.
 *
 * The number of signed-in accounts (`signedInAccounts`, on which the auth link decides to send
 * the fail-closed marker) is kept current across tabs: a tab that signs in or out tells the
 * others through a `BroadcastChannel`, every tab re-reads the provider's list on focus, and a
 * tab that cannot get a token re-reads it before answering, so the auth link decides on the
 * browser's current accounts, not on those of this tab's last sign-in.
 *
 * Errors: `signIn`, `switchTo` and `refresh` reject with an `Error` naming the endpoint and
 * status; `getToken` resolves to `null` when the provider no longer knows the session.
 */
export function devIdpAuthSource(options: DevIdpAuthSourceOptions): DevIdpAuthSource {
  const base = options.url.replace(/\/+$/, "");
  const storage = options.storage === undefined ? defaultStorage() : options.storage;
  const storageKey = options.storageKey ?? "tabrpc.dev-idp.session";
  const doFetch: FetchLike = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const listeners = new Set<() => void>();

  let tab: DevIdpSession | null = null;
  let browser: readonly DevIdpSession[] = [];
  let activating: Promise<void> | undefined;
  /** Reads of the provider's list, numbered: only the latest one started is applied. */
  let reads = 0;
  let newestRead: Promise<void> = Promise.resolve();

  try {
    tab = parseSession(JSON.parse(storage?.getItem(storageKey) ?? "null"));
  } catch {
    tab = null;
  }

  const changed = () => notifyAll(listeners, undefined);
  const setTab = (next: DevIdpSession | null) => {
    tab = next;
    try {
      if (next === null) storage?.removeItem(storageKey);
      else storage?.setItem(storageKey, JSON.stringify(next));
    } catch {
      // Storage full or unavailable: the tab still works, it just forgets on reload.
    }
    changed();
  };

  async function call(method: "GET" | "POST", path: string, body?: unknown): Promise<Response> {
    const init: RequestInit = { method, credentials: "include", headers: { accept: "application/json" } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { accept: "application/json", "content-type": "application/json" };
    }
    return doFetch(`${base}/dev-idp/${path}`, init);
  }

  async function expectOk(response: Response, what: string): Promise<unknown> {
    if (!response.ok) throw new Error(`dev-idp ${what}: HTTP ${response.status} ${await response.text()}`);
    return response.status === 204 ? undefined : ((await response.json()) as unknown);
  }

  /** Takes the provider's list of this browser's sessions (`GET /dev-idp/client`). */
  function apply(reply: unknown): void {
    const list = isRecord(reply) && Array.isArray(reply.sessions) ? reply.sessions : [];
    browser = list.map(parseSession).filter((s): s is DevIdpSession => s !== null);
    const current = tab;
    if (current !== null && !browser.some((s) => s.sessionId === current.sessionId)) setTab(null);
    else changed();
  }

  /** Re-reads the browser's sessions, keeping the last known ones if the provider cannot answer. */
  const tryRefresh = () => source.refresh().catch(() => undefined);

  const source: DevIdpAuthSource = {
    async getToken() {
      const session = tab;
      if (session === null) return null;
      let reply: unknown;
      try {
        const response = await call("POST", "token", { sessionId: session.sessionId });
        // 401: signed out elsewhere (another tab, or a provider restart).
        reply = response.status === 401 ? null : await expectOk(response, "token");
      } catch (error) {
        // The caller decides what to send on this tab's behalf from the signed-in accounts:
        // make them current first (another tab may have signed in since this tab last looked).
        await tryRefresh();
        throw error;
      }
      const token = isRecord(reply) && typeof reply.token === "string" ? reply.token : null;
      if (token === null) await tryRefresh();
      return token;
    },
    accountId: () => tab?.userId ?? null,
    sessionId: () => tab?.sessionId ?? null,
    signedInAccounts: () => browser.length,
    signedInAccountIds: () => browser.map((session) => session.userId),
    sessions: () => browser,
    subscribe(onChange) {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },

    async signIn(account) {
      const reply = await expectOk(await call("POST", "sign-in", { account }), "sign-in");
      const session = parseSession(reply);
      if (session === null) throw new Error("dev-idp sign-in: unexpected reply");
      browser = [...browser.filter((s) => s.sessionId !== session.sessionId), session];
      setTab(session);
      tell({ type: "signed-in", session });
      await source.refresh();
      return session;
    },

    async signOut() {
      const session = tab;
      if (session === null) return;
      // Immediate: the tab is signed out before the provider hears of it, so nothing (a token
      // fetch in flight included) can answer for the old account any more.
      browser = browser.filter((s) => s.sessionId !== session.sessionId);
      setTab(null);
      await expectOk(await call("POST", "sign-out", { sessionId: session.sessionId }), "sign-out");
      // Only now: until the provider has ended the session, the shared cookie may still be its.
      tell({ type: "signed-out", sessionId: session.sessionId });
      await source.refresh();
    },

    async switchTo(sessionId) {
      let session = browser.find((s) => s.sessionId === sessionId);
      if (session === undefined) {
        await source.refresh();
        session = browser.find((s) => s.sessionId === sessionId);
      }
      if (session === undefined) throw new Error(`dev-idp: no session ${sessionId} in this browser`);
      setTab(session);
      await source.activate();
    },

    activate() {
      // Focus and visibility events come in bursts: one request in flight at a time, and a
      // failed one does not stop the next.
      activating ??= (async () => {
        try {
          const session = tab;
          if (session === null) return;
          const response = await call("POST", "activate", { sessionId: session.sessionId });
          if (response.status === 401 && tab?.sessionId === session.sessionId) {
            setTab(null);
            return;
          }
          await expectOk(response, "activate");
        } finally {
          activating = undefined;
        }
      })();
      return activating;
    },

    refresh() {
      const number = ++reads;
      const read = (async (): Promise<void> => {
        const reply = await expectOk(await call("GET", "client"), "client");
        // A read started earlier but answered later knows less: the latest one decides, and
        // whoever waits for this one waits for it.
        if (number !== reads) return newestRead;
        apply(reply);
      })();
      newestRead = read;
      return read;
    },

    dispose() {
      removeFocusListeners();
      channel?.removeEventListener("message", onMessage);
      channel?.close();
    },
  };

  // The other tabs of this browser: what they sign in or out changes this tab's count at once
  // (and this tab's own session, when a tab that switched to it signs it out); a re-read of the
  // provider's list follows, in case a message was missed.
  const channel = openChannel(options.channel, base);
  const tell = (message: TabMessage) => {
    try {
      channel?.postMessage(message);
    } catch {
      // A closed channel (after dispose): nothing to tell.
    }
  };
  const onMessage = (event: Event) => {
    const message = parseMessage((event as MessageEvent).data);
    if (message === null) return;
    if (message.type === "signed-in") {
      if (!browser.some((s) => s.sessionId === message.session.sessionId)) browser = [...browser, message.session];
      changed();
    } else {
      browser = browser.filter((s) => s.sessionId !== message.sessionId);
      if (tab?.sessionId === message.sessionId) setTab(null);
      else changed();
    }
    void tryRefresh();
  };
  channel?.addEventListener("message", onMessage);

  const events: FocusEvents | undefined =
    options.focusEvents === false
      ? undefined
      : (options.focusEvents ??
        (typeof window === "undefined" ? undefined : { window, document: typeof document === "undefined" ? undefined : document }));
  const onFocus = () => {
    void source.activate().catch(() => undefined);
    void tryRefresh();
  };
  const onVisibility = () => {
    if (events?.document?.visibilityState !== "hidden") onFocus();
  };
  // A session restored from storage may have ended meanwhile; the browser's list is unknown yet.
  if (tab !== null) void tryRefresh();
  events?.window?.addEventListener("focus", onFocus);
  events?.document?.addEventListener("visibilitychange", onVisibility);
  const removeFocusListeners = () => {
    events?.window?.removeEventListener("focus", onFocus);
    events?.document?.removeEventListener("visibilitychange", onVisibility);
  };

  return source;
}
