import { afterEach, describe, expect, it } from "vitest";
import { procedures, type Procedures } from "../../../bindings/demo.js";
import { createTabAuth } from "../auth/tabAuth.js";
import { createClient } from "../client.js";
import { TabrpcError } from "../error.js";
import { isSessionChange } from "../session/change.js";
import { isSessionId } from "../session/id.js";
import { createSessionStore, type SessionStore, type SessionStoreOptions } from "../session/store.js";
import { cartServer } from "../testing/cart-server.js";
import { fakeFetch, parseBatchUrl, tick, type RecordedRequest } from "../testing/fake-fetch.js";
import { deferred, scriptedSource } from "../testing/scripted-auth.js";
import { authLink } from "./authLink.js";
import { httpBatchLink } from "./httpBatchLink.js";
import { sessionLink } from "./sessionLink.js";

const stores: SessionStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.dispose();
});

function setup(options: SessionStoreOptions = { storage: "memory" }, gate?: Promise<void>) {
  const store = createSessionStore(options);
  stores.push(store);
  const server = cartServer();
  const fetch = fakeFetch(async (request: RecordedRequest) => {
    await gate;
    return server.respond(request);
  });
  const auth = createTabAuth(scriptedSource({ accountId: null }), { tokenRetryDelayMs: 1 });
  const client = createClient(procedures, {
    links: [sessionLink({ session: store }), authLink({ auth }), httpBatchLink({ url: "http://api.test/trpc", fetch })],
  });
  return { store, server, fetch, client };
}

const bodyOf = (request: RecordedRequest | undefined) => JSON.parse(request?.body ?? "null") as unknown;
const queryInput = (request: RecordedRequest | undefined) => parseBatchUrl(request?.url ?? "http://x/").input;

describe("sessionLink: injection", () => {
  it("fills in the tab's sessionId for session procedures (from the procedures table), and leaves the others alone", async () => {
    const { store, fetch, client } = setup();
    const id = store.id;
    await expect(client.cart.add.mutate({ item: "apple" })).resolves.toEqual({ lines: [{ item: "apple", quantity: 1 }] });
    await expect(client.cart.get.query()).resolves.toEqual({ lines: [{ item: "apple", quantity: 1 }] });
    await client.profile.getUser.query();
    expect(bodyOf(fetch.requests[0])).toEqual({ "0": { item: "apple", sessionId: id } });
    expect(queryInput(fetch.requests[1])).toEqual({ "0": { sessionId: id } });
    // A viewer procedure of an anonymous tab: authLink sends `{}`, no sessionId.
    expect(queryInput(fetch.requests[2])).toEqual({ "0": {} });
  });

  it("keeps a session id pinned in the call's context, and overrides one smuggled into the input", async () => {
    const { store, server, client } = setup();
    const other = "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10";
    await client.cart.add.mutate({ item: "pear" }, { context: { sessionId: other } });
    expect(server.carts.get(other)).toEqual([{ item: "pear", quantity: 1 }]);
    expect(server.carts.has(store.id ?? "")).toBe(false);
    await client.cart.add.mutate({ item: "fig", sessionId: other } as never);
    expect(server.carts.get(store.id ?? "")).toEqual([{ item: "fig", quantity: 1 }]);
  });

  it("refuses, in authLink, a session call that did not pass sessionLink (the chain's order is checked)", async () => {
    const auth = createTabAuth(scriptedSource({ accountId: null }));
    const store = createSessionStore({ storage: "memory" });
    stores.push(store);
    const fetch = fakeFetch(() => new Response("[]"));
    const wrongOrder = createClient(procedures, {
      links: [authLink({ auth }), sessionLink({ session: store }), httpBatchLink({ url: "http://api.test/trpc", fetch })],
    });
    await expect(wrongOrder.cart.get.query()).rejects.toThrow(/put sessionLink before authLink/);
    expect(fetch.requests).toHaveLength(0);
  });

  it("never puts two session ids in one HTTP request", async () => {
    const { store, fetch, client } = setup();
    const other = "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10";
    await Promise.all([client.cart.get.query(), client.cart.get.query(undefined, { context: { sessionId: other } }), client.cart.get.query()]);
    expect(fetch.requests).toHaveLength(2);
    expect(fetch.requests.map(queryInput)).toEqual([
      { "0": { sessionId: store.id }, "1": { sessionId: store.id } },
      { "0": { sessionId: other } },
    ]);
  });
});

