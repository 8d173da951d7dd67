import { describe, expect, it } from "vitest";
import { createClient } from "../client.js";
import { TabrpcError } from "../error.js";
import { fakeFetch, jsonReply, tick, type RecordedRequest } from "../testing/fake-fetch.js";
import { procedures, type Procedures } from "../../../bindings/conformance.js";
import { httpLink } from "./httpLink.js";

function setup(respond: (r: RecordedRequest) => Response | Promise<Response> = () => jsonReply({ result: { data: "ok" } })) {
  const fetch = fakeFetch(respond);
  const client = createClient(procedures, {
    links: [httpLink({ url: "http://api.test/", fetch, headers: async () => ({ "x-h": "1" }) })],
  });
  return { fetch, client };
}

describe("httpLink", () => {
  it("sends one request per call, never batched: GET with ?input=, POST with the input as body", async () => {
    const { fetch, client } = setup();
    await Promise.all([client.post.byId.query({ id: 1 }), client.noInput.query(), client.echo.mutate("hi"), client.mut.mutate()]);
    expect(fetch.requests.map(({ method, url, body, headers }) => [method, url, body, headers])).toMatchInlineSnapshot(`
      [
        [
          "GET",
          "http://api.test/post.byId?input=%7B%22id%22%3A1%7D",
          undefined,
          {
            "x-h": "1",
          },
        ],
        [
          "GET",
          "http://api.test/noInput",
          undefined,
          {
            "x-h": "1",
          },
        ],
        [
          "POST",
          "http://api.test/echo",
          ""hi"",
          {
            "content-type": "application/json",
            "x-h": "1",
          },
        ],
        [
          "POST",
          "http://api.test/mut",
          undefined,
          {
            "content-type": "application/json",
            "x-h": "1",
          },
        ],
      ]
    `);
  });

  it("resolves the data of the envelope, undefined for a unit result", async () => {
    const { client } = setup((r) => jsonReply(r.url.endsWith("returnUndefined") ? { result: {} } : { result: { data: { text: "hello world" } } }));
    await expect(client.hello.query()).resolves.toEqual({ text: "hello world" });
    await expect(client.returnUndefined.query()).resolves.toBeUndefined();
  });

  it("rejects with the server's error, and BAD_GATEWAY for a non-envelope", async () => {
    const { client } = setup(() =>
      jsonReply({ error: { message: "UNAUTHORIZED", code: -32001, data: { code: "UNAUTHORIZED", httpStatus: 401, path: "unauthorized" } } }, 401),
    );
    const error = await client.unauthorized.query().catch((e: unknown) => e as TabrpcError);
    expect(error).toBeInstanceOf(TabrpcError);
    expect([error?.code, error?.httpStatus, error?.path, error?.message]).toEqual(["UNAUTHORIZED", 401, "unauthorized", "UNAUTHORIZED"]);

    const { client: other } = setup(() => jsonReply([{ result: { data: 1 } }]));
    await expect(other.noInput.query()).rejects.toMatchObject({ code: "BAD_GATEWAY", httpStatus: 200 });
  });

  it("rejects at once on abort and aborts the request", async () => {
    const { fetch, client } = setup(() => new Promise<Response>(() => undefined));
    const controller = new AbortController();
    const call = client.slow.query(1000, { signal: controller.signal });
    await tick();
    controller.abort();
    await expect(call).rejects.toMatchObject({ code: "CLIENT_CLOSED_REQUEST", httpStatus: 0, path: "slow" });
    expect(fetch.requests[0]?.signal.aborted).toBe(true);
  });

  it("does not send a call whose signal was aborted already", async () => {
    const { fetch, client } = setup();
    await expect(client.noInput.query(undefined, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: "CLIENT_CLOSED_REQUEST",
    });
    expect(fetch.requests).toHaveLength(0);
  });

  it("passes the credentials option to fetch, for queries and mutations", async () => {
    const fetch = fakeFetch(() => jsonReply({ result: { data: "ok" } }));
    const client = createClient(procedures, { links: [httpLink({ url: "https://api.example.com", fetch, credentials: "include" })] });
    await client.noInput.query();
    await client.mut.mutate();
    expect(fetch.requests.map((r) => [r.method, r.credentials])).toEqual([
      ["GET", "include"],
      ["POST", "include"],
    ]);
  });

  it("maps a fetch failure to SERVICE_UNAVAILABLE", async () => {
    const { client } = setup(() => Promise.reject(new TypeError("fetch failed")));
    await expect(client.noInput.query()).rejects.toMatchObject({ code: "SERVICE_UNAVAILABLE", httpStatus: 0 });
  });
});
