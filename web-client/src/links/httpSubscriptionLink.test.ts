import { afterEach, describe, expect, it, vi } from "vitest";
import { procedures, type Procedures } from "../../../bindings/conformance.js";
import { createClient, type SubscriptionHandlers } from "../client.js";
import { TabrpcError } from "../error.js";
import { fakeFetch, jsonReply, tick, writtenReply, type RecordedRequest } from "../testing/fake-fetch.js";
import { createTabAuth } from "../auth/tabAuth.js";
import { scriptedSource } from "../testing/scripted-auth.js";
import { authLink } from "./authLink.js";
import { httpBatchLink } from "./httpBatchLink.js";
import { httpSubscriptionLink } from "./httpSubscriptionLink.js";
import { splitLink } from "./splitLink.js";

const URL_BASE = "http://api.test/trpc";

/** An event-stream reply the test writes to, event by event. */
function sseReply() {
  const reply = writtenReply("text/event-stream");
  return {
    ...reply,
    connected: () => reply.write("event: connected\ndata: {}\n\n"),
    value: (value: unknown, id?: string) => reply.write(`${id === undefined ? "" : `id: ${id}\n`}data: ${JSON.stringify(value)}\n\n`),
    done: () => reply.write("event: return\ndata: \n\n"),
  };
}

type Reply = ReturnType<typeof sseReply>;

/** A client whose subscriptions get the replies the test makes, in order. */
function setup(options: { reconnectDelayMs?: number; maxReconnects?: number; reconnectAfterInactivityMs?: number } = {}) {
  const replies: (Reply | Response | Error)[] = [];
  const fetch = fakeFetch(() => {
    const next = replies.shift();
    if (next === undefined) return new Promise<Response>(() => undefined);
    if (next instanceof Error) return Promise.reject(next);
    return next instanceof Response ? next : next.response;
  });
  const client = createClient(procedures, {
    links: [
      splitLink({
        condition: (op) => op.kind === "subscription",
        true: httpSubscriptionLink({ url: URL_BASE, fetch, ...options, reconnectDelayMs: options.reconnectDelayMs ?? 1 }),
        false: httpBatchLink({ url: URL_BASE, fetch }),
      }),
    ],
  });
  return { client, fetch, replies };
}

/** Handlers that record what they are told. */
function recorder<T>() {
  const seen: string[] = [];
  const values: T[] = [];
  let error: TabrpcError | undefined;
  const handlers: SubscriptionHandlers<T> = {
    onStarted: () => seen.push("started"),
    onData: (value) => {
      seen.push("data");
      values.push(value);
    },
    onError: (e) => {
      seen.push("error");
      error = e;
    },
    onComplete: () => seen.push("complete"),
    onStopped: () => seen.push("stopped"),
  };
  return { seen, values, handlers, error: () => error };
}

const header = (request: RecordedRequest | undefined, name: string) => request?.headers[name];

