// Live invalidation in Chromium (issue 16, live.md section 3): one browser, one shared cookie; two
// tabs of one account and a third of another. A change made in tab 1 reaches tab 2 through its
// live stream (the app does not poll: `refetch=0`), tab 3 hears nothing of it and keeps its
// data, and a tab that switches accounts or signs out mid-stream never lets the old account's
// events touch its cache. Every test also asserts that the tabs reported no error.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { expectNoErrors, launch, openTab, screenshots, watch, type Tab } from "./support/browser.js";
import { startDemo, type Demo } from "./support/demo.js";
import { signIn, text } from "./support/page.js";

let demo: Demo;
let browser: Browser;

beforeAll(async () => {
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
});

// A fresh server (and database) per test: the display names a test sets stay out of the next.
beforeEach(async () => {
  demo = await startDemo();
});

afterEach(async () => {
  await demo?.stop();
});

/** The stream's state as the page's `connectLive` reports it. */
interface LiveState {
  status: string;
  lastEvent: { type: string; at: number } | null;
  account: string | null;
  session: string | null;
  epoch: number;
  received: number;
  applied: number;
  dropped: number;
}

/** What the tests read of the demo app (`window.tabrpcDemo`). */
interface DemoWindow {
  tabrpcDemo: {
    shown: string[];
    fetches(): number;
    requests: { paths: string; carried: string; tabAccount: string | null }[];
    session: { readonly id: string | null };
    live(): LiveState | null;
    liveErrors: string[];
    queryClient: { getQueryState(key: unknown): { dataUpdatedAt: number; isInvalidated: boolean } | undefined };
  };
}

/** No background refetch: what changes on a page comes from its own actions and its live stream. */
const NO_POLLING = "refetch=0";

const live = (page: Page) => page.evaluate(() => (window as unknown as DemoWindow).tabrpcDemo.live());
const fetches = (page: Page) => page.evaluate(() => (window as unknown as DemoWindow).tabrpcDemo.fetches());
const shown = (page: Page) => page.evaluate(() => [...(window as unknown as DemoWindow).tabrpcDemo.shown]);
const requests = (page: Page) => page.evaluate(() => [...(window as unknown as DemoWindow).tabrpcDemo.requests]);
const sessionId = (page: Page) => page.evaluate(() => (window as unknown as DemoWindow).tabrpcDemo.session.id);

/** Waits until the tab's stream is open (the server said `ready`) for `account` (`null`: anonymous). */
async function connected(tab: Tab, account: string | null): Promise<LiveState> {
  await expect.poll(async () => {
    const state = await live(tab.page);
    return state === null ? null : { status: state.status, account: state.account };
  }).toEqual({ status: "connected", account });
  await expect.poll(() => text(tab.page, "live-status")).toBe("connected");
  return (await live(tab.page)) as LiveState;
}

/**
 * Saves a new display name through the page's form (Enter: a click waits for animation frames,
 * which a page in the background does not draw). Resolves with the time its request left.
 */
async function setDisplayName(page: Page, name: string): Promise<number> {
  const sent = page.waitForRequest((request) => new URL(request.url()).pathname === "/trpc/profile.setDisplayName").then(() => Date.now());
  await page.getByTestId("display-name-input").fill(name);
  await page.getByTestId("display-name-input").press("Enter");
  return sent;
}

/** The cart lines the tab shows, as `item×quantity`. */
const cartLines = (page: Page) =>
  page.getByTestId("cart-line").evaluateAll((lines) => lines.map((line) => `${(line as HTMLElement).dataset.item}×${(line as HTMLElement).dataset.quantity}`));

/** The state in the tab's cache of its profile query for `viewerId`. */
const profileEntry = (page: Page, viewerId: string) =>
  page.evaluate(
    (id) => (window as unknown as DemoWindow).tabrpcDemo.queryClient.getQueryState([["profile", "getUser"], { input: { viewerId: id }, type: "query" }]) ?? null,
    viewerId,
  );

/** How long the tests wait for something that must not happen, after what should have caused it has happened elsewhere. */
const QUIET_MS = 1000;

