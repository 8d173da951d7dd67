// CORS from a real browser (README "Choices", auth.md section 1): a page on another origin
// (`http://localhost:<port>` calling `http://127.0.0.1:<port>`) may call the API with
// credentials when its origin is listed in `TABRPC_CORS_ORIGINS`, sending the protocol's
// headers; the CSRF header never passes the preflight; an origin not listed cannot read the API.
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, Page } from "playwright-core";
import { launch } from "./support/browser.js";
import { startDemo, type Demo } from "./support/demo.js";

let browser: Browser;
const demos: Demo[] = [];

beforeAll(async () => {
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(demos.map((demo) => demo.stop()));
});

/** A port free right now, so the listed origin can name it before the demo starts. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The demo on `127.0.0.1:<port>` listing `origins`, and a page on `http://localhost:<port>`. */
async function setup(origins: (port: number) => string): Promise<{ page: Page; api: string }> {
  const port = await freePort();
  const demo = await startDemo({ TABRPC_ADDR: `127.0.0.1:${port}`, TABRPC_CORS_ORIGINS: origins(port) });
  demos.push(demo);
  const page = await (await browser.newContext()).newPage();
  await page.goto(`http://localhost:${port}/`);
  return { page, api: `${demo.url}/trpc` };
}

/** A fetch from the page: its status and `www-authenticate`, or the error a blocked one throws. */
async function call(page: Page, url: string, init: RequestInit): Promise<{ status: number; challenge: string | null } | { error: string }> {
  return page.evaluate(
    async ({ url, init }) => {
      try {
        const response = await fetch(url, init);
        return { status: response.status, challenge: response.headers.get("www-authenticate") };
      } catch (error) {
        return { error: String(error) };
      }
    },
    { url, init },
  );
}

describe("CORS", () => {
  test("a listed origin calls with credentials and the protocol headers, reads a 401's challenge, never sends the CSRF header", async () => {
    const { page, api } = await setup((port) => `https://app.example.com,http://localhost:${port}`);
    expect(page.url()).toContain("localhost");
    const query = await call(page, `${api}/onboarding.getProgress`, {
      credentials: "include",
      headers: { authorization: "Bearer not-a-token", "x-tabrpc-account": "user_alice", "trpc-accept": "application/json" },
    });
    expect(query).toMatchObject({ status: 401 });
    expect(query).toHaveProperty("challenge", expect.stringContaining("Bearer"));
    const mutation = await call(page, `${api}/onboarding.saveStep`, {
      method: "POST",
      credentials: "include",
      headers: { "content-type": "application/json", "x-tabrpc-auth-required": "1" },
      body: JSON.stringify({ step: "profile" }),
    });
    expect(mutation).toMatchObject({ status: 401 });
    const csrf = await call(page, `${api}/onboarding.saveStep`, {
      method: "POST",
      credentials: "include",
      headers: { "content-type": "application/json", "x-tabrpc-csrf": "1" },
      body: JSON.stringify({ step: "profile" }),
    });
    expect(csrf).toHaveProperty("error", expect.stringContaining("Failed to fetch"));
  });

  test("an origin not listed cannot read the API", async () => {
    const { page, api } = await setup(() => "https://app.example.com");
    const query = await call(page, `${api}/onboarding.getProgress`, { credentials: "include" });
    expect(query).toHaveProperty("error", expect.stringContaining("Failed to fetch"));
  });
});
