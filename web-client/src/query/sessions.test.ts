// The TanStack Query integration of sessions (client.md section 6): keys per session id,
// skipped queries while there is no id, and the old id's queries gone after a refresh.
import { MutationObserver, QueryClient, QueryObserver, type QueryObserverResult } from "@tanstack/query-core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { procedures, type Cart, type Procedures } from "../../../bindings/demo.js";
import { createTabAuth } from "../auth/tabAuth.js";
import { createClient } from "../client.js";
import { TabrpcError } from "../error.js";
import { authLink } from "../links/authLink.js";
import { httpBatchLink } from "../links/httpBatchLink.js";
import { tabLinks } from "../links/tabLinks.js";
import { createSessionStore, type SessionStore, type SessionStoreOptions } from "../session/store.js";
import { cartServer, type CartServer } from "../testing/cart-server.js";
import { fakeFetch, parseBatchUrl, tick, type RecordedRequest } from "../testing/fake-fetch.js";
import { deferred, scriptedSource } from "../testing/scripted-auth.js";
import { connectQueryClient } from "./connect.js";
import { sessionKey } from "./keys.js";
import { createOptionsProxy } from "./options.js";

const stores: SessionStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.dispose();
});

/** One tab: its session store, client, builders and cache, against `server`. */
function openTab(server: CartServer, options: SessionStoreOptions = { storage: "memory" }, respond?: (r: RecordedRequest) => Promise<Response>) {
  const session = createSessionStore(options);
  stores.push(session);
  const auth = createTabAuth(scriptedSource({ accountId: null }), { tokenRetryDelayMs: 1 });
  const fetch = fakeFetch(respond ?? ((r) => server.respond(r)));
  const client = createClient(procedures, { links: tabLinks({ url: "http://api.test/trpc", auth, session, fetch }) });
  const rq = createOptionsProxy(client);
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, gcTime: Infinity } } });
  return { session, auth, fetch, client, rq, queryClient };
}

describe("createOptionsProxy: session procedures", () => {
  it("put the session id in the key (and the account, null when anonymous)", () => {
    const tab = openTab(cartServer());
    expect(tab.rq.cart.get.queryKey()).toEqual([["cart", "get"], { input: { sessionId: tab.session.id, viewerId: null }, type: "query" }]);
    expect(tab.rq.cart.get.queryOptions().queryKey).toEqual(tab.rq.cart.get.queryKey());
    // Not for procedures without the "session" scope.
    expect(tab.rq.profile.getUser.queryKey()).toEqual([["profile", "getUser"], { input: { viewerId: null }, type: "query" }]);
  });

  it("keep two sessions' carts apart in one cache", async () => {
    const server = cartServer();
    const one = openTab(server);
    const two = openTab(server);
    await one.client.cart.add.mutate({ item: "apple" });
    await two.client.cart.add.mutate({ item: "pear" });
    // Both tabs' queries in one cache (as two stores of one page would be).
    const cache = one.queryClient;
    const a = await cache.fetchQuery(one.rq.cart.get.queryOptions());
    const b = await cache.fetchQuery(two.rq.cart.get.queryOptions());
    expect([a.lines, b.lines]).toEqual([[{ item: "apple", quantity: 1 }], [{ item: "pear", quantity: 1 }]]);
    expect(cache.getQueryData(one.rq.cart.get.queryKey())?.lines[0]?.item).toBe("apple");
    expect(cache.getQueryData(two.rq.cart.get.queryKey())?.lines[0]?.item).toBe("pear");
    expect(cache.getQueryCache().findAll({ queryKey: sessionKey(one.session.id) })).toHaveLength(1);
  });

  it("send the key's session id with the query", async () => {
    const tab = openTab(cartServer());
    await tab.queryClient.fetchQuery(tab.rq.cart.get.queryOptions());
    expect(parseBatchUrl(tab.fetch.requests[0]?.url ?? "").input).toEqual({ "0": { sessionId: tab.session.id } });
  });

  it("let mutations get the id from sessionLink when they are sent", async () => {
    const server = cartServer();
    const tab = openTab(server);
    const options = tab.rq.cart.add.mutationOptions();
    const next = await tab.session.refresh();
    await new MutationObserver(tab.queryClient, options).mutate({ item: "kiwi" });
    expect(server.carts.get(next)).toEqual([{ item: "kiwi", quantity: 1 }]);
  });

  it("are required: a client of session procedures needs the store, and the proxy needs the links that carry it", () => {
    const auth = createTabAuth(scriptedSource());
    expect(() => createClient(procedures, { links: tabLinks({ url: "http://api.test/trpc", auth }) })).toThrow(/session store/);
    const bare = createClient(procedures, { links: [httpBatchLink({ url: "http://api.test/trpc" })] });
    expect(() => createOptionsProxy(bare)).toThrow(/authLink/);
    expect(() => createClient(procedures, { links: [authLink({ auth }), httpBatchLink({ url: "http://api.test/trpc" })] })).toThrow(/session store/);
  });
});

