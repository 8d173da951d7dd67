// Server rendering with per-request identity (docs/client.md section 7), against the real demo
// server: the example under web-client/examples/ssr runs as its own process, renders each page
// with the request's own token, and labels the dehydrated cache with that account; a tab of
// another account refuses it. One simulated browser holds both accounts: its shared `__session`
// cookie follows the tab that signed in last, so a reload of tab A may be rendered for B.
import type { Client, FetchLike, ProcedureMap } from "@tabrpc/client";
import { devIdpAuthSource, type DevIdpAuthSource } from "@tabrpc/client/dev-idp";
import type { HydrateOutcome } from "@tabrpc/client/query";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createBrowser, type Browser } from "./support/browser.js";
import { repoRoot } from "./support/paths.js";
import { spawnServer, type SpawnedServer } from "./support/server.js";

const demoUrl = inject("demoUrl");
const exampleDir = path.join(repoRoot, "web-client", "examples", "ssr");

/** What the example's app module exports (it is plain JavaScript). */
interface AppModule {
  createAppClient(options: { apiUrl: string; source: DevIdpAuthSource; fetch?: FetchLike }): Client<ProcedureMap>;
  prepareTab(client: Client<ProcedureMap>, dehydrated: unknown): { queryClient: { getQueryCache(): { getAll(): unknown[] } }; outcome: HydrateOutcome };
}
interface ServerModule {
  renderApp(client: Client<ProcedureMap>, queryClient: unknown): string;
}

let ssr: SpawnedServer;
let app: AppModule;
let server: ServerModule;
beforeAll(async () => {
  ssr = await spawnServer(process.execPath, [path.join(exampleDir, "server.mjs")], /^tabrpc ssr example listening on (http:\/\/\S+)/, {
    ...process.env,
    API_URL: `${demoUrl}/trpc`,
    PORT: "0",
  });
  // Loaded as the browser bundle would load them (the same package the example's server uses).
  app = (await import(/* @vite-ignore */ pathToFileURL(path.join(exampleDir, "app.mjs")).href)) as AppModule;
  server = (await import(/* @vite-ignore */ pathToFileURL(path.join(exampleDir, "server.mjs")).href)) as ServerModule;
});
afterAll(() => ssr?.close());

/** The dehydrated state a page embeds. */
function stateOf(page: string): { accountId: string | null; state: { queries: unknown[] } } {
  const match = /<script id="tabrpc-state" type="application\/json">([^<]*)<\/script>/.exec(page);
  if (match?.[1] === undefined) throw new Error(`no state in the page:\n${page}`);
  return JSON.parse(match[1]) as { accountId: string | null; state: { queries: unknown[] } };
}

/** The `<h1 id="viewer">` of a rendering. */
const viewerOf = (html: string) => /<h1 id="viewer">([^<]*)<\/h1>/.exec(html)?.[1];

/** A tab of `browser`, signed in as `account`. */
async function tab(browser: Browser, account: string) {
  const source = devIdpAuthSource({ url: demoUrl, fetch: browser.fetch, storage: null, focusEvents: false });
  await source.signIn(account);
  return { source, client: app.createAppClient({ apiUrl: `${demoUrl}/trpc`, source, fetch: browser.fetch }) };
}

/** Loads the page as the browser does: its cookies (the shared `__session`) go along. */
async function loadPage(browser: Browser, headers: Record<string, string> = {}) {
  const response = await browser.fetch(`${ssr.url}/`, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get("cache-control")).toBe("private, no-store");
  return response.text();
}

