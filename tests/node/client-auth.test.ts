// @tabrpc/client's per-tab auth against the real demo server (tabrpc-demo, started by
// globalSetup) and its development identity provider, with two accounts signed in in one
// simulated browser whose tabs share a cookie jar: the shared `__session` cookie follows the most
// recently active tab, exactly as with Clerk.
import { createClient, httpBatchLink, TabrpcError, tabLinks, type Client, type ProcedureTable } from "@tabrpc/client";
import { createTabAuth, isAuthChange, type AuthSource, type TabAuth } from "@tabrpc/client/auth";
import { connectQueryClient, createOptionsProxy, queryKeyOf, type OptionsProxy } from "@tabrpc/client/query";
import { devIdpAuthSource, type DevIdpAuthSource } from "@tabrpc/client/dev-idp";
import { QueryClient, QueryObserver } from "@tanstack/query-core";
import { beforeEach, describe, expect, inject, it } from "vitest";
import { procedures as demo, type Procedures as DemoProcedures, type Progress, type User } from "../../bindings/demo.js";
import { createBrowser, subjectOf, type Browser } from "./support/browser.js";

// The procedures these tests call, picked from the generated table (they need no session store).
type Procedures = Pick<DemoProcedures, "profile.getUser" | "onboarding.getProgress" | "onboarding.saveStep">;
const procedures: ProcedureTable<Procedures> = {
  "profile.getUser": demo["profile.getUser"],
  "onboarding.getProgress": demo["onboarding.getProgress"],
  "onboarding.saveStep": demo["onboarding.saveStep"],
};

const demoUrl = inject("demoUrl");

/** The subject of a `Bearer <jwt>` header (not verified: the server did that). */
const bearerSubject = (authorization: string | null | undefined) =>
  authorization?.startsWith("Bearer ") === true ? subjectOf(authorization.slice("Bearer ".length)) : null;

/** One browser tab: its own identity-provider session, auth state, client, builders and cache. */
interface Tab {
  readonly source: DevIdpAuthSource;
  readonly auth: TabAuth;
  readonly client: Client<Procedures>;
  readonly rq: OptionsProxy<Procedures>;
  readonly queryClient: QueryClient;
}

function openTab(browser: Browser, override: Partial<AuthSource> = {}): Tab {
  const source = devIdpAuthSource({ url: demoUrl, fetch: browser.fetch, storage: null, focusEvents: false });
  const auth = createTabAuth({ ...source, ...override }, { tokenRetryDelayMs: 10 });
  const client = createClient(procedures, { links: tabLinks({ url: `${demoUrl}/trpc`, auth, fetch: browser.fetch }) });
  const rq = createOptionsProxy(client);
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
  connectQueryClient(queryClient, client);
  return { source, auth, client, rq, queryClient };
}

/** A client without the auth link: authenticates by whatever cookie the browser holds. */
function cookieOnlyClient(browser: Browser) {
  return createClient(procedures, { links: [httpBatchLink({ url: `${demoUrl}/trpc`, fetch: browser.fetch })] });
}

let browser: Browser;
beforeEach(() => {
  browser = createBrowser();
});

