import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { chromiumPath, outputDir } from "./paths.js";

/** Launches Debian's Chromium headless, with no background networking (the sandbox is closed). */
export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // Background tabs must keep their timers running: the scenarios are background refetches.
      "--disable-background-timer-throttling",
      "--disable-renderer-backgrounding",
      "--disable-backgrounding-occluded-windows",
    ],
  });
}

/**
 * Something the page reported as an error: an uncaught exception or unhandled rejection
 * (`pageerror`), or a console message of type `error`. `url` is the resource Chromium names for
 * its own network messages ("Failed to load resource: …"), else the script's.
 */
export interface PageError {
  readonly kind: "uncaught" | "console";
  readonly text: string;
  readonly url: string;
}

/** A page that records every error it reports, so tests can assert there were none. */
export interface Tab {
  readonly page: Page;
  readonly errors: PageError[];
}

/** Opens a tab in `context` (tabs of one context share cookies, as in one browser). */
export async function openTab(context: BrowserContext, url?: string): Promise<Tab> {
  const page = await context.newPage();
  return watch(page, url);
}

/** Starts recording `page`'s errors, then goes to `url` if given. */
export async function watch(page: Page, url?: string): Promise<Tab> {
  const errors: PageError[] = [];
  page.on("pageerror", (err) => errors.push({ kind: "uncaught", text: `${err.name}: ${err.message}`, url: err.stack ?? "" }));
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push({ kind: "console", text: msg.text(), url: msg.location().url });
  });
  if (url !== undefined) await page.goto(url);
  return { page, errors };
}

/**
 * A console error a test provokes on purpose: Chromium logs every refused or aborted request as
 * "Failed to load resource: …", naming the resource. Only those can be allowed, each for one
 * resource, with the reason; an uncaught exception or any other console error never can.
 */
export interface AllowedError {
  readonly url: RegExp;
  readonly text: RegExp;
  readonly why: string;
}

/** Asserts that no tab reported an error other than the `allowed` refused requests (issue 7 f). */
export function expectNoErrors(tabs: Record<string, Tab>, allowed: readonly AllowedError[] = []): void {
  const unexpected = Object.entries(tabs).flatMap(([label, tab]) =>
    tab.errors
      .filter(
        (error) =>
          error.kind !== "console" ||
          !error.text.startsWith("Failed to load resource: ") ||
          !allowed.some((allow) => allow.url.test(error.url) && allow.text.test(error.text)),
      )
      .map((error) => ({ tab: label, ...error })),
  );
  expect(unexpected).toEqual([]);
}

/** Saves a screenshot of each tab under `test-output/e2e/<name>-<tab>.png`. */
export async function screenshots(name: string, tabs: Record<string, Tab>): Promise<void> {
  mkdirSync(outputDir, { recursive: true });
  for (const [label, tab] of Object.entries(tabs)) {
    await tab.page.screenshot({ path: join(outputDir, `${name}-${label}.png`), fullPage: true });
  }
}
