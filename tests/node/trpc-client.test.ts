// The unmodified @trpc/client against the Rust conformance fixture: a tabrpc server must be a
// drop-in tRPC v11 HTTP server (wire.md), typed by the generated router type (conformance.trpc.ts).
import {
  createTRPCClient,
  createTRPCUntypedClient,
  httpBatchLink,
  httpBatchStreamLink,
  httpLink,
  TRPCClientError,
  type TRPCLink,
} from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppRouter } from "../../bindings/conformance.trpc.js";
import { startFixture, type Fixture } from "./support/fixture.js";

/** A fetch that records the URLs it was asked for. */
function recordingFetch() {
  const urls: string[] = [];
  const fetch = (url: RequestInfo | URL, init?: RequestInit) => {
    urls.push(String(url));
    return globalThis.fetch(url, init);
  };
  return { urls, fetch };
}

async function trpcError(promise: Promise<unknown>): Promise<TRPCClientError<AppRouter>> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  return error as TRPCClientError<AppRouter>;
}

/** The fields a tRPC client user reads from an error. */
function summary(error: TRPCClientError<AppRouter>) {
  return {
    message: error.message,
    code: error.data?.code,
    httpStatus: error.data?.httpStatus,
    path: error.data?.path,
    shapeCode: error.shape?.code,
  };
}

type LinkName = "httpLink" | "httpBatchLink" | "httpBatchStreamLink";
const makeLink = (name: LinkName, url: string): TRPCLink<AppRouter> =>
  name === "httpLink" ? httpLink({ url }) : name === "httpBatchLink" ? httpBatchLink({ url }) : httpBatchStreamLink({ url });

