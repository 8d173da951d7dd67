import { CancelledError, MutationObserver, QueryClient, QueryObserver, type QueryKey, type QueryObserverOptions, type QueryObserverResult } from "@tanstack/query-core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { procedures as conformance, type Procedures as Conformance } from "../../../bindings/conformance.js";
import { procedures, type Procedures } from "../testing/demo-procedures.js";
import { createTabAuth, isAuthChange, isOutcomeUnknown } from "../auth/tabAuth.js";
import { createClient } from "../client.js";
import { TabrpcError } from "../error.js";
import { authLink } from "../links/authLink.js";
import { httpBatchLink } from "../links/httpBatchLink.js";
import { fakeFetch, jsonReply, parseBatchUrl, tick, type RecordedRequest } from "../testing/fake-fetch.js";
import { deferred, scriptedSource } from "../testing/scripted-auth.js";
import { connectQueryClient } from "./connect.js";
import { accountKey, queryKeyOf } from "./keys.js";
import { createOptionsProxy } from "./options.js";

const URL_BASE = "http://api.test/trpc";

const mismatch = { error: { message: "viewer/session mismatch", code: -32003, data: { code: "FORBIDDEN", httpStatus: 403, reason: "viewer_mismatch" } } };
const forbidden = { error: { message: "not yours", code: -32003, data: { code: "FORBIDDEN", httpStatus: 403 } } };
const unauthorized = { error: { message: "authentication required", code: -32001, data: { code: "UNAUTHORIZED", httpStatus: 401 } } };

/** The demo's rules in a few lines: the caller is the bearer token's (`token-<user>`), `viewerId` is checked. */
function demoServer(request: RecordedRequest, override?: (path: string, caller: string | null) => unknown): Response {
  const { paths, input } = parseBatchUrl(request.url);
  const inputs = (request.method === "POST" ? JSON.parse(request.body ?? "{}") : (input ?? {})) as Record<string, { viewerId?: string } | undefined>;
  const bearer = request.headers.authorization;
  const caller = bearer?.startsWith("Bearer token-") === true ? bearer.slice("Bearer token-".length) : null;
  return jsonReply(
    paths.map((path, i) => {
      const special = override?.(path, caller);
      if (special !== undefined) return special;
      const viewerId = inputs[String(i)]?.viewerId;
      if (viewerId !== undefined && viewerId !== caller) return caller === null ? unauthorized : mismatch;
      if (path === "profile.getUser") return { result: { data: { id: caller ?? "", displayName: caller ?? "Anonymous", signedIn: caller !== null } } };
      return { result: { data: { completed: [], next: "welcome", for: caller } } };
    }),
  );
}

function setup(initial: { accountId?: string | null; accounts?: readonly string[] } = { accountId: "user_alice", accounts: ["user_alice", "user_bob"] }, respond: (r: RecordedRequest) => Response | Promise<Response> = (r) => demoServer(r)) {
  const source = scriptedSource(initial);
  const auth = createTabAuth(source, { settleMs: 20, tokenRetryDelayMs: 1 });
  const fetch = fakeFetch(respond);
  const client = createClient(procedures, { links: [authLink({ auth }), httpBatchLink({ url: URL_BASE, fetch })] });
  const rq = createOptionsProxy(client);
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, gcTime: Infinity } } });
  return { source, auth, fetch, client, rq, queryClient };
}

/** Every state a query goes through while observed. */
function watch<TData, TError, TKey extends QueryKey>(queryClient: QueryClient, options: QueryObserverOptions<TData, TError, TData, TData, TKey>) {
  const observer = new QueryObserver(queryClient, options);
  const states: QueryObserverResult<TData, TError>[] = [];
  const stop = observer.subscribe((result) => states.push(result));
  return { observer, states, stop };
}

/** The key of another account's profile (the builders only make the tab's current account's). */
const profileKey = (viewerId: string) => queryKeyOf("profile.getUser", undefined, viewerId) as unknown as ReturnType<ReturnType<typeof setup>["rq"]["profile"]["getUser"]["queryKey"]>;

afterEach(() => {
  vi.useRealTimers();
});

