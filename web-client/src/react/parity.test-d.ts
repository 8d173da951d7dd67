import { QueryClient, useInfiniteQuery, useQueries, useQuery, useSuspenseInfiniteQuery, useSuspenseQuery, type InfiniteData } from "@tanstack/react-query";
import { describe, expectTypeOf, it } from "vitest";
import type { CatalogPage, Procedures as Demo, Progress, User } from "../../../bindings/demo.js";
import type { Client } from "../client.js";
import type { TabrpcError } from "../error.js";
import { createOptionsProxy } from "../query/options.js";
import { createTabrpcContext, useSubscription } from "./index.js";

type Procs = Pick<Demo, "catalog.list" | "profile.getUser" | "onboarding.getProgress" | "onboarding.saveStep" | "cart.get"> & {
  "feed.watch": { kind: "subscription"; input: { topic: string; viewerId?: string }; output: { n: number }; error: { retryAfter: number }; stream: true; scopes: "viewer" };
};
declare const client: Client<Procs>;
declare const queryClient: QueryClient;
const rq = createOptionsProxy(client);

describe("TanStack parity (types)", () => {
  it("useQuery, useSuspenseQuery and useQueries take queryOptions", () => {
    expectTypeOf(useQuery(rq.profile.getUser.queryOptions()).data).toEqualTypeOf<User | undefined>();
    expectTypeOf(useSuspenseQuery(rq.profile.getUser.queryOptions()).data).toEqualTypeOf<User>();
    expectTypeOf(useQuery(rq.profile.getUser.queryOptions(undefined, { select: (user) => user.displayName })).data).toEqualTypeOf<string | undefined>();
    const [user, progress] = useQueries({ queries: [rq.profile.getUser.queryOptions(), rq.onboarding.getProgress.queryOptions()] });
    expectTypeOf(user.data).toEqualTypeOf<User | undefined>();
    expectTypeOf(progress.data).toEqualTypeOf<Progress | undefined>();
    expectTypeOf(progress.error).toEqualTypeOf<TabrpcError<never> | null>();
  });

  it("useInfiniteQuery and useSuspenseInfiniteQuery take infiniteQueryOptions of cursor procedures", () => {
    const pages = useInfiniteQuery(rq.catalog.list.infiniteQueryOptions({ limit: 20 }));
    expectTypeOf(pages.data).toEqualTypeOf<InfiniteData<CatalogPage, number | null> | undefined>();
    expectTypeOf(useSuspenseInfiniteQuery(rq.catalog.list.infiniteQueryOptions()).data.pages).toEqualTypeOf<CatalogPage[]>();
    rq.catalog.list.infiniteQueryOptions({ limit: 5 }, { initialCursor: 10, getNextPageParam: (page) => page.nextCursor, staleTime: 1000 });
    // @ts-expect-error the cursor is the pages' business
    rq.catalog.list.infiniteQueryOptions({ cursor: 3 });
    // @ts-expect-error a cursor is a number here
    rq.catalog.list.infiniteQueryOptions({}, { initialCursor: "a" });
    // @ts-expect-error getUser's input has no cursor: no infinite builders
    void rq.profile.getUser.infiniteQueryOptions;
  });

  it("queryKey and infiniteQueryKey type getQueryData and setQueryData, as tRPC's", () => {
    expectTypeOf(queryClient.getQueryData(rq.profile.getUser.queryKey())).toEqualTypeOf<User | undefined>();
    queryClient.setQueryData(rq.profile.getUser.queryKey(), (old) => (old === undefined ? old : { ...old, displayName: "Al" }));
    // @ts-expect-error not a User
    queryClient.setQueryData(rq.profile.getUser.queryKey(), { name: 1 });
    expectTypeOf(queryClient.getQueryData(rq.catalog.list.infiniteQueryKey({ limit: 5 }))).toEqualTypeOf<InfiniteData<CatalogPage, number | null> | undefined>();
  });

  it("filters go to invalidateQueries and friends", () => {
    void queryClient.invalidateQueries(rq.profile.pathFilter());
    void queryClient.invalidateQueries(rq.catalog.list.queryFilter({ limit: 5 }, { exact: false }));
    void queryClient.refetchQueries(rq.catalog.list.infiniteQueryFilter());
    queryClient.removeQueries(rq.pathFilter());
    // @ts-expect-error viewerId is the filter's business
    rq.profile.getUser.queryFilter({ viewerId: "user_bob" });
  });

  it("subscriptionOptions and useSubscription", () => {
    const feed = useSubscription(rq.feed.watch.subscriptionOptions({ topic: "a" }, { onData: (event) => expectTypeOf(event).toEqualTypeOf<{ n: number }>() }));
    expectTypeOf(feed.data).toEqualTypeOf<{ n: number } | undefined>();
    expectTypeOf(feed.error).toEqualTypeOf<TabrpcError<{ retryAfter: number }> | null>();
    expectTypeOf(feed.status).toEqualTypeOf<"idle" | "connecting" | "pending" | "error">();
    // @ts-expect-error topic is required
    rq.feed.watch.subscriptionOptions({});
    // @ts-expect-error a query has no subscriptionOptions
    void rq.profile.getUser.subscriptionOptions;
  });

  it("createTabrpcContext's useTabrpc gives the typed proxy", () => {
    const { useTabrpc, useTabrpcClient } = createTabrpcContext<Procs>();
    expectTypeOf(useQuery(useTabrpc().profile.getUser.queryOptions()).data).toEqualTypeOf<User | undefined>();
    expectTypeOf(useTabrpcClient()).toEqualTypeOf<Client<Procs>>();
  });
});