describe("server rendering per request identity", () => {
  it("renders account A's page with A's data, which hydrates a tab of A without a fetch", async () => {
    const browser = createBrowser();
    const alice = await tab(browser, "alice");
    const page = await loadPage(browser);
    expect(viewerOf(page)).toBe("Hello, Alice");
    expect(page).toContain("<li>Red Mug</li>");
    const state = stateOf(page);
    expect(state.accountId).toBe("user_alice");
    expect(state.state.queries).toHaveLength(2);

    const before = browser.requests.length;
    const { queryClient, outcome } = app.prepareTab(alice.client, state);
    expect(outcome).toEqual({ hydrated: true, queries: 2 });
    expect(viewerOf(server.renderApp(alice.client, queryClient))).toBe("Hello, Alice");
    expect(browser.requests.length).toBe(before); // from the hydrated cache, nothing fetched
  });

  it("a page rendered for A never hydrates into a tab of B, nor into an anonymous one", async () => {
    const browser = createBrowser();
    const bob = await tab(browser, "bob");
    await tab(browser, "alice"); // signed in last: the shared cookie is now Alice's
    // Tab B reloads: the request carries the shared cookie, so the page is rendered for Alice.
    const page = await loadPage(browser);
    expect(viewerOf(page)).toBe("Hello, Alice");
    const state = stateOf(page);
    expect(state.accountId).toBe("user_alice");

    const { queryClient, outcome } = app.prepareTab(bob.client, state);
    expect(outcome).toEqual({ hydrated: false, reason: "other-account" });
    expect(queryClient.getQueryCache().getAll()).toHaveLength(0);
    const html = server.renderApp(bob.client, queryClient);
    expect(html).not.toContain("Alice");
    expect(viewerOf(html)).toBe("Loading…"); // then fetched with Bob's own token

    const anonymous = app.createAppClient({ apiUrl: `${demoUrl}/trpc`, source: devIdpAuthSource({ url: demoUrl, fetch: createBrowser().fetch, storage: null, focusEvents: false }) });
    expect(app.prepareTab(anonymous, state).outcome).toEqual({ hydrated: false, reason: "other-account" });
  });

  it("serves the browser bundle, and the provider and API on the page's origin", async () => {
    const bundle = await fetch(`${ssr.url}/browser.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(await bundle.text()).toContain("tabrpc-state");
    // A tab of the page's origin signs in through the forwarded provider; its cookie comes back
    // on the page's origin, and the page is rendered for it.
    const browser = createBrowser();
    const source = devIdpAuthSource({ url: ssr.url, fetch: browser.fetch, storage: null, focusEvents: false });
    await source.signIn("carol");
    const page = await loadPage(browser);
    expect(viewerOf(page)).toBe("Hello, Carol");
    const client = app.createAppClient({ apiUrl: `${ssr.url}/trpc`, source, fetch: browser.fetch });
    expect(app.prepareTab(client, stateOf(page)).outcome).toEqual({ hydrated: true, queries: 2 });
    expect((await fetch(`${ssr.url}/elsewhere`)).status).toBe(404);
  });

  it("a bearer header wins over the cookie; no credential renders the anonymous page", async () => {
    const browser = createBrowser();
    const bob = await tab(browser, "bob");
    await tab(browser, "alice");
    const token = await bob.source.getToken({ skipCache: false });
    const page = await loadPage(browser, { authorization: `Bearer ${token ?? ""}` });
    expect(viewerOf(page)).toBe("Hello, Bob");
    expect(stateOf(page).accountId).toBe("user_bob");
    expect(app.prepareTab(bob.client, stateOf(page)).outcome).toEqual({ hydrated: true, queries: 2 });

    const anonymousPage = await loadPage(createBrowser());
    expect(viewerOf(anonymousPage)).toBe("Hello, Anonymous");
    expect(stateOf(anonymousPage).accountId).toBeNull();
    expect(app.prepareTab(bob.client, stateOf(anonymousPage)).outcome).toEqual({ hydrated: false, reason: "other-account" });
  });

  // Chromium's start-up takes seconds on a busy machine.
  it("in Chromium: a reload of tab A rendered for B (the shared cookie followed B) ends showing A, never B", { timeout: 120_000 }, async () => {
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const context = await browser.newContext();
      const errors: string[] = [];
      const open = async () => {
        const page = await context.newPage();
        page.on("pageerror", (error) => errors.push(error.message));
        page.on("console", (message) => {
          // The page has no favicon: that 404 is expected, nothing else.
          if (message.type() === "error" && !message.location().url.endsWith("/favicon.ico")) errors.push(message.text());
        });
        await page.goto(`${ssr.url}/`);
        return page;
      };
      const viewer = (page: Page) => page.locator("#viewer");
      const a = await open();
      await a.getByText("Sign in as alice").click();
      await expect.poll(() => viewer(a).textContent(), { timeout: 15_000 }).toBe("Hello, Alice");
      const b = await open();
      await b.getByText("Sign in as bob").click();
      await expect.poll(() => viewer(b).textContent(), { timeout: 15_000 }).toBe("Hello, Bob");

      // Tab B reloads: rendered for Bob, hydrated (the same account) without an API request.
      const apiCalls: string[] = [];
      b.on("request", (request) => {
        if (new URL(request.url()).pathname.startsWith("/trpc/")) apiCalls.push(request.url());
      });
      const bPage = await (await b.reload())?.text();
      expect(/<h1 id="viewer">([^<]*)</.exec(bPage ?? "")?.[1]).toBe("Hello, Bob");
      await expect.poll(() => b.evaluate(() => (window as unknown as { __tabrpcHydrated?: boolean }).__tabrpcHydrated), { timeout: 15_000 }).toBe(true);
      expect(await viewer(b).textContent()).toBe("Hello, Bob");
      expect(apiCalls).toEqual([]);

      // Tab A reloads while the shared cookie is Bob's: the server renders Bob's page, and tab A
      // refuses it, renders from scratch with its own token, and never shows Bob.
      const aPage = await (await a.reload())?.text();
      expect(/<h1 id="viewer">([^<]*)</.exec(aPage ?? "")?.[1]).toBe("Hello, Bob");
      await expect.poll(() => a.evaluate(() => (window as unknown as { __tabrpcHydrated?: boolean }).__tabrpcHydrated), { timeout: 15_000 }).toBe(false);
      await expect.poll(() => viewer(a).textContent(), { timeout: 15_000 }).toBe("Hello, Alice");
      expect(await a.locator("#root").textContent()).not.toContain("Bob");
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
