import { describe, expect, it, vi } from "vitest";
import { createClient } from "../client.js";
import { TabrpcError } from "../error.js";
import { fakeFetch, jsonReply, parseBatchUrl, tick, type RecordedRequest } from "../testing/fake-fetch.js";
import { procedures, type Procedures } from "../../../bindings/conformance.js";
import type { HTTPBatchLinkOptions, HTTPRequestInfo, Link, Operation } from "../types.js";
import { httpBatchLink } from "./httpBatchLink.js";

const URL_BASE = "http://api.test/rpc";

/** Answers every item of a batch with `{"result":{"data":"<path>:<input>"}}`. */
function echoServer(request: RecordedRequest): Response {
  const { paths, input } = parseBatchUrl(request.url);
  const inputs = request.method === "POST" ? (JSON.parse(request.body ?? "{}") as Record<string, unknown>) : input ?? {};
  return jsonReply(paths.map((path, i) => ({ result: { data: `${path}:${JSON.stringify(inputs[String(i)]) ?? "-"}` } })));
}

function setup(respond: (r: RecordedRequest) => Response | Promise<Response> = echoServer, options: Partial<HTTPBatchLinkOptions> = {}) {
  const fetch = fakeFetch(respond);
  const client = createClient(procedures, { links: [httpBatchLink({ url: `${URL_BASE}/`, fetch, ...options })] });
  return { fetch, client };
}

async function rejection(promise: Promise<unknown>): Promise<TabrpcError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TabrpcError);
  return error as TabrpcError;
}

