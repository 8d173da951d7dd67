// @tabrpc/client (built package) against the Rust conformance fixture, through a counting proxy
// that shows what went over the wire.
import {
  createClient,
  httpBatchLink,
  httpBatchStreamLink,
  httpLink,
  splitLink,
  TabrpcError,
  type HTTPBatchLinkOptions,
  type Link,
} from "@tabrpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { proxiedFixture, startFixture, type Fixture } from "./support/fixture.js";
import { procedures } from "./support/procedures.js";

async function tabrpcError(promise: Promise<unknown>): Promise<TabrpcError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TabrpcError);
  return error as TabrpcError;
}

const summary = (e: TabrpcError) => ({ code: e.code, httpStatus: e.httpStatus, path: e.path, message: e.message, shapeCode: e.shape?.code });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds (server-side effects such as a closed connection are not instant). */
async function eventually(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(10);
  }
}

describe("@tabrpc/client against the fixture (default settings)", () => {
  const proxy = proxiedFixture();

  const batchClient = (options: Partial<HTTPBatchLinkOptions> = {}) =>
    createClient(procedures, { links: [httpBatchLink({ url: proxy.url, ...options })] });
  const streamClient = (options: Partial<HTTPBatchLinkOptions> = {}) =>
    createClient(procedures, { links: [httpBatchStreamLink({ url: proxy.url, ...options })] });

  describe.each([
    ["httpBatchLink", (url: string) => httpBatchLink({ url })],
    ["httpBatchStreamLink", (url: string) => httpBatchStreamLink({ url })],
    ["httpLink", (url: string) => httpLink({ url })],
  ] as const)("with %s", (_name, makeLink: (url: string) => Link) => {
    const client = () => createClient(procedures, { links: [makeLink(proxy.url)] });

    it("answers every query and mutation of the fixture", async () => {
      const c = client();
      await expect(
        Promise.all([
          c.hello.query(),
          c.hello.query({ who: "ann" }),
          // The bindings type `who` as optional, never null; the server still accepts null (wire.md section 5).
          c.hello.query({ who: null } as unknown as { who?: string }),
          c.hello.query(null),
          c.helloStr.query(),
          c.helloStr.query("bob"),
          c.noInput.query(),
          c.returnUndefined.query(),
          c.returnNull.query(),
          c.post.byId.query({ id: 42 }),
          c.slow.query(5),
        ]),
      ).resolves.toEqual([
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
      await expect(Promise.all([c.echo.mutate("hi"), c.mut.mutate(), c.optMut.mutate(), c.optMut.mutate("x"), c.optMut.mutate(null)])).resolves.toEqual([
        "echo hi",
        "mutation",
        { got: null },
        { got: "x" },
        { got: null },
      ]);
    });

    it("rejects with TabrpcError for every error case of the fixture", async () => {
      const c = client();
      const untyped = (name: string) => (c as unknown as Record<string, { query: (input?: unknown) => Promise<unknown> }>)[name];
      const [unauthorized, forbidden, boom, tooMany, unknown, toStringPath, badInput] = (
        await Promise.all([
          tabrpcError(c.unauthorized.query()),
          tabrpcError(c.forbiddenMsg.query()),
          tabrpcError(c.boom.query()),
          tabrpcError(c.tooMany.query()),
          tabrpcError(untyped("nope")?.query() ?? Promise.resolve()),
          tabrpcError(untyped("toString")?.query() ?? Promise.resolve()),
          tabrpcError(c.post.byId.query({ id: "seven" as unknown as number })),
        ])
      ).map(summary);
      expect(unauthorized).toEqual({ code: "UNAUTHORIZED", httpStatus: 401, path: "unauthorized", message: "UNAUTHORIZED", shapeCode: -32001 });
      expect(forbidden).toEqual({ code: "FORBIDDEN", httpStatus: 403, path: "forbiddenMsg", message: "nope", shapeCode: -32003 });
      expect(boom).toMatchObject({ code: "INTERNAL_SERVER_ERROR", httpStatus: 500, path: "boom", shapeCode: -32603 });
      expect(boom?.message).not.toMatch(/panic|unexpected failure inside/);
      expect(tooMany).toEqual({ code: "TOO_MANY_REQUESTS", httpStatus: 429, path: "tooMany", message: "TOO_MANY_REQUESTS", shapeCode: -32029 });
      expect(unknown).toMatchObject({ code: "NOT_FOUND", httpStatus: 404, path: "nope", shapeCode: -32004 });
      expect(toStringPath).toMatchObject({ code: "NOT_FOUND", httpStatus: 404, path: "toString" });
      expect(badInput).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400, path: "post.byId", shapeCode: -32600 });
      expect(badInput?.message).toMatch(/\bid\b/);
    });

    it("rejects a mutation called as a query with METHOD_NOT_SUPPORTED", async () => {
      // Alone: a batch that mixes it with queries is a top-level 400 "Cannot mix procedure types", as in tRPC.
      const untyped = client() as unknown as Record<string, { query: (input?: unknown) => Promise<unknown> }>;
      const error = summary(await tabrpcError(untyped["echo"]?.query("x") ?? Promise.resolve()));
      expect(error).toMatchObject({ code: "METHOD_NOT_SUPPORTED", httpStatus: 405, path: "echo", shapeCode: -32005 });
    });
  });

  it("sends N calls of one macrotask as one request", async () => {
    const c = batchClient();
    const results = await Promise.all(Array.from({ length: 20 }, (_, id) => c.post.byId.query({ id })));
    expect(results).toEqual(Array.from({ length: 20 }, (_, id) => ({ id, title: `post ${id}` })));
    expect(proxy.requests).toHaveLength(1);
    expect(proxy.requests[0]?.url).toMatch(/^\/(post\.byId,){19}post\.byId\?batch=1&input=/);
  });

  it("maps a batch with results and errors (HTTP 207) back by index", async () => {
    const c = batchClient();
    const results = await Promise.allSettled([c.noInput.query(), c.tooMany.query(), c.hello.query({ who: "z" })]);
    expect(proxy.requests).toHaveLength(1);
    expect(results[0]).toEqual({ status: "fulfilled", value: "no-input" });
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: "TOO_MANY_REQUESTS", path: "tooMany" });
    expect((results[1] as PromiseRejectedResult).reason.response.status).toBe(207);
    expect(results[2]).toEqual({ status: "fulfilled", value: { text: "hello z" } });
  });

  it("splits by maxItems", async () => {
    const c = batchClient({ maxItems: 3 });
    const results = await Promise.all(Array.from({ length: 7 }, (_, i) => c.helloStr.query(`n${i}`)));
    expect(results).toEqual(Array.from({ length: 7 }, (_, i) => `Hello n${i}`));
    expect(proxy.requests.map((r) => r.url.split("?")[0]?.split(",").length)).toEqual([3, 3, 1]);
  });

  it("splits by maxURLLength, every request within the limit, and fails a call too big on its own locally", async () => {
    const maxURLLength = 200;
    const c = batchClient({ maxURLLength });
    const calls = Array.from({ length: 6 }, (_, i) => c.helloStr.query(`${i}`.repeat(20)));
    const tooBig = tabrpcError(c.helloStr.query("x".repeat(300)));
    const results = await Promise.all(calls);
    expect(results).toEqual(Array.from({ length: 6 }, (_, i) => `Hello ${`${i}`.repeat(20)}`));
    expect(summary(await tooBig)).toMatchObject({ code: "PAYLOAD_TOO_LARGE", httpStatus: 0, path: "helloStr" });
    expect(proxy.requests.length).toBeGreaterThan(1);
    for (const request of proxy.requests) expect(proxy.url.length + request.url.length).toBeLessThanOrEqual(maxURLLength);
    expect(proxy.requests.some((r) => r.url.includes("xxxx"))).toBe(false);
  });

  it("never puts queries and mutations in one request", async () => {
    const c = batchClient();
    await expect(Promise.all([c.noInput.query(), c.echo.mutate("a"), c.helloStr.query("b"), c.mut.mutate()])).resolves.toEqual([
      "no-input",
      "echo a",
      "Hello b",
      "mutation",
    ]);
    expect(proxy.requests.map((r) => `${r.method} ${r.url}`).sort()).toEqual([
      "GET /noInput,helloStr?batch=1&input=%7B%221%22%3A%22b%22%7D",
      "POST /echo,mut?batch=1",
    ]);
  });

  it("never puts calls of different group keys in one request, headers chosen per request", async () => {
    const c = batchClient({
      groupKey: (op) => String(op.context.viewerId),
      headers: ({ operations }) => ({ "x-viewer": String(operations[0]?.context.viewerId) }),
    });
    await Promise.all([
      c.noInput.query(undefined, { context: { viewerId: "a" } }),
      c.noInput.query(undefined, { context: { viewerId: "b" } }),
      c.returnNull.query(undefined, { context: { viewerId: "a" } }),
    ]);
    expect(proxy.requests.map((r) => `${r.headers["x-viewer"]} ${r.url}`).sort()).toEqual([
      "a /noInput,returnNull?batch=1",
      "b /noInput?batch=1",
    ]);
  });

  it("streams: `iter` as an async iterable; each call resolves as it completes", async () => {
    const c = streamClient();
    const order: string[] = [];
    await Promise.all([
      c.slow.query(400).then((v) => order.push(v)),
      c.hello.query().then((v) => order.push(v.text)),
      (async () => {
        for await (const v of await c.iter.query()) order.push(`iter ${v}`);
      })(),
    ]);
    expect(proxy.requests).toHaveLength(1);
    expect(proxy.requests[0]?.headers["trpc-accept"]).toBe("application/jsonl");
    expect(order).toHaveLength(4);
    expect(order[3]).toBe("slept 400");
    expect(order).toEqual(expect.arrayContaining(["hello world", "iter 1", "iter 2"]));
  });

  it("streams mutations and errors too", async () => {
    const c = streamClient();
    const [echo, forbidden] = await Promise.allSettled([c.echo.mutate("s"), c.forbiddenMsg.query()]);
    expect(echo).toEqual({ status: "fulfilled", value: "echo s" });
    expect(summary((forbidden as PromiseRejectedResult).reason)).toMatchObject({ code: "FORBIDDEN", httpStatus: 403, message: "nope" });
  });

  it("routes streamed procedures to the stream link with splitLink", async () => {
    const c = createClient(procedures, {
      links: [splitLink({ condition: (op) => op.path === "iter", true: httpBatchStreamLink({ url: proxy.url }), false: httpBatchLink({ url: proxy.url }) })],
    });
    const [iterable, hello] = await Promise.all([c.iter.query(), c.hello.query()]);
    const values: number[] = [];
    for await (const v of iterable) values.push(v);
    expect([values, hello]).toEqual([[1, 2], { text: "hello world" }]);
    expect(proxy.requests.map((r) => [r.url, r.headers["trpc-accept"]]).sort()).toEqual([
      ["/hello?batch=1", undefined],
      ["/iter?batch=1", "application/jsonl"],
    ]);
  });

  describe.each([
    ["httpBatchLink", (url: string) => httpBatchLink({ url })],
    ["httpBatchStreamLink", (url: string) => httpBatchStreamLink({ url })],
  ] as const)("abort with %s", (_name, makeLink: (url: string) => Link) => {
    const client = () => createClient(procedures, { links: [makeLink(proxy.url)] });

    it("rejects an aborted `slow` call at once and aborts its request", async () => {
      const c = client();
      const controller = new AbortController();
      const started = Date.now();
      const call = c.slow.query(3000, { signal: controller.signal });
      await sleep(100);
      controller.abort();
      expect(summary(await tabrpcError(call))).toMatchObject({ code: "CLIENT_CLOSED_REQUEST", httpStatus: 0, path: "slow" });
      expect(Date.now() - started).toBeLessThan(1000);
      await eventually(() => proxy.requests[0]?.aborted === true);
    });

    it("keeps the request while another call of it still waits", async () => {
      const c = client();
      const controller = new AbortController();
      const aborted = c.slow.query(600, { signal: controller.signal });
      const kept = c.slow.query(300);
      await sleep(50);
      controller.abort();
      expect((await tabrpcError(aborted)).code).toBe("CLIENT_CLOSED_REQUEST");
      await expect(kept).resolves.toBe("slept 300");
      expect(proxy.requests).toHaveLength(1);
      expect(proxy.requests[0]?.aborted).toBe(false);
    });

    it("drops a call aborted before dispatch from the batch", async () => {
      const c = client();
      const controller = new AbortController();
      const dropped = c.slow.query(10, { signal: controller.signal });
      const sent = c.helloStr.query("k");
      controller.abort();
      expect((await tabrpcError(dropped)).code).toBe("CLIENT_CLOSED_REQUEST");
      await expect(sent).resolves.toBe("Hello k");
      expect(proxy.requests.map((r) => r.url)).toEqual(["/helloStr?batch=1&input=%7B%220%22%3A%22k%22%7D"]);
    });
  });

  it("httpLink: aborting `slow` rejects at once and closes the request", async () => {
    const c = createClient(procedures, { links: [httpLink({ url: proxy.url })] });
    const controller = new AbortController();
    const call = c.slow.query(3000, { signal: controller.signal });
    await sleep(100);
    controller.abort();
    expect((await tabrpcError(call)).code).toBe("CLIENT_CLOSED_REQUEST");
    await eventually(() => proxy.requests[0]?.aborted === true);
  });

  it("fails with SERVICE_UNAVAILABLE when nothing listens", async () => {
    const c = createClient(procedures, { links: [httpBatchLink({ url: "http://127.0.0.1:9" })] });
    expect(summary(await tabrpcError(c.noInput.query()))).toMatchObject({ code: "SERVICE_UNAVAILABLE", httpStatus: 0 });
  });
});

