// @tabrpc/client's sessions by parameter injection (client.md section 6) against the real demo
// server (tabrpc-demo, started by globalSetup): each tab's session store, `sessionLink` filling
// in `sessionId`, `refresh` rotating the cart to a new id at sign-in, and `connectSession` doing
// all of it by itself (sign-in, sign-out, an ended session).
import { createClient, TabrpcError, tabLinks, type Client } from "@tabrpc/client";
import { createTabAuth, type AuthSource, type TabAuth } from "@tabrpc/client/auth";
import {
  connectSession,
  createSessionStore,
  isSessionId,
  type SessionFollowEvent,
  type SessionStore,
} from "@tabrpc/client/session";
import { connectQueryClient, createOptionsProxy, type OptionsProxy } from "@tabrpc/client/query";
import { devIdpAuthSource, type DevIdpAuthSource } from "@tabrpc/client/dev-idp";
import { QueryClient } from "@tanstack/query-core";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { procedures, type Procedures, type SessionRotation } from "../../bindings/demo.js";
import { createBrowser, type Browser } from "./support/browser.js";

const demoUrl = inject("demoUrl");

/** One browser tab: its identity-provider session, auth state, session store, client, builders and cache. */
interface Tab {
  readonly source: DevIdpAuthSource;
  readonly auth: TabAuth;
  readonly session: SessionStore;
  readonly client: Client<Procedures>;
  readonly rq: OptionsProxy<Procedures>;
  readonly queryClient: QueryClient;
}

const tabs: Tab[] = [];

function openTab(browser: Browser, override: Partial<AuthSource> = {}): Tab {
  const source = devIdpAuthSource({ url: demoUrl, fetch: browser.fetch, storage: null, focusEvents: false });
  const auth = createTabAuth({ ...source, ...override }, { tokenRetryDelayMs: 10 });
  // Node has no sessionStorage: each tab keeps its id in memory, as a tab's sessionStorage would.
  const session = createSessionStore({ storage: "memory" });
  const client = createClient(procedures, { links: tabLinks({ url: `${demoUrl}/trpc`, auth, session, fetch: browser.fetch }) });
  const rq = createOptionsProxy(client);
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
  connectQueryClient(queryClient, client);
  const tab = { source, auth, session, client, rq, queryClient };
  tabs.push(tab);
  return tab;
}

let browser: Browser;
beforeEach(() => {
  browser = createBrowser();
});
afterEach(() => {
  for (const tab of tabs.splice(0)) {
    tab.session.dispose();
    tab.auth.dispose();
  }
});

describe("sessions against the demo server", () => {
  it("keeps two tabs' carts apart: each session store has its own id, filled in by sessionLink", async () => {
    const one = openTab(browser);
    const two = openTab(browser);
    expect(isSessionId(one.session.id)).toBe(true);
    expect(one.session.id).not.toBe(two.session.id);

    await one.client.cart.add.mutate({ item: "apple", quantity: 2 });
    await two.client.cart.add.mutate({ item: "pear" });
    await one.client.cart.add.mutate({ item: "apple" });

    const cartOne = await one.queryClient.fetchQuery(one.rq.cart.get.queryOptions());
    const cartTwo = await two.queryClient.fetchQuery(two.rq.cart.get.queryOptions());
    expect(cartOne.lines).toEqual([{ item: "apple", quantity: 3 }]);
    expect(cartTwo.lines).toEqual([{ item: "pear", quantity: 1 }]);
    // The cache key holds the session id.
    expect(one.rq.cart.get.queryKey()).toEqual([["cart", "get"], { input: { sessionId: one.session.id, viewerId: null }, type: "query" }]);
    // Every cart request went out without a hand-written sessionId, and none was refused.
    expect(browser.requests.filter((r) => r.paths.some((p) => p.startsWith("cart.")))).toHaveLength(5);
  });

  it("moves the cart to a new id at sign-in: refresh with beforeUpdate calling session.rotate", async () => {
    const tab = openTab(browser);
    await tab.client.cart.add.mutate({ item: "apple", quantity: 2 });
    const anonymousKey = tab.rq.cart.get.queryKey();
    await tab.queryClient.fetchQuery(tab.rq.cart.get.queryOptions());
    const oldId = tab.session.id;

    await tab.source.signIn("alice");
    const rotations: unknown[] = [];
    const newId = await tab.session.refresh(async (newSessionId, old) => {
      expect(old).toBe(oldId);
      expect(tab.session.id).toBe(oldId); // still current: sessionLink fills in the old id
      rotations.push(await tab.client.session.rotate.mutate({ newSessionId }));
    });
    expect(rotations).toEqual([{ moved: 1, linked: true }]);
    expect(tab.session.id).toBe(newId);
    expect(newId).not.toBe(oldId);

    // The old id's cached cart is gone; the new id has the cart, for alice only.
    expect(tab.queryClient.getQueryData(anonymousKey)).toBeUndefined();
    const cart = await tab.queryClient.fetchQuery(tab.rq.cart.get.queryOptions());
    expect(cart.lines).toEqual([{ item: "apple", quantity: 2 }]);
    expect(tab.rq.cart.get.queryKey()[1].input).toEqual({ sessionId: newId, viewerId: "user_alice" });

    // The old id has ended: pinning it answers 404 with the server's remedy.
    const ended = await tab.client.cart.get.query(undefined, { context: { sessionId: oldId ?? "" } }).catch((e: unknown) => e);
    expect(ended).toBeInstanceOf(TabrpcError);
    expect((ended as TabrpcError).code).toBe("NOT_FOUND");
    expect((ended as TabrpcError).message).toMatch(/session expired or revoked/);

    // Another account cannot use the new id, even knowing it.
    const other = openTab(browser);
    await other.source.signIn("bob");
    const refused = await other.client.cart.get.query(undefined, { context: { sessionId: newId } }).catch((e: unknown) => e);
    expect((refused as TabrpcError).code).toBe("FORBIDDEN");
  });

  it("keeps the old id when the rotation fails", async () => {
    const tab = openTab(browser);
    await tab.client.cart.add.mutate({ item: "fig" });
    const oldId = tab.session.id;
    // A new id the server refuses (not a UUID v4): the rotation fails with a 400, nothing moves.
    const failure = await tab.session
      .refresh(async () => {
        await tab.client.session.rotate.mutate({ newSessionId: "not-a-uuid" });
      })
      .catch((e: unknown) => e);
    expect((failure as TabrpcError).code).toBe("BAD_REQUEST");
    expect(tab.session.id).toBe(oldId);
    await expect(tab.client.cart.get.query()).resolves.toEqual({ lines: [{ item: "fig", quantity: 1 }] });
  });
});