describe("httpBatchLink: batching", () => {
  it("sends the calls of one macrotask as one GET, inputs keyed by index, missing keys for calls without input", async () => {
    const { fetch, client } = setup();
    const results = await Promise.all([
      client.hello.query({ who: "ann" }),
      client.noInput.query(),
      client.post.byId.query({ id: 7 }),
    ]);
    expect(fetch.requests).toHaveLength(1);
    expect(fetch.requests[0]?.method).toBe("GET");
    expect(fetch.requests[0]?.url).toMatchInlineSnapshot(
      `"http://api.test/rpc/hello,noInput,post.byId?batch=1&input=%7B%220%22%3A%7B%22who%22%3A%22ann%22%7D%2C%222%22%3A%7B%22id%22%3A7%7D%7D"`,
    );
    expect(parseBatchUrl(fetch.requests[0]?.url ?? "").input).toMatchInlineSnapshot(`
      {
        "0": {
          "who": "ann",
        },
        "2": {
          "id": 7,
        },
      }
    `);
    expect(results).toEqual(['hello:{"who":"ann"}', "noInput:-", 'post.byId:{"id":7}']);
  });

  it("leaves the input parameter out when no call has an input", async () => {
    const { fetch, client } = setup();
    await Promise.all([client.noInput.query(), client.returnNull.query()]);
    expect(fetch.requests.map((r) => r.url)).toMatchInlineSnapshot(`
      [
        "http://api.test/rpc/noInput,returnNull?batch=1",
      ]
    `);
  });

  it("sends an explicit null input as null", async () => {
    const { fetch, client } = setup();
    await client.helloStr.query(null);
    expect(parseBatchUrl(fetch.requests[0]?.url ?? "").input).toEqual({ "0": null });
  });

  it("never puts queries and mutations in one request; mutations are POSTed with a JSON body", async () => {
    const { fetch, client } = setup();
    const results = await Promise.all([client.hello.query(), client.echo.mutate("hi"), client.mut.mutate(), client.noInput.query()]);
    expect(results).toEqual(["hello:-", 'echo:"hi"', "mut:-", "noInput:-"]);
    expect(fetch.requests.map(({ url, method, body, headers }) => ({ method, url, body, headers }))).toMatchInlineSnapshot(`
      [
        {
          "body": undefined,
          "headers": {},
          "method": "GET",
          "url": "http://api.test/rpc/hello,noInput?batch=1",
        },
        {
          "body": "{"0":"hi"}",
          "headers": {
            "content-type": "application/json",
          },
          "method": "POST",
          "url": "http://api.test/rpc/echo,mut?batch=1",
        },
      ]
    `);
  });

  it("sends calls of different macrotasks in different requests", async () => {
    const { fetch, client } = setup();
    const first = client.noInput.query();
    await tick();
    await Promise.all([first, client.noInput.query()]);
    expect(fetch.requests).toHaveLength(2);
  });

  it("batches calls made from promise callbacks of the same macrotask", async () => {
    const { fetch, client } = setup();
    await Promise.all([client.noInput.query(), Promise.resolve().then(() => client.returnNull.query())]);
    expect(fetch.requests).toHaveLength(1);
  });

  it("splits greedily by maxItems", async () => {
    const { fetch, client } = setup(echoServer, { maxItems: 2 });
    const results = await Promise.all([1, 2, 3, 4, 5].map((id) => client.post.byId.query({ id })));
    expect(results).toEqual([1, 2, 3, 4, 5].map((id) => `post.byId:{"id":${id}}`));
    expect(fetch.requests.map((r) => parseBatchUrl(r.url).input)).toEqual([
      { "0": { id: 1 }, "1": { id: 2 } },
      { "0": { id: 3 }, "1": { id: 4 } },
      { "0": { id: 5 } },
    ]);
  });

  it.each([
    [133, [133, 133, 69]],
    [132, [101, 101, 101, 69]],
  ])("splits greedily by maxURLLength (%i), filling each request as far as it fits", async (maxURLLength, lengths) => {
    // One call: 'http://api.test/rpc/helloStr?batch=1&input=%7B%220%22%3A%22aaaa%22%7D' is 69 chars;
    // each further call adds ',helloStr' (9) and '%2C%22<i>%22%3A%22aaaa%22' (23).
    expect(`${URL_BASE}/helloStr?batch=1&input=${encodeURIComponent('{"0":"aaaa"}')}`).toHaveLength(69);
    const { fetch, client } = setup(echoServer, { maxURLLength });
    const results = await Promise.all(Array.from({ length: 7 }, () => client.helloStr.query("aaaa")));
    expect(results).toEqual(Array.from({ length: 7 }, () => 'helloStr:"aaaa"'));
    expect(fetch.requests.map((r) => r.url.length)).toEqual(lengths);
  });

  it("fails a call too big for the URL on its own locally, and still sends the others", async () => {
    const { fetch, client } = setup(echoServer, { maxURLLength: 100 });
    const big = client.helloStr.query("x".repeat(200));
    const small = client.helloStr.query("y");
    const error = await rejection(big);
    expect(error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(error.httpStatus).toBe(0);
    expect(error.path).toBe("helloStr");
    expect(error.message).toMatchInlineSnapshot(
      `"Not sent: the call to helloStr alone needs a URL of 265 characters, more than maxURLLength (100)"`,
    );
    await expect(small).resolves.toBe('helloStr:"y"');
    expect(fetch.requests).toHaveLength(1);
    expect(fetch.requests[0]?.url).not.toContain("xxx");
  });

  it("counts only paths against maxURLLength for mutations (inputs go in the body)", async () => {
    const { fetch, client } = setup(echoServer, { maxURLLength: 60 });
    await expect(client.echo.mutate("z".repeat(500))).resolves.toBe(`echo:"${"z".repeat(500)}"`);
    expect(fetch.requests[0]?.url).toBe("http://api.test/rpc/echo?batch=1");
  });

  it("never puts calls with different group keys in one request", async () => {
    const groupKey = (op: Operation) => String(op.context.viewerId ?? "anon");
    const { fetch, client } = setup(echoServer, {
      groupKey,
      headers: ({ operations }) => ({ "x-viewer": groupKey(operations[0] as Operation) }),
    });
    await Promise.all([
      client.noInput.query(undefined, { context: { viewerId: "a" } }),
      client.noInput.query(undefined, { context: { viewerId: "b" } }),
      client.returnNull.query(undefined, { context: { viewerId: "a" } }),
      client.noInput.query(),
    ]);
    expect(fetch.requests.map((r) => `${r.headers["x-viewer"]} ${r.url}`)).toMatchInlineSnapshot(`
      [
        "a http://api.test/rpc/noInput,returnNull?batch=1",
        "b http://api.test/rpc/noInput?batch=1",
        "anon http://api.test/rpc/noInput?batch=1",
      ]
    `);
  });

  it("snapshots the input when the call is made", async () => {
    const { fetch, client } = setup();
    const input = { id: 1 };
    const call = client.post.byId.query(input);
    input.id = 2;
    await call;
    expect(parseBatchUrl(fetch.requests[0]?.url ?? "").input).toEqual({ "0": { id: 1 } });
  });
});

describe("httpBatchLink: replies", () => {
  it("maps results by index and errors to their own call", async () => {
    const { client } = setup(() =>
      jsonReply(
        [
          { result: { data: { text: "hello world" } } },
          {
            error: {
              message: "nope",
              code: -32003,
              data: { code: "FORBIDDEN", httpStatus: 403, path: "forbiddenMsg", payload: { reason: "r" } },
            },
          },
          { result: {} },
        ],
        207,
      ),
    );
    const [hello, forbidden, unit] = await Promise.allSettled([
      client.hello.query(),
      client.forbiddenMsg.query(),
      client.returnUndefined.query(),
    ]);
    expect(hello).toEqual({ status: "fulfilled", value: { text: "hello world" } });
    expect(unit).toEqual({ status: "fulfilled", value: undefined });
    expect(forbidden.status).toBe("rejected");
    const error = (forbidden as PromiseRejectedResult).reason as TabrpcError;
    expect(error).toBeInstanceOf(TabrpcError);
    expect({ ...error, name: error.name, message: error.message, response: undefined }).toMatchInlineSnapshot(`
      {
        "code": "FORBIDDEN",
        "httpStatus": 403,
        "message": "nope",
        "name": "TabrpcError",
        "path": "forbiddenMsg",
        "payload": {
          "reason": "r",
        },
        "reason": undefined,
        "response": undefined,
        "shape": {
          "code": -32003,
          "data": {
            "code": "FORBIDDEN",
            "httpStatus": 403,
            "path": "forbiddenMsg",
            "payload": {
              "reason": "r",
            },
          },
          "message": "nope",
        },
      }
    `);
    expect(error.response?.status).toBe(207);
  });

  it("rejects every call with a top-level error (a single object instead of an array)", async () => {
    const { client } = setup(() =>
      jsonReply(
        { error: { message: "Batching is not enabled on the server", code: -32600, data: { code: "BAD_REQUEST", httpStatus: 400 } } },
        400,
      ),
    );
    const errors = await Promise.all([rejection(client.noInput.query()), rejection(client.hello.query())]);
    expect(errors.map((e) => [e.code, e.httpStatus, e.path, e.message])).toEqual([
      ["BAD_REQUEST", 400, "noInput", "Batching is not enabled on the server"],
      ["BAD_REQUEST", 400, "hello", "Batching is not enabled on the server"],
    ]);
  });

  it("rejects a call whose item is missing from the reply with BAD_GATEWAY", async () => {
    const { client } = setup(() => jsonReply([{ result: { data: "one" } }]));
    const [first, second] = await Promise.allSettled([client.noInput.query(), client.helloStr.query()]);
    expect(first).toEqual({ status: "fulfilled", value: "one" });
    const error = (second as PromiseRejectedResult).reason as TabrpcError;
    expect([error.code, error.httpStatus, error.message]).toEqual([
      "BAD_GATEWAY",
      200,
      "The batch reply has no item 1 (for helloStr); it has 1",
    ]);
  });

  it("rejects with BAD_GATEWAY on a reply that is not JSON, keeping the HTTP status", async () => {
    const { client } = setup(() => new Response("<html>502 Bad Gateway</html>", { status: 502, headers: { "content-type": "text/html" } }));
    const error = await rejection(client.noInput.query());
    expect([error.code, error.httpStatus, error.shape]).toEqual(["BAD_GATEWAY", 502, undefined]);
    expect(error.message).toMatchInlineSnapshot(
      `"The reply for noInput is not JSON (HTTP 502, content-type text/html): "<html>502 Bad Gateway</html>""`,
    );
  });

  it("rejects with BAD_GATEWAY on JSON that is not an envelope", async () => {
    const { client } = setup(() => jsonReply([{ data: 1 }]));
    expect((await rejection(client.noInput.query())).code).toBe("BAD_GATEWAY");
    const { client: other } = setup(() => jsonReply({ whatever: true }));
    expect((await rejection(other.noInput.query())).code).toBe("BAD_GATEWAY");
  });

  it("names an unknown error code by its JSON-RPC number", async () => {
    const { client } = setup(() => jsonReply([{ error: { message: "x", code: -32029, data: { code: "SOMETHING_NEW" } } }]));
    const error = await rejection(client.noInput.query());
    expect([error.code, error.httpStatus]).toEqual(["TOO_MANY_REQUESTS", 429]);
  });

  it("rejects with SERVICE_UNAVAILABLE (status 0) when fetch throws", async () => {
    const cause = new TypeError("fetch failed");
    const { client } = setup(() => Promise.reject(cause));
    const error = await rejection(client.noInput.query());
    expect([error.code, error.httpStatus, error.cause]).toEqual(["SERVICE_UNAVAILABLE", 0, cause]);
  });
});

describe("httpBatchLink: headers", () => {
  it("resolves headers once per HTTP request, after batching, right before fetch", async () => {
    const seen: string[][] = [];
    const { fetch, client } = setup(echoServer, {
      maxItems: 2,
      headers: async ({ operations }) => {
        seen.push(operations.map((op) => op.path));
        const n = seen.length;
        await tick();
        return { Authorization: `Bearer t${n}`, "x-skip": undefined };
      },
    });
    const calls = Promise.all([client.noInput.query(), client.returnNull.query(), client.hello.query()]);
    expect(seen).toEqual([]);
    await calls;
    expect(seen).toEqual([["noInput", "returnNull"], ["hello"]]);
    expect(fetch.requests.map((r) => r.headers)).toEqual([{ authorization: "Bearer t1" }, { authorization: "Bearer t2" }]);
  });

  it("does not send a request whose headers function throws, and rejects its calls", async () => {
    const { fetch, client } = setup(echoServer, {
      headers: () => {
        throw new Error("no token");
      },
    });
    const error = await rejection(client.noInput.query());
    expect([error.code, error.httpStatus, error.message]).toEqual([
      "CLIENT_CLOSED_REQUEST",
      0,
      "Not sent: the headers option failed: Error: no token",
    ]);
    expect(fetch.requests).toHaveLength(0);
  });

  it("passes a TabrpcError thrown by the headers function through", async () => {
    const thrown = new TabrpcError({ code: "UNAUTHORIZED", httpStatus: 0, path: "" });
    const { client } = setup(echoServer, { headers: () => Promise.reject(thrown) });
    const error = await rejection(client.noInput.query());
    expect([error.code, error.path]).toEqual(["UNAUTHORIZED", "noInput"]);
  });
});

describe("httpBatchLink: transport hints", () => {
  /** A link that sets the hints a later transport must honour. */
  const hinting = (hints: (op: Operation) => Operation["transport"]): Link => (op, next) => next({ ...op, transport: hints(op) });

  it("keeps calls with different hint group keys in different requests", async () => {
    const fetch = fakeFetch(echoServer);
    const client = createClient(procedures, {
      links: [hinting((op) => ({ groupKey: String(op.context.viewerId) })), httpBatchLink({ url: URL_BASE, fetch })],
    });
    await Promise.all([
      client.noInput.query(undefined, { context: { viewerId: "a" } }),
      client.noInput.query(undefined, { context: { viewerId: "b" } }),
      client.returnNull.query(undefined, { context: { viewerId: "a" } }),
    ]);
    expect(fetch.requests.map((r) => parseBatchUrl(r.url).paths)).toEqual([["noInput", "returnNull"], ["noInput"]]);
  });

  it("calls a hint's header function once per request, after the headers option, and merges it over", async () => {
    const fetch = fakeFetch(echoServer);
    const order: string[] = [];
    const hint = vi.fn(({ operations }: HTTPRequestInfo) => {
      order.push(`hint:${operations.length}`);
      return { authorization: "Bearer hinted", "x-extra": "1" };
    });
    const client = createClient(procedures, {
      links: [
        hinting(() => ({ headers: hint })),
        httpBatchLink({
          url: URL_BASE,
          fetch,
          headers: () => {
            order.push("option");
            return { authorization: "Bearer option", "x-app": "web" };
          },
        }),
      ],
    });
    await Promise.all([client.noInput.query(), client.returnNull.query()]);
    expect(order).toEqual(["option", "hint:2"]);
    expect(fetch.requests[0]?.headers).toEqual({ authorization: "Bearer hinted", "x-app": "web", "x-extra": "1" });
  });

  it("fails the request like the headers option when a hint's function throws", async () => {
    const fetch = fakeFetch(echoServer);
    const client = createClient(procedures, {
      links: [
        hinting(() => ({
          headers: () => {
            throw new Error("boom");
          },
        })),
        httpBatchLink({ url: URL_BASE, fetch }),
      ],
    });
    const error = await rejection(client.noInput.query());
    expect([error.code, error.message]).toEqual(["CLIENT_CLOSED_REQUEST", "Not sent: the headers option failed: Error: boom"]);
    expect(fetch.requests).toHaveLength(0);
  });
});

describe("httpBatchLink: abort", () => {
  it("drops a call aborted before dispatch from the batch", async () => {
    const { fetch, client } = setup();
    const controller = new AbortController();
    const aborted = client.noInput.query(undefined, { signal: controller.signal });
    const kept = client.returnNull.query();
    controller.abort();
    const error = await rejection(aborted);
    expect([error.code, error.httpStatus, error.path]).toEqual(["CLIENT_CLOSED_REQUEST", 0, "noInput"]);
    await expect(kept).resolves.toBe("returnNull:-");
    expect(fetch.requests.map((r) => r.url)).toEqual(["http://api.test/rpc/returnNull?batch=1"]);
  });

  it("sends nothing when every call is aborted before dispatch, or was aborted already", async () => {
    const { fetch, client } = setup();
    const controller = new AbortController();
    const pending = client.noInput.query(undefined, { signal: controller.signal });
    controller.abort();
    const early = client.noInput.query(undefined, { signal: controller.signal });
    await Promise.all([rejection(pending), rejection(early)]);
    await tick();
    expect(fetch.requests).toHaveLength(0);
  });

  it("aborts the HTTP request only when all its calls are aborted; each call rejects at once", async () => {
    const replies: Array<(r: Response) => void> = [];
    const { fetch, client } = setup(() => new Promise<Response>((resolve) => replies.push(resolve)));
    const a = new AbortController();
    const b = new AbortController();
    const first = client.noInput.query(undefined, { signal: a.signal });
    const second = client.returnNull.query(undefined, { signal: b.signal });
    await tick();
    expect(fetch.requests).toHaveLength(1);
    const signal = fetch.requests[0]?.signal;

    a.abort();
    expect((await rejection(first)).code).toBe("CLIENT_CLOSED_REQUEST");
    expect(signal?.aborted).toBe(false);

    b.abort();
    expect((await rejection(second)).code).toBe("CLIENT_CLOSED_REQUEST");
    expect(signal?.aborted).toBe(true);
  });

  it("keeps the request of a finished batch un-aborted", async () => {
    const { fetch, client } = setup();
    const controller = new AbortController();
    await client.noInput.query(undefined, { signal: controller.signal });
    controller.abort();
    expect(fetch.requests[0]?.signal.aborted).toBe(false);
  });

  it("does not fetch when every call is aborted while headers are being resolved", async () => {
    let release: () => void = () => undefined;
    const { fetch, client } = setup(echoServer, {
      headers: () => new Promise((resolve) => (release = () => resolve({}))),
    });
    const controller = new AbortController();
    const call = client.noInput.query(undefined, { signal: controller.signal });
    await tick();
    controller.abort();
    release();
    expect((await rejection(call)).code).toBe("CLIENT_CLOSED_REQUEST");
    await tick();
    expect(fetch.requests).toHaveLength(0);
  });
});

describe("httpBatchLink: local failures", () => {
  it("fails an input JSON cannot carry with BAD_REQUEST, without sending it", async () => {
    const { fetch, client } = setup();
    const error = await rejection(client.slow.query(1n as unknown as number));
    expect([error.code, error.httpStatus]).toEqual(["BAD_REQUEST", 0]);
    await tick();
    expect(fetch.requests).toHaveLength(0);
  });

  it("rejects bad limits when the link is created", () => {
    expect(() => httpBatchLink({ url: URL_BASE, maxItems: 0 })).toThrow(RangeError);
    expect(() => httpBatchLink({ url: URL_BASE, maxURLLength: Number.NaN })).toThrow(RangeError);
  });
});
