// The cookie answers only for the tab's account (client.md section 3 rule 6, auth.md section 1):
// a tab that gets no token, and whose provider has not yet learnt of another tab's sign-in,
// believes its account is the only one signed in and sends no marker, so the server falls back
// to the shared cookie, which now holds the other tab's account. The tab says whose call it is
// (`x-tabrpc-account`), and the server refuses the cookie of anyone else: the tab is answered
// as anonymous (401 for its account-scoped profile), never with the other account's data.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, Page } from "playwright-core";
import { expectNoErrors, launch, openTab, screenshots, type Tab } from "./support/browser.js";
import { startDemo, type Demo } from "./support/demo.js";
import { recordApi, sharedCookieUser, signIn, text } from "./support/page.js";

let demo: Demo;
let browser: Browser;

beforeAll(async () => {
  demo = await startDemo({ TABRPC_DEV_IDP: "1" });
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

/** The background refetch interval of the profile, short so several happen in a test. */
const REFETCH_MS = 300;
/** Longer than the test: tab 1's provider never learns of bob's sign-in while it runs. */
const ACCOUNTS_LAG_MS = 600_000;

interface DemoWindow {
  tabrpcDemo: {
    shown: string[];
    auth: { source: { signedInAccounts(): number; signedInAccountIds?(): readonly string[] | null } };
    source: { signedInAccountIds(): readonly string[] };
    client: { profile: { getUser: { query(): Promise<{ id: string; displayName: string; signedIn: boolean }> } } };
  };
}


async function shown(page: Page): Promise<string[]> {
  return page.evaluate(() => [...(window as unknown as DemoWindow).tabrpcDemo.shown]);
}




const FAILED_TO_LOAD = (what: string) => new RegExp(`^Failed to load resource: ${what}`);
const STATUS_401 = FAILED_TO_LOAD("the server responded with a status of 401 \\(Unauthorized\\)$");

describe("x-tabrpc-account: the shared cookie answers only for the tab's account", () => {
  test("a tab whose account list lags bob's sign-in in another tab sends no token and no marker, names alice, and is never answered as bob", async () => {
    const context = await browser.newContext();
    const tab1 = await openTab(context, `${demo.url}/?refetch=${REFETCH_MS}&accountsLag=${ACCOUNTS_LAG_MS}`);
    await signIn(tab1, "alice", "Alice");
    const tab2 = await openTab(context, `${demo.url}/?refetch=${REFETCH_MS}`);
    await signIn(tab2, "bob", "Bob");
    await tab2.page.bringToFront();
    expect(await sharedCookieUser(context, demo.url)).toBe("user_bob");

    // The lag holds: the dev IdP adapter of tab 1 knows of bob (BroadcastChannel), the accounts
    // its auth decides on do not.
    await expect
      .poll(() => tab1.page.evaluate(() => [...(window as unknown as DemoWindow).tabrpcDemo.source.signedInAccountIds()].sort()))
      .toEqual(["user_alice", "user_bob"]);
    expect(await tab1.page.evaluate(() => (window as unknown as DemoWindow).tabrpcDemo.auth.source.signedInAccounts())).toBe(1);

    // Tab 1 cannot get a token any more (the provider is unreachable from it).
    let aborted = 0;
    await tab1.page.route("**/dev-idp/token", async (route) => {
      aborted += 1;
      await route.abort();
    });
    await expect.poll(() => aborted).toBeGreaterThan(0);
    const api = recordApi(tab1.page);
    const before = (await shown(tab1.page)).length;
    const answered = () => api.filter((r) => r.status !== undefined && r.auth !== "bearer:user_alice");
    await expect.poll(() => answered().length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);

    // No token and, as far as tab 1 knows, alice is the only account: no marker, the cookie
    // path. Every such request said it is alice's call.
    expect(await sharedCookieUser(context, demo.url)).toBe("user_bob");
    expect(new Set(answered().map((r) => `${r.paths} ${r.auth} ${r.account} viewerId=${r.viewerId}`))).toEqual(
      new Set(["profile.getUser none user_alice viewerId=user_alice"]),
    );
    // The server refused bob's cookie for alice's call: anonymous, so 401 for the viewer-scoped
    // profile (bob's cookie taken would have been a 403 viewer mismatch), and never bob's data.
    expect(new Set(answered().map((r) => r.status))).toEqual(new Set([401]));
    expect(answered().some((r) => r.body?.includes("user_bob") === true)).toBe(false);
    await expect.poll(() => text(tab1.page, "profile-status")).toMatch(/^error/);
    expect(await text(tab1.page, "last-error")).toMatch(/^UNAUTHORIZED/);
    expect(await text(tab1.page, "last-request-auth")).toBe("no token: the shared cookie, only if it is user_alice's");
    expect((await shown(tab1.page)).slice(before)).not.toContain("Bob");
    expect(await text(tab1.page, "profile-name")).toBe("Alice");
    expect(await text(tab1.page, "tab-account")).toBe("user_alice");
    await screenshots("account-header-lagging-accounts", { tab1, tab2 });

    // A direct call is alice's too (the client fills in its viewerId): refused, never answered
    // with the cookie's bob.
    const direct = await tab1.page.evaluate(() =>
      (window as unknown as DemoWindow).tabrpcDemo.client.profile.getUser.query().then(
        (user) => JSON.stringify(user),
        (error: { code: string }) => error.code,
      ),
    );
    expect(direct).not.toMatch(/user_bob/);
    expect(api.at(-1)).toMatchObject({ paths: "profile.getUser", auth: "none", account: "user_alice", viewerId: "user_alice" });
    // The body is read after the page has its answer: wait for the recorder to have it too.
    await expect.poll(() => api.at(-1)?.body).toBeDefined();
    expect(api.at(-1)?.body?.includes("user_bob")).toBe(false);

    // Tab 2 is untouched.
    expect(await text(tab2.page, "profile-name")).toBe("Bob");
    expectNoErrors({ tab1, tab2 }, [
      { url: /\/dev-idp\/token$/, text: FAILED_TO_LOAD("net::ERR_FAILED$"), why: "this test aborts every token fetch of tab 1" },
      { url: /\/trpc\/profile\.getUser\?/, text: STATUS_401, why: "the anonymous answer to alice's call when the cookie is bob's, which this test asserts" },
    ]);
    await context.close();
  });
});
