import { InfiniteQueryObserver, QueryClient } from "@tanstack/query-core";
import { describe, expect, it } from "vitest";
import { procedures as demo, type Procedures as Demo } from "../../../bindings/demo.js";
import { createTabAuth } from "../auth/tabAuth.js";
import { createClient } from "../client.js";
import type { ProcedureTable } from "../codes.js";
import { authLink } from "../links/authLink.js";
import { httpBatchLink } from "../links/httpBatchLink.js";
import { fakeFetch, jsonReply, parseBatchUrl, type RecordedRequest } from "../testing/fake-fetch.js";
import { scriptedSource } from "../testing/scripted-auth.js";
import type { Link } from "../types.js";
import { createOptionsProxy } from "./options.js";

type Procs = Pick<Demo, "catalog.list" | "profile.getUser" | "onboarding.getProgress"> & {
  "feed.watch": { kind: "subscription"; input: { topic: string; viewerId?: string }; output: { n: number }; error: never; stream: true; scopes: "viewer" };
};
const table: ProcedureTable<Procs> = {
  "catalog.list": demo["catalog.list"],
  "profile.getUser": demo["profile.getUser"],
  "onboarding.getProgress": demo["onboarding.getProgress"],
  "feed.watch": { kind: "subscription", stream: true, scopes: ["viewer"] },
};

/** A 25-item catalog, pages by `cursor`/`limit` like the demo; profile answers the bearer's user. */
function server(request: RecordedRequest): Response {
  const { paths, input } = parseBatchUrl(request.url);
  const caller = request.headers.authorization?.replace("Bearer token-", "") ?? null;
  return jsonReply(
    paths.map((path, i) => {
      const args = (input?.[String(i)] ?? {}) as { cursor?: number | null; limit?: number | null };
      if (path === "catalog.list") {
        const start = args.cursor ?? 0;
        const end = Math.min(start + (args.limit ?? 10), 25);
        const items = Array.from({ length: end - start }, (_, k) => ({ id: start + k + 1, name: `item ${start + k + 1}`, priceCents: 100 }));
        return { result: { data: { items, nextCursor: end < 25 ? end : null } } };
      }
      return { result: { data: { id: caller ?? "", displayName: caller ?? "Anonymous", signedIn: caller !== null } } };
    }),
  );
}

/** A terminating link answering subscriptions with `{ n }` events it records, and refusing the rest. */
function feedLink(sent: { path: string; input: unknown; viewerId: unknown }[]): Link {
  return (op, next) => {
    if (op.kind !== "subscription") return next(op);
    sent.push({ path: op.path, input: op.input, viewerId: op.context["viewerId"] });
    async function* events() {
      for (let n = 1; n <= 3; n++) yield { n };
    }
    return Promise.resolve({ data: events() });
  };
}

function setup() {
  const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
  const auth = createTabAuth(source, { settleMs: 10 });
  const fetch = fakeFetch(server);
  const subscriptions: { path: string; input: unknown; viewerId: unknown }[] = [];
  const client = createClient(table, { links: [authLink({ auth }), feedLink(subscriptions), httpBatchLink({ url: "http://api.test/trpc", fetch })] });
  const rq = createOptionsProxy(client);
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, gcTime: Infinity } } });
  return { source, auth, fetch, client, rq, queryClient, subscriptions };
}

