// The app, shared by the server (server.mjs) and the browser (browser.mjs). Plain ESM so that
// it runs on Node 20 without a build step; in a TypeScript app, take `procedures` from the
// generated bindings (`import { procedures } from "../bindings/demo.js"`) instead of the table
// below, and write the same code in TSX.
import { createClient, tabLinks } from "@tabrpc/client";
import { createTabAuth } from "@tabrpc/client/auth";
import { hydrateForAccount } from "@tabrpc/client/query";
import { createTabrpcContext } from "@tabrpc/client/react";
import { QueryClient, QueryClientProvider, useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { createElement as h } from "react";

/** The demo procedures this page uses (the generated table's rows for them). */
export const procedures = {
  "profile.getUser": { kind: "query", stream: false, scopes: ["viewer"] },
  "catalog.list": { kind: "query", stream: false, scopes: [] },
};

export const { TabrpcProvider, useTabrpc } = createTabrpcContext();

/** A query client; a minute of freshness, so hydrated data is shown without a refetch. */
export function newQueryClient() {
  return new QueryClient({ defaultOptions: { queries: { staleTime: 60_000, retry: false } } });
}

/** A client for one tab (browser) or one request (server, with `requestAuthSource`). */
export function createAppClient({ apiUrl, source, fetch }) {
  const auth = createTabAuth(source);
  return createClient(procedures, { links: tabLinks({ url: apiUrl, auth, ...(fetch === undefined ? {} : { fetch }) }) });
}

/** The page: the viewer's name, and the first page of the catalog. */
export function App() {
  const rq = useTabrpc();
  const user = useQuery(rq.profile.getUser.queryOptions());
  const catalog = useInfiniteQuery(rq.catalog.list.infiniteQueryOptions({ limit: 5 }));
  const items = catalog.data?.pages.flatMap((page) => page.items) ?? [];
  return h(
    "main",
    null,
    h("h1", { id: "viewer" }, user.data === undefined ? "Loading…" : `Hello, ${user.data.displayName}`),
    h("ul", { id: "catalog" }, items.map((item) => h("li", { key: item.id }, item.name))),
    catalog.hasNextPage ? h("button", { onClick: () => void catalog.fetchNextPage() }, "More") : null,
  );
}

/** The providers around the app. */
export function Root({ client, queryClient }) {
  return h(QueryClientProvider, { client: queryClient }, h(TabrpcProvider, { client, queryClient }, h(App)));
}

/**
 * The browser's first step: a query client with the server's state when, and only when, the
 * tab is on the account the page was rendered for (`hydrateForAccount`). `outcome.hydrated`
 * false: render from scratch (the server's HTML may be another account's).
 */
export function prepareTab(client, dehydrated) {
  const queryClient = newQueryClient();
  const outcome = hydrateForAccount(queryClient, client, dehydrated);
  return { queryClient, outcome };
}