describe("@trpc/client against the fixture (default settings)", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture();
  });
  afterAll(async () => {
    await fixture?.close();
  });

  describe.each(["httpLink", "httpBatchLink", "httpBatchStreamLink"] as const)("with %s", (linkName) => {
    const client = () => createTRPCClient<AppRouter>({ links: [makeLink(linkName, fixture.url)] });

    it("answers every query and mutation of the fixture", async () => {
      const c = client();
      const results = await Promise.all([
        c.hello.query(),
        c.hello.query({ who: "ann" }),
        // The bindings type `who` as optional, never null; the server still accepts null (wire.md section 5).
        c.hello.query({ who: null as unknown as string }),
        c.hello.query(null),
        c.helloStr.query(),
        c.helloStr.query("bob"),
        c.noInput.query(),
        c.returnUndefined.query(),
        c.returnNull.query(),
        c.post.byId.query({ id: 42 }),
        c.slow.query(5),
      ]);
      expect(results).toEqual([
        { text: "hello world" },
        { text: "hello ann" },
        { text: "hello world" },
        { text: "hello world" },
        "Hello world",
        "Hello bob",
        "no-input",
        undefined,
        null,
        { id: 42, title: "post 42" },
        "slept 5",
      ]);
      const mutations = await Promise.all([c.echo.mutate("hi"), c.mut.mutate(), c.optMut.mutate(), c.optMut.mutate("x")]);
      expect(mutations).toEqual(["echo hi", "mutation", { got: null }, { got: "x" }]);
    });

    it("reports the fixture's errors with tRPC's error codes", async () => {
      const c = client();
      const untyped = createTRPCUntypedClient<AppRouter>({ links: [makeLink(linkName, fixture.url)] });
      const errors = await Promise.all([
        trpcError(c.unauthorized.query()),
        trpcError(c.forbiddenMsg.query()),
        trpcError(c.boom.query()),
        trpcError(c.tooMany.query()),
        trpcError(untyped.query("does.notExist")),
        trpcError(untyped.query("toString")),
        trpcError(c.post.byId.query({ id: "seven" as unknown as number })),
        trpcError(untyped.mutation("echo", 5)),
      ]);
      const [unauthorized, forbidden, boom, tooMany, unknown, toStringPath, badInput, badMutationInput] = errors.map(summary);
      expect(unauthorized).toEqual({ message: "UNAUTHORIZED", code: "UNAUTHORIZED", httpStatus: 401, path: "unauthorized", shapeCode: -32001 });
      expect(forbidden).toEqual({ message: "nope", code: "FORBIDDEN", httpStatus: 403, path: "forbiddenMsg", shapeCode: -32003 });
      expect(boom).toMatchObject({ code: "INTERNAL_SERVER_ERROR", httpStatus: 500, path: "boom", shapeCode: -32603 });
      expect(boom?.message).not.toMatch(/panic|unexpected failure inside/);
      expect(tooMany).toEqual({ message: "TOO_MANY_REQUESTS", code: "TOO_MANY_REQUESTS", httpStatus: 429, path: "tooMany", shapeCode: -32029 });
      expect(unknown).toMatchObject({ code: "NOT_FOUND", httpStatus: 404, path: "does.notExist", shapeCode: -32004 });
      expect(toStringPath).toMatchObject({ code: "NOT_FOUND", httpStatus: 404, path: "toString" });
      expect(badInput).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400, path: "post.byId", shapeCode: -32600 });
      expect(badInput?.message).toMatch(/\bid\b/);
      expect(badMutationInput).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400, path: "echo" });
    });

    it("rejects a mutation called as a query with METHOD_NOT_SUPPORTED", async () => {
      const untyped = createTRPCUntypedClient<AppRouter>({ links: [makeLink(linkName, fixture.url)] });
      const error = summary(await trpcError(untyped.query("echo", "x")));
      expect(error).toMatchObject({ code: "METHOD_NOT_SUPPORTED", httpStatus: 405, path: "echo", shapeCode: -32005 });
    });
  });

  it("httpBatchLink: sends the calls of one macrotask in one request, mixed results and errors", async () => {
    const { urls, fetch } = recordingFetch();
    const c = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: fixture.url, fetch })] });
    const results = await Promise.allSettled([c.hello.query({ who: "a" }), c.noInput.query(), c.forbiddenMsg.query(), c.post.byId.query({ id: 1 })]);
    expect(urls).toHaveLength(1);
    expect(urls[0]).toContain("/hello,noInput,forbiddenMsg,post.byId?batch=1&input=");
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : summary(r.reason as TRPCClientError<AppRouter>).code))).toEqual([
      { text: "hello a" },
      "no-input",
      "FORBIDDEN",
      { id: 1, title: "post 1" },
    ]);
  });

  it("httpBatchLink: splits by maxItems, queries and mutations in separate requests", async () => {
    const { urls, fetch } = recordingFetch();
    const c = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: fixture.url, fetch, maxItems: 2 })] });
    const results = await Promise.all([c.noInput.query(), c.helloStr.query("x"), c.returnNull.query(), c.echo.mutate("m"), c.mut.mutate()]);
    expect(results).toEqual(["no-input", "Hello x", null, "echo m", "mutation"]);
    expect(urls.map((u) => new URL(u).pathname).sort()).toEqual(["/echo,mut", "/noInput,helloStr", "/returnNull"]);
  });

  it("httpBatchStreamLink: streams `iter` as an async iterable", async () => {
    const c = createTRPCClient<AppRouter>({ links: [httpBatchStreamLink({ url: fixture.url })] });
    const values: number[] = [];
    for await (const value of await c.iter.query()) values.push(value);
    expect(values).toEqual([1, 2]);
  });

  it("httpBatchStreamLink: answers each call of a batch as it completes, not with the slowest", async () => {
    const { urls, fetch } = recordingFetch();
    const c = createTRPCClient<AppRouter>({ links: [httpBatchStreamLink({ url: fixture.url, fetch })] });
    const order: string[] = [];
    await Promise.all([
      c.slow.query(400).then((v) => order.push(v)),
      c.hello.query().then((v) => order.push(v.text)),
      (async () => {
        for await (const v of await c.iter.query()) order.push(`iter ${v}`);
      })(),
    ]);
    expect(urls).toHaveLength(1);
    expect(order.indexOf("slept 400")).toBe(order.length - 1);
    expect(order).toEqual(expect.arrayContaining(["hello world", "iter 1", "iter 2"]));
  });

  it("httpBatchLink (not streaming) gets an error for a streamed procedure", async () => {
    const c = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: fixture.url })] });
    const error = summary(await trpcError(c.iter.query()));
    expect(error).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE", httpStatus: 415, path: "iter" });
  });

  it("rejects a query sent with methodOverride POST when the server does not allow it", async () => {
    const c = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: fixture.url, methodOverride: "POST" })] });
    const error = summary(await trpcError(c.hello.query()));
    expect(error).toMatchObject({ code: "METHOD_NOT_SUPPORTED", httpStatus: 405, path: "hello" });
  });
});