describe("infiniteQueryOptions", () => {
  it("keys the account without the cursor, and pages by nextCursor to the end", async () => {
    const { rq, queryClient, fetch } = setup();
    const options = rq.catalog.list.infiniteQueryOptions({ limit: 10 });
    expect(options.queryKey).toEqual([["catalog", "list"], { input: { limit: 10, viewerId: "user_alice" }, type: "infinite" }]);
    expect(rq.catalog.list.infiniteQueryKey({ limit: 10 })).toEqual(options.queryKey);
    const observer = new InfiniteQueryObserver(queryClient, options);
    const stop = observer.subscribe(() => undefined);
    await expect.poll(() => observer.getCurrentResult().data?.pages.length).toBe(1);
    expect(observer.getCurrentResult().hasNextPage).toBe(true);
    await observer.fetchNextPage();
    await observer.fetchNextPage();
    const result = observer.getCurrentResult();
    expect(result.data?.pages.flatMap((page) => page.items.map((item) => item.id))).toEqual(Array.from({ length: 25 }, (_, k) => k + 1));
    expect(result.data?.pageParams).toEqual([null, 10, 20]);
    expect(result.hasNextPage).toBe(false);
    // The cursor is sent, the key's account pinned; catalog.list is not a "viewer" procedure, so no viewerId on the wire.
    const inputs = fetch.requests.map((request) => parseBatchUrl(request.url).input?.["0"]);
    expect(inputs).toEqual([{ limit: 10, cursor: null }, { limit: 10, cursor: 10 }, { limit: 10, cursor: 20 }]);
    expect(fetch.requests.every((request) => request.headers.authorization === "Bearer token-user_alice")).toBe(true);
    // The pages are one cache entry, read back with the typed key.
    expect(queryClient.getQueryData(rq.catalog.list.infiniteQueryKey({ limit: 10 }))?.pages).toHaveLength(3);
    stop();
  });

  it("takes initialCursor and getNextPageParam, and a new account gets its own entry", async () => {
    const { rq, queryClient, source } = setup();
    const data = await queryClient.fetchInfiniteQuery(
      rq.catalog.list.infiniteQueryOptions({ limit: 5 }, { initialCursor: 20, getNextPageParam: () => null }),
    );
    expect(data.pages[0]?.items.map((item) => item.id)).toEqual([21, 22, 23, 24, 25]);
    source.set({ accountId: "user_bob" });
    const bob = rq.catalog.list.infiniteQueryOptions({ limit: 5 });
    expect(bob.queryKey[1].input.viewerId).toBe("user_bob");
    expect(queryClient.getQueryData(bob.queryKey)).toBeUndefined();
  });
});

describe("queryFilter and pathFilter", () => {
  it("invalidate the current account's entries only", async () => {
    const { rq, queryClient, source } = setup();
    await queryClient.fetchQuery(rq.profile.getUser.queryOptions());
    await queryClient.fetchInfiniteQuery(rq.catalog.list.infiniteQueryOptions({ limit: 5 }));
    source.set({ accountId: "user_bob" });
    await queryClient.fetchQuery(rq.profile.getUser.queryOptions());
    await queryClient.fetchInfiniteQuery(rq.catalog.list.infiniteQueryOptions({ limit: 5 }));
    const invalid = () =>
      queryClient
        .getQueryCache()
        .findAll({ predicate: (query) => query.state.isInvalidated })
        .map((query) => JSON.stringify(query.queryKey))
        .sort();

    expect(rq.profile.pathFilter()).toEqual({ queryKey: [["profile"], { input: { viewerId: "user_bob" } }] });
    await queryClient.invalidateQueries({ ...rq.profile.getUser.queryFilter(), refetchType: "none" });
    expect(invalid()).toEqual([JSON.stringify(rq.profile.getUser.queryKey())]);

    // queryFilter matches the queries only, infiniteQueryFilter the infinite ones.
    await queryClient.invalidateQueries({ ...rq.catalog.list.queryFilter(), refetchType: "none" });
    expect(invalid()).toHaveLength(1);
    await queryClient.invalidateQueries({ ...rq.catalog.list.infiniteQueryFilter({ limit: 5 }), refetchType: "none" });
    expect(invalid()).toHaveLength(2);

    // The root's pathFilter: every query of the current account (bob), none of alice's.
    source.set({ accountId: "user_alice" });
    queryClient.removeQueries(rq.pathFilter());
    const left = queryClient.getQueryCache().getAll().map((query) => (query.queryKey[1] as { input: { viewerId: string } }).input.viewerId);
    expect(left).toEqual(["user_bob", "user_bob"]);
  });
});

describe("subscriptionOptions", () => {
  it("subscribes for the key's account, and not once the tab has left it", async () => {
    const { rq, source, subscriptions } = setup();
    const options = rq.feed.watch.subscriptionOptions({ topic: "news" });
    expect(options.queryKey).toEqual([["feed", "watch"], { input: { topic: "news", viewerId: "user_alice" }, type: "subscription" }]);
    expect(options.enabled).toBe(true);
    const values: number[] = [];
    await new Promise<void>((done) => options.subscribe({ onData: (value) => values.push(value.n), onComplete: done }));
    expect(values).toEqual([1, 2, 3]);
    // authLink fills viewerId in (a "viewer" procedure), the server checks it.
    expect(subscriptions).toEqual([{ path: "feed.watch", input: { topic: "news", viewerId: "user_alice" }, viewerId: "user_alice" }]);

    source.set({ accountId: "user_bob" });
    let called = false;
    options.subscribe({ onData: () => (called = true), onError: () => (called = true), onStarted: () => (called = true) });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(called).toBe(false);
    expect(subscriptions).toHaveLength(1);
    expect(rq.feed.watch.subscriptionOptions({ topic: "news" }, { enabled: false }).enabled).toBe(false);
  });
});
