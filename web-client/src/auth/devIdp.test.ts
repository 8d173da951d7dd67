import { afterEach, describe, expect, it, vi } from "vitest";
import { createClient } from "../client.js";
import { authLink } from "../links/authLink.js";
import { httpBatchLink } from "../links/httpBatchLink.js";
import { procedures, type Procedures } from "../testing/demo-procedures.js";
import { fakeFetch, jsonReply, parseBatchUrl, tick, type RecordedRequest } from "../testing/fake-fetch.js";
import { deferred } from "../testing/scripted-auth.js";
import { createTabAuth } from "./tabAuth.js";
import { devIdpAuthSource, type DevIdpAuthSource, type TabStorage } from "./devIdp.js";

/** A provider with the demo's endpoints, for one browser (cookies are not simulated here). */
function fakeProvider() {
  const sessions: { sessionId: string; userId: string }[] = [];
  let next = 0;
  const respond = (request: RecordedRequest): Response => {
    const path = new URL(request.url).pathname;
    const body = request.body === undefined ? {} : (JSON.parse(request.body) as { account?: string; sessionId?: string });
    const owned = sessions.find((s) => s.sessionId === body.sessionId);
    switch (path) {
      case "/dev-idp/sign-in": {
        const session = { sessionId: `sess_${++next}`, userId: `user_${body.account}` };
        sessions.push(session);
        return jsonReply({ ...session, token: `jwt-${session.sessionId}` });
      }
      case "/dev-idp/client":
        return jsonReply({ sessions: sessions.map((s) => ({ ...s, displayName: s.userId })), lastActiveSessionId: null });
      case "/dev-idp/token":
      case "/dev-idp/activate":
        return owned === undefined ? jsonReply({ error: "no such session in this browser" }, 401) : jsonReply({ ...owned, token: `jwt-${owned.sessionId}-${++next}` });
      case "/dev-idp/sign-out":
        if (owned === undefined) return jsonReply({ error: "no such session in this browser" }, 401);
        sessions.splice(sessions.indexOf(owned), 1);
        return new Response(null, { status: 204 });
      default:
        return jsonReply({ error: "not found" }, 404);
    }
  };
  return { sessions, respond };
}

function memoryStorage(): TabStorage & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

const paths = (requests: RecordedRequest[]) => requests.map((r) => `${r.method} ${new URL(r.url).pathname}`);