describe("sessionLink: server-rendering mode", () => {
  it("holds calls until the store has an id, then sends them with it", async () => {
    const { store, fetch, client } = setup({ storage: "memory", serverRendering: true });
    const adding = client.cart.add.mutate({ item: "fig" });
    const reading = client.cart.get.query();
    await tick(5);
    expect(fetch.requests).toHaveLength(0);
    store.start();
    await expect(adding).resolves.toMatchObject({ lines: [{ item: "fig" }] });
    await reading;
    expect(isSessionId(store.id)).toBe(true);
    expect(bodyOf(fetch.requests[0])).toEqual({ "0": { item: "fig", sessionId: store.id } });
  });

  it("cancels a waiting call whose signal fires", async () => {
    const { fetch, client } = setup({ storage: "memory", serverRendering: true });
    const controller = new AbortController();
    const reading = client.cart.get.query(undefined, { signal: controller.signal });
    controller.abort();
    const error = await reading.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TabrpcError);
    expect((error as TabrpcError).code).toBe("CLIENT_CLOSED_REQUEST");
    expect(fetch.requests).toHaveLength(0);
  });
});

describe("sessionLink: epochs", () => {
  it("drops an answer that arrives after the id changed", async () => {
    const gate = deferred<void>();
    const { store, client } = setup({ storage: "memory" }, gate.promise);
    const reading = client.cart.get.query().catch((e: unknown) => e);
    await tick();
    await store.refresh();
    gate.resolve();
    const error = await reading;
    expect(isSessionChange(error)).toBe(true);
    expect((error as TabrpcError).code).toBe("CLIENT_CLOSED_REQUEST");
  });

  it("drops an error that arrives after the id changed, too", async () => {
    const gate = deferred<void>();
    const store = createSessionStore({ storage: "memory" });
    stores.push(store);
    // An unknown procedure marked "session" (as if the bindings were newer than the server).
    const link = sessionLink({ session: store });
    const failing = link(
      { id: 1, kind: "query", path: "cart.gone", input: undefined, scopes: ["session"], stream: false, signal: undefined, context: {} },
      async () => {
        await gate.promise;
        throw new TabrpcError({ code: "NOT_FOUND", httpStatus: 404, path: "cart.gone" });
      },
    ).catch((e: unknown) => e);
    await store.refresh();
    gate.resolve();
    expect(isSessionChange(await failing)).toBe(true);
  });

  it("keeps the calls of beforeUpdate, which carry the old id", async () => {
    const { store, server, fetch, client } = setup();
    await client.cart.add.mutate({ item: "apple", quantity: 2 });
    const old = store.id;
    const rotation = { value: undefined as unknown };
    const next = await store.refresh(async (newSessionId) => {
      rotation.value = await client.session.rotate.mutate({ newSessionId });
    });
    expect(rotation.value).toEqual({ moved: 1, linked: false });
    expect(bodyOf(fetch.requests[1])).toEqual({ "0": { newSessionId: next, sessionId: old } });
    expect(server.carts.get(next)).toEqual([{ item: "apple", quantity: 2 }]);
    await expect(client.cart.get.query()).resolves.toEqual({ lines: [{ item: "apple", quantity: 2 }] });
    expect(queryInput(fetch.requests[2])).toEqual({ "0": { sessionId: next } });
  });

  it("keeps the answer of a call pinned to another id", async () => {
    const gate = deferred<void>();
    const { store, client } = setup({ storage: "memory" }, gate.promise);
    const other = "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10";
    const reading = client.cart.get.query(undefined, { context: { sessionId: other } });
    await tick();
    await store.refresh();
    gate.resolve();
    await expect(reading).resolves.toEqual({ lines: [] });
  });
});
