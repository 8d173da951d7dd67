// What the browser tests read off the demo web app and the shared cookie.
import { expect } from "vitest";
import type { BrowserContext, Page } from "playwright-core";
import type { Tab } from "./browser.js";

/** The text of the element with this `data-testid`. */
export const text = (page: Page, testId: string) => page.getByTestId(testId).textContent();

/** Signs the tab in as a demo account and waits until it shows that account's profile. */
export async function signIn(tab: Tab, account: string, name: string): Promise<void> {
  await tab.page.getByTestId(`sign-in-${account}`).click();
  await expect.poll(() => text(tab.page, "tab-account")).toBe(`user_${account}`);
  await expect.poll(() => text(tab.page, "profile-name")).toBe(name);
}

/** The subject of a JWT (the tests read tokens; they never print them). */
export function subject(jwt: string): string {
  const payload = jwt.split(".")[1] ?? "";
  return (JSON.parse(Buffer.from(payload, "base64url").toString()) as { sub: string }).sub;
}

/** Whose the browser's shared `__session` cookie for `url` is, if there is one. */
export async function sharedCookieUser(context: BrowserContext, url: string): Promise<string | undefined> {
  const cookie = (await context.cookies(url)).find((c) => c.name === "__session");
  return cookie === undefined || cookie.value === "" ? undefined : subject(cookie.value);
}