describe("devIdpAuthSource", () => {
  it("signs in, keeps the tab's own session, and gets tokens for it with the browser's cookies", async () => {
    const provider = fakeProvider();
    const fetch = fakeFetch(provider.respond);
    const storage = memoryStorage();
    let notified = 0;
    const source = devIdpAuthSource({ url: "http://demo.test/", fetch, storage, focusEvents: false });
    source.subscribe(() => (notified += 1));
    await source.signIn("alice");
    expect(source.accountId()).toBe("user_alice");
    expect(source.sessionId()).toBe("sess_1");
    expect(source.signedInAccounts()).toBe(1);
    expect(notified).toBeGreaterThan(0);
    await expect(source.getToken({ skipCache: true })).resolves.toMatch(/^jwt-sess_1-/);
    expect(paths(fetch.requests)).toEqual(["POST /dev-idp/sign-in", "GET /dev-idp/client", "POST /dev-idp/token"]);
    expect(fetch.requests[2]?.body).toBe('{"sessionId":"sess_1"}');
    expect(JSON.parse(storage.items.get("tabrpc.dev-idp.session") ?? "null")).toEqual({ sessionId: "sess_1", userId: "user_alice" });
  });

  it("sends credentials: include (the provider tells browsers apart by an HttpOnly cookie)", async () => {
    const inits: RequestInit[] = [];
    const provider = fakeProvider();
    const source = devIdpAuthSource({
      url: "http://demo.test",
      fetch: async (url, init) => {
        inits.push(init);
        return provider.respond({ url, method: init.method ?? "GET", headers: {}, body: init.body as string | undefined, signal: new AbortController().signal });
      },
      storage: null,
      focusEvents: false,
    });
    await source.signIn("bob");
    expect(inits.map((init) => init.credentials)).toEqual(["include", "include"]);
  });

  it("signs out at once: the tab is signed out before the provider answers", async () => {
    const provider = fakeProvider();
    const gate = deferred<void>();
    const fetch = fakeFetch(async (request) => {
      if (request.url.endsWith("/sign-out")) await gate.promise;
      return provider.respond(request);
    });
    const storage = memoryStorage();
    const source = devIdpAuthSource({ url: "http://demo.test", fetch, storage, focusEvents: false });
    await source.signIn("alice");
    const states: (string | null)[] = [];
    source.subscribe(() => states.push(source.accountId()));
    const done = source.signOut();
    expect(source.accountId()).toBeNull();
    expect(states).toEqual([null]);
    expect(storage.items.size).toBe(0);
    await expect(source.getToken({ skipCache: true })).resolves.toBeNull();
    gate.resolve();
    await done;
    expect(provider.sessions).toEqual([]);
  });

  it("switches to another session of the browser and activates it", async () => {
    const provider = fakeProvider();
    const fetch = fakeFetch(provider.respond);
    const source = devIdpAuthSource({ url: "http://demo.test", fetch, storage: null, focusEvents: false });
    await source.signIn("alice");
    await source.signIn("bob");
    expect(source.signedInAccounts()).toBe(2);
    expect(source.accountId()).toBe("user_bob");
    fetch.requests.length = 0;
    await source.switchTo("sess_1");
    expect(source.accountId()).toBe("user_alice");
    expect(paths(fetch.requests)).toEqual(["POST /dev-idp/activate"]);
    await expect(source.switchTo("sess_404")).rejects.toThrow(/no session sess_404/);
  });

  it("activates on focus and on becoming visible, one request at a time", async () => {
    const provider = fakeProvider();
    const fetch = fakeFetch(provider.respond);
    const window = new EventTarget();
    const document = Object.assign(new EventTarget(), { visibilityState: "visible" });
    const source = devIdpAuthSource({ url: "http://demo.test", fetch, storage: null, focusEvents: { window, document } });
    await source.signIn("alice");
    fetch.requests.length = 0;
    window.dispatchEvent(new Event("focus"));
    window.dispatchEvent(new Event("focus"));
    document.dispatchEvent(new Event("visibilitychange"));
    await tick();
    expect(paths(fetch.requests).filter((p) => p.endsWith("activate"))).toEqual(["POST /dev-idp/activate"]);
    document.visibilityState = "hidden";
    fetch.requests.length = 0;
    document.dispatchEvent(new Event("visibilitychange"));
    await tick();
    expect(fetch.requests).toEqual([]);
    document.visibilityState = "visible";
    source.dispose();
    window.dispatchEvent(new Event("focus"));
    await tick();
    expect(fetch.requests).toEqual([]);
  });

  it("retries activation after a failed one", async () => {
    const provider = fakeProvider();
    let fail = true;
    const fetch = fakeFetch((request) => {
      if (request.url.endsWith("/activate") && fail) {
        fail = false;
        return Promise.reject(new TypeError("network"));
      }
      return provider.respond(request);
    });
    const source = devIdpAuthSource({ url: "http://demo.test", fetch, storage: null, focusEvents: false });
    await source.signIn("alice");
    await expect(source.activate()).rejects.toThrow("network");
    await expect(source.activate()).resolves.toBeUndefined();
  });

  it("restores the tab's session from storage and drops it if the provider no longer knows it", async () => {
    const provider = fakeProvider();
    const storage = memoryStorage();
    storage.setItem("tabrpc.dev-idp.session", JSON.stringify({ sessionId: "sess_gone", userId: "user_alice" }));
    const source = devIdpAuthSource({ url: "http://demo.test", fetch: fakeFetch(provider.respond), storage, focusEvents: false });
    expect(source.accountId()).toBe("user_alice");
    await tick();
    expect(source.accountId()).toBeNull();
    expect(storage.items.size).toBe(0);
  });

  it("ignores a corrupt stored value", () => {
    const storage = memoryStorage();
    storage.setItem("tabrpc.dev-idp.session", "{not json");
    const source = devIdpAuthSource({ url: "http://demo.test", fetch: fakeFetch(() => jsonReply({})), storage, focusEvents: false });
    expect(source.accountId()).toBeNull();
  });

  it("answers no token once the provider forgot the session (signed out in another tab)", async () => {
    const provider = fakeProvider();
    const source = devIdpAuthSource({ url: "http://demo.test", fetch: fakeFetch(provider.respond), storage: null, focusEvents: false });
    await source.signIn("alice");
    provider.sessions.length = 0;
    await expect(source.getToken({ skipCache: true })).resolves.toBeNull();
    await tick();
    expect(source.accountId()).toBeNull();
  });

  it("names the endpoint and status when the provider refuses", async () => {
    const source = devIdpAuthSource({ url: "http://demo.test", fetch: fakeFetch(() => jsonReply({ error: "no such demo account" }, 404)), storage: null, focusEvents: false });
    await expect(source.signIn("mallory")).rejects.toThrow("dev-idp sign-in: HTTP 404");
  });
});

