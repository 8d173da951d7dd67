// connectLive (live.md section 2): one stream per tab, replaced at every epoch, whose events
// invalidate only the queries of the account and session it was opened for. A fake server
// answers `live.events` with event streams the tests write event by event.
import { QueryClient, QueryObserver, type QueryKey } from "@tanstack/query-core";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Procedures as Demo } from "../../../bindings/demo.js";
import { createTabAuth } from "../auth/tabAuth.js";
import { createClient } from "../client.js";
import type { ProcedureTable } from "../codes.js";
import { tabLinks } from "../links/tabLinks.js";
import { queryKeyOf } from "../query/keys.js";
import { createOptionsProxy } from "../query/options.js";
import { createSessionStore, type SessionStore } from "../session/store.js";
import { fakeFetch, jsonReply, parseBatchUrl, tick, writtenReply, type RecordedRequest } from "../testing/fake-fetch.js";
import { scriptedSource } from "../testing/scripted-auth.js";
import { connectLive, type ConnectLiveOptions, type LiveConnection, type LiveState } from "./connect.js";
import type { LiveEvent } from "./events.js";

type Procedures = Pick<Demo, "profile.getUser" | "cart.get"> & {
  "live.events": { kind: "subscription"; input: { viewerId?: string; sessionId?: string } | null; output: LiveEvent; error: never; stream: false; scopes: "viewer" | "session" };
  "post.byId": { kind: "query"; input: { postId: number; viewerId?: string }; output: { title: string }; error: never; stream: false; scopes: "viewer" };
  "live.accountOnly": { kind: "subscription"; input: { viewerId?: string } | null; output: LiveEvent; error: never; stream: false; scopes: "viewer" };
};
const procedures: ProcedureTable<Procedures> = {
  "profile.getUser": { kind: "query", stream: false, scopes: ["viewer"] },
  "cart.get": { kind: "query", stream: false, scopes: ["session"] },
  "live.events": { kind: "subscription", stream: false, scopes: ["viewer", "session"] },
  "post.byId": { kind: "query", stream: false, scopes: ["viewer"] },
  "live.accountOnly": { kind: "subscription", stream: false, scopes: ["viewer"] },
};

const URL_BASE = "http://api.test/trpc";

/** One `live.events` connection as the fake server answers it. */
function sseReply() {
  const reply = writtenReply("text/event-stream");
  const send = (value: unknown, id?: string) => reply.write(`${id === undefined ? "" : `id: ${id}\n`}data: ${JSON.stringify(value)}\n\n`);
  return {
    ...reply,
    /** `connected`, then `ready` for `account` and `session`. */
    ready: (account: string | null, session: string | null) => {
      reply.write("event: connected\ndata: {}\n\n");
      send({ type: "ready", account, session });
    },
    send,
  };
}
type Reply = ReturnType<typeof sseReply>;

const stores: SessionStore[] = [];
const stops: LiveConnection[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const stop of stops.splice(0)) stop();
  for (const store of stores.splice(0)) store.dispose();
});

