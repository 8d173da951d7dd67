// What the browser tests read off the demo web app and the shared cookie.
import { expect } from "vitest";
import type { BrowserContext, Page, Request } from "playwright-core";
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

/** One API request of a tab, as it went over the network, and its answer. */
export interface ApiRequest {
  readonly paths: string;
  /** `bearer:<sub>`, `marker` (the fail-closed header, no token) or `none`. */
  readonly auth: string;
  /** The `x-tabrpc-account` header, if any. */
  readonly account: string | undefined;
  readonly viewerId: string | undefined;
  status?: number;
  body?: string;
}

/** Records the tab's API requests (`/trpc/…`) from now on, with the header names on the wire. */
export function recordApi(page: Page): ApiRequest[] {
  const list: ApiRequest[] = [];
  const byRequest = new Map<Request, ApiRequest>();
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (!url.pathname.startsWith("/trpc/")) return;
    const headers = request.headers();
    const authorization = headers["authorization"];
    const auth =
      authorization !== undefined
        ? `bearer:${subject(authorization.replace(/^Bearer\s+/i, ""))}`
        : headers["x-tabrpc-auth-required"] === "1"
          ? "marker"
          : "none";
    const input = JSON.parse(url.searchParams.get("input") ?? "{}") as Record<string, { viewerId?: string } | null>;
    const entry: ApiRequest = {
      paths: decodeURIComponent(url.pathname.slice("/trpc/".length)),
      auth,
      account: headers["x-tabrpc-account"],
      viewerId: input["0"]?.viewerId,
    };
    list.push(entry);
    byRequest.set(request, entry);
  });
  page.on("response", async (response) => {
    const entry = byRequest.get(response.request());
    if (entry === undefined) return;
    entry.status = response.status();
    entry.body = await response.text().catch(() => "");
  });
  return list;
}
