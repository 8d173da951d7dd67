import { describe, expect, it } from "vitest";
import { createClient } from "../client.js";
import { TabrpcError } from "../error.js";
import { fakeFetch, jsonReply, streamReply, tick, type RecordedRequest } from "../testing/fake-fetch.js";
import { procedures, type Procedures } from "../../../bindings/conformance.js";
import { httpBatchStreamLink } from "./httpBatchStreamLink.js";

function setup(respond: (r: RecordedRequest) => Response | Promise<Response>) {
  const fetch = fakeFetch(respond);
  const client = createClient(procedures, { links: [httpBatchStreamLink({ url: "http://api.test", fetch })] });
  return { fetch, client };
}

const forbidden = { message: "nope", code: -32003, data: { code: "FORBIDDEN", httpStatus: 403, path: "forbiddenMsg" } };

describe("httpBatchStreamLink", () => {
  it("asks for JSONL and resolves each call when its own line arrives", async () => {
    const reply = streamReply();
    const { fetch, client } = setup(() => reply.response);
    const settled: string[] = [];
    const slow = client.slow.query(50).then((v) => settled.push(`slow ${v}`));
    const fast = client.hello.query({ who: "x" }).then((v) => settled.push(`hello ${v.text}`));
    await tick();
    expect(fetch.requests.map(({ method, url, headers }) => ({ method, url, headers }))).toMatchInlineSnapshot(`
      [
        {
          "headers": {
            "trpc-accept": "application/jsonl",
          },
          "method": "GET",
          "url": "http://api.test/slow,hello?batch=1&input=%7B%220%22%3A50%2C%221%22%3A%7B%22who%22%3A%22x%22%7D%7D",
        },
      ]
    `);
    reply.line({ "0": [[0], [null, 0, 0]], "1": [[0], [null, 0, 1]] });
    reply.line([1, 0, [[{ result: { data: { text: "hello x" } } }]]]);
    await fast;
    expect(settled).toEqual(["hello hello x"]);
    reply.line([0, 0, [[{ result: { data: "slept 50" } }]]]);
    reply.close();
    await slow;
    expect(settled).toEqual(["hello hello x", "slow slept 50"]);
  });

  it("accepts items inlined in the head, errors as fulfilled envelopes, and unit results", async () => {
    const reply = streamReply();
    const { client } = setup(() => reply.response);
    const calls = Promise.allSettled([client.noInput.query(), client.forbiddenMsg.query(), client.returnUndefined.query()]);
    await tick();
    reply.line({ "0": [[{ result: { data: "no-input" } }]], "1": [[0], [null, 0, 0]], "2": [[0], [null, 0, 1]] });
    reply.line([0, 0, [[{ error: forbidden }]]]);
    reply.line([1, 0, [[{ result: {} }]]]);
    reply.close();
    const [noInput, error, unit] = await calls;
    expect(noInput).toEqual({ status: "fulfilled", value: "no-input" });
    expect(unit).toEqual({ status: "fulfilled", value: undefined });
    const reason = (error as PromiseRejectedResult).reason as TabrpcError;
    expect(reason).toBeInstanceOf(TabrpcError);
    expect([reason.code, reason.httpStatus, reason.path, reason.message, reason.shape]).toEqual([
      "FORBIDDEN",
      403,
      "forbiddenMsg",
      "nope",
      forbidden,
    ]);
  });

  it("turns a streamed output into an async iterable (wire.md section 3 example)", async () => {
    const reply = streamReply();
    const { client } = setup(() => reply.response);
    const call = client.iter.query();
    await tick();
    reply.line({ "0": [[0], [null, 0, 0]] });
    reply.line([0, 0, [[{ result: 0 }], ["result", 0, 1]]]);
    reply.line([1, 0, [[{ data: 0 }], ["data", 1, 2]]]);
    reply.line([2, 1, [[1]]]);
    const iterable = await call;
    const iterator = iterable[Symbol.asyncIterator]();
    await expect(iterator.next()).resolves.toEqual({ done: false, value: 1 });
    const second = iterator.next();
    reply.line([2, 1, [[2]]]);
    reply.line([2, 0, [[]]]);
    reply.close();
    await expect(second).resolves.toEqual({ done: false, value: 2 });
    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it("throws a mid-stream error from the iterator as a TabrpcError, after the values before it", async () => {
    const reply = streamReply();
    const { client } = setup(() => reply.response);
    const call = client.iter.query();
    await tick();
    reply.line({ "0": [[0], [null, 0, 0]] });
    reply.line([0, 0, [[{ result: 0 }], ["result", 0, 1]]]);
    reply.line([1, 0, [[{ data: 0 }], ["data", 1, 2]]]);
    reply.line([2, 1, [[1]]]);
    reply.line([2, 2, { ...forbidden, data: { ...forbidden.data, path: "iter" } }]);
    reply.close();
    const seen: number[] = [];
    const error = await (async () => {
      for await (const value of await call) seen.push(value);
    })().then(
      () => undefined,
      (e: unknown) => e as TabrpcError,
    );
    expect(seen).toEqual([1]);
    expect(error).toBeInstanceOf(TabrpcError);
    expect([error?.code, error?.path, error?.message]).toEqual(["FORBIDDEN", "iter", "nope"]);
  });

  it("fails calls still waiting when the stream is cut, with BAD_GATEWAY", async () => {
    const reply = streamReply();
    const { client } = setup(() => reply.response);
    const calls = Promise.allSettled([client.noInput.query(), client.slow.query(10), client.iter.query()]);
    await tick();
    reply.line({ "0": [[0], [null, 0, 0]], "1": [[0], [null, 0, 1]], "2": [[0], [null, 0, 2]] });
    reply.line([0, 0, [[{ result: { data: "no-input" } }]]]);
    reply.line([2, 0, [[{ result: 0 }], ["result", 0, 3]]]);
    reply.line([3, 0, [[{ data: 0 }], ["data", 1, 4]]]);
    reply.line([4, 1, [[1]]]);
    await tick(); // an errored ReadableStream drops chunks not read yet
    reply.fail(new Error("connection reset"));
    const [noInput, slow, iter] = await calls;
    expect(noInput).toEqual({ status: "fulfilled", value: "no-input" });
    expect((slow as PromiseRejectedResult).reason).toMatchObject({ code: "BAD_GATEWAY", path: "slow", httpStatus: 200 });
    const iterable = (iter as PromiseFulfilledResult<AsyncIterable<number>>).value;
    const iterator = iterable[Symbol.asyncIterator]();
    await expect(iterator.next()).resolves.toEqual({ done: false, value: 1 });
    await expect(iterator.next()).rejects.toMatchObject({ code: "BAD_GATEWAY", path: "iter" });
  });

  it("fails calls still waiting when the stream ends early, with BAD_GATEWAY", async () => {
    const reply = streamReply();
    const { client } = setup(() => reply.response);
    const call = client.slow.query(10);
    await tick();
    reply.line({ "0": [[0], [null, 0, 0]] });
    reply.close();
    await expect(call).rejects.toMatchObject({ code: "BAD_GATEWAY", message: "The streamed reply for slow ended before all its values" });
  });

  it("reads a non-2xx reply as a plain JSON top-level error for every call", async () => {
    const { client } = setup(() =>
      jsonReply({ error: { message: "Batching is not enabled on the server", code: -32600, data: { code: "BAD_REQUEST", httpStatus: 400 } } }, 400),
    );
    const results = await Promise.allSettled([client.noInput.query(), client.hello.query()]);
    expect(results.map((r) => (r as PromiseRejectedResult).reason)).toMatchObject([
      { code: "BAD_REQUEST", path: "noInput", httpStatus: 400 },
      { code: "BAD_REQUEST", path: "hello", httpStatus: 400 },
    ]);
  });

  it("also reads a whole JSON array when the server did not stream", async () => {
    const { client } = setup(() => jsonReply([{ result: { data: "no-input" } }]));
    await expect(client.noInput.query()).resolves.toBe("no-input");
  });

  it("rejects a reply that is not JSONL with BAD_GATEWAY", async () => {
    const { client } = setup(() => new Response("hello\n", { status: 200 }));
    await expect(client.noInput.query()).rejects.toMatchObject({ code: "BAD_GATEWAY" });
  });

  it("aborts the request when the only reader leaves the loop early", async () => {
    const reply = streamReply();
    const { fetch, client } = setup(() => reply.response);
    const call = client.iter.query();
    await tick();
    reply.line({ "0": [[0], [null, 0, 0]] });
    reply.line([0, 0, [[{ result: 0 }], ["result", 0, 1]]]);
    reply.line([1, 0, [[{ data: 0 }], ["data", 1, 2]]]);
    reply.line([2, 1, [[1]]]);
    for await (const value of await call) {
      expect(value).toBe(1);
      expect(fetch.requests[0]?.signal.aborted).toBe(false);
      break;
    }
    expect(fetch.requests[0]?.signal.aborted).toBe(true);
  });

  it("ends an iterable with CLIENT_CLOSED_REQUEST when its call is aborted, keeping the request for the others", async () => {
    const reply = streamReply();
    const { fetch, client } = setup(() => reply.response);
    const controller = new AbortController();
    const iterCall = client.iter.query(undefined, { signal: controller.signal });
    const slowCall = client.slow.query(100);
    await tick();
    reply.line({ "0": [[0], [null, 0, 0]], "1": [[0], [null, 0, 1]] });
    reply.line([0, 0, [[{ result: 0 }], ["result", 0, 2]]]);
    reply.line([2, 0, [[{ data: 0 }], ["data", 1, 3]]]);
    const iterator = (await iterCall)[Symbol.asyncIterator]();
    const next = iterator.next();
    controller.abort();
    await expect(next).rejects.toMatchObject({ code: "CLIENT_CLOSED_REQUEST", path: "iter" });
    expect(fetch.requests[0]?.signal.aborted).toBe(false);
    reply.line([1, 0, [[{ result: { data: "slept 100" } }]]]);
    reply.close();
    await expect(slowCall).resolves.toBe("slept 100");
  });

  it("POSTs mutations with the JSONL accept header", async () => {
    const reply = streamReply();
    const { fetch, client } = setup(() => reply.response);
    const call = client.echo.mutate("hi");
    await tick();
    reply.line({ "0": [[{ result: { data: "echo hi" } }]] });
    reply.close();
    await expect(call).resolves.toBe("echo hi");
    expect(fetch.requests.map(({ method, url, body, headers }) => ({ method, url, body, headers }))).toMatchInlineSnapshot(`
      [
        {
          "body": "{"0":"hi"}",
          "headers": {
            "content-type": "application/json",
            "trpc-accept": "application/jsonl",
          },
          "method": "POST",
          "url": "http://api.test/echo?batch=1",
        },
      ]
    `);
  });
});
