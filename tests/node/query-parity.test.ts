// The TanStack builders of @tabrpc/client against the real servers: infinite queries over the
// demo's cursor-paginated `catalog.list` for two accounts of one browser, filters that touch one
// account only, and subscriptionOptions over the conformance fixture's SSE subscription.
import { createClient, tabLinks, type ProcedureTable } from "@tabrpc/client";
import { createTabAuth, type AuthSource } from "@tabrpc/client/auth";
import { devIdpAuthSource } from "@tabrpc/client/dev-idp";
import { createOptionsProxy } from "@tabrpc/client/query";
import { InfiniteQueryObserver, QueryClient } from "@tanstack/query-core";
import { describe, expect, inject, it } from "vitest";
import { procedures as demo, type Procedures as Demo } from "../../bindings/demo.js";
import { createBrowser } from "./support/browser.js";
import { proxiedFixture } from "./support/fixture.js";
import { procedures as fixture } from "./support/procedures.js";

const demoUrl = inject("demoUrl");

type Procedures = Pick<Demo, "catalog.list" | "profile.getUser">;
const procedures: ProcedureTable<Procedures> = { "catalog.list": demo["catalog.list"], "profile.getUser": demo["profile.getUser"] };

describe("infiniteQueryOptions and filters against the demo", () => {
  it("reads the whole catalog page by page, once per account, and invalidates one account's only", async () => {
    const browser = createBrowser();
    const source = devIdpAuthSource({ url: demoUrl, fetch: browser.fetch, storage: null, focusEvents: false });
    await source.signIn("alice");
    const client = createClient(procedures, { links: tabLinks({ url: `${demoUrl}/trpc`, auth: createTabAuth(source), fetch: browser.fetch }) });
    const rq = createOptionsProxy(client);
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });

    const observer = new InfiniteQueryObserver(queryClient, rq.catalog.list.infiniteQueryOptions({ limit: 25 }));
    const stop = observer.subscribe(() => undefined);
    await expect.poll(() => observer.getCurrentResult().data?.pages.length).toBe(1);
    while (observer.getCurrentResult().hasNextPage) await observer.fetchNextPage();
    const result = observer.getCurrentResult();
    expect(result.data?.pages.flatMap((page) => page.items.map((item) => item.id))).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(result.data?.pageParams).toEqual([null, 25, 50]);
    expect(browser.requests.filter((request) => request.paths.includes("catalog.list"))).toHaveLength(3);
    stop();
    await queryClient.fetchQuery(rq.profile.getUser.queryOptions());

    // The same tab switches to Bob: his entries are his own.
    await source.signIn("bob");
    const bobPages = await queryClient.fetchInfiniteQuery(rq.catalog.list.infiniteQueryOptions({ limit: 25 }));
    expect(bobPages.pages).toHaveLength(1);
    expect((await queryClient.fetchQuery(rq.profile.getUser.queryOptions())).id).toBe("user_bob");
    expect(queryClient.getQueryCache().getAll()).toHaveLength(4);

    // Bob's invalidation leaves Alice's entries alone.
    await queryClient.invalidateQueries({ ...rq.pathFilter(), refetchType: "none" });
    const invalidated = queryClient
      .getQueryCache()
      .getAll()
      .map((query) => [(query.queryKey[1] as { input: { viewerId: string } }).input.viewerId, query.state.isInvalidated]);
    expect(invalidated.sort()).toEqual([
      ["user_alice", false],
      ["user_alice", false],
      ["user_bob", true],
      ["user_bob", true],
    ]);
  });
});

describe("subscriptionOptions against the fixture", () => {
  const proxy = proxiedFixture();

  /** A tab whose account the test sets (the fixture does not check who calls). */
  function tab() {
    let accountId: string | null = "user_alice";
    const listeners = new Set<() => void>();
    const source: AuthSource = {
      getToken: () => Promise.resolve(null),
      accountId: () => accountId,
      signedInAccounts: () => 1,
      subscribe: (listener) => (listeners.add(listener), () => listeners.delete(listener)),
    };
    const client = createClient(fixture, { links: tabLinks({ url: proxy.url, auth: createTabAuth(source) }) });
    const switchTo = (id: string) => {
      accountId = id;
      for (const listener of listeners) listener();
    };
    return { rq: createOptionsProxy(client), switchTo };
  }

  it("delivers the events for the key's account, and sends nothing for an account the tab has left", async () => {
    const { rq, switchTo } = tab();
    const options = rq.sub.subscriptionOptions({ n: 3 });
    expect(options.queryKey).toEqual([["sub"], { input: { n: 3, viewerId: "user_alice" }, type: "subscription" }]);
    const seen: unknown[] = [];
    await new Promise<void>((done) => options.subscribe({ onStarted: () => seen.push("started"), onData: (event) => seen.push(event.i), onComplete: done }));
    expect(seen).toEqual(["started", 0, 1, 2]);
    expect(proxy.requests.map((request) => request.url)).toEqual([`/sub?input=${encodeURIComponent('{"n":3}')}`]);

    switchTo("user_bob");
    const stale: unknown[] = [];
    options.subscribe({ onStarted: () => stale.push("started"), onData: (event) => stale.push(event) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stale).toEqual([]);
    expect(proxy.requests).toHaveLength(1);
    expect(rq.sub.subscriptionOptions({ n: 1 }).queryKey[1].input.viewerId).toBe("user_bob");
  });
});