describe("@trpc/client against the fixture started with --no-batching", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture(["--no-batching"]);
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it("httpLink works: queries, mutations and errors", async () => {
    const c = createTRPCClient<AppRouter>({ links: [httpLink({ url: fixture.url })] });
    await expect(Promise.all([c.hello.query({ who: "x" }), c.post.byId.query({ id: 3 }), c.echo.mutate("e")])).resolves.toEqual([
      { text: "hello x" },
      { id: 3, title: "post 3" },
      "echo e",
    ]);
    expect(summary(await trpcError(c.forbiddenMsg.query()))).toMatchObject({ code: "FORBIDDEN", httpStatus: 403 });
  });

  it("httpBatchLink gets a top-level BAD_REQUEST for every call, even a batch of one", async () => {
    const c = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: fixture.url })] });
    const errors = (await Promise.all([trpcError(c.noInput.query()), trpcError(c.hello.query())])).map(summary);
    for (const error of errors) {
      expect(error).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400, message: "Batching is not enabled on the server" });
    }
    expect(summary(await trpcError(c.noInput.query()))).toMatchObject({ code: "BAD_REQUEST" });
  });

  it("httpBatchStreamLink gets a top-level BAD_REQUEST", async () => {
    const c = createTRPCClient<AppRouter>({ links: [httpBatchStreamLink({ url: fixture.url })] });
    expect(summary(await trpcError(c.noInput.query()))).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400 });
  });
});

describe("@trpc/client against the fixture started with --max-batch-size 2", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture(["--max-batch-size", "2"]);
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it("a batch within the limit works; a larger one is a top-level 400 for every call", async () => {
    const c = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: fixture.url })] });
    await expect(Promise.all([c.noInput.query(), c.returnNull.query()])).resolves.toEqual(["no-input", null]);
    const errors = (await Promise.all([trpcError(c.noInput.query()), trpcError(c.returnNull.query()), trpcError(c.hello.query())])).map(summary);
    for (const error of errors) expect(error).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400, path: undefined });
  });
});

describe("@trpc/client against the fixture started with --method-override", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture(["--method-override"]);
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it.each(["httpLink", "httpBatchLink"] as const)("%s with methodOverride POST sends queries as POST", async (linkName) => {
    const { urls, fetch } = recordingFetch();
    const link = linkName === "httpLink" ? httpLink({ url: fixture.url, fetch, methodOverride: "POST" }) : httpBatchLink({ url: fixture.url, fetch, methodOverride: "POST" });
    const c = createTRPCClient<AppRouter>({ links: [link] });
    await expect(Promise.all([c.hello.query({ who: "p" }), c.post.byId.query({ id: 9 })])).resolves.toEqual([
      { text: "hello p" },
      { id: 9, title: "post 9" },
    ]);
    for (const url of urls) expect(url).not.toContain("input=");
  });

  it("mutations are still never accepted as GET", async () => {
    const untyped = createTRPCUntypedClient<AppRouter>({ links: [httpLink({ url: fixture.url })] });
    expect(summary(await trpcError(untyped.query("echo", "x")))).toMatchObject({ code: "METHOD_NOT_SUPPORTED", httpStatus: 405 });
  });
});