describe("per-tab auth against the demo server", () => {
  it("keeps both accounts' data apart in one QueryClient, and removes an account's at its sign-out", async () => {
    const tab = openTab(browser);
    const alice = await tab.source.signIn("alice");
    await tab.queryClient.fetchQuery(tab.rq.profile.getUser.queryOptions());
    await tab.client.onboarding.saveStep.mutate({ step: "welcome" });
    expect(alice.userId).toBe("user_alice");
    await tab.queryClient.fetchQuery(tab.rq.onboarding.getProgress.queryOptions());

    await tab.source.signIn("bob"); // the same tab switches to a second account
    expect(tab.auth.accountId).toBe("user_bob");
    await tab.queryClient.fetchQuery(tab.rq.profile.getUser.queryOptions());
    await tab.queryClient.fetchQuery(tab.rq.onboarding.getProgress.queryOptions());

    const cached = (viewerId: string) => ({
      user: tab.queryClient.getQueryData<User>(queryKeyOf("profile.getUser", undefined, viewerId))?.displayName,
      progress: tab.queryClient.getQueryData<Progress>(queryKeyOf("onboarding.getProgress", undefined, viewerId))?.completed,
    });
    expect(cached("user_alice")).toEqual({ user: "Alice", progress: ["welcome"] });
    // The demo server lives for the whole run: bob may have other steps, but never alice's.
    expect(cached("user_bob")).toEqual({ user: "Bob", progress: expect.not.arrayContaining(["welcome"]) });
    expect(tab.queryClient.getQueryCache().getAll().map((q) => q.queryKey)).toEqual([
      [["profile", "getUser"], { input: { viewerId: "user_alice" }, type: "query" }],
      [["onboarding", "getProgress"], { input: { viewerId: "user_alice" }, type: "query" }],
      [["profile", "getUser"], { input: { viewerId: "user_bob" }, type: "query" }],
      [["onboarding", "getProgress"], { input: { viewerId: "user_bob" }, type: "query" }],
    ]);
    // Every request carried the token of the tab's account at the time, never relying on the cookie.
    expect(browser.requests.map((r) => bearerSubject(r.authorization))).toEqual(["user_alice", "user_alice", "user_alice", "user_bob", "user_bob"]);

    await tab.source.signOut();
    expect(cached("user_bob")).toEqual({ user: undefined, progress: undefined });
    expect(cached("user_alice")).toEqual({ user: "Alice", progress: ["welcome"] });
  });

  it("answers anonymous to the fail-closed marker even with a valid shared cookie present", async () => {
    const tabA = openTab(browser, { getToken: async () => null }); // this tab cannot get a token
    await tabA.source.signIn("alice");
    const tabB = openTab(browser);
    await tabB.source.signIn("bob"); // the shared cookie now follows tab B
    await tabA.source.refresh(); // tab A learns that two accounts are signed in
    expect(tabA.source.signedInAccounts()).toBe(2);
    expect(await browser.cookieSubject(demoUrl)).toBe("user_bob");

    // The danger: without a token, the cookie answers for tab B's account.
    await expect(cookieOnlyClient(browser).profile.getUser.query()).resolves.toMatchObject({ id: "user_bob", signedIn: true });

    browser.requests.length = 0;
    // A call for tab A's account (its viewerId on the wire), with no token to attach: the marker
    // makes the server ignore bob's cookie, so the call is refused rather than answered for bob.
    const refused = await tabA.client.onboarding.getProgress.query().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TabrpcError);
    expect((refused as TabrpcError).code).toBe("UNAUTHORIZED");
    expect(browser.requests).toEqual([
      { method: "GET", paths: ["onboarding.getProgress"], authorization: null, marker: "1", csrf: null, cookieSubject: "user_bob" },
    ]);
  });

  it("answers a background refetch of account A for A while the shared cookie belongs to B", async () => {
    const tabA = openTab(browser);
    await tabA.source.signIn("alice");
    await tabA.client.onboarding.saveStep.mutate({ step: "welcome" });
    const observer = new QueryObserver(tabA.queryClient, tabA.rq.onboarding.getProgress.queryOptions());
    const stop = observer.subscribe(() => undefined);
    await expect.poll(() => observer.getCurrentResult().data?.completed).toEqual(["welcome"]);

    const tabB = openTab(browser);
    await tabB.source.signIn("bob");
    await tabB.client.onboarding.saveStep.mutate({ step: "profile" });
    await tabB.source.activate(); // tab B has focus: the cookie follows it
    expect(await browser.cookieSubject(demoUrl)).toBe("user_bob");

    browser.requests.length = 0;
    await tabA.queryClient.refetchQueries(); // e.g. a refetch timer or a push-triggered invalidation
    expect(observer.getCurrentResult().data?.completed).toEqual(["welcome"]);
    expect(observer.getCurrentResult().error).toBeNull();
    expect(browser.requests).toHaveLength(1);
    expect(browser.requests[0]).toMatchObject({ paths: ["onboarding.getProgress"], cookieSubject: "user_bob" });
    expect(bearerSubject(browser.requests[0]?.authorization)).toBe("user_alice");
    stop();
  });

  it("never puts two accounts in one HTTP request", async () => {
    const tab = openTab(browser);
    await tab.source.signIn("bob");
    await tab.source.signIn("alice");
    browser.requests.length = 0;
    // One macrotask: two calls for alice (the tab's account) and one for bob.
    const results = await Promise.allSettled([
      tab.client.profile.getUser.query(undefined, { context: { viewerId: "user_alice" } }),
      tab.client.profile.getUser.query(undefined, { context: { viewerId: "user_bob" } }),
      tab.client.onboarding.getProgress.query(undefined, { context: { viewerId: "user_alice" } }),
    ]);
    // Bob's call is not the tab's account's: it never goes out with alice's token (dropped, unsent).
    expect(browser.requests.map((r) => [r.paths, bearerSubject(r.authorization)])).toEqual([
      [["profile.getUser", "onboarding.getProgress"], "user_alice"],
    ]);
    expect(results[0]).toMatchObject({ status: "fulfilled", value: { id: "user_alice" } });
    expect(results[1]?.status === "rejected" && isAuthChange(results[1].reason)).toBe(true);

    browser.requests.length = 0;
    await Promise.all([
      tab.queryClient.fetchQuery(tab.rq.profile.getUser.queryOptions()),
      tab.queryClient.fetchQuery(tab.rq.onboarding.getProgress.queryOptions()),
    ]);
    expect(browser.requests.map((r) => r.paths)).toEqual([["profile.getUser", "onboarding.getProgress"]]);
  });

  it("retries once with a fresh token after a 401 invalid_token", async () => {
    let stale = true;
    const tab = openTab(browser, {
      // The first token the tab hands out is one the server cannot verify.
      getToken: async () => {
        if (stale) {
          stale = false;
          return "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
        }
        return tab.source.getToken({ skipCache: true });
      },
    });
    await tab.source.signIn("alice");
    browser.requests.length = 0;
    await expect(tab.client.onboarding.getProgress.query()).resolves.toHaveProperty("completed");
    expect(browser.requests.map((r) => bearerSubject(r.authorization))).toEqual(["x", "user_alice"]);
  });

  it("lets a cookie-authenticated mutation of a single-account browser pass the CSRF rule", async () => {
    const tab = openTab(browser, { getToken: async () => null });
    await tab.source.signIn("carol");
    browser.requests.length = 0;
    await expect(tab.client.onboarding.saveStep.mutate({ step: "welcome" })).resolves.toMatchObject({ completed: ["welcome"] });
    expect(browser.requests).toEqual([
      { method: "POST", paths: ["onboarding.saveStep"], authorization: null, marker: null, csrf: "1", cookieSubject: "user_carol" },
    ]);
  });
});