describe("httpSubscriptionLink", () => {
  it("sends GET <url>/<path>?input=… for an event stream, and delivers values until return", async () => {
    const { client, fetch, replies } = setup();
    const reply = sseReply();
    replies.push(reply);
    const rec = recorder<{ i: number }>();
    client.sub.subscribe({ n: 2 }, rec.handlers);
    await tick();
    expect(fetch.requests[0]?.url).toBe(`${URL_BASE}/sub?input=${encodeURIComponent('{"n":2}')}`);
    expect(fetch.requests[0]?.method).toBe("GET");
    expect(header(fetch.requests[0], "accept")).toBe("text/event-stream");
    reply.connected();
    reply.write("event: ping\ndata: \n\n");
    reply.value({ i: 0 }, "0");
    reply.value({ i: 1 }, "1");
    reply.done();
    await expect.poll(() => rec.seen).toEqual(["started", "data", "data", "complete"]);
    expect(rec.values).toEqual([{ i: 0 }, { i: 1 }]);
    expect(fetch.requests).toHaveLength(1);
  });

  it("reports a serialized-error as a TabrpcError and stops", async () => {
    const { client, replies } = setup();
    const reply = sseReply();
    replies.push(reply);
    const rec = recorder<string>();
    client.subFail.subscribe(undefined, rec.handlers);
    reply.connected();
    reply.value("a");
    reply.write(
      `event: serialized-error\ndata: ${JSON.stringify({ message: "sub forbidden", code: -32003, data: { code: "FORBIDDEN", httpStatus: 403, path: "subFail" } })}\n\n`,
    );
    await expect.poll(() => rec.seen).toEqual(["started", "data", "error"]);
    expect(rec.error()).toMatchObject({ code: "FORBIDDEN", httpStatus: 403, message: "sub forbidden", path: "subFail" });
    await expect.poll(() => reply.cancelled()).toBe(true);
  });

  it("reconnects a dropped stream with Last-Event-ID and goes on", async () => {
    const { client, fetch, replies } = setup();
    const first = sseReply();
    const second = sseReply();
    replies.push(first, new TypeError("network down"), second);
    const rec = recorder<{ i: number }>();
    client.sub.subscribe(null, rec.handlers);
    first.connected();
    first.value({ i: 0 }, "0");
    first.value({ i: 1 }, "1");
    first.close(); // dropped without `return`
    await expect.poll(() => fetch.requests.length).toBe(3);
    expect(header(fetch.requests[0], "last-event-id")).toBeUndefined();
    expect(header(fetch.requests[1], "last-event-id")).toBe("1");
    expect(header(fetch.requests[2], "last-event-id")).toBe("1");
    second.connected();
    second.value({ i: 2 }, "2");
    second.done();
    await expect.poll(() => rec.seen).toEqual(["started", "data", "data", "data", "complete"]);
    expect(rec.values.map((v) => v.i)).toEqual([0, 1, 2]);
  });

  it("fails when reconnecting is answered with an HTTP error, or after maxReconnects", async () => {
    const refused = setup();
    const first = sseReply();
    refused.replies.push(first, jsonReply({ error: { message: "sign in", code: -32001, data: { code: "UNAUTHORIZED", httpStatus: 401 } } }, 401));
    const rec = recorder<{ i: number }>();
    refused.client.sub.subscribe(null, rec.handlers);
    first.connected();
    first.close();
    await expect.poll(() => rec.seen).toEqual(["started", "error"]);
    expect(rec.error()?.code).toBe("UNAUTHORIZED");

    const unreachable = setup({ maxReconnects: 2 });
    const only = sseReply();
    unreachable.replies.push(only, new TypeError("down"), new TypeError("down"), new TypeError("down"));
    const rec2 = recorder<{ i: number }>();
    unreachable.client.sub.subscribe(null, rec2.handlers);
    only.connected();
    only.close();
    await expect.poll(() => rec2.seen).toEqual(["started", "error"]);
    expect(rec2.error()?.code).toBe("SERVICE_UNAVAILABLE");
    expect(unreachable.fetch.requests).toHaveLength(4); // the first, then 1 + maxReconnects attempts
  });

  it("fails at once when the first connection cannot be made, with the server's top-level error", async () => {
    const { client, replies } = setup();
    replies.push(jsonReply({ error: { message: 'No procedure found on path "nope"', code: -32004, data: { code: "NOT_FOUND", httpStatus: 404 } } }, 404));
    const rec = recorder<{ i: number }>();
    client.sub.subscribe(null, rec.handlers);
    await expect.poll(() => rec.seen).toEqual(["error"]);
    expect(rec.error()).toMatchObject({ code: "NOT_FOUND", httpStatus: 404 });

    const network = setup();
    network.replies.push(new TypeError("offline"));
    const rec2 = recorder<{ i: number }>();
    network.client.sub.subscribe(null, rec2.handlers);
    await expect.poll(() => rec2.seen).toEqual(["error"]);
    expect(rec2.error()?.code).toBe("SERVICE_UNAVAILABLE");
    expect(network.fetch.requests).toHaveLength(1);
  });

  it("unsubscribe closes the connection, reports stopped once, and nothing after", async () => {
    const { client, replies } = setup();
    const reply = sseReply();
    replies.push(reply);
    const rec = recorder<{ i: number }>();
    const sub = client.sub.subscribe(null, rec.handlers);
    reply.connected();
    reply.value({ i: 0 }, "0");
    await expect.poll(() => rec.seen).toEqual(["started", "data"]);
    sub.unsubscribe();
    sub.unsubscribe();
    reply.value({ i: 1 }, "1");
    await expect.poll(() => reply.cancelled()).toBe(true);
    await tick(5);
    expect(rec.seen).toEqual(["started", "data", "stopped"]);
  });

  it("an aborted signal stops the subscription like unsubscribe", async () => {
    const { client, replies, fetch } = setup();
    const reply = sseReply();
    replies.push(reply);
    const controller = new AbortController();
    const rec = recorder<{ i: number }>();
    client.sub.subscribe(null, { ...rec.handlers, signal: controller.signal });
    await tick();
    controller.abort();
    await expect.poll(() => rec.seen).toEqual(["stopped"]);
    expect(fetch.requests[0]?.signal.aborted).toBe(true);

    const early = recorder<{ i: number }>();
    client.sub.subscribe(null, { ...early.handlers, signal: AbortSignal.abort() });
    expect(early.seen).toEqual(["stopped"]);
    expect(fetch.requests).toHaveLength(1);
  });

  it("refuses queries and mutations, and batch links refuse subscriptions, without sending", async () => {
    const fetch = fakeFetch(() => jsonReply([]));
    const onlySubs = createClient(procedures, { links: [httpSubscriptionLink({ url: URL_BASE, fetch })] });
    await expect(onlySubs.hello.query()).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("httpSubscriptionLink carries subscriptions only") });
    const noSubs = createClient(procedures, { links: [httpBatchLink({ url: URL_BASE, fetch })] });
    const rec = recorder<{ i: number }>();
    noSubs.sub.subscribe(null, rec.handlers);
    await expect.poll(() => rec.seen).toEqual(["error"]);
    expect(rec.error()?.message).toContain("httpBatchLink carries queries and mutations only, not the subscription sub");
    expect(fetch.requests).toHaveLength(0);
  });

  it("fails on a value that is not JSON", async () => {
    const { client, replies } = setup();
    const reply = sseReply();
    replies.push(reply);
    const rec = recorder<{ i: number }>();
    client.sub.subscribe(null, rec.handlers);
    reply.connected();
    reply.write("data: {not json\n\n");
    await expect.poll(() => rec.seen).toEqual(["started", "error"]);
    expect(rec.error()?.code).toBe("BAD_GATEWAY");
  });

  it("with authLink: a fresh token on every (re)connection, and the subscription ends at an account switch", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const auth = createTabAuth(source);
    const replies: Reply[] = [sseReply(), sseReply()];
    const [first, second] = replies as [Reply, Reply];
    const fetch = fakeFetch(() => replies.shift()?.response ?? new Promise<Response>(() => undefined));
    const client = createClient(procedures, { links: [authLink({ auth }), httpSubscriptionLink({ url: URL_BASE, fetch, reconnectDelayMs: 1 })] });
    const rec = recorder<{ i: number }>();
    client.sub.subscribe(null, rec.handlers);
    first.connected();
    first.value({ i: 0 }, "0");
    first.close();
    await expect.poll(() => fetch.requests.length).toBe(2);
    second.connected();
    second.value({ i: 1 }, "1");
    await expect.poll(() => rec.values.length).toBe(2);
    expect(fetch.requests.map((r) => r.headers.authorization)).toEqual(["Bearer token-user_alice", "Bearer token-user_alice"]);
    expect(source.calls).toHaveLength(2);
    source.set({ accountId: "user_bob" });
    second.value({ i: 2 }, "2"); // arrives after the switch: dropped
    await expect.poll(() => rec.seen.at(-1)).toBe("error");
    expect(rec.error()?.code).toBe("CLIENT_CLOSED_REQUEST");
    expect(rec.values).toEqual([{ i: 0 }, { i: 1 }]);
    await expect.poll(() => second.cancelled()).toBe(true);
  });

  describe("edge cases", () => {
    afterEach(() => {
      vi.useRealTimers();
      vi.unstubAllGlobals();
    });

    it("a handler that throws is reported as uncaught and stops nothing", async () => {
      const reported: unknown[] = [];
      vi.stubGlobal("reportError", (error: unknown) => reported.push(error));
      const { client, replies } = setup();
      const reply = sseReply();
      replies.push(reply);
      const values: number[] = [];
      const errors: unknown[] = [];
      client.sub.subscribe(null, {
        onStarted: () => {
          throw new Error("bug in onStarted");
        },
        onData: (event) => {
          values.push(event.i);
          if (event.i === 0) throw new Error("bug in onData");
        },
        onError: (error) => errors.push(error),
      });
      reply.connected();
      reply.value({ i: 0 }, "0");
      reply.value({ i: 1 }, "1");
      await expect.poll(() => values).toEqual([0, 1]);
      expect(reported.map((e) => (e as Error).message)).toEqual(["bug in onStarted", "bug in onData"]);
      expect(errors).toEqual([]);
      expect(reply.cancelled()).toBe(false);
    });

    it("a stream that returns before connected fails the call instead of hanging", async () => {
      const { client, replies } = setup();
      const reply = sseReply();
      replies.push(reply);
      const rec = recorder<{ i: number }>();
      client.sub.subscribe(null, rec.handlers);
      reply.done();
      await expect.poll(() => rec.seen).toEqual(["error"]);
      expect(rec.error()?.code).toBe("BAD_GATEWAY");
    });

    it("reconnections that close before connected count against maxReconnects", async () => {
      const { client, replies, fetch } = setup({ maxReconnects: 2 });
      const first = sseReply();
      const empty = [sseReply(), sseReply(), sseReply(), sseReply()];
      replies.push(first, ...empty);
      const rec = recorder<{ i: number }>();
      client.sub.subscribe(null, rec.handlers);
      first.connected();
      first.close();
      for (const reply of empty) reply.close();
      await expect.poll(() => rec.seen).toEqual(["started", "error"]);
      expect(rec.error()?.code).toBe("SERVICE_UNAVAILABLE");
      expect(fetch.requests).toHaveLength(4); // the first, then 1 + maxReconnects
    });

    it("gives each connection its own signal, aborted when it ends", async () => {
      const { client, replies, fetch } = setup();
      const [first, second] = [sseReply(), sseReply()];
      replies.push(first, second);
      client.sub.subscribe(null, recorder<{ i: number }>().handlers);
      first.connected();
      first.close();
      await expect.poll(() => fetch.requests.length).toBe(2);
      expect(fetch.requests[0]?.signal).not.toBe(fetch.requests[1]?.signal);
      expect(fetch.requests[0]?.signal.aborted).toBe(true);
      expect(fetch.requests[1]?.signal.aborted).toBe(false);
    });

    it("waits the server's retry: before reconnecting, even when it came before connected", async () => {
      vi.useFakeTimers();
      const { client, replies, fetch } = setup({ reconnectDelayMs: 10 });
      const [first, second] = [sseReply(), sseReply()];
      replies.push(first, second);
      client.sub.subscribe(null, recorder<{ i: number }>().handlers);
      first.write("retry: 10000\n\n");
      first.connected();
      first.close();
      await vi.advanceTimersByTimeAsync(9_000);
      expect(fetch.requests).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1_001);
      expect(fetch.requests).toHaveLength(2);
    });

    it("retries a reconnection refused with 401 invalid_token once, at once", async () => {
      const { client, replies, fetch } = setup({ reconnectDelayMs: 1 });
      const [first, third] = [sseReply(), sseReply()];
      const refused = new Response(JSON.stringify({ error: { message: "bad token", code: -32001, data: { code: "UNAUTHORIZED", httpStatus: 401 } } }), {
        status: 401,
        headers: { "content-type": "application/json", "www-authenticate": 'Bearer error="invalid_token"' },
      });
      replies.push(first, refused, third);
      const rec = recorder<{ i: number }>();
      client.sub.subscribe(null, rec.handlers);
      first.connected();
      first.value({ i: 0 }, "0");
      first.close();
      await expect.poll(() => fetch.requests.length).toBe(3);
      third.connected();
      third.value({ i: 1 }, "1");
      await expect.poll(() => rec.values.length).toBe(2);
      expect(rec.seen).not.toContain("error");
    });

    it("sends no Last-Event-ID after an empty id: field", async () => {
      const { client, replies, fetch } = setup();
      const [first, second] = [sseReply(), sseReply()];
      replies.push(first, second);
      client.sub.subscribe(null, recorder<{ i: number }>().handlers);
      first.connected();
      first.value({ i: 0 }, "0");
      first.value({ i: 1 }, "");
      first.close();
      await expect.poll(() => fetch.requests.length).toBe(2);
      expect(header(fetch.requests[1], "last-event-id")).toBeUndefined();
    });

    it("reconnects a silent connection after reconnectAfterInactivityMs, pings keeping it alive", async () => {
      vi.useFakeTimers();
      const { client, replies, fetch } = setup({ reconnectAfterInactivityMs: 1000 });
      const [first, second] = [sseReply(), sseReply()];
      replies.push(first, second);
      client.sub.subscribe(null, recorder<{ i: number }>().handlers);
      first.connected();
      for (let i = 0; i < 3; i += 1) {
        await vi.advanceTimersByTimeAsync(800);
        first.write("event: ping\ndata: \n\n");
      }
      expect(fetch.requests).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1100);
      await vi.advanceTimersByTimeAsync(10);
      expect(fetch.requests).toHaveLength(2);
      expect(first.cancelled()).toBe(true);
    });
  });
});