describe("createOptionsProxy: keys", () => {
  it("fills in the tab's account as viewerId, null when anonymous", () => {
    const { rq, source } = setup();
    expect(rq.profile.getUser.queryKey()).toEqual([["profile", "getUser"], { input: { viewerId: "user_alice" }, type: "query" }]);
    expect(rq.onboarding.getProgress.queryOptions({}).queryKey).toEqual([["onboarding", "getProgress"], { input: { viewerId: "user_alice" }, type: "query" }]);
    source.set({ accountId: null });
    expect(rq.profile.getUser.queryKey()).toEqual([["profile", "getUser"], { input: { viewerId: null }, type: "query" }]);
  });

  it("never takes the account from the input: the scope resolver decides it", async () => {
    const { rq, fetch, queryClient } = setup();
    // Not possible in typed code (viewerId is left out of the input type); an untyped caller's is overridden.
    const smuggled = { viewerId: "user_bob" } as never;
    expect(rq.profile.getUser.queryKey(smuggled)).toEqual([["profile", "getUser"], { input: { viewerId: "user_alice" }, type: "query" }]);
    await queryClient.fetchQuery(rq.profile.getUser.queryOptions(smuggled));
    expect(parseBatchUrl(fetch.requests[0]?.url ?? "").input).toEqual({ "0": { viewerId: "user_alice" } });
  });

  it("gives path keys for namespaces and procedures, and the root", () => {
    const { rq } = setup();
    expect(rq.profile.pathKey()).toEqual([["profile"]]);
    expect(rq.profile.getUser.pathKey()).toEqual([["profile", "getUser"]]);
    expect(rq.pathKey()).toEqual([[]]);
    expect(rq.onboarding.saveStep.mutationKey()).toEqual([["onboarding", "saveStep"], { input: { viewerId: "user_alice" }, type: "mutation" }]);
  });

  it("is not a thenable and treats other keys as path segments", async () => {
    const { rq } = setup();
    expect((await rq) === rq).toBe(true);
    expect((Reflect.get(rq, "toString") as { pathKey(): unknown }).pathKey()).toEqual([["toString"]]);
  });
});

describe("createOptionsProxy: query functions", () => {
  it("sends viewerId for viewer procedures and keeps each account's data under its own key", async () => {
    const { rq, source, fetch, queryClient } = setup();
    const alice = await queryClient.fetchQuery(rq.profile.getUser.queryOptions());
    source.set({ accountId: "user_bob" });
    const bob = await queryClient.fetchQuery(rq.profile.getUser.queryOptions());
    expect([alice.id, bob.id]).toEqual(["user_alice", "user_bob"]);
    expect(fetch.requests.map((r) => parseBatchUrl(r.url).input)).toEqual([{ "0": { viewerId: "user_alice" } }, { "0": { viewerId: "user_bob" } }]);
    expect(queryClient.getQueryData(profileKey("user_alice"))?.displayName).toBe("user_alice");
    expect(queryClient.getQueryData(rq.profile.getUser.queryKey())?.displayName).toBe("user_bob");
  });

  it("sends no viewerId when anonymous (and {} for a left-out input)", async () => {
    const { rq, fetch, queryClient } = setup({ accountId: null, accounts: [] });
    const user = await queryClient.fetchQuery(rq.profile.getUser.queryOptions());
    expect(user.signedIn).toBe(false);
    expect(parseBatchUrl(fetch.requests[0]?.url ?? "").input).toEqual({ "0": {} });
    await queryClient.fetchQuery(rq.onboarding.getProgress.queryOptions(null));
    expect(parseBatchUrl(fetch.requests[1]?.url ?? "").input).toEqual({ "0": null });
  });

  it("passes TanStack options through", () => {
    const { rq } = setup();
    const options = rq.profile.getUser.queryOptions(undefined, { staleTime: Infinity, select: (user) => user.displayName });
    expect(options.staleTime).toBe(Infinity);
    expect(typeof options.select).toBe("function");
  });

  it("keeps the account in the key but not on the wire for procedures without the viewer marker", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    const auth = createTabAuth(source);
    const fetch = fakeFetch((r) => jsonReply(parseBatchUrl(r.url).paths.map(() => ({ result: {} }))));
    const client = createClient(conformance, { links: [authLink({ auth }), httpBatchLink({ url: URL_BASE, fetch })] });
    const rq = createOptionsProxy(client);
    const queryClient = new QueryClient();
    const options = rq.post.byId.queryOptions({ id: 3 });
    expect(options.queryKey).toEqual([["post", "byId"], { input: { id: 3, viewerId: "user_alice" }, type: "query" }]);
    expect(rq.slow.queryKey(5)).toEqual([["slow"], { input: { $input: 5, viewerId: "user_alice" }, type: "query" }]);
    // A unit output (`{"result":{}}`) is cached as null: TanStack Query refuses undefined.
    await expect(queryClient.fetchQuery(rq.returnUndefined.queryOptions())).resolves.toBeNull();
    await queryClient.fetchQuery(options);
    expect(parseBatchUrl(fetch.requests[1]?.url ?? "").input).toEqual({ "0": { id: 3 } });
  });
});

