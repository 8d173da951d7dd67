// Type-level tests of sessions by parameter injection (client.md section 6): callers never pass
// `sessionId` to procedures marked "session", in the typed client and in the option builders.
import { QueryClient } from "@tanstack/query-core";
import { describe, expectTypeOf, it } from "vitest";
import { PROCEDURE_MARKERS, type Cart, type Procedures, type SessionRotation } from "../../../bindings/demo.js";
import type { TabAuth } from "../auth/tabAuth.js";
import { createClient, type CallInput, type Client } from "../client.js";
import { sessionLink } from "../links/sessionLink.js";
import { createOptionsProxy, type KeyedInput, type SessionPaths } from "../query/options.js";
import { sessionKey } from "../query/keys.js";
import type { Link } from "../types.js";
import { createSessionStore, type SessionChange, type SessionStore } from "./store.js";

declare const link: Link;
declare const auth: TabAuth;
declare const window: Window;
const session = createSessionStore();
const client = createClient<Procedures>({ links: [sessionLink({ store: session, markers: PROCEDURE_MARKERS }), link] });
const rq = createOptionsProxy<Procedures>({ client, auth, session, markers: PROCEDURE_MARKERS });
const queryClient = new QueryClient();

describe("the typed client", () => {
  it("lets session procedures leave sessionId out, and the whole input when that is all they take", () => {
    expectTypeOf(client.cart.get.query()).resolves.toEqualTypeOf<Cart>();
    expectTypeOf(client.cart.add.mutate({ item: "apple" })).resolves.toEqualTypeOf<Cart>();
    expectTypeOf(client.session.rotate.mutate({ newSessionId: "x" })).resolves.toEqualTypeOf<SessionRotation>();
    expectTypeOf(client.session.end.mutate()).resolves.toEqualTypeOf<undefined>();
    client.cart.get.query({});
  });

  it("still accepts a sessionId to pin another session, as a string only", () => {
    client.cart.get.query({ sessionId: "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10" });
    // @ts-expect-error a session id is a string
    client.cart.get.query({ sessionId: 1 });
    // @ts-expect-error never null
    client.cart.add.mutate({ item: "x", sessionId: null });
  });

  it("keeps the other fields as the bindings say", () => {
    // @ts-expect-error item is required
    client.cart.add.mutate({});
    // @ts-expect-error the input is required: item is
    client.cart.add.mutate();
    // @ts-expect-error newSessionId is required
    client.session.rotate.mutate({});
    // @ts-expect-error quantity is a number
    client.cart.add.mutate({ item: "x", quantity: "2" });
    expectTypeOf<CallInput<Procedures["cart.add"]>>().toEqualTypeOf<Omit<Procedures["cart.add"]["input"], "sessionId"> & { sessionId?: string }>();
  });

  it("changes nothing for procedures without the marker", () => {
    type Strict = { "pub.get": { kind: "query"; input: { sessionId: string }; output: string; error: never; stream: false; markers: never } };
    const strict = createClient<Strict>({ links: [link] });
    // @ts-expect-error not marked: sessionId is required
    strict.pub.get.query();
    // @ts-expect-error not marked: sessionId is required
    strict.pub.get.query({});
    strict.pub.get.query({ sessionId: "x" });
    expectTypeOf<Client<Strict>["pub"]["get"]["query"]>().parameter(0).toEqualTypeOf<{ sessionId: string }>();
  });
});

describe("the option builders", () => {
  it("let session procedures leave sessionId out", () => {
    rq.cart.get.queryOptions();
    rq.cart.get.queryKey();
    rq.cart.get.queryOptions({ sessionId: "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10" });
    expectTypeOf(rq.cart.add.mutationOptions().mutationFn).parameter(0).toEqualTypeOf<Omit<Procedures["cart.add"]["input"], "sessionId"> & { sessionId?: string }>();
    expectTypeOf(rq.session.end.mutationOptions().mutationFn).parameter(0).toEqualTypeOf<(Omit<Procedures["session.end"]["input"], "sessionId"> & { sessionId?: string }) | undefined>();
    // @ts-expect-error a session id is a string
    rq.cart.get.queryOptions({ sessionId: null });
  });

  it("type the key's sessionId as string | null, and the cached data", () => {
    const key = rq.cart.get.queryKey();
    expectTypeOf(key[1].input.sessionId).toEqualTypeOf<string | null>();
    expectTypeOf(key[1].input.viewerId).toEqualTypeOf<string | null>();
    expectTypeOf<KeyedInput<Procedures["cart.get"]>>().toEqualTypeOf<Omit<Procedures["cart.get"]["input"], "sessionId"> & { sessionId: string | null }>();
    expectTypeOf(queryClient.getQueryData(rq.cart.get.queryKey())).toEqualTypeOf<Cart | undefined>();
    expectTypeOf(sessionKey("x")).toEqualTypeOf<[[], { input: { sessionId: string | null } }]>();
  });

  it("need the session store when the bindings mark a procedure session", () => {
    expectTypeOf<SessionPaths<Procedures>>().toEqualTypeOf<"cart.add" | "cart.get" | "cart.remove" | "session.end" | "session.rotate">();
    // @ts-expect-error session is required: the bindings mark session procedures
    createOptionsProxy<Procedures>({ client, auth, markers: PROCEDURE_MARKERS });
  });
});

describe("the store", () => {
  it("types ids, changes and refresh", () => {
    expectTypeOf(session.id).toEqualTypeOf<string | null>();
    expectTypeOf(session.ready()).resolves.toEqualTypeOf<string>();
    expectTypeOf(session.refresh).parameter(0).toEqualTypeOf<((newId: string, oldId: string) => unknown) | undefined>();
    expectTypeOf(session.refresh()).resolves.toEqualTypeOf<string>();
    expectTypeOf<SessionChange["type"]>().toEqualTypeOf<"start" | "refresh" | "storage" | "copy">();
    expectTypeOf<SessionStore["persistence"]>().toEqualTypeOf<"session" | "local" | "memory" | "custom">();
    // @ts-expect-error not a storage
    createSessionStore({ storage: "cookie" });
    // The browser's window and storages fit the options.
    createSessionStore({ window, storage: window.localStorage });
  });
});
