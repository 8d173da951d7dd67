import { describe, expect, it } from "vitest";
import { procedures as conformance } from "../../../bindings/conformance.js";
import { procedures as demo } from "../../../bindings/demo.js";
import { createTabAuth } from "../auth/tabAuth.js";
import { createClient } from "../client.js";
import { createSessionStore } from "../session/store.js";
import { fakeFetch, jsonReply, parseBatchUrl, type RecordedRequest } from "../testing/fake-fetch.js";
import { scriptedSource } from "../testing/scripted-auth.js";
import type { LogEvent } from "./loggerLink.js";
import { tabLinks } from "./tabLinks.js";

/** Answers every call with its path; a streamed request gets nothing (the test only looks at the request). */
function answer(request: RecordedRequest): Response {
  return jsonReply(parseBatchUrl(request.url).paths.map((path) => ({ result: { data: path === "profile.getUser" ? { id: "" } : { lines: [] } } })));
}

describe("tabLinks", () => {
  it("fills in the session id and the account, puts the tab's token on the request, in one batch per account and session", async () => {
    const auth = createTabAuth(scriptedSource({ accountId: "user_alice" }));
    const session = createSessionStore({ storage: "memory" });
    const fetch = fakeFetch(answer);
    const client = createClient(demo, { links: tabLinks({ url: "http://api.test/trpc", auth, session, fetch }) });
    await Promise.all([client.cart.get.query(), client.profile.getUser.query(), client.cart.get.query()]);
    // Calls with a session id and calls without one never share a request.
    expect(fetch.requests.map((r) => [r.headers.authorization, parseBatchUrl(r.url).input])).toEqual([
      ["Bearer token-user_alice", { "0": { sessionId: session.id }, "1": { sessionId: session.id } }],
      ["Bearer token-user_alice", { "0": { viewerId: "user_alice" } }],
    ]);
    session.dispose();
  });

  it("routes subscriptions to the event-stream link and streamed outputs to the JSONL link, from the procedures table", async () => {
    const auth = createTabAuth(scriptedSource({ accountId: null }));
    const fetch = fakeFetch(() => new Response("", { status: 500 }));
    const client = createClient(conformance, { links: tabLinks({ url: "http://api.test/trpc", auth, fetch, subscriptions: { maxReconnects: 0 } }) });
    await client.iter.query().catch(() => undefined);
    await client.hello.query().catch(() => undefined);
    const failed = new Promise<void>((resolve) => client.sub.subscribe(null, { onError: () => resolve() }));
    await failed;
    const sent = fetch.requests.map((r) => ({ path: parseBatchUrl(r.url).paths.join(","), jsonl: r.headers["trpc-accept"] === "application/jsonl", sse: r.headers.accept === "text/event-stream" }));
    expect(sent).toEqual([
      { path: "iter", jsonl: true, sse: false },
      { path: "hello", jsonl: false, sse: false },
      { path: "sub", jsonl: false, sse: true },
    ]);
  });

  it("passes the credentials option to fetch on every transport, and leaves fetch's default without it", async () => {
    const auth = createTabAuth(scriptedSource({ accountId: null }));
    const sent = async (credentials?: RequestCredentials) => {
      const fetch = fakeFetch(() => new Response("", { status: 500 }));
      const options = { url: "https://api.example.com/trpc", auth, fetch, subscriptions: { maxReconnects: 0 } };
      const client = createClient(conformance, { links: tabLinks(credentials === undefined ? options : { ...options, credentials }) });
      await client.iter.query().catch(() => undefined);
      await client.hello.query().catch(() => undefined);
      await client.echo.mutate("hi").catch(() => undefined);
      await new Promise<void>((resolve) => client.sub.subscribe(null, { onError: () => resolve() }));
      return fetch.requests.map((r) => [parseBatchUrl(r.url).paths.join(","), r.credentials]);
    };
    expect(await sent("include")).toEqual([
      ["iter", "include"],
      ["hello", "include"],
      ["echo", "include"],
      ["sub", "include"],
    ]);
    expect(await sent()).toEqual([
      ["iter", undefined],
      ["hello", undefined],
      ["echo", undefined],
      ["sub", undefined],
    ]);
  });

  it("sends everything through the JSONL link with stream, and logs first with logger", async () => {
    const auth = createTabAuth(scriptedSource({ accountId: null }));
    const fetch = fakeFetch(() => new Response("", { status: 500 }));
    const events: LogEvent[] = [];
    const client = createClient(conformance, { links: tabLinks({ url: "http://api.test/trpc", auth, fetch, stream: true, logger: { log: (e) => events.push(e) } }) });
    await client.hello.query().catch(() => undefined);
    expect(fetch.requests[0]?.headers["trpc-accept"]).toBe("application/jsonl");
    // Logged before the auth link: the input as the caller gave it.
    expect(events.map((e) => [e.direction, e.op.path, e.op.input])).toEqual([
      ["up", "hello", undefined],
      ["down", "hello", undefined],
    ]);
  });

  it("is required with a session store when the procedures have session ones", () => {
    const auth = createTabAuth(scriptedSource({ accountId: null }));
    expect(() => createClient(demo, { links: tabLinks({ url: "http://api.test/trpc", auth }) })).toThrow(/session store/);
  });
});