describe("createOptionsProxy: the viewer/session mismatch rule", () => {
  it("retries a mismatch once the auth state settles, without ever showing an error", async () => {
    // The provider's token lags behind the switch to alice: the first token is still bob's.
    const { rq, source, fetch, queryClient } = setup();
    source.answers.push("token-user_bob");
    const { states, stop } = watch(queryClient, rq.profile.getUser.queryOptions());
    await vi.waitFor(() => expect(states.at(-1)?.status).toBe("success"));
    stop();
    expect(states.some((s) => s.status === "error" || s.error !== null)).toBe(false);
    expect(states.at(-1)?.data?.id).toBe("user_alice");
    expect(fetch.requests.map((r) => r.headers.authorization)).toEqual(["Bearer token-user_bob", "Bearer token-user_alice"]);
  });

  it("shows a second mismatch as a real error", async () => {
    const { rq, source, queryClient } = setup();
    source.answers.push("token-user_bob", "token-user_bob");
    const error = await queryClient.fetchQuery(rq.profile.getUser.queryOptions()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TabrpcError);
    expect((error as TabrpcError).reason).toBe("viewer_mismatch");
  });

  it("recognises the mismatch by data.reason, whatever the message says", async () => {
    const reworded = { error: { ...mismatch.error, message: "the call's viewerId is not the caller" } };
    const { rq, source, fetch, queryClient } = setup(undefined, (r) => demoServer(r, (_path, caller) => (caller === "user_bob" ? reworded : undefined)));
    source.answers.push("token-user_bob");
    const { states, stop } = watch(queryClient, rq.profile.getUser.queryOptions());
    await vi.waitFor(() => expect(states.at(-1)?.status).toBe("success"));
    stop();
    expect(states.some((s) => s.status === "error" || s.error !== null)).toBe(false);
    expect(fetch.requests).toHaveLength(2);
  });

  it("regression: a 403 that only reads like the mismatch (no data.reason) is a real error, not retried", async () => {
    const lookalike = { error: { message: "viewer/session mismatch", code: -32003, data: { code: "FORBIDDEN", httpStatus: 403 } } };
    const { rq, source, fetch, queryClient } = setup(undefined, (r) => demoServer(r, (_path, caller) => (caller === "user_bob" ? lookalike : undefined)));
    source.answers.push("token-user_bob");
    const { states, stop } = watch(queryClient, rq.profile.getUser.queryOptions());
    await vi.waitFor(() => expect(states.at(-1)?.status).toBe("error"));
    stop();
    expect(states.at(-1)?.error?.message).toBe("viewer/session mismatch");
    expect(fetch.requests).toHaveLength(1);
  });

  it("drops a mismatch for an account the tab has left: the query goes back to its state before the fetch", async () => {
    const { rq, source, queryClient } = setup();
    await queryClient.fetchQuery(rq.profile.getUser.queryOptions());
    const aliceOptions = rq.profile.getUser.queryOptions(); // built while alice was current
    source.set({ accountId: "user_bob" });
    const error = await queryClient.fetchQuery({ ...aliceOptions, staleTime: 0 }).catch((e: unknown) => e);
    // fetchQuery resolves with the restored data when there is some.
    expect(error).toMatchObject({ id: "user_alice" });
    const state = queryClient.getQueryState(aliceOptions.queryKey);
    expect(state).toMatchObject({ status: "success", fetchStatus: "idle", error: null });
  });

  it("never fetches an anonymous key after sign-in: the user's data never lands under viewerId null", async () => {
    const { rq, source, fetch, queryClient, auth, client } = setup({ accountId: null, accounts: [] });
    connectQueryClient(queryClient, client);
    const anonymousKey = rq.profile.getUser.queryKey();
    await queryClient.fetchQuery(rq.profile.getUser.queryOptions());
    source.set({ accountId: "user_alice", accounts: ["user_alice"] });
    // An ordinary refresh of everything under "profile" (inactive entries included).
    await queryClient.refetchQueries({ queryKey: rq.profile.pathKey() });
    expect(fetch.requests).toHaveLength(1);
    source.set({ accountId: null, accounts: [] });
    expect(queryClient.getQueryData(anonymousKey)).toEqual({ id: "", displayName: "Anonymous", signedIn: false });
    expect(queryClient.getQueryState(anonymousKey)).toMatchObject({ status: "success", error: null });
  });

  it("never fetches another account's key of a procedure without the viewer marker", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const auth = createTabAuth(source);
    const fetch = fakeFetch((r) => {
      const caller = r.headers.authorization?.slice("Bearer token-".length);
      return jsonReply(parseBatchUrl(r.url).paths.map(() => ({ result: { data: { title: `post of ${caller}` } } })));
    });
    const client = createClient(conformance, { links: [authLink({ auth }), httpBatchLink({ url: URL_BASE, fetch })] });
    const rq = createOptionsProxy(client);
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, gcTime: Infinity, staleTime: Infinity } } });
    const aliceKey = rq.post.byId.queryKey({ id: 1 });
    await queryClient.fetchQuery(rq.post.byId.queryOptions({ id: 1 }));
    source.set({ accountId: "user_bob" });
    await queryClient.refetchQueries({ queryKey: rq.post.pathKey() });
    expect(fetch.requests.map((r) => r.headers.authorization)).toEqual(["Bearer token-user_alice"]);
    expect(queryClient.getQueryData(aliceKey)).toEqual({ title: "post of user_alice" });
    expect(queryClient.getQueryState(aliceKey)).toMatchObject({ status: "success", error: null });
  });

  it("shows any other 403 as an error", async () => {
    const { rq, queryClient } = setup(undefined, (r) => demoServer(r, () => forbidden));
    const { states, stop } = watch(queryClient, rq.profile.getUser.queryOptions());
    await vi.waitFor(() => expect(states.at(-1)?.status).toBe("error"));
    stop();
    expect(states.at(-1)?.error?.message).toBe("not yours");
  });

  it("drops an answer that arrives after the epoch changed, without an error state", async () => {
    const reply = deferred<void>();
    const { rq, source, queryClient } = setup(undefined, async (r) => {
      await reply.promise;
      return demoServer(r);
    });
    const fetching = queryClient.fetchQuery(rq.profile.getUser.queryOptions()).catch((e: unknown) => e);
    await tick();
    // Without connectQueryClient: the link drops the answer, the query reverts.
    source.set({ accountId: "user_bob" });
    reply.resolve();
    expect(await fetching).toBeInstanceOf(CancelledError);
    expect(queryClient.getQueryState(profileKey("user_alice"))).toMatchObject({
      status: "pending",
      fetchStatus: "idle",
      error: null,
    });
  });
});