describe("@tabrpc/client against the fixture started with --no-batching", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture(["--no-batching"]);
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it("httpLink works", async () => {
    const c = createClient(procedures, { links: [httpLink({ url: fixture.url })] });
    await expect(Promise.all([c.hello.query({ who: "nb" }), c.echo.mutate("nb"), c.returnUndefined.query()])).resolves.toEqual([
      { text: "hello nb" },
      "echo nb",
      undefined,
    ]);
  });

  it.each([
    ["httpBatchLink", (url: string) => httpBatchLink({ url })],
    ["httpBatchStreamLink", (url: string) => httpBatchStreamLink({ url })],
  ] as const)("%s: every call gets the top-level BAD_REQUEST", async (_name, makeLink: (url: string) => Link) => {
    const c = createClient(procedures, { links: [makeLink(fixture.url)] });
    const errors = (await Promise.all([tabrpcError(c.noInput.query()), tabrpcError(c.hello.query())])).map(summary);
    expect(errors).toEqual([
      { code: "BAD_REQUEST", httpStatus: 400, path: "noInput", message: "Batching is not enabled on the server", shapeCode: -32600 },
      { code: "BAD_REQUEST", httpStatus: 400, path: "hello", message: "Batching is not enabled on the server", shapeCode: -32600 },
    ]);
  });
});

describe("@tabrpc/client against the fixture started with --max-batch-size 2", () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture(["--max-batch-size", "2"]);
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it("maxItems matching the server keeps every batch accepted", async () => {
    const c = createClient(procedures, { links: [httpBatchLink({ url: fixture.url, maxItems: 2 })] });
    await expect(Promise.all([1, 2, 3, 4, 5].map((id) => c.post.byId.query({ id })))).resolves.toHaveLength(5);
  });

  it("a larger batch is a top-level 400 for every call", async () => {
    const c = createClient(procedures, { links: [httpBatchLink({ url: fixture.url, maxItems: 3 })] });
    const errors = await Promise.all([1, 2, 3].map((id) => tabrpcError(c.post.byId.query({ id }))));
    expect(errors.map((e) => [e.code, e.httpStatus, e.path])).toEqual([
      ["BAD_REQUEST", 400, "post.byId"],
      ["BAD_REQUEST", 400, "post.byId"],
      ["BAD_REQUEST", 400, "post.byId"],
    ]);
  });
});