/** A tab of `account` (in a browser where alice and bob are signed in) with its cache and a fake server. */
function openTab(account: string | null = "alice") {
  const source = scriptedSource({ accountId: account, accounts: ["alice", "bob"] });
  const auth = createTabAuth(source, { tokenRetryDelayMs: 1 });
  const session = createSessionStore({ storage: "memory" });
  stores.push(session);
  /** What `live.events` requests get, in order: a reply, an HTTP status, or (when empty) a stream that never answers. */
  const replies: (Reply | number)[] = [];
  const queries: RecordedRequest[] = [];
  /** When each `live.events` request was made (`performance.now()`). */
  const opened: number[] = [];
  const fetch = fakeFetch((request) => {
    if (/\/live\.(events|accountOnly)$/.test(new URL(request.url).pathname)) {
      opened.push(performance.now());
      const next = replies.shift();
      if (next === undefined) return new Promise<Response>(() => undefined);
      if (typeof next === "number") return jsonReply({ error: { message: "refused", code: -32603, data: { code: "X", httpStatus: next } } }, next);
      return next.response;
    }
    queries.push(request);
    const { paths } = parseBatchUrl(request.url);
    return jsonReply(paths.map(() => ({ result: { data: { id: "", displayName: `answer ${queries.length}`, signedIn: true } } })));
  });
  const client = createClient(procedures, { links: tabLinks({ url: URL_BASE, auth, session, fetch, subscriptions: { reconnectDelayMs: 1 } }) });
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, gcTime: Infinity } } });
  const live = (options: ConnectLiveOptions<"live.events" | "live.accountOnly"> = {}) => {
    const connection = connectLive(client, queryClient, { retryDelayMs: 5, ...options });
    stops.push(connection);
    return connection;
  };
  /** A cached query (no observer: invalidating only marks it). */
  const cached = (key: QueryKey) => {
    queryClient.setQueryData(key, { cached: true });
    return key;
  };
  const invalidated = (key: QueryKey) => queryClient.getQueryState(key)?.isInvalidated === true;
  const streams = () => fetch.requests.filter((r) => /\/live\.(events|accountOnly)$/.test(new URL(r.url).pathname));
  return { source, auth, session, fetch, client, queryClient, replies, queries, opened, live, cached, invalidated, streams };
}

/** Waits until `state` says `status`. */
async function until(live: LiveConnection, check: (state: LiveState) => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !check(live.state); i++) await tick(2);
  expect(check(live.state)).toBe(true);
}

const inputOf = (request: RecordedRequest | undefined) => JSON.parse(new URL(request?.url ?? "http://x/").searchParams.get("input") ?? "null") as unknown;

