import { mkdirSync } from "node:fs";
import { join } from "node:path";
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

/** A page that records uncaught errors and console errors, so tests can assert there were none. */
export interface Tab {
  readonly page: Page;
  readonly errors: string[];
}

/** Opens a tab in `context` (tabs of one context share cookies, as in one browser). */
export async function openTab(context: BrowserContext, url?: string): Promise<Tab> {
  const page = await context.newPage();
  return watch(page, url);
}

/** Starts recording `page`'s errors, then goes to `url` if given. */
export async function watch(page: Page, url?: string): Promise<Tab> {
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(`uncaught: ${err.message}`));
  page.on("console", (msg) => {
    // Chromium reports every non-2xx response as a console error ("Failed to load resource");
    // refused calls are part of the scenarios, so only the page's own errors count.
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) {
      errors.push(`console: ${msg.text()}`);
    }
  });
  if (url !== undefined) await page.goto(url);
  return { page, errors };
}

/** Saves a screenshot of each tab under `test-output/e2e/<name>-<tab>.png`. */
export async function screenshots(name: string, tabs: Record<string, Tab>): Promise<void> {
  mkdirSync(outputDir, { recursive: true });
  for (const [label, tab] of Object.entries(tabs)) {
    await tab.page.screenshot({ path: join(outputDir, `${name}-${label}.png`), fullPage: true });
  }
}
