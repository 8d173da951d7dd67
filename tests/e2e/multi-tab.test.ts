// One browser, two tabs, two accounts, one shared cookie: the bug tabrpc exists to prevent,
// reproduced in cookie-only mode and prevented with per-tab tokens.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launch, openTab, screenshots, type Tab } from "./support/browser.js";
import { startDemo, type Demo } from "./support/demo.js";

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

const REFETCH_MS = 300;

/** The profiles a tab has shown, in order. */
async function shown(page: Page): Promise<string[]> {
  return page.evaluate(() => [...(window as unknown as { tabrpcDemo: { shown: string[] } }).tabrpcDemo.shown]);
}

async function fetches(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { tabrpcDemo: { fetches(): number } }).tabrpcDemo.fetches());
}

async function signIn(tab: Tab, account: string, name: string): Promise<void> {
  await tab.page.getByTestId(`sign-in-${account}`).click();
  await expect.poll(() => tab.page.getByTestId("tab-account").textContent()).toBe(`user_${account}`);
  await expect.poll(() => tab.page.getByTestId("profile-name").textContent()).toBe(name);
}

async function sharedCookieUser(context: BrowserContext): Promise<string | undefined> {
  const cookie = (await context.cookies(demo.url)).find((c) => c.name === "__session");
  if (cookie === undefined || cookie.value === "") return undefined;
  const payload = cookie.value.split(".")[1] ?? "";
  return (JSON.parse(Buffer.from(payload, "base64url").toString()) as { sub: string }).sub;
}

/** Tab 1 signs in as alice, then tab 2 as bob, and tab 2 stays the active one. */
async function aliceThenBob(context: BrowserContext, query: string): Promise<{ tab1: Tab; tab2: Tab }> {
  const tab1 = await openTab(context, `${demo.url}/?refetch=${REFETCH_MS}${query}`);
  await signIn(tab1, "alice", "Alice");
  const tab2 = await openTab(context, `${demo.url}/?refetch=${REFETCH_MS}${query}`);
  await signIn(tab2, "bob", "Bob");
  await tab2.page.bringToFront();
  expect(await sharedCookieUser(context)).toBe("user_bob");
  return { tab1, tab2 };
}

/** Waits until `page` has fetched its profile `more` more times in the background. */
async function backgroundRefetches(page: Page, more: number): Promise<void> {
  const start = await fetches(page);
  await expect.poll(() => fetches(page), { timeout: 20_000 }).toBeGreaterThanOrEqual(start + more);
}

describe("two tabs, two accounts, one shared cookie", () => {
  test("with per-tab tokens, tab 1 keeps showing alice over background refetches", async () => {
    const context = await browser.newContext();
    const { tab1, tab2 } = await aliceThenBob(context, "");
    await backgroundRefetches(tab1.page, 4);
    // The cookie still belongs to bob, and tab 1 never showed anyone but alice once signed in.
    expect(await sharedCookieUser(context)).toBe("user_bob");
    const history = await shown(tab1.page);
    expect(history.slice(history.indexOf("Alice"))).toEqual(["Alice"]);
    expect(await tab1.page.getByTestId("profile-name").textContent()).toBe("Alice");
    expect(await tab2.page.getByTestId("profile-name").textContent()).toBe("Bob");
    await screenshots("per-tab-token", { tab1, tab2 });
    expect([...tab1.errors, ...tab2.errors]).toEqual([]);
    await context.close();
  });

  test("in cookie-only mode the bug appears: tab 1 shows bob", async () => {
    const context = await browser.newContext();
    const { tab1, tab2 } = await aliceThenBob(context, "&mode=cookie");
    await backgroundRefetches(tab1.page, 2);
    await expect.poll(() => tab1.page.getByTestId("profile-name").textContent()).toBe("Bob");
    expect(await shown(tab1.page)).toContain("Bob");
    await screenshots("cookie-only-bug", { tab1, tab2 });
    expect([...tab1.errors, ...tab2.errors]).toEqual([]);
    await context.close();
  });
});
