// tRPC's own front-end packages, unmodified and typed by the generated router types
// (bindings/*.trpc.ts), against tabrpc servers: `@trpc/client` with `splitLink` sending
// subscriptions over its `httpSubscriptionLink` (server-sent events, read by the `eventsource`
// package as a browser's EventSource would) and the rest over `httpBatchLink`, and
// `@trpc/tanstack-react-query`'s options proxy with a QueryClient. First the conformance fixture,
// then the demo server with the steps of docs/from-trpc.md: a bearer token, `viewerId`, `sessionId`.
import { QueryClient } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, TRPCClientError, type TRPCLink } from "@trpc/client";
import { createTRPCOptionsProxy } from "@trpc/tanstack-react-query";
import { EventSource, type FetchLike } from "eventsource";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { AppRouter } from "../../bindings/conformance.trpc.js";
import type { AppRouter as DemoRouter } from "../../bindings/demo.trpc.js";
import { startFixture, type Fixture } from "./support/fixture.js";

/** What went over the wire: each request's method, path and query, and its `Last-Event-ID`. */
interface Sent {
  readonly method: string;
  readonly url: string;
  readonly lastEventId: string | null;
}

/**
 * A fetch for both links that records every request. With `cutFirstStream`, the first event
 * stream is cut right after its first value event (a dropped connection).
 */
function wire(base: string, options: { cutFirstStream?: boolean } = {}) {
  const sent: Sent[] = [];
  let cut = !options.cutFirstStream;
  const fetchFn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init?.headers);
    sent.push({ method: init?.method ?? "GET", url: url.href.slice(base.length), lastEventId: headers.get("last-event-id") });
    const response = await fetch(input, init);
    if (cut || response.body === null || !(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) return response;
    cut = true;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let seen = "";
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        for (;;) {
          const chunk = await reader.read();
          if (chunk.done) return controller.close();
          seen += decoder.decode(chunk.value, { stream: true });
          const end = seen.indexOf('data: {"i":0}\n\n');
          if (end < 0) continue;
          controller.enqueue(new TextEncoder().encode(seen.slice(0, end + 'data: {"i":0}\n\n'.length)));
          await reader.cancel();
          return controller.error(new TypeError("connection reset"));
        }
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
  return { sent, fetch: fetchFn };
}

/**
 * tRPC's recommended chain: subscriptions over server-sent events, everything else batched. (Links
 * depend only on the error shape and the transformer, which both routers share.)
 */
function links(url: string, fetchFn: typeof fetch, headers?: () => Record<string, string>): TRPCLink<AppRouter>[] {
  return [
    splitLink({
      condition: (op) => op.type === "subscription",
      true: httpSubscriptionLink({ url, EventSource, eventSourceOptions: { fetch: fetchFn as FetchLike } }),
      false: httpBatchLink({ url, fetch: fetchFn, headers }),
    }),
  ];
}

async function rejection(promise: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  return error as TRPCClientError<AppRouter>;
}