describe("live invalidation across tabs", () => {
  test("a change in tab 1 reaches tab 2 of the same account, never tab 3 of another account", async () => {
    const context = await browser.newContext();
    const tab1 = await openTab(context, `${demo.url}/?${NO_POLLING}`);
    await signIn(tab1, "alice", "Alice");
    const tab2 = await openTab(context, `${demo.url}/?${NO_POLLING}`);
    await signIn(tab2, "alice", "Alice");
    const tab3 = await openTab(context, `${demo.url}/?${NO_POLLING}`);
    await signIn(tab3, "bob", "Bob");
    await connected(tab1, "user_alice");
    const before2 = await connected(tab2, "user_alice");
    const before3 = await connected(tab3, "user_bob");
    const fetches2 = await fetches(tab2.page);
    const fetches3 = await fetches(tab3.page);
    const sent2 = (await requests(tab2.page)).length;
    const sent3 = (await requests(tab3.page)).length;

    // Tab 1 renames alice; tab 2 (in the background, not polling) shows it.
    const sentAt = await setDisplayName(tab1.page, "Alice Live");
    await expect.poll(() => text(tab2.page, "profile-name"), { timeout: 15_000 }).toBe("Alice Live");
    const shownAt = Date.now();
    const heardAt = (await live(tab2.page))?.lastEvent?.at ?? Number.NaN;
    // A figure, not an assertion (the browser and the server share this machine's clock).
    console.log(`live: tab 2 heard of tab 1's rename ${heardAt - sentAt} ms after its request left, and showed it by ${shownAt - sentAt} ms`);
    await expect.poll(() => text(tab1.page, "profile-name")).toBe("Alice Live");
    const after2 = (await live(tab2.page)) as LiveState;
    expect(after2.applied).toBeGreaterThan(before2.applied);
    expect(after2.epoch).toBe(before2.epoch);
    // Tab 2 refetched once it heard of it, with its own token, and asked for nothing else new.
    expect(await fetches(tab2.page)).toBeGreaterThan(fetches2);
    const new2 = (await requests(tab2.page)).slice(sent2);
    expect(new2.length).toBeGreaterThan(0);
    expect(new2.every((r) => r.carried === "bearer:user_alice" && /^(profile\.getUser|cart\.get)(,|$)/.test(r.paths))).toBe(true);

    // A cart change in tab 1 (its session, alice's account): still nothing for bob's tab.
    const heard1 = ((await live(tab1.page)) as LiveState).received;
    await tab1.page.getByTestId("cart-add-apple").click();
    await expect.poll(() => cartLines(tab1.page)).toEqual(["apple×1"]);
    await expect.poll(async () => ((await live(tab1.page)) as LiveState).received).toBeGreaterThan(heard1);
    await tab3.page.waitForTimeout(QUIET_MS);

    // Tab 3 (bob) received no event at all, fetched nothing, and still shows bob's data.
    const after3 = (await live(tab3.page)) as LiveState;
    expect({ received: after3.received, applied: after3.applied, dropped: after3.dropped, account: after3.account, status: after3.status }).toEqual({
      received: before3.received,
      applied: before3.applied,
      dropped: before3.dropped,
      account: "user_bob",
      status: "connected",
    });
    expect(await fetches(tab3.page)).toBe(fetches3);
    expect((await requests(tab3.page)).slice(sent3)).toEqual([]);
    expect(await text(tab3.page, "profile-name")).toBe("Bob");
    expect(await shown(tab3.page)).not.toContain("Alice Live");

    await screenshots("live-three-tabs", { tab1, tab2, tab3 });
    expectNoErrors({ tab1, tab2, tab3 });
    await context.close();
  });

  test("a tab that switches accounts or signs out mid-stream never lets the old account's events touch its cache", async () => {
    const context = await browser.newContext();
    const tab1 = await openTab(context, `${demo.url}/?${NO_POLLING}`);
    await signIn(tab1, "alice", "Alice");
    const tab2 = await openTab(context, `${demo.url}/?${NO_POLLING}`);
    await signIn(tab2, "alice", "Alice");
    await connected(tab1, "user_alice");
    await connected(tab2, "user_alice");

    // Tab 2 switches to bob while tab 1 renames alice: whichever lands first, tab 2's old
    // stream is closed with its epoch, and an event read from it afterwards is dropped.
    await Promise.all([signIn(tab2, "bob", "Bob"), setDisplayName(tab1.page, "Alice Renamed")]);
    await expect.poll(() => text(tab1.page, "profile-name")).toBe("Alice Renamed");
    const switched = await connected(tab2, "user_bob");
    const switchedAt = (await requests(tab2.page)).length;
    // Alice's entry stays in tab 2's cache (alice is still signed in, in tab 1).
    const aliceEntry = await profileEntry(tab2.page, "user_alice");
    expect(aliceEntry).not.toBeNull();
    await setDisplayName(tab1.page, "Alice Again");
    await expect.poll(() => text(tab1.page, "profile-name")).toBe("Alice Again");
    await tab2.page.waitForTimeout(QUIET_MS);
    expect(await text(tab2.page, "profile-name")).toBe("Bob");
    expect(await shown(tab2.page)).not.toContain("Alice Again");
    // The stream of the new epoch is bob's: alice's changes are not delivered on it.
    expect(((await live(tab2.page)) as LiveState).received).toBe(switched.received);
    // Nothing was asked for with or for alice after the switch.
    expect((await requests(tab2.page)).slice(switchedAt).filter((r) => r.carried !== "bearer:user_bob")).toEqual([]);
    // Nor was alice's entry in tab 2's cache touched by the rename: not refetched, not marked.
    expect(await profileEntry(tab2.page, "user_alice")).toEqual(aliceEntry);

    // Back to alice in tab 2 (a session of its own: signing out of tab 1's would sign tab 1 out
    // too). Its cached alice profile is from before the renames: refetched once alice's new
    // stream is ready. Then a sign-out racing a rename.
    await signIn(tab2, "alice", "Alice Again");
    await connected(tab2, "user_alice");
    await Promise.all([tab2.page.getByTestId("sign-out").click(), setDisplayName(tab1.page, "Alice Last")]);
    await expect.poll(() => text(tab1.page, "profile-name")).toBe("Alice Last");
    await expect.poll(async () => (await live(tab2.page))?.account).toBeNull();
    await expect.poll(() => text(tab2.page, "profile-name")).toBe("Anonymous");
    const signedOut = (await live(tab2.page)) as LiveState;
    const signedOutAt = (await requests(tab2.page)).length;
    await setDisplayName(tab1.page, "Alice Final");
    await expect.poll(() => text(tab1.page, "profile-name")).toBe("Alice Final");
    await tab2.page.waitForTimeout(QUIET_MS);
    expect(await text(tab2.page, "profile-name")).toBe("Anonymous");
    expect(await shown(tab2.page)).not.toContain("Alice Last");
    expect(await shown(tab2.page)).not.toContain("Alice Final");
    const after = (await live(tab2.page)) as LiveState;
    expect({ received: after.received, applied: after.applied, account: after.account }).toEqual({ received: signedOut.received, applied: signedOut.applied, account: null });
    expect((await requests(tab2.page)).slice(signedOutAt).filter((r) => r.carried.startsWith("bearer:"))).toEqual([]);
    // Signed out here: alice's queries are gone from tab 2's cache, none came back.
    expect(await profileEntry(tab2.page, "user_alice")).toBeNull();
    // And the signed-out tab keeps a stream of its own, for its new session and public events
    // (live.md section 1).
    await connected(tab2, null);

    await screenshots("live-switch", { tab1, tab2 });
    expectNoErrors({ tab1, tab2 });
    await context.close();
  });

  test("one session per browser: a cart change in one tab shows in the other", async () => {
    const context: BrowserContext = await browser.newContext();
    const query = `${NO_POLLING}&session=browser`;
    const tab1 = await openTab(context, `${demo.url}/?${query}`);
    await signIn(tab1, "alice", "Alice");
    // A second tab of the same account (window.open copies the tab's sign-in).
    const [popupPage] = await Promise.all([tab1.page.waitForEvent("popup"), tab1.page.evaluate(() => void window.open(window.location.href))]);
    const tab2 = await watch(popupPage);
    await connected(tab1, "user_alice");
    await connected(tab2, "user_alice");
    // Both tabs on the browser's one session id, and their streams name it.
    await expect.poll(async () => {
      const [a, b] = [await sessionId(tab1.page), await sessionId(tab2.page)];
      const [la, lb] = [await live(tab1.page), await live(tab2.page)];
      return a !== null && a === b && la?.session === a && lb?.session === a && la.status === "connected" && lb.status === "connected";
    }).toBe(true);
    await expect.poll(() => cartLines(tab2.page)).toEqual([]);

    await tab1.page.getByTestId("cart-add-pear").click();
    await expect.poll(() => cartLines(tab1.page)).toEqual(["pear×1"]);
    await expect.poll(() => cartLines(tab2.page), { timeout: 15_000 }).toEqual(["pear×1"]);
    await tab2.page.getByTestId("cart-add-pear").click();
    await expect.poll(() => cartLines(tab1.page), { timeout: 15_000 }).toEqual(["pear×2"]);

    await screenshots("live-browser-session", { tab1, tab2 });
    expectNoErrors({ tab1, tab2 });
    await context.close();
  });
});