describe("createOptionsProxy: server-rendering mode", () => {
  it("skips session queries until the store has an id, then runs them with it", async () => {
    const server = cartServer();
    const tab = openTab(server, { storage: "memory", serverRendering: true });
    const before = tab.rq.cart.get.queryOptions(undefined, { staleTime: 1000 });
    expect(before.enabled).toBe(false);
    expect(before.staleTime).toBe(1000);
    expect(before.queryKey[1].input.sessionId).toBeNull();
    const observer = new QueryObserver(tab.queryClient, before);
    const states: QueryObserverResult<Cart, TabrpcError<never>>[] = [];
    const stop = observer.subscribe((state) => states.push(state));
    await tick(5);
    expect(tab.fetch.requests).toHaveLength(0);
    expect(observer.getCurrentResult()).toMatchObject({ status: "pending", fetchStatus: "idle" });

    // Fetching it anyway is refused locally, with a clear error.
    const forced = await tab.queryClient.fetchQuery(before).catch((e: unknown) => e);
    expect(forced).toBeInstanceOf(TabrpcError);
    expect((forced as TabrpcError).code).toBe("PRECONDITION_FAILED");
    expect(tab.fetch.requests).toHaveLength(0);

    tab.session.start();
    observer.setOptions(tab.rq.cart.get.queryOptions()); // re-built on the store's change (a re-render)
    await vi.waitFor(() => expect(observer.getCurrentResult().status).toBe("success"));
    stop();
    expect(parseBatchUrl(tab.fetch.requests[0]?.url ?? "").input).toEqual({ "0": { sessionId: tab.session.id } });
  });
});

describe("connectQueryClient with a session store", () => {
  it("removes the old id's queries on refresh; the new key finds the rotated cart", async () => {
    const server = cartServer();
    const tab = openTab(server);
    connectQueryClient(tab.queryClient, tab.client);
    await tab.client.cart.add.mutate({ item: "apple" });
    const oldKey = tab.rq.cart.get.queryKey();
    await tab.queryClient.fetchQuery(tab.rq.cart.get.queryOptions());
    await tab.queryClient.fetchQuery(tab.rq.profile.getUser.queryOptions());
    expect(tab.queryClient.getQueryData(oldKey)?.lines).toHaveLength(1);

    await tab.session.refresh(async (newSessionId) => {
      await tab.client.session.rotate.mutate({ newSessionId });
    });
    expect(tab.queryClient.getQueryData(oldKey)).toBeUndefined();
    expect(tab.queryClient.getQueryData(tab.rq.profile.getUser.queryKey())).toBeDefined(); // not a session query
    const moved = await tab.queryClient.fetchQuery(tab.rq.cart.get.queryOptions());
    expect(moved.lines).toEqual([{ item: "apple", quantity: 1 }]);
    expect(tab.rq.cart.get.queryKey()[1].input.sessionId).toBe(tab.session.id);
  });

  it("cancels the old id's query in flight: no error is shown, its request is aborted", async () => {
    const server = cartServer();
    const gate = deferred<void>();
    const tab = openTab(server, { storage: "memory" }, async (r) => {
      await gate.promise;
      return server.respond(r);
    });
    connectQueryClient(tab.queryClient, tab.client);
    const options = tab.rq.cart.get.queryOptions();
    const observer = new QueryObserver(tab.queryClient, options);
    const states: QueryObserverResult<Cart, TabrpcError<never>>[] = [];
    const stop = observer.subscribe((state) => states.push(state));
    await vi.waitFor(() => expect(tab.fetch.requests).toHaveLength(1));
    await tab.session.refresh();
    expect(tab.fetch.requests[0]?.signal.aborted).toBe(true);
    gate.resolve();
    await tick(5);
    stop();
    expect(states.some((s) => s.status === "error")).toBe(false);
    expect(tab.queryClient.getQueryState(options.queryKey)).toBeUndefined();
  });

  it("drops, without an error, an answer for the old id when nothing cancels the query", async () => {
    const server = cartServer();
    const gate = deferred<void>();
    const tab = openTab(server, { storage: "memory" }, async (r) => {
      await gate.promise;
      return server.respond(r);
    });
    const options = tab.rq.cart.get.queryOptions();
    const observer = new QueryObserver(tab.queryClient, options);
    const states: QueryObserverResult<Cart, TabrpcError<never>>[] = [];
    const stop = observer.subscribe((state) => states.push(state));
    await vi.waitFor(() => expect(tab.fetch.requests).toHaveLength(1));
    await tab.session.refresh();
    gate.resolve();
    await vi.waitFor(() => expect(observer.getCurrentResult().fetchStatus).toBe("idle"));
    stop();
    expect(states.some((s) => s.status === "error")).toBe(false);
    expect(tab.queryClient.getQueryState(options.queryKey)).toMatchObject({ status: "pending", error: null });
  });

  it("never runs a query built for an id the tab has left", async () => {
    const server = cartServer();
    const tab = openTab(server);
    const stale = tab.rq.cart.get.queryOptions();
    await tab.session.refresh();
    const outcome = await tab.queryClient.fetchQuery(stale).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(Error);
    expect(tab.fetch.requests).toHaveLength(0);
    expect(tab.queryClient.getQueryState(stale.queryKey)).toMatchObject({ status: "pending", fetchStatus: "idle", error: null });
  });

  it("stops following the store when stopped", async () => {
    const tab = openTab(cartServer());
    const stop = connectQueryClient(tab.queryClient, tab.client);
    await tab.queryClient.fetchQuery(tab.rq.cart.get.queryOptions());
    const key = tab.rq.cart.get.queryKey();
    stop();
    await tab.session.refresh();
    expect(tab.queryClient.getQueryData(key)).toBeDefined();
  });
});
