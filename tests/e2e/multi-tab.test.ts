// One browser, two tabs, two accounts, one shared cookie: the bug tabrpc exists to prevent,
// reproduced in cookie-only mode and prevented with per-tab tokens (issue 7, scenarios a–d and
// f; every test also asserts that the tabs reported no error beyond the refusals it provokes).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { expectNoErrors, launch, openTab, screenshots, type Tab } from "./support/browser.js";
import { startDemo, type Demo } from "./support/demo.js";
import { recordApi, sharedCookieUser, signIn, text } from "./support/page.js";

let demo: Demo;
let browser: Browser;

beforeAll(async () => {
  demo = await startDemo();
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

/** The background refetch interval of the profile, short so several happen in a test. */
const REFETCH_MS = 300;

interface DemoWindow {
  tabrpcDemo: {
    shown: string[];
    fetches(): number;
    requests: { paths: string; carried: string; tabAccount: string | null }[];
    client: { profile: { getUser: { query(): Promise<{ id: string; signedIn: boolean }> } } };
  };
}

/** The profiles a tab has shown, in order. */
async function shown(page: Page): Promise<string[]> {
  return page.evaluate(() => [...(window as unknown as DemoWindow).tabrpcDemo.shown]);
}

/** The tab's API requests as the page sent them: procedures, what they carried, the tab's account then. */
async function sent(page: Page): Promise<{ paths: string; carried: string; tabAccount: string | null }[]> {
  return page.evaluate(() => [...(window as unknown as DemoWindow).tabrpcDemo.requests]);
}

/** How many times the tab's profile query has fetched its data. */
async function fetches(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as DemoWindow).tabrpcDemo.fetches());
}





/** Tab 1 signs in as alice, then tab 2 as bob, and tab 2 stays the active one. */
async function aliceThenBob(context: BrowserContext, query: string): Promise<{ tab1: Tab; tab2: Tab }> {
  const tab1 = await openTab(context, `${demo.url}/?refetch=${REFETCH_MS}${query}`);
  await signIn(tab1, "alice", "Alice");
  const tab2 = await openTab(context, `${demo.url}/?refetch=${REFETCH_MS}${query}`);
  await signIn(tab2, "bob", "Bob");
  await tab2.page.bringToFront();
  expect(await sharedCookieUser(context, demo.url)).toBe("user_bob");
  return { tab1, tab2 };
}

/** Waits until `page` has fetched its profile `more` more times in the background. */
async function backgroundRefetches(page: Page, more: number): Promise<void> {
  const start = await fetches(page);
  await expect.poll(() => fetches(page), { timeout: 20_000 }).toBeGreaterThanOrEqual(start + more);
}

/** Chromium's console line for a refused or failed request, e.g. a 401 or an aborted fetch. */
const FAILED_TO_LOAD = (what: string) => new RegExp(`^Failed to load resource: ${what}`);
const STATUS_401 = FAILED_TO_LOAD("the server responded with a status of 401 \\(Unauthorized\\)$");