describe("connectQueryClient", () => {
  it("cancels then removes every query of an account at its sign-out, and keeps the others", async () => {
    const { rq, source, queryClient, auth, client } = setup();
    connectQueryClient(queryClient, client);
    await queryClient.fetchQuery(rq.profile.getUser.queryOptions());
    await queryClient.fetchQuery(rq.onboarding.getProgress.queryOptions());
    queryClient.setQueryData(profileKey("user_bob"), { id: "user_bob", displayName: "Bob", signedIn: true });
    expect(queryClient.getQueryCache().findAll({ queryKey: accountKey("user_alice") })).toHaveLength(2);
    source.set({ accountId: null, accounts: ["user_bob"] });
    expect(queryClient.getQueryCache().findAll({ queryKey: accountKey("user_alice") })).toHaveLength(0);
    expect(queryClient.getQueryData(profileKey("user_bob"))?.id).toBe("user_bob");
  });

  it("aborts the signed-out account's requests in flight, at once", async () => {
    const never = new Promise<Response>(() => undefined);
    const { rq, source, fetch, queryClient, auth, client } = setup(undefined, () => never);
    connectQueryClient(queryClient, client);
    const fetching = queryClient.fetchQuery(rq.profile.getUser.queryOptions()).catch((e: unknown) => e);
    await tick();
    expect(fetch.requests).toHaveLength(1);
    source.set({ accountId: null });
    expect(fetch.requests[0]?.signal.aborted).toBe(true);
    expect(await fetching).toBeInstanceOf(CancelledError);
    expect(queryClient.getQueryCache().getAll()).toHaveLength(0);
  });

  it("removes the queries and mutations of an account signed out in another tab", async () => {
    const { rq, source, queryClient, auth, client } = setup();
    connectQueryClient(queryClient, client);
    await queryClient.fetchQuery(rq.profile.getUser.queryOptions());
    await new MutationObserver(queryClient, rq.onboarding.saveStep.mutationOptions()).mutate({ step: "welcome" });
    source.set({ accountId: "user_bob" }); // a switch: alice is still signed in, her data stays
    await queryClient.fetchQuery(rq.profile.getUser.queryOptions());
    expect(queryClient.getQueryCache().findAll({ queryKey: accountKey("user_alice") })).toHaveLength(1);
    expect(queryClient.getMutationCache().findAll({ mutationKey: accountKey("user_alice") })).toHaveLength(1);
    source.set({ accounts: ["user_bob"] }); // alice signs out in another tab
    expect(queryClient.getQueryCache().findAll({ queryKey: accountKey("user_alice") })).toHaveLength(0);
    expect(queryClient.getMutationCache().findAll({ mutationKey: accountKey("user_alice") })).toHaveLength(0);
    expect(queryClient.getQueryData(rq.profile.getUser.queryKey())?.id).toBe("user_bob");
  });

  it("cancels the previous account's queries on a switch but keeps its cached data", async () => {
    const { rq, source, queryClient, auth, client } = setup();
    const stop = connectQueryClient(queryClient, client);
    await queryClient.fetchQuery(rq.profile.getUser.queryOptions());
    source.set({ accountId: "user_bob" });
    expect(queryClient.getQueryData(profileKey("user_alice"))?.id).toBe("user_alice");
    stop();
    source.set({ accountId: null, accounts: [] });
    expect(queryClient.getQueryData(profileKey("user_alice"))?.id).toBe("user_alice");
  });
});

