// Server rendering per request identity, with Node's own HTTP server and react-dom/server.
//
//   cd web-client && npm run build && API_URL=http://127.0.0.1:3000/trpc node examples/ssr/server.mjs
//
// Each page request gets its own client, authenticated with that request's own token (its
// `Authorization: Bearer` header, else its `__session` cookie), prefetches, renders, and
// embeds the dehydrated cache labelled with the account it was rendered for. For the browser
// it serves `/browser.js` (browser.mjs bundled with Vite at start-up) and forwards `/trpc/*` and
// `/dev-idp/*` to the API server, so that the page, the API and the identity provider share one
// origin (and the `__session` cookie).
import { createServer } from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createOptionsProxy, dehydrateForAccount, requestAuthSource, serializeForHtml } from "@tabrpc/client/query";
import { createElement as h } from "react";
import { renderToString } from "react-dom/server";
import { createAppClient, newQueryClient, Root } from "./app.mjs";

/** The request's own token: its bearer header, else its session cookie (`null`: anonymous). */
export function tokenOf(request, cookieName = "__session") {
  const authorization = request.headers.authorization;
  if (typeof authorization === "string" && authorization.startsWith("Bearer ")) return authorization.slice("Bearer ".length);
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === cookieName) return decodeURIComponent(value.join("="));
  }
  return null;
}

/** A request client: anonymous when the token names no account (it could label no cache key). */
function requestClient(apiUrl, token) {
  let source;
  try {
    source = requestAuthSource(token);
  } catch {
    source = requestAuthSource(null);
  }
  return createAppClient({ apiUrl, source });
}

/** The app rendered to HTML for `client` with the cache of `queryClient`. */
export function renderApp(client, queryClient) {
  return renderToString(h(Root, { client, queryClient }));
}

/** The whole page for one request's token. */
export async function renderPage({ apiUrl, token }) {
  const client = requestClient(apiUrl, token);
  const queryClient = newQueryClient();
  const rq = createOptionsProxy(client);
  // Failures are not thrown: a query that failed is not dehydrated, and the browser fetches it.
  await Promise.all([
    queryClient.prefetchQuery(rq.profile.getUser.queryOptions()),
    queryClient.prefetchInfiniteQuery(rq.catalog.list.infiniteQueryOptions({ limit: 5 })),
  ]);
  const html = renderApp(client, queryClient);
  const state = dehydrateForAccount(queryClient, client);
  queryClient.clear();
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>tabrpc SSR</title></head>
<body><div id="root">${html}</div>
<script id="tabrpc-state" type="application/json">${serializeForHtml(state)}</script>
<script type="module" src="/browser.js"></script>
</body></html>`;
}

/** browser.mjs bundled for the browser (Vite, in memory). */
export async function bundleBrowserEntry() {
  const { build } = await import("vite");
  const here = path.dirname(fileURLToPath(import.meta.url));
  const result = await build({
    configFile: false,
    logLevel: "error",
    root: here,
    build: { write: false, rollupOptions: { input: path.join(here, "browser.mjs"), output: { format: "es", entryFileNames: "browser.js" } } },
  });
  const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output);
  const entry = outputs.find((chunk) => chunk.type === "chunk" && chunk.isEntry);
  if (entry === undefined) throw new Error("no bundle for browser.mjs");
  return entry.code;
}

/** Forwards a request to the API server's origin (method, headers, body; the answer as is). */
async function forward(request, response, apiOrigin) {
  const body = request.method === "GET" || request.method === "HEAD" ? undefined : await new Promise((resolve, reject) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk)).on("end", () => resolve(Buffer.concat(chunks))).on("error", reject);
  });
  const headers = { ...request.headers };
  delete headers.host;
  delete headers.connection;
  const answer = await fetch(new URL(request.url ?? "/", apiOrigin), { method: request.method, headers, body, redirect: "manual" });
  const out = {};
  answer.headers.forEach((value, name) => {
    if (name !== "set-cookie" && name !== "content-encoding" && name !== "content-length" && name !== "transfer-encoding") out[name] = value;
  });
  const cookies = answer.headers.getSetCookie();
  if (cookies.length > 0) out["set-cookie"] = cookies;
  response.writeHead(answer.status, out);
  if (answer.body === null) return void response.end();
  for await (const chunk of answer.body) response.write(chunk);
  response.end();
}

/**
 * The HTTP server: `GET /` renders the page, `/browser.js` is the bundle (when given), `/trpc/*`
 * and `/dev-idp/*` go to the API server; anything else is 404.
 */
export function createSsrServer({ apiUrl, browserBundle }) {
  const apiOrigin = new URL(apiUrl).origin;
  return createServer((request, response) => {
    const pathname = new URL(request.url ?? "/", "http://x").pathname;
    if (pathname.startsWith("/trpc/") || pathname.startsWith("/dev-idp/")) {
      forward(request, response, apiOrigin).catch((error) => {
        console.error("forwarding failed:", error);
        if (!response.headersSent) response.writeHead(502);
        response.end();
      });
      return;
    }
    if (pathname === "/browser.js" && browserBundle !== undefined) {
      response.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(browserBundle);
      return;
    }
    if (request.method !== "GET" || pathname !== "/") {
      response.writeHead(404).end();
      return;
    }
    renderPage({ apiUrl, token: tokenOf(request) }).then(
      (page) => {
        // One account's page: never cached for anyone else.
        response.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "private, no-store", vary: "Cookie, Authorization" });
        response.end(page);
      },
      (error) => {
        console.error("render failed:", error);
        response.writeHead(500, { "content-type": "text/plain" }).end("render failed");
      },
    );
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const apiUrl = process.env.API_URL ?? "http://127.0.0.1:3000/trpc";
  // SSR_BUNDLE=0 skips the browser bundle (the page is then rendered on the server only).
  const browserBundle = process.env.SSR_BUNDLE === "0" ? undefined : await bundleBrowserEntry();
  const server = createSsrServer({ apiUrl, browserBundle });
  server.listen(Number(process.env.PORT ?? 4000), process.env.HOST ?? "127.0.0.1", () => {
    const { address, port } = server.address();
    console.log(`tabrpc ssr example listening on http://${address}:${port} (API ${apiUrl})`);
  });
}