describe("connectSession against the demo server", () => {
  /** Connects `tab`'s session to its auth; resolves each event as it comes. */
  function connect(tab: Tab) {
    const events: SessionFollowEvent<SessionRotation>[] = [];
    const errors: unknown[] = [];
    const stop = connectSession(tab.client, { onChange: (event) => events.push(event), onError: (error) => errors.push(error) });
    return { events, errors, stop };
  }

  it("moves the anonymous cart to the account at sign-in, and ends the session at sign-out", async () => {
    const tab = openTab(browser);
    const { events, errors } = connect(tab);
    await tab.client.cart.add.mutate({ item: "apple", quantity: 2 });
    const anonymousId = tab.session.id ?? "";

    await tab.source.signIn("alice");
    await expect.poll(() => events.length).toBe(1);
    expect(events[0]).toMatchObject({ type: "rotated", reason: "sign-in", account: "user_alice", previous: anonymousId, rotation: { moved: 1, linked: true } });
    const aliceId = tab.session.id ?? "";
    expect(aliceId).not.toBe(anonymousId);
    await expect(tab.client.cart.get.query()).resolves.toEqual({ lines: [{ item: "apple", quantity: 2 }] });

    await tab.auth.signOut(() => tab.source.signOut());
    await expect.poll(() => events.length).toBe(3);
    expect(events.slice(1).map(({ type, reason, account }) => ({ type, reason, account }))).toEqual([
      { type: "ended", reason: "sign-out", account: "user_alice" },
      { type: "renewed", reason: "sign-out", account: null },
    ]);
    expect(tab.session.id).not.toBe(aliceId);
    // Ended with alice's token, before the sign-out: the id answers nobody now.
    const ended = await tab.client.cart.get.query(undefined, { context: { sessionId: aliceId } }).catch((e: unknown) => e);
    expect((ended as TabrpcError).code).toBe("NOT_FOUND");
    await expect(tab.client.cart.get.query()).resolves.toEqual({ lines: [] });
    expect(errors).toEqual([]);
  });

  it("rotates with a fresh token when the server refuses the first one (401 invalid_token)", async () => {
    let stale = false;
    const tab = openTab(browser, {
      getToken: async (options) => {
        if (stale) {
          stale = false;
          return "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"; // a token the server cannot verify
        }
        return tab.source.getToken(options);
      },
    });
    const { events } = connect(tab);
    await tab.client.cart.add.mutate({ item: "kiwi" });
    stale = true;
    await tab.source.signIn("bob");
    await expect.poll(() => events.length).toBe(1);
    expect(events[0]).toMatchObject({ type: "rotated", account: "user_bob", rotation: { moved: 1, linked: true } });
    const rotations = browser.requests.filter((r) => r.paths.includes("session.rotate"));
    expect(rotations).toHaveLength(2);
  });

  it("takes a new id when the server says the session has ended", async () => {
    const one = openTab(browser);
    const { events } = connect(one);
    await one.client.cart.add.mutate({ item: "plum" });
    const id = one.session.id ?? "";
    // The same id ended elsewhere (another page of this browser, an admin's revocation).
    const other = openTab(browser);
    await other.client.session.end.mutate(undefined, { context: { sessionId: id } });
    const answer = await one.client.cart.get.query().catch((e: unknown) => e);
    expect((answer as TabrpcError).reason).toBe("session_expired");
    await expect.poll(() => events.length).toBe(1);
    expect(events[0]).toMatchObject({ type: "renewed", reason: "expired", previous: id, account: null });
    expect(one.session.id).not.toBe(id);
    await expect(one.client.cart.get.query()).resolves.toEqual({ lines: [] });
  });
});