describe("@trpc/client with the generated AppRouter, against the fixture", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture();
  });
  afterAll(async () => {
    await fixture?.close();
  });

  const client = (options?: { cutFirstStream?: boolean }) => {
    const recorded = wire(fixture.url, options);
    return { ...recorded, trpc: createTRPCClient<AppRouter>({ links: links(fixture.url, recorded.fetch) }) };
  };

  it("splitLink: queries and mutations go out batched, next to a running subscription", async () => {
    const { trpc, sent } = client();
    const events: unknown[] = [];
    const sub = trpc.sub.subscribe({ n: 2 }, { onData: (event) => events.push(event) });
    const [greeting, post, echoed] = await Promise.all([trpc.hello.query({ who: "ann" }), trpc.post.byId.query({ id: 7 }), trpc.echo.mutate("hi")]);
    expect([greeting.text, post.title, echoed]).toEqual(["hello ann", "post 7", "echo hi"]);
    await expect.poll(() => events).toHaveLength(2);
    sub.unsubscribe();
    expect(sent.map((s) => `${s.method} ${s.url.split("?")[0]}`).sort()).toEqual(["GET /hello,post.byId", "GET /sub", "POST /echo"]);
  });

  it("httpSubscriptionLink: tracked events arrive as { id, data }, then the subscription completes", async () => {
    const { trpc, sent } = client();
    const log: unknown[] = [];
    trpc.sub.subscribe(
      { n: 3 },
      {
        onStarted: () => log.push("started"),
        onData: (event) => log.push({ id: event.id, i: event.data.i }),
        onError: (error) => log.push(`error ${error.data?.code}`),
        onComplete: () => log.push("complete"),
      },
    );
    await expect.poll(() => log).toEqual(["started", { id: "0", i: 0 }, { id: "1", i: 1 }, { id: "2", i: 2 }, "complete"]);
    expect(sent).toEqual([{ method: "GET", url: `/sub?input=${encodeURIComponent('{"n":3}')}`, lastEventId: null }]);
  });

  it("httpSubscriptionLink: resumes after the given lastEventId, and after the last event it saw when the stream drops", async () => {
    const resumed = client();
    const fromFour: string[] = [];
    resumed.trpc.sub.subscribe({ n: 2, lastEventId: "4" }, { onData: (event) => fromFour.push(event.id) });
    await expect.poll(() => fromFour).toEqual(["5", "6"]);

    // The first stream is cut after event 0: the EventSource reconnects (after its retry delay)
    // with `Last-Event-ID: 0`, which the server hands the procedure as `lastEventId`; the
    // fixture then sends `n` events after it.
    const { trpc, sent } = client({ cutFirstStream: true });
    const log: unknown[] = [];
    trpc.sub.subscribe({ n: 3 }, { onData: (event) => log.push(event.data.i), onComplete: () => log.push("complete") });
    await expect.poll(() => log, { timeout: 10_000 }).toEqual([0, 1, 2, 3, "complete"]);
    const url = `/sub?input=${encodeURIComponent('{"n":3}')}`;
    expect(sent).toEqual([
      { method: "GET", url, lastEventId: null },
      { method: "GET", url, lastEventId: "0" },
    ]);
  });

  it("httpSubscriptionLink: a server error ends the subscription with the typed error shape", async () => {
    const { trpc } = client();
    const log: unknown[] = [];
    let error: TRPCClientError<AppRouter> | undefined;
    trpc.subFail.subscribe(undefined, {
      onData: (value) => log.push(value),
      onError: (e) => {
        error = e;
        log.push("error");
      },
      onComplete: () => log.push("complete"),
    });
    await expect.poll(() => log).toContain("error");
    expect(log.slice(0, 2)).toEqual(["a", "error"]);
    expect(error?.message).toBe("sub forbidden");
    expect(error?.data).toEqual({ code: "FORBIDDEN", httpStatus: 403, path: "subFail" });
    expect(error?.shape?.code).toBe(-32003);

    // Bad input is delivered in-stream too, and ends it.
    let badInput: TRPCClientError<AppRouter> | undefined;
    trpc.sub.subscribe({ n: "three" as unknown as number }, { onError: (e) => (badInput = e) });
    await expect.poll(() => badInput?.data?.code).toBe("BAD_REQUEST");
  });

  it("query and mutation errors carry data.code and data.httpStatus", async () => {
    const { trpc } = client();
    const forbidden = await rejection(trpc.forbiddenMsg.query());
    expect([forbidden.message, forbidden.data?.code, forbidden.data?.httpStatus, forbidden.data?.path]).toEqual(["nope", "FORBIDDEN", 403, "forbiddenMsg"]);
    const badInput = await rejection(trpc.echo.mutate(5 as unknown as string));
    expect([badInput.data?.code, badInput.data?.httpStatus]).toEqual(["BAD_REQUEST", 400]);
  });
});

describe("@trpc/tanstack-react-query's options proxy with the generated AppRouter, against the fixture", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture();
  });
  afterAll(async () => {
    await fixture?.close();
  });

  const setup = () => {
    const { fetch: fetchFn, sent } = wire(fixture.url);
    const client = createTRPCClient<AppRouter>({ links: links(fixture.url, fetchFn) });
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    return { sent, queryClient, trpc: createTRPCOptionsProxy<AppRouter>({ client, queryClient }) };
  };

  it("fetchQuery with queryOptions, in tRPC's key shape, batched", async () => {
    const { trpc, queryClient, sent } = setup();
    const [greeting, post] = await Promise.all([
      queryClient.fetchQuery(trpc.hello.queryOptions({ who: "rq" })),
      queryClient.fetchQuery(trpc.post.byId.queryOptions({ id: 3 })),
    ]);
    expect(greeting).toEqual({ text: "hello rq" });
    expect(post).toEqual({ id: 3, title: "post 3" });
    expect(trpc.post.byId.queryKey({ id: 3 })).toEqual([["post", "byId"], { input: { id: 3 }, type: "query" }]);
    expect(queryClient.getQueryData(trpc.post.byId.queryKey({ id: 3 }))).toEqual({ id: 3, title: "post 3" });
    expect(sent.map((s) => s.url.split("?")[0])).toEqual(["/hello,post.byId"]);
  });

  it("mutationOptions runs the mutation; a query error reaches the cache with its data.code", async () => {
    const { trpc, queryClient } = setup();
    const options = trpc.optMut.mutationOptions();
    await expect(options.mutationFn?.("x", undefined as never)).resolves.toEqual({ got: "x" });
    await expect(queryClient.fetchQuery(trpc.tooMany.queryOptions())).rejects.toMatchObject({ data: { code: "TOO_MANY_REQUESTS", httpStatus: 429 } });
    const state = queryClient.getQueryState(trpc.tooMany.queryKey());
    expect(state?.error?.data?.code).toBe("TOO_MANY_REQUESTS");
  });
});