/** Sources made by a test; disposed after it (their channels would keep the process alive). */
const made: DevIdpAuthSource[] = [];
afterEach(() => {
  for (const source of made.splice(0)) source.dispose();
});

let channels = 0;
/** Two tabs of one browser: one provider, one channel name (unique to the test). */
function twoTabs(provider: ReturnType<typeof fakeProvider>, tab1Fetch = fakeFetch(provider.respond)) {
  const channel = `devIdp.test ${++channels}`;
  const tab1 = devIdpAuthSource({ url: "http://demo.test", fetch: tab1Fetch, storage: null, focusEvents: false, channel });
  const tab2 = devIdpAuthSource({ url: "http://demo.test", fetch: fakeFetch(provider.respond), storage: null, focusEvents: false, channel });
  made.push(tab1, tab2);
  return { tab1, tab2, tab1Fetch };
}

describe("devIdpAuthSource: the signed-in accounts stay current across tabs", () => {
  it("learns of another tab's sign-in and sign-out through the channel, without asking the provider", async () => {
    const provider = fakeProvider();
    // Tab 1 cannot read the provider's list after its own sign-in: only the channel can tell it.
    let listReadable = true;
    const tab1Fetch = fakeFetch((request) => {
      if (request.url.endsWith("/client") && !listReadable) return jsonReply({ error: "down" }, 503);
      return provider.respond(request);
    });
    const { tab1, tab2 } = twoTabs(provider, tab1Fetch);
    await tab1.signIn("alice");
    listReadable = false;
    let notified = 0;
    tab1.subscribe(() => (notified += 1));
    await tab2.signIn("bob");
    await vi.waitFor(() => expect(tab1.signedInAccounts()).toBe(2));
    expect(tab1.signedInAccountIds()).toEqual(["user_alice", "user_bob"]);
    expect(tab1.accountId()).toBe("user_alice");
    expect(notified).toBeGreaterThan(0);
    await tab2.signOut();
    await vi.waitFor(() => expect(tab1.signedInAccounts()).toBe(1));
    expect(tab1.signedInAccountIds()).toEqual(["user_alice"]);
  });

  it("tells the others of a sign-out only once the provider has ended the session", async () => {
    const provider = fakeProvider();
    const { tab1, tab2 } = twoTabs(provider);
    await tab1.signIn("alice");
    await tab2.signIn("bob");
    await vi.waitFor(() => expect(tab1.signedInAccounts()).toBe(2));
    // The provider refuses the sign-out: the session (and maybe the cookie) lives on.
    provider.sessions.splice(0);
    await expect(tab2.signOut()).rejects.toThrow("dev-idp sign-out: HTTP 401");
    await tick();
    expect(tab2.accountId()).toBeNull();
    expect(tab1.signedInAccounts()).toBe(2);
  });

  it("signs a tab out at once when another tab signs out the session they share", async () => {
    const provider = fakeProvider();
    const { tab1, tab2 } = twoTabs(provider);
    await tab1.signIn("alice");
    await tab2.signIn("bob");
    await vi.waitFor(() => expect(tab1.signedInAccounts()).toBe(2));
    await tab1.switchTo("sess_2");
    expect(tab1.accountId()).toBe("user_bob");
    await tab2.signOut();
    await vi.waitFor(() => expect(tab1.accountId()).toBeNull());
    expect(tab1.signedInAccountIds()).toEqual(["user_alice"]);
  });

  it("re-reads the accounts before it answers that it has no token", async () => {
    const provider = fakeProvider();
    let tokens: "fail" | "refuse" | "ok" = "ok";
    const fetch = fakeFetch((request) => {
      if (request.url.endsWith("/token") && tokens === "fail") return Promise.reject(new TypeError("network"));
      if (request.url.endsWith("/token") && tokens === "refuse") return jsonReply({ error: "no such session in this browser" }, 401);
      return provider.respond(request);
    });
    const tab1 = devIdpAuthSource({ url: "http://demo.test", fetch, storage: null, focusEvents: false, channel: false });
    made.push(tab1);
    await tab1.signIn("alice");
    // Another tab (no channel between them) signs bob in.
    provider.respond({ url: "http://demo.test/dev-idp/sign-in", method: "POST", headers: {}, body: '{"account":"bob"}', signal: new AbortController().signal });
    expect(tab1.signedInAccounts()).toBe(1);
    tokens = "fail";
    fetch.requests.length = 0;
    await expect(tab1.getToken({ skipCache: true })).rejects.toThrow("network");
    expect(tab1.signedInAccounts()).toBe(2);
    expect(paths(fetch.requests)).toEqual(["POST /dev-idp/token", "GET /dev-idp/client"]);
    // A refused token: the same, and the list is the provider's.
    provider.sessions.splice(1);
    tokens = "refuse";
    await expect(tab1.getToken({ skipCache: true })).resolves.toBeNull();
    expect(tab1.signedInAccounts()).toBe(1);
  });

  it("keeps the last known accounts when the provider cannot be read either", async () => {
    const provider = fakeProvider();
    let down = false;
    const fetch = fakeFetch((request) => (down ? Promise.reject(new TypeError("network")) : provider.respond(request)));
    const { tab1, tab2 } = twoTabs(provider, fetch);
    await tab1.signIn("alice");
    await tab2.signIn("bob");
    await vi.waitFor(() => expect(tab1.signedInAccounts()).toBe(2));
    down = true;
    await expect(tab1.getToken({ skipCache: true })).rejects.toThrow("network");
    expect(tab1.signedInAccounts()).toBe(2);
  });

  it("applies only the latest read of the provider's list; an earlier one answered later waits for it", async () => {
    const provider = fakeProvider();
    const gate = deferred<void>();
    let hold = false;
    const fetch = fakeFetch(async (request) => {
      // The reply is made now (what the provider knows now) and delivered later.
      const reply = provider.respond(request);
      if (request.url.endsWith("/client") && hold) {
        hold = false;
        await gate.promise;
      }
      return reply;
    });
    const tab1 = devIdpAuthSource({ url: "http://demo.test", fetch, storage: null, focusEvents: false, channel: false });
    made.push(tab1);
    await tab1.signIn("alice");
    hold = true;
    let staleDone = false;
    const stale = tab1.refresh().then(() => (staleDone = true));
    provider.respond({ url: "http://demo.test/dev-idp/sign-in", method: "POST", headers: {}, body: '{"account":"bob"}', signal: new AbortController().signal });
    const fresh = deferred<void>();
    const newer = tab1.refresh();
    void newer.then(() => fresh.resolve());
    gate.resolve();
    await stale;
    // The earlier read (alice only) settled after the newer one and did not override it.
    expect(staleDone).toBe(true);
    await fresh.promise;
    expect(tab1.signedInAccounts()).toBe(2);
  });

  it("through the auth link: a tab without a token sends the marker once another tab signed in", async () => {
    const provider = fakeProvider();
    let tokensDown = false;
    const tab1Fetch = fakeFetch((request) => {
      if (request.url.endsWith("/token") && tokensDown) return Promise.reject(new TypeError("network"));
      return provider.respond(request);
    });
    const { tab1, tab2 } = twoTabs(provider, tab1Fetch);
    const api = fakeFetch((request) =>
      jsonReply(parseBatchUrl(request.url).paths.map(() => ({ result: { data: { id: "", displayName: "", signedIn: false } } }))),
    );
    const auth = createTabAuth(tab1, { tokenRetryDelayMs: 1 });
    const client = createClient(procedures, { links: [authLink({ auth }), httpBatchLink({ url: "http://demo.test/trpc", fetch: api })] });
    await tab1.signIn("alice");
    await client.profile.getUser.query();
    expect(api.requests[0]?.headers.authorization).toMatch(/^Bearer jwt-sess_1-/);
    await tab2.signIn("bob");
    tokensDown = true;
    await client.profile.getUser.query();
    const headers = api.requests[1]?.headers ?? {};
    expect([headers.authorization, headers["x-tabrpc-auth-required"]]).toEqual([undefined, "1"]);
  });
});
