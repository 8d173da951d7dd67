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
}

/** The development identity provider, as one tab sees it. */
export interface DevIdpAuthSource extends AuthSource {
  /** This tab's session id, `null` when signed out. */
  sessionId(): string | null;
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
  /** Removes the focus listeners. */
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

/**
 * An {@link AuthSource} for the demo server's development identity provider (`/dev-idp/*`,
 * shaped like Clerk): each tab keeps its **own** session id, gets its tokens from
 * `POST /dev-idp/token` for that session, and activates it on focus so the shared `__session`
 * cookie follows the active tab, exactly the situation tabrpc protects against.
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

  const source: DevIdpAuthSource = {
    async getToken() {
      const session = tab;
      if (session === null) return null;
      const response = await call("POST", "token", { sessionId: session.sessionId });
      if (response.status === 401) {
        // Signed out elsewhere (another tab, or a provider restart).
        void source.refresh().catch(() => undefined);
        return null;
      }
      const reply = await expectOk(response, "token");
      return isRecord(reply) && typeof reply.token === "string" ? reply.token : null;
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

    async refresh() {
      const reply = await expectOk(await call("GET", "client"), "client");
      const list = isRecord(reply) && Array.isArray(reply.sessions) ? reply.sessions : [];
      browser = list.map(parseSession).filter((s): s is DevIdpSession => s !== null);
      const current = tab;
      if (current !== null && !browser.some((s) => s.sessionId === current.sessionId)) setTab(null);
      else changed();
    },

    dispose() {
      removeFocusListeners();
    },
  };

  const events: FocusEvents | undefined =
    options.focusEvents === false
      ? undefined
      : (options.focusEvents ??
        (typeof window === "undefined" ? undefined : { window, document: typeof document === "undefined" ? undefined : document }));
  const onFocus = () => {
    void source.activate().catch(() => undefined);
    void source.refresh().catch(() => undefined);
  };
  const onVisibility = () => {
    if (events?.document?.visibilityState !== "hidden") onFocus();
  };
  // A session restored from storage may have ended meanwhile; the browser's list is unknown yet.
  if (tab !== null) void source.refresh().catch(() => undefined);
  events?.window?.addEventListener("focus", onFocus);
  events?.document?.addEventListener("visibilitychange", onVisibility);
  const removeFocusListeners = () => {
    events?.window?.removeEventListener("focus", onFocus);
    events?.document?.removeEventListener("visibilitychange", onVisibility);
  };

  return source;
}