describe("two tabs, two accounts, one shared cookie", () => {
  test("(a) with per-tab tokens, tab 1 keeps showing alice over background refetches while tab 2 (bob) is active", async () => {
    const context = await browser.newContext();
    const { tab1, tab2 } = await aliceThenBob(context, "");
    const api = recordApi(tab1.page);
    await backgroundRefetches(tab1.page, 4);
    // The cookie still belongs to bob, and tab 1 never showed anyone but alice once signed in.
    expect(await sharedCookieUser(context, demo.url)).toBe("user_bob");
    const history = await shown(tab1.page);
    expect(history.slice(history.indexOf("Alice"))).toEqual(["Alice"]);
    expect(await text(tab1.page, "profile-name")).toBe("Alice");
    expect(await text(tab2.page, "profile-name")).toBe("Bob");
    // Every background request of tab 1 carried alice's own token, and was answered.
    expect(api.length).toBeGreaterThanOrEqual(4);
    expect(new Set(api.map((r) => r.auth))).toEqual(new Set(["bearer:user_alice"]));
    expect(api.filter((r) => r.status !== undefined && r.status !== 200)).toEqual([]);
    await screenshots("a-per-tab-token", { tab1, tab2 });
    expectNoErrors({ tab1, tab2 });
    await context.close();
  });

  test("(b) in cookie-only mode the bug appears: tab 1 shows bob", async () => {
    const context = await browser.newContext();
    const { tab1, tab2 } = await aliceThenBob(context, "&mode=cookie");
    const api = recordApi(tab1.page);
    expect(await text(tab1.page, "mode")).toMatch(/cookie only/);
    await backgroundRefetches(tab1.page, 2);
    // Tab 1 is signed in as alice, yet its background refetch was answered for the cookie's bob.
    await expect.poll(() => text(tab1.page, "profile-name")).toBe("Bob");
    expect(await text(tab1.page, "tab-account")).toBe("user_alice");
    expect(await shown(tab1.page)).toEqual(expect.arrayContaining(["Alice", "Bob"]));
    expect(new Set(api.map((r) => r.auth))).toEqual(new Set(["none"]));
    expect(api.some((r) => r.paths === "profile.getUser" && r.body?.includes('"id":"user_bob"') === true)).toBe(true);
    await screenshots("b-cookie-only-bug", { tab1, tab2 });
    expectNoErrors({ tab1, tab2 });
    await context.close();
  });

  test("(c) sign-out while a token fetch is in flight never shows or re-authenticates alice again", async () => {
    const context = await browser.newContext();
    const { tab1, tab2 } = await aliceThenBob(context, "");
    // Slow down tab 1's token fetches, wait until one is in flight, then sign out.
    let inFlight = 0;
    await tab1.page.route("**/dev-idp/token", async (route) => {
      inFlight += 1;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await route.continue().catch(() => undefined);
    });
    await expect.poll(() => inFlight, { timeout: 10_000 }).toBeGreaterThan(0);
    const api = recordApi(tab1.page);
    const before = (await shown(tab1.page)).length;
    const sentBefore = (await sent(tab1.page)).length;
    await tab1.page.getByTestId("sign-out").click();
    await expect.poll(() => text(tab1.page, "tab-account")).toBe("nobody");
    // Let the slow fetch finish and several refetch intervals pass.
    await tab1.page.waitForTimeout(3_000);
    const after = (await shown(tab1.page)).slice(before);
    expect(after).not.toContain("Alice");
    expect(after).not.toContain("Bob");
    expect(await text(tab1.page, "profile-name")).not.toBe("Alice");
    expect(await text(tab1.page, "tab-account")).toBe("nobody");
    // The sign-out first ended the tab's session, with alice's token (the session is hers and
    // answers only her); that call waited for a token, so the tab's other calls went on as
    // alice's meanwhile. Once the tab was signed out, not one request carried a token (no
    // re-authentication).
    const since = (await sent(tab1.page)).slice(sentBefore);
    expect(since.filter((r) => r.paths === "session.end")).toEqual([{ paths: "session.end", carried: "bearer:user_alice", tabAccount: "user_alice" }]);
    const signedOut = since.findIndex((r) => r.tabAccount === null);
    expect(signedOut).toBeGreaterThan(since.findIndex((r) => r.paths === "session.end"));
    expect(since.slice(signedOut).filter((r) => r.carried !== "marker" && r.carried !== "none")).toEqual([]);
    expect(since.slice(0, signedOut).every((r) => r.carried === "bearer:user_alice" && r.tabAccount === "user_alice")).toBe(true);
    // What the page says it sent is what went over the network (as a set: requests that waited
    // for the same token leave together, in either order).
    const sorted = (lines: string[]) => [...lines].sort();
    expect(sorted(api.map((r) => `${r.paths} ${r.auth}`))).toEqual(sorted(since.map((r) => `${r.paths} ${r.carried}`)));
    expect(await text(tab2.page, "profile-name")).toBe("Bob");
    await screenshots("c-sign-out-during-token-fetch", { tab1, tab2 });
    expectNoErrors({ tab1, tab2 }, [
      {
        url: /\/dev-idp\/token$/,
        text: STATUS_401,
        why: "the token fetch this test slowed down reaches the provider after the sign-out and is refused",
      },
    ]);
    await context.close();
  });

  test("(d) a tab that cannot get a token while two accounts are signed in sends the marker and is answered anonymously", async () => {
    const context = await browser.newContext();
    const { tab1, tab2 } = await aliceThenBob(context, "");
    // Tab 1 signed in before bob existed: only the other tab's news tells it there are two now.
    let aborted = 0;
    await tab1.page.route("**/dev-idp/token", async (route) => {
      aborted += 1;
      await route.abort();
    });
    // Background refetches run one at a time: once a token fetch failed, the requests that
    // follow are all made without a token.
    await expect.poll(() => aborted).toBeGreaterThan(0);
    const api = recordApi(tab1.page);
    const before = (await shown(tab1.page)).length;
    await expect.poll(() => api.filter((r) => r.status !== undefined).length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    // The shared cookie is bob's, yet tab 1's requests carried the marker and were answered
    // anonymously: 401 for its viewer-scoped profile (bob's cookie would have given bob's
    // profile, or a 403 viewer mismatch), never bob's data.
    expect(await sharedCookieUser(context, demo.url)).toBe("user_bob");
    const answered = api.filter((r) => r.status !== undefined);
    expect(new Set(answered.map((r) => r.auth))).toEqual(new Set(["marker"]));
    expect(new Set(answered.map((r) => r.status))).toEqual(new Set([401]));
    expect(answered.some((r) => r.body?.includes("user_bob") === true)).toBe(false);
    // The tab says so: its profile refetch was refused, it keeps alice's data, never bob's.
    await expect.poll(() => text(tab1.page, "profile-status")).toMatch(/^error/);
    expect(await text(tab1.page, "last-error")).toMatch(/^UNAUTHORIZED/);
    expect(await text(tab1.page, "last-request-auth")).toBe("fail-closed marker, no token");
    expect((await shown(tab1.page)).slice(before)).not.toContain("Bob");
    expect(await text(tab1.page, "profile-name")).toBe("Alice");
    await screenshots("d-no-token-marker", { tab1, tab2 });
    // A direct call is the tab's account's too (the client fills in its viewerId): with the
    // marker it is refused, never answered as bob.
    const direct = await tab1.page.evaluate(() =>
      (window as unknown as DemoWindow).tabrpcDemo.client.profile.getUser.query().then(
        (user) => JSON.stringify(user),
        (error: { code: string }) => error.code,
      ),
    );
    expect(direct).toBe("UNAUTHORIZED");
    expect(api.at(-1)?.auth).toBe("marker");
    expectNoErrors({ tab1, tab2 }, [
      { url: /\/dev-idp\/token$/, text: FAILED_TO_LOAD("net::ERR_FAILED$"), why: "this test aborts every token fetch of tab 1" },
      { url: /\/trpc\/profile\.getUser\?/, text: STATUS_401, why: "the anonymous answer to the marker, which this test asserts" },
    ]);
    await context.close();
  });
});

describe("the demo app's controls", () => {
  test("sign in, switch between accounts, onboarding progress per account, sign out", async () => {
    const context = await browser.newContext();
    const tab1 = await openTab(context, `${demo.url}/?refetch=${REFETCH_MS}`);
    expect(await text(tab1.page, "tab-account")).toBe("nobody");
    expect(await tab1.page.getByTestId("sign-out").isVisible()).toBe(false);
    await signIn(tab1, "alice", "Alice");
    expect(await tab1.page.getByTestId("sign-out").isVisible()).toBe(true);
    await expect.poll(() => text(tab1.page, "onboarding")).toBe("0 of 4 steps done; next: welcome");
    await tab1.page.getByTestId("onboarding-next").click();
    await expect.poll(() => text(tab1.page, "onboarding")).toBe("1 of 4 steps done; next: profile");
    expect(await tab1.page.getByTestId("onboarding-step-welcome").getAttribute("data-done")).toBe("true");

    // Bob signs in in a second tab; his progress is his own.
    const tab2 = await openTab(context, `${demo.url}/?refetch=${REFETCH_MS}`);
    await signIn(tab2, "bob", "Bob");
    await expect.poll(() => text(tab2.page, "onboarding")).toBe("0 of 4 steps done; next: welcome");

    // Tab 1 learns of bob's session without reloading, switches to it and back.
    await tab1.page.getByTestId("switch-user_bob").click();
    await expect.poll(() => text(tab1.page, "tab-account")).toBe("user_bob");
    await expect.poll(() => text(tab1.page, "profile-name")).toBe("Bob");
    await expect.poll(() => text(tab1.page, "onboarding")).toBe("0 of 4 steps done; next: welcome");
    await tab1.page.getByTestId("switch-user_alice").click();
    await expect.poll(() => text(tab1.page, "tab-account")).toBe("user_alice");
    await expect.poll(() => text(tab1.page, "profile-name")).toBe("Alice");
    await expect.poll(() => text(tab1.page, "onboarding")).toBe("1 of 4 steps done; next: profile");
    await screenshots("controls-switched-back", { tab1, tab2 });

    // Sign-out: tab 1 is anonymous, bob's tab is untouched.
    await tab1.page.getByTestId("sign-out").click();
    await expect.poll(() => text(tab1.page, "tab-account")).toBe("nobody");
    await expect.poll(() => text(tab1.page, "profile-name")).toBe("Anonymous");
    await expect.poll(() => text(tab1.page, "onboarding")).toBe("sign in to see your progress");
    await expect.poll(() => tab1.page.getByTestId("switch-user_alice").count()).toBe(0);
    await expect.poll(() => tab1.page.getByTestId("sign-out").isVisible()).toBe(false);
    expect(await text(tab2.page, "profile-name")).toBe("Bob");
    await screenshots("controls-signed-out", { tab1, tab2 });
    expectNoErrors({ tab1, tab2 });
    await context.close();
  });
});