describe("@trpc/client with the demo's AppRouter: adopting the per-tab features one by one", () => {
  const demoUrl = inject("demoUrl");
  const api = `${demoUrl}/trpc`;

  /** A token of the development identity provider for `account` (as a tab's getToken() gives it). */
  async function tokenOf(account: string): Promise<{ userId: string; token: string }> {
    const response = await fetch(`${demoUrl}/dev-idp/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: demoUrl },
      body: JSON.stringify({ account }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { userId: string; token: string };
  }

  let token: string | undefined;
  /** A shared session cookie, as a browser would send along (Node's fetch has no cookie jar). */
  let cookie: string | undefined;
  beforeEach(() => {
    token = undefined;
    cookie = undefined;
  });
  const { fetch: fetchFn, sent } = wire(api);
  // Step 1: the tab's own token on every request, read per request; the fail-closed marker when
  // it has none.
  const headers = (): Record<string, string> => ({
    ...(token === undefined ? { "x-tabrpc-auth-required": "1" } : { authorization: `Bearer ${token}` }),
    ...(cookie === undefined ? {} : { cookie }),
  });
  const trpc = createTRPCClient<DemoRouter>({ links: links(api, fetchFn, headers) });

  it("step 1: a bearer token per request, the marker without one", async () => {
    await expect(trpc.profile.getUser.query()).resolves.toMatchObject({ id: "", signedIn: false });
    token = (await tokenOf("alice")).token;
    await expect(trpc.profile.getUser.query()).resolves.toEqual({ id: "user_alice", displayName: "Alice", signedIn: true });
    await expect(trpc.onboarding.saveStep.mutate({ step: "welcome" })).resolves.toMatchObject({ completed: expect.arrayContaining(["welcome"]) });

    // The shared cookie follows another tab's account (bob). With the token, the token wins;
    // without one, the marker keeps the cookie from answering for bob.
    cookie = `__session=${(await tokenOf("bob")).token}`;
    await expect(trpc.profile.getUser.query()).resolves.toMatchObject({ id: "user_alice" });
    token = undefined;
    await expect(trpc.profile.getUser.query()).resolves.toMatchObject({ id: "", signedIn: false });
    const anonymous = await rejection(trpc.onboarding.getProgress.query());
    expect(anonymous.data?.code).toBe("UNAUTHORIZED");
    // (Without the marker, the cookie would have answered for bob: the danger the marker closes.)
    const cookieOnly = await fetch(`${api}/profile.getUser`, { headers: { cookie } });
    expect(((await cookieOnly.json()) as { result: { data: { id: string } } }).result.data.id).toBe("user_bob");
  });

  it("step 2: viewerId in the input (and so in tRPC's query keys), checked against the token", async () => {
    const alice = await tokenOf("alice");
    token = alice.token;
    await expect(trpc.profile.getUser.query({ viewerId: alice.userId })).resolves.toMatchObject({ id: "user_alice" });
    // A call made for another account is refused, with a reason to match on.
    const mismatch = await rejection(trpc.profile.getUser.query({ viewerId: "user_bob" }));
    expect(mismatch.data).toMatchObject({ code: "FORBIDDEN", httpStatus: 403, reason: "viewer_mismatch", path: "profile.getUser" });
  });

  it("step 3: the tab's sessionId passed by hand to the session procedures", async () => {
    const sessionId = crypto.randomUUID();
    const other = crypto.randomUUID();
    await trpc.cart.add.mutate({ sessionId, item: "tea", quantity: 2 });
    await trpc.cart.add.mutate({ sessionId: other, item: "milk" });
    await expect(trpc.cart.get.query({ sessionId })).resolves.toEqual({ lines: [{ item: "tea", quantity: 2 }] });
    await expect(trpc.cart.get.query({ sessionId: other })).resolves.toEqual({ lines: [{ item: "milk", quantity: 1 }] });
    const notAnId = await rejection(trpc.cart.get.query({ sessionId: "not-a-uuid" }));
    expect(notAnId.data?.code).toBe("BAD_REQUEST");
    expect(sent.filter((s) => s.url.startsWith("/cart.")).length).toBeGreaterThanOrEqual(5);
  });
});
