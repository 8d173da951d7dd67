// @vitest-environment happy-dom
// The Clerk adapter driven by the real `@clerk/clerk-js` (a dev dependency only: the adapter never
// imports it), loaded in happy-dom against a fake Frontend API (testing/fake-clerk-fapi.ts)
// instead of Clerk's network service: two accounts signed in in one browser, this tab on one.
import { Clerk } from "@clerk/clerk-js";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createClient } from "../client.js";
import { HEADERS } from "../codes.js";
import { tabLinks } from "../links/tabLinks.js";
import { procedures } from "../testing/demo-procedures.js";
import { claimsOf, fakeClerkFapi, type FakeFapi } from "../testing/fake-clerk-fapi.js";
import { fakeFetch, jsonReply, parseBatchUrl } from "../testing/fake-fetch.js";
import { clerkAuthSource } from "./clerk.js";
import { createTabAuth, isAuthChange, type AuthChange, type TabAuth } from "./tabAuth.js";

const alice = { sessionId: "sess_alice", userId: "user_alice", name: "Alice" };
const bob = { sessionId: "sess_bob", userId: "user_bob", name: "Bob" };

// clerk-js reads `isSecureContext` (a window global happy-dom lacks) before it uses Web Locks,
// which happy-dom lacks too; outside a secure context it takes its fallback. Its session-token
// poller runs on timers as long as the page lives and clerk-js has no public way to stop it:
// the timers are vitest's (advancing with the clock), and each test's are dropped after it.
let restoreSecureContext: () => void;
beforeAll(() => {
  const previous = Object.getOwnPropertyDescriptor(globalThis, "isSecureContext");
  Object.defineProperty(globalThis, "isSecureContext", { value: false, configurable: true, writable: true });
  restoreSecureContext = () => {
    if (previous === undefined) Reflect.deleteProperty(globalThis, "isSecureContext");
    else Object.defineProperty(globalThis, "isSecureContext", previous);
  };
  vi.useFakeTimers({ shouldAdvanceTime: true, toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
});
afterAll(() => {
  vi.useRealTimers();
  restoreSecureContext();
});

let fapi: FakeFapi;
let uninstall: () => void;
const disposers: (() => void)[] = [];
afterEach(() => {
  for (const dispose of disposers.splice(0)) dispose();
  vi.clearAllTimers();
  uninstall();
});

/** A real Clerk instance of this browser, loaded from the fake FAPI. */
async function loadedClerk(active = alice.sessionId): Promise<Clerk> {
  fapi = fakeClerkFapi([alice, bob], active);
  uninstall = fapi.install();
  const clerk = new Clerk(fapi.publishableKey);
  await clerk.load();
  return clerk;
}

/** The app's transport: records each request's bearer subject and answers every call. */
function appFetch() {
  return fakeFetch((request) => jsonReply(parseBatchUrl(request.url).paths.map(() => ({ result: { data: { id: "?" } } }))));
}

describe("clerkAuthSource over the real @clerk/clerk-js", () => {
  it("fails closed until Clerk has loaded, then reads this tab's session and the browser's accounts", async () => {
    fapi = fakeClerkFapi([alice, bob], alice.sessionId);
    uninstall = fapi.install();
    const clerk = new Clerk(fapi.publishableKey);
    const source = clerkAuthSource(clerk);
    expect(clerk.loaded).toBe(false);
    expect(source.accountId()).toBeNull();
    expect(source.signedInAccounts()).toBe(Number.POSITIVE_INFINITY); // unknown: the marker, not the cookie
    expect(source.signedInAccountIds?.()).toBeNull();

    await clerk.load();
    expect(clerk.loaded).toBe(true);
    expect(source.accountId()).toBe("user_alice");
    expect(source.sessionId?.()).toBe("sess_alice");
    expect(source.signedInAccounts()).toBe(2);
    expect(source.signedInAccountIds?.()).toEqual(["user_alice", "user_bob"]);
    expect(fapi.requests).toEqual(["PATCH /v1/environment", "GET /v1/client"]);
  });

  it("answers from Clerk's per-session cache by default and asks the FAPI with skipCache", async () => {
    const clerk = await loadedClerk();
    const source = clerkAuthSource(clerk);
    const before = fapi.requests.length;

    const cached = claimsOf(await source.getToken({ skipCache: false }));
    expect(cached).toMatchObject({ sub: "user_alice", sid: "sess_alice" });
    expect(fapi.requests.slice(before)).toEqual([]); // the session's last active token, no round trip

    const fresh = claimsOf(await source.getToken({ skipCache: true }));
    expect(fresh).toMatchObject({ sub: "user_alice", sid: "sess_alice" });
    expect(fresh?.["n"]).toBeGreaterThan(Number(cached?.["n"]));
    expect(fapi.requests.slice(before)).toEqual(["POST /v1/client/sessions/sess_alice/tokens"]);
    // Bob's session, signed in in this browser too, was never asked for a token.
    expect(fapi.requests.some((r) => r.includes("sess_bob"))).toBe(false);
  });

  it("sends this tab's account's token through tabLinks, and the new account's after setActive", async () => {
    const clerk = await loadedClerk();
    const auth: TabAuth = createTabAuth(clerkAuthSource(clerk));
    disposers.push(() => auth.dispose());
    const changes: AuthChange[] = [];
    disposers.push(auth.subscribe((change) => changes.push(change)));
    const transport = appFetch();
    const client = createClient(procedures, { links: tabLinks({ url: "https://app.example.test/trpc", auth, fetch: transport }) });

    await client.profile.getUser.query();
    expect(auth.accountId).toBe("user_alice");

    // The user switches this tab to bob (Clerk's own call; its listener tells the adapter).
    const inFlight = client.profile.getUser.query(undefined, { context: { viewerId: "user_alice" } });
    await clerk.setActive({ session: bob.sessionId });
    expect(fapi.requests).toContain("POST /v1/client/sessions/sess_bob/touch");
    expect(auth.accountId).toBe("user_bob");
    expect(changes.map((c) => [c.type, c.previous, c.current])).toEqual([["switch", "user_alice", "user_bob"]]);
    // Alice's call, started before the switch, is not answered for the tab's new account.
    const dropped = await inFlight.catch((error: unknown) => error);
    expect(isAuthChange(dropped)).toBe(true);

    await client.profile.getUser.query();
    const sent = transport.requests.map((r) => ({
      subject: claimsOf(r.headers["authorization"]?.replace(/^Bearer /, ""))?.["sub"] ?? null,
      marker: r.headers[HEADERS.MARKER] ?? null,
      viewer: parseBatchUrl(r.url).input?.["0"],
    }));
    expect(sent[0]).toEqual({ subject: "user_alice", marker: null, viewer: { viewerId: "user_alice" } });
    expect(sent.at(-1)).toEqual({ subject: "user_bob", marker: null, viewer: { viewerId: "user_bob" } });
    expect(sent.every((s) => s.subject !== null)).toBe(true); // never without a bearer: two accounts share the cookie
  });

  it("sees an account signed out through Clerk leave this browser's accounts", async () => {
    const clerk = await loadedClerk();
    const auth = createTabAuth(clerkAuthSource(clerk));
    disposers.push(() => auth.dispose());
    const changes: AuthChange[] = [];
    disposers.push(auth.subscribe((change) => changes.push(change)));

    await clerk.signOut({ sessionId: bob.sessionId });
    expect(fapi.requests).toContain("POST /v1/client/sessions/sess_bob/remove");
    expect(auth.source.signedInAccountIds?.()).toEqual(["user_alice"]);
    expect(auth.accountId).toBe("user_alice");
    expect(changes.map((c) => [c.type, c.signedOut])).toEqual([["signed-out-elsewhere", "user_bob"]]);
  });
});