describe("connectLive", () => {
  it("costs nothing when it is not called: no connection", async () => {
    const tab = openTab();
    await tick(10);
    expect(tab.fetch.requests).toEqual([]);
  });

  it("opens one stream for the tab's account and session, with the tab's own token", async () => {
    const tab = openTab();
    const reply = sseReply();
    tab.replies.push(reply);
    const live = tab.live();
    expect(live.state.status).toBe("connecting");
    await tick();
    expect(tab.streams()).toHaveLength(1);
    expect(inputOf(tab.streams()[0])).toEqual({ viewerId: "alice", sessionId: tab.session.id });
    expect(tab.streams()[0]?.headers.authorization).toBe("Bearer token-alice");
    const seen: string[] = [];
    live.subscribe((state) => seen.push(state.status));
    reply.ready("alice", tab.session.id);
    await until(live, (s) => s.status === "connected");
    expect(live.state).toMatchObject({ account: "alice", session: tab.session.id, received: 0 });
    expect(seen).toEqual(["connected"]);
  });

  it("invalidates exact paths and dot-boundary prefixes of the stream's account only", async () => {
    const tab = openTab();
    const reply = sseReply();
    tab.replies.push(reply);
    const live = tab.live();
    await tick();
    reply.ready("alice", tab.session.id);
    const user = tab.cached(queryKeyOf("profile.getUser", undefined, "alice"));
    const bobUser = tab.cached(queryKeyOf("profile.getUser", undefined, "bob"));
    const anonUser = tab.cached(queryKeyOf("profile.getUser", undefined, null));
    const longer = tab.cached(queryKeyOf("profile.getUserById", { id: 1 }, "alice"));
    const cart = tab.cached(queryKeyOf("cart.get", undefined, "alice", tab.session.id));
    const cartBob = tab.cached(queryKeyOf("cart.get", undefined, "bob", "other"));
    const cartoon = tab.cached(queryKeyOf("cartoon.list", undefined, "alice"));
    const leftSession = tab.cached(queryKeyOf("cart.get", undefined, "alice", "6f1c0e55-0000-4000-8000-000000000000"));
    reply.send({ type: "invalidate", scope: { kind: "account", id: "alice" }, paths: ["profile.getUser"], prefixes: ["cart"], input: null }, "1");
    await until(live, (s) => s.applied === 1);
    expect([user, cart].map(tab.invalidated)).toEqual([true, true]);
    expect([bobUser, anonUser, longer, cartBob, cartoon, leftSession].map(tab.invalidated)).toEqual([false, false, false, false, false, false]);
    expect(live.state.lastEvent?.type).toBe("invalidate");
  });

  it("keeps only the keys whose input has the event's input fields", async () => {
    const tab = openTab();
    const reply = sseReply();
    tab.replies.push(reply);
    const live = tab.live();
    await tick();
    reply.ready("alice", tab.session.id);
    const five = tab.cached(queryKeyOf("post.byId", { postId: 5 }, "alice"));
    const six = tab.cached(queryKeyOf("post.byId", { postId: 6 }, "alice"));
    const text = tab.cached(queryKeyOf("post.byId", { postId: "5" }, "alice"));
    const bobs = tab.cached(queryKeyOf("post.byId", { postId: 5 }, "bob"));
    reply.send({ type: "invalidate", scope: { kind: "account", id: "alice" }, paths: [], prefixes: ["post"], input: { postId: 5 } });
    await until(live, (s) => s.applied === 1);
    expect([five, six, text, bobs].map(tab.invalidated)).toEqual([true, false, false, false]);
  });

  it("applies session events to that session's keys, public ones to the account's and anonymous keys, never another account's", async () => {
    const tab = openTab();
    const reply = sseReply();
    tab.replies.push(reply);
    const live = tab.live();
    await tick();
    const id = tab.session.id as string;
    reply.ready("alice", id);
    const cart = tab.cached(queryKeyOf("cart.get", undefined, "alice", id));
    const otherSession = tab.cached(queryKeyOf("cart.get", undefined, "alice", "6f1c0e55-0000-4000-8000-000000000000"));
    const bobSameId = tab.cached(queryKeyOf("cart.get", undefined, "bob", id));
    reply.send({ type: "invalidate", scope: { kind: "session", id }, paths: [], prefixes: ["cart"], input: null });
    await until(live, (s) => s.applied === 1);
    expect([cart, otherSession, bobSameId].map(tab.invalidated)).toEqual([true, false, false]);

    const mine = tab.cached(queryKeyOf("post.byId", { postId: 1 }, "alice"));
    const anon = tab.cached(queryKeyOf("post.byId", { postId: 1 }, null));
    const bobs = tab.cached(queryKeyOf("post.byId", { postId: 1 }, "bob"));
    const nobodys = tab.cached([["post", "byId"]]);
    reply.send({ type: "invalidate", scope: { kind: "public" }, paths: ["post.byId"], prefixes: [], input: null });
    await until(live, (s) => s.applied === 2);
    expect([mine, anon, nobodys, bobs].map(tab.invalidated)).toEqual([true, true, true, false]);
  });

  it("ignores events of scopes the stream was not opened for", async () => {
    const tab = openTab();
    const reply = sseReply();
    tab.replies.push(reply);
    const live = tab.live();
    await tick();
    reply.ready("alice", tab.session.id);
    const bobs = tab.cached(queryKeyOf("profile.getUser", undefined, "bob"));
    const mine = tab.cached(queryKeyOf("profile.getUser", undefined, "alice"));
    reply.send({ type: "invalidate", scope: { kind: "account", id: "bob" }, paths: ["profile.getUser"], prefixes: [], input: null });
    reply.send({ type: "invalidate", scope: { kind: "session", id: "another" }, paths: ["profile.getUser"], prefixes: [], input: null });
    reply.send({ type: "reset", scope: { kind: "account", id: "bob" } });
    await until(live, (s) => s.received === 3);
    expect(live.state.applied).toBe(0);
    expect([bobs, mine].map(tab.invalidated)).toEqual([false, false]);
  });

  it("resets every query of the scope, and of every scope of the stream for a null scope", async () => {
    const tab = openTab();
    const reply = sseReply();
    tab.replies.push(reply);
    const live = tab.live();
    await tick();
    const id = tab.session.id as string;
    reply.ready("alice", id);
    const user = tab.cached(queryKeyOf("profile.getUser", undefined, "alice"));
    const post = tab.cached(queryKeyOf("post.byId", { postId: 2 }, "alice"));
    const anon = tab.cached(queryKeyOf("profile.getUser", undefined, null));
    const bobs = tab.cached(queryKeyOf("profile.getUser", undefined, "bob"));
    reply.send({ type: "reset", scope: { kind: "account", id: "alice" } });
    await until(live, (s) => s.applied === 1);
    expect([user, post, anon, bobs].map(tab.invalidated)).toEqual([true, true, false, false]);

    const cart = tab.cached(queryKeyOf("cart.get", undefined, "alice", id));
    const user2 = tab.cached(queryKeyOf("profile.getUser", { again: 1 }, "alice"));
    const anon2 = tab.cached(queryKeyOf("post.byId", { postId: 3 }, null));
    const bobs2 = tab.cached(queryKeyOf("post.byId", { postId: 3 }, "bob"));
    reply.send({ type: "reset", scope: null });
    await until(live, (s) => s.applied === 2);
    expect([cart, user2, anon2, bobs2].map(tab.invalidated)).toEqual([true, true, true, false]);
  });

  it("refetches a query in use at once, with the tab's own token", async () => {
    const tab = openTab();
    const reply = sseReply();
    tab.replies.push(reply);
    const live = tab.live();
    await tick();
    reply.ready("alice", tab.session.id);
    const rq = createOptionsProxy(tab.client);
    const observer = new QueryObserver(tab.queryClient, rq.profile.getUser.queryOptions(undefined, { staleTime: Infinity }));
    const names: string[] = [];
    let last: unknown;
    const unsubscribe = observer.subscribe((result) => {
      if (result.data === undefined || result.data === last) return;
      last = result.data;
      names.push(result.data.displayName);
    });
    await until(live, () => names.length === 1);
    reply.send({ type: "invalidate", scope: { kind: "account", id: "alice" }, paths: ["profile.getUser"], prefixes: [], input: null });
    await until(live, () => names.length === 2);
    expect(names).toEqual(["answer 1", "answer 2"]);
    expect(tab.queries.map((r) => [parseBatchUrl(r.url).input, r.headers.authorization])).toEqual([
      [{ "0": { viewerId: "alice" } }, "Bearer token-alice"],
      [{ "0": { viewerId: "alice" } }, "Bearer token-alice"],
    ]);
    unsubscribe();
  });

  it("replaces the stream at an account switch: an event of the old stream never touches the cache", async () => {
    const tab = openTab();
    const first = sseReply();
    const second = sseReply();
    tab.replies.push(first, second);
    const live = tab.live();
    await tick();
    first.ready("alice", tab.session.id);
    await until(live, (s) => s.status === "connected");
    const alices = tab.cached(queryKeyOf("profile.getUser", undefined, "alice"));
    const bobs = tab.cached(queryKeyOf("profile.getUser", undefined, "bob"));
    // bob's entry is older than his stream (a stream refetches only data from before it opened).
    await tick(2);
    // The event is on its way when the tab switches: it is read after the epoch moved on.
    first.send({ type: "invalidate", scope: { kind: "account", id: "alice" }, paths: ["profile.getUser"], prefixes: [], input: null });
    first.send({ type: "reset", scope: null });
    tab.source.set({ accountId: "bob" });
    expect(live.state).toMatchObject({ status: "connecting", account: "bob" });
    await tick(5);
    expect(tab.streams()).toHaveLength(2);
    expect(tab.streams()[0]?.signal.aborted).toBe(true);
    expect(tab.streams()[1]?.headers.authorization).toBe("Bearer token-bob");
    expect(inputOf(tab.streams()[1])).toMatchObject({ viewerId: "bob" });
    expect(tab.invalidated(alices)).toBe(false);
    second.ready("bob", tab.session.id);
    await until(live, (s) => s.status === "connected");
    // bob's data cached before the stream may have missed events: refetched. Not alice's.
    await tick();
    expect([alices, bobs].map(tab.invalidated)).toEqual([false, true]);
    const bobsPost = tab.cached(queryKeyOf("post.byId", { postId: 1 }, "bob"));
    const alicesPost = tab.cached(queryKeyOf("post.byId", { postId: 1 }, "alice"));
    second.send({ type: "invalidate", scope: { kind: "account", id: "bob" }, paths: ["post.byId"], prefixes: [], input: null });
    await until(live, (s) => s.applied === 1);
    expect([alicesPost, bobsPost].map(tab.invalidated)).toEqual([false, true]);
    expect(live.state).toMatchObject({ status: "connected", account: "bob", epoch: tab.auth.epoch });
  });

  it("drops an event that arrives after sign-out, and opens an anonymous stream", async () => {
    const tab = openTab();
    const first = sseReply();
    const second = sseReply();
    tab.replies.push(first, second);
    const live = tab.live();
    await tick();
    first.ready("alice", tab.session.id);
    await until(live, (s) => s.status === "connected");
    const alices = tab.cached(queryKeyOf("profile.getUser", undefined, "alice"));
    const anon = tab.cached(queryKeyOf("profile.getUser", undefined, null));
    first.send({ type: "invalidate", scope: { kind: "public" }, paths: ["profile.getUser"], prefixes: [], input: null });
    tab.auth.beginSignOut();
    await tick(5);
    expect([alices, anon].map(tab.invalidated)).toEqual([false, false]);
    expect(live.state.applied).toBe(0);
    const anonymous = tab.streams()[1];
    expect(anonymous?.headers.authorization).toBeUndefined();
    expect(anonymous?.headers["x-tabrpc-auth-required"]).toBe("1");
    expect(inputOf(anonymous)).toEqual({ sessionId: tab.session.id });
    second.ready(null, tab.session.id);
    await until(live, (s) => s.status === "connected");
    expect(live.state.account).toBeNull();
  });

  it("opens a new stream when the tab's session id changes", async () => {
    const tab = openTab();
    const first = sseReply();
    const second = sseReply();
    tab.replies.push(first, second);
    const live = tab.live();
    await tick();
    const old = tab.session.id as string;
    first.ready("alice", old);
    const oldCart = tab.cached(queryKeyOf("cart.get", undefined, "alice", old));
    first.send({ type: "invalidate", scope: { kind: "session", id: old }, paths: [], prefixes: ["cart"], input: null });
    const fresh = await tab.session.refresh();
    await tick(5);
    expect(tab.invalidated(oldCart)).toBe(false);
    expect(inputOf(tab.streams()[1])).toEqual({ viewerId: "alice", sessionId: fresh });
    second.ready("alice", fresh);
    const newCart = tab.cached(queryKeyOf("cart.get", undefined, "alice", fresh));
    second.send({ type: "invalidate", scope: { kind: "session", id: fresh }, paths: [], prefixes: ["cart"], input: null });
    await until(live, (s) => s.applied === 1);
    expect([oldCart, newCart].map(tab.invalidated)).toEqual([false, true]);
  });

  it("refetches, once a new epoch's stream is ready, the data it cached for that account before", async () => {
    const tab = openTab();
    const [first, second, third] = [sseReply(), sseReply(), sseReply()];
    tab.replies.push(first, second, third);
    const live = tab.live();
    await tick();
    first.ready("alice", tab.session.id);
    await until(live, (s) => s.status === "connected");
    await tick(2);
    const alices = tab.cached(queryKeyOf("profile.getUser", undefined, "alice"));
    tab.source.set({ accountId: "bob" });
    await tick(2);
    second.ready("bob", tab.session.id);
    await until(live, (s) => s.account === "bob" && s.status === "connected");
    await tick(2);
    // Fetched after bob's stream opened: fresh, left alone.
    const bobs = tab.cached(queryKeyOf("profile.getUser", undefined, "bob"));
    tab.source.set({ accountId: "alice" });
    await tick(2);
    expect(tab.invalidated(alices)).toBe(false);
    third.ready("alice", tab.session.id);
    await until(live, (s) => s.account === "alice" && s.status === "connected");
    await tick();
    // alice's events while the tab was bob's went to nobody here: her cached data is refetched.
    expect([alices, bobs].map(tab.invalidated)).toEqual([true, false]);
  });

  it("resumes a dropped stream with Last-Event-ID, without refetching everything", async () => {
    const tab = openTab();
    const first = sseReply();
    const second = sseReply();
    tab.replies.push(first, second);
    const live = tab.live();
    await tick();
    first.ready("alice", tab.session.id);
    const user = tab.cached(queryKeyOf("profile.getUser", undefined, "alice"));
    const post = tab.cached(queryKeyOf("post.byId", { postId: 1 }, "alice"));
    first.send({ type: "invalidate", scope: { kind: "account", id: "alice" }, paths: ["profile.getUser"], prefixes: [], input: null }, "41");
    await until(live, (s) => s.applied === 1);
    first.close(); // dropped without `return`
    await until(live, () => tab.streams().length === 2);
    expect(tab.streams()[1]?.headers["last-event-id"]).toBe("41");
    second.ready("alice", tab.session.id);
    second.send({ type: "invalidate", scope: { kind: "account", id: "alice" }, paths: ["post.byId"], prefixes: [], input: null }, "42");
    await until(live, (s) => s.applied === 2);
    expect(live.state).toMatchObject({ status: "connected", reconnects: 1 });
    expect([user, post].map(tab.invalidated)).toEqual([true, true]);
  });

  it("opens the stream again after a failure, with growing pauses, and refetches the scope it may have missed", async () => {
    const tab = openTab();
    const first = sseReply();
    const last = sseReply();
    tab.replies.push(first, 503, 500, last);
    const errors: unknown[] = [];
    // The longest pause of each draw: 20 ms, then 40 ms, then 80 ms.
    vi.spyOn(Math, "random").mockReturnValue(1);
    const live = tab.live({ retryDelayMs: 20, onError: (error) => errors.push(error) });
    await tick();
    first.ready("alice", tab.session.id);
    await until(live, (s) => s.status === "connected");
    const user = tab.cached(queryKeyOf("profile.getUser", undefined, "alice"));
    const bobs = tab.cached(queryKeyOf("profile.getUser", undefined, "bob"));
    // The server ends it (a deploy): opened again, refused twice, then back.
    first.write("event: return\ndata: \n\n");
    await until(live, (s) => s.status === "reconnecting");
    await until(live, () => tab.streams().length === 4);
    const [, second = 0, third = 0, fourth = 0] = tab.opened;
    expect(third - second).toBeGreaterThanOrEqual(39);
    expect(fourth - third).toBeGreaterThanOrEqual(79);
    expect(errors).toHaveLength(3);
    last.ready("alice", tab.session.id);
    await until(live, (s) => s.status === "connected");
    await tick();
    expect([user, bobs].map(tab.invalidated)).toEqual([true, false]);
    expect(live.state.reconnects).toBe(1);
  });

  it("waits for the next epoch after a refusal (no such procedure)", async () => {
    const tab = openTab();
    const after = sseReply();
    tab.replies.push(404, after);
    const live = tab.live();
    await until(live, (s) => s.status === "failed");
    await tick(30);
    expect(tab.streams()).toHaveLength(1);
    tab.source.set({ accountId: "bob" });
    await tick();
    expect(tab.streams()).toHaveLength(2);
    after.ready("bob", tab.session.id);
    await until(live, (s) => s.status === "connected");
  });

  it("retries a signed-in tab's 401 (a new token may pass), not an anonymous tab's", async () => {
    const tab = openTab();
    const back = sseReply();
    tab.replies.push(401, back);
    const live = tab.live();
    await until(live, (s) => s.status === "reconnecting");
    await until(live, () => tab.streams().length === 2);
    back.ready("alice", tab.session.id);
    await until(live, (s) => s.status === "connected");

    const anonymous = openTab(null);
    anonymous.replies.push(401, sseReply());
    const refused = anonymous.live();
    await until(refused, (s) => s.status === "failed");
    await tick(30);
    expect(anonymous.streams()).toHaveLength(1);
  });

  it("applies nothing of a stream answered for another account", async () => {
    const tab = openTab();
    const wrong = sseReply();
    tab.replies.push(wrong);
    const live = tab.live();
    await tick();
    wrong.ready("bob", tab.session.id);
    wrong.send({ type: "reset", scope: null });
    const mine = tab.cached(queryKeyOf("profile.getUser", undefined, "alice"));
    await until(live, (s) => s.status === "reconnecting");
    await tick(5);
    expect(tab.invalidated(mine)).toBe(false);
    expect(live.state.applied).toBe(0);
  });

  it("drops unreadable messages and keeps going", async () => {
    const tab = openTab();
    const reply = sseReply();
    tab.replies.push(reply);
    const live = tab.live();
    await tick();
    reply.ready("alice", tab.session.id);
    const user = tab.cached(queryKeyOf("profile.getUser", undefined, "alice"));
    reply.send({ type: "invalidate", scope: { kind: "account" }, paths: ["profile.getUser"], prefixes: [], input: null });
    reply.send({ type: "invalidate", scope: { kind: "account", id: "alice" }, paths: "profile.getUser", prefixes: [], input: null });
    reply.send({ type: "surprise" });
    reply.send({ type: "invalidate", scope: { kind: "account", id: "alice" }, paths: ["profile.getUser"], prefixes: [], input: null });
    await until(live, (s) => s.applied === 1);
    expect(live.state.dropped).toBe(3);
    expect(tab.invalidated(user)).toBe(true);
  });

  it("stops: the stream closes and nothing is opened again", async () => {
    const tab = openTab();
    const reply = sseReply();
    tab.replies.push(reply);
    const live = tab.live();
    await tick();
    reply.ready("alice", tab.session.id);
    await until(live, (s) => s.status === "connected");
    live();
    expect(live.state.status).toBe("stopped");
    await tick(5);
    expect(reply.cancelled()).toBe(true);
    tab.source.set({ accountId: "bob" });
    await tick(20);
    expect(tab.streams()).toHaveLength(1);
  });

  it("opens another subscription when told, and keeps it over session changes when it names no session", async () => {
    const tab = openTab();
    const reply = sseReply();
    tab.replies.push(reply);
    const live = tab.live({ procedure: "live.accountOnly" });
    await tick();
    expect(new URL(tab.streams()[0]?.url ?? "").pathname).toBe("/trpc/live.accountOnly");
    expect(inputOf(tab.streams()[0])).toEqual({ viewerId: "alice" });
    reply.ready("alice", null);
    await until(live, (s) => s.status === "connected");
    expect(live.state.session).toBeNull();
    await tab.session.refresh();
    await tick(5);
    expect(tab.streams()).toHaveLength(1);
    const user = tab.cached(queryKeyOf("profile.getUser", undefined, "alice"));
    reply.send({ type: "invalidate", scope: { kind: "account", id: "alice" }, paths: ["profile.getUser"], prefixes: [], input: null });
    // A session event cannot be this stream's: it named none.
    reply.send({ type: "invalidate", scope: { kind: "session", id: tab.session.id }, paths: ["profile.getUser"], prefixes: [], input: null });
    await until(live, (s) => s.received === 2);
    expect(live.state.applied).toBe(1);
    expect(tab.invalidated(user)).toBe(true);
  });

  it("refuses a client without the procedure", () => {
    const auth = createTabAuth(scriptedSource({ accountId: "alice" }));
    const client = createClient({ "profile.getUser": procedures["profile.getUser"] } as ProcedureTable<Pick<Procedures, "profile.getUser">>, {
      links: tabLinks({ url: URL_BASE, auth, fetch: fakeFetch(() => jsonReply([])) }),
    });
    // @ts-expect-error its procedures have no subscription: a compile error too
    expect(() => connectLive(client, new QueryClient())).toThrow(/no subscription live.events/);
  });
});
