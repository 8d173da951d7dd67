// @tabrpc/client's httpSubscriptionLink against the Rust conformance fixture's SSE subscriptions
// (wire.md section 4), through the counting proxy: values, completion, errors, unsubscribe, and a
// dropped connection resumed after the last event id.
import { createClient, httpBatchLink, httpSubscriptionLink, splitLink, type FetchLike, type SubscriptionHandlers, type TabrpcError } from "@tabrpc/client";
import { describe, expect, it } from "vitest";
import { proxiedFixture } from "./support/fixture.js";
import { procedures } from "./support/procedures.js";

/** What a subscription told its handlers, in order. */
function recorder<T>() {
  const log: unknown[] = [];
  let error: TabrpcError | undefined;
  const handlers: SubscriptionHandlers<T> = {
    onStarted: () => log.push("started"),
    onData: (value) => log.push(value),
    onError: (e) => {
      error = e;
      log.push("error");
    },
    onComplete: () => log.push("complete"),
    onStopped: () => log.push("stopped"),
  };
  return { log, handlers, error: () => error };
}

/**
 * A fetch whose first event stream is cut right after its first value event (a dropped
 * connection, as a proxy or a network change would drop it).
 */
function cutFirstStream(): FetchLike {
  let cut = false;
  return async (url, init) => {
    const response = await fetch(url, init);
    if (cut || response.body === null || !(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) return response;
    cut = true;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const encoder = new TextEncoder();
    const first = 'data: {"i":0}\n\n';
    let seen = "";
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        for (;;) {
          const chunk = await reader.read();
          if (chunk.done) return controller.close();
          seen += decoder.decode(chunk.value, { stream: true });
          const end = seen.indexOf(first);
          if (end < 0) continue;
          // Everything up to the first value event, then the connection is gone.
          controller.enqueue(encoder.encode(seen.slice(0, end + first.length)));
          await reader.cancel();
          return controller.close();
        }
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

describe("httpSubscriptionLink against the fixture", () => {
  const proxy = proxiedFixture();

  const client = (fetchFn?: FetchLike) =>
    createClient(procedures, {
      links: [
        splitLink({
          condition: (op) => op.kind === "subscription",
          true: httpSubscriptionLink({ url: proxy.url, fetch: fetchFn, reconnectDelayMs: 10 }),
          false: httpBatchLink({ url: proxy.url }),
        }),
      ],
    });

  it("delivers the tracked events, then completes, over one GET event stream", async () => {
    const rec = recorder<{ i: number }>();
    client().sub.subscribe({ n: 3 }, rec.handlers);
    await expect.poll(() => rec.log).toEqual(["started", { i: 0 }, { i: 1 }, { i: 2 }, "complete"]);
    expect(proxy.requests.map((r) => [r.method, r.url, r.headers.accept])).toEqual([
      ["GET", `/sub?input=${encodeURIComponent('{"n":3}')}`, "text/event-stream"],
    ]);
  });

  it("reports the procedure's error after its values", async () => {
    const rec = recorder<string>();
    client().subFail.subscribe(undefined, rec.handlers);
    await expect.poll(() => rec.log).toEqual(["started", "a", "error"]);
    expect(rec.error()).toMatchObject({ code: "FORBIDDEN", httpStatus: 403, message: "sub forbidden", path: "subFail" });
  });

  it("reports a bad input (sent in-stream by the server) as BAD_REQUEST", async () => {
    const rec = recorder<{ i: number }>();
    // @ts-expect-error n must be a number: the server's answer is what this test is about
    client().sub.subscribe({ n: "three" }, rec.handlers);
    await expect.poll(() => rec.log).toEqual(["started", "error"]);
    expect(rec.error()?.code).toBe("BAD_REQUEST");
  });

  it("resumes a dropped connection after the last event id the server sent", async () => {
    const rec = recorder<{ i: number }>();
    client(cutFirstStream()).sub.subscribe({ n: 2 }, rec.handlers);
    // First connection: i=0, then cut. The second carries Last-Event-ID 0 and the server starts
    // after it (n more events from there).
    await expect.poll(() => rec.log).toEqual(["started", { i: 0 }, { i: 1 }, { i: 2 }, "complete"]);
    expect(proxy.requests.map((r) => r.headers["last-event-id"])).toEqual([undefined, "0"]);
  });

  it("unsubscribe closes the server's stream", async () => {
    const rec = recorder<{ i: number }>();
    // Far more events than fit in one read: the stream is still going when we leave.
    const sub = client().sub.subscribe({ n: 1_000_000 }, {
      ...rec.handlers,
      onData: (value) => {
        rec.log.push(value);
        if (value.i === 5) sub.unsubscribe();
      },
    });
    await expect.poll(() => rec.log.at(-1)).toBe("stopped");
    await expect.poll(() => proxy.requests[0]?.aborted).toBe(true);
    expect(rec.log.filter((entry) => entry === "complete")).toEqual([]);
  });
});