describe("createOptionsProxy: mutations", () => {
  it("sends the account current when the options were built, and keys the mutation with it", async () => {
    const { rq, fetch, queryClient } = setup();
    const options = rq.onboarding.saveStep.mutationOptions();
    expect(options.mutationKey).toEqual([["onboarding", "saveStep"], { input: { viewerId: "user_alice" }, type: "mutation" }]);
    const result = await new MutationObserver(queryClient, options).mutate({ step: "profile" });
    expect(result).toMatchObject({ for: "user_alice" });
    expect(fetch.requests[0]?.body).toBe('{"0":{"step":"profile","viewerId":"user_alice"}}');
    expect(fetch.requests[0]?.headers["x-tabrpc-csrf"]).toBe("1");
  });

  it("never writes to another account: a mutation built before a switch is dropped unsent, not retried", async () => {
    const { rq, source, fetch, queryClient } = setup();
    const options = rq.onboarding.saveStep.mutationOptions();
    source.set({ accountId: "user_bob" });
    const error = await new MutationObserver(queryClient, options).mutate({ step: "profile" }).catch((e: unknown) => e);
    expect(isAuthChange(error)).toBe(true);
    expect(isOutcomeUnknown(error)).toBe(false);
    expect(fetch.requests).toHaveLength(0);
  });

  it("retries a mutation refused by a lagging token once the state settles (the server never ran it)", async () => {
    const { rq, source, fetch, queryClient } = setup();
    source.answers.push("token-user_bob");
    const result = await new MutationObserver(queryClient, rq.onboarding.saveStep.mutationOptions()).mutate({ step: "done" });
    expect(result).toMatchObject({ for: "user_alice" });
    expect(fetch.requests).toHaveLength(2);
  });
});
