// Type-level tests of sessions by parameter injection (client.md section 6): callers never pass
// `sessionId` to "session" procedures, in the typed client and in the option builders.
import { QueryClient } from "@tanstack/query-core";
import { describe, expectTypeOf, it } from "vitest";
import { procedures, type Cart, type Procedures, type SessionRotation } from "../../../bindings/demo.js";
import type { TabAuth } from "../auth/tabAuth.js";
import { createClient, type CallInput, type Client } from "../client.js";
import type { ProcedureTable } from "../codes.js";
import { tabLinks } from "../links/tabLinks.js";
import { createOptionsProxy, type KeyedInput } from "../query/options.js";
import { sessionKey } from "../query/keys.js";
import type { Link } from "../types.js";
import { connectSession, type SessionFollowEvent } from "./connect.js";
import { createSessionStore, type SessionChange, type SessionStore } from "./store.js";

declare const link: Link;
declare const auth: TabAuth;
declare const window: Window;
const session = createSessionStore();
const client = createClient(procedures, { links: tabLinks({ url: "/trpc", auth, session }) });
const rq = createOptionsProxy(client);

/** `TInput` without `sessionId`, which may not be given. */
type NoSession<TInput> = Omit<TInput, "sessionId"> & { sessionId?: never };
const queryClient = new QueryClient();

describe("the typed client", () => {
  it("lets session procedures leave sessionId out, and the whole input when that is all they take", () => {
    expectTypeOf(client.cart.get.query()).resolves.toEqualTypeOf<Cart>();
    expectTypeOf(client.cart.add.mutate({ item: "apple" })).resolves.toEqualTypeOf<Cart>();
    expectTypeOf(client.session.rotate.mutate({ newSessionId: "x" })).resolves.toEqualTypeOf<SessionRotation>();
    expectTypeOf(client.session.end.mutate()).resolves.toEqualTypeOf<undefined>();
    client.cart.get.query({});
  });

  it("never takes a sessionId in the input: a pin goes in the call's context", () => {
    // @ts-expect-error filled in by sessionLink, never passed
    client.cart.get.query({ sessionId: "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10" });
    // @ts-expect-error filled in by sessionLink, never passed
    client.cart.add.mutate({ item: "x", sessionId: "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10" });
    client.session.end.mutate(undefined, { context: { sessionId: "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10" } });
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
    expectTypeOf<CallInput<Procedures["cart.add"]>>().toEqualTypeOf<NoSession<Procedures["cart.add"]["input"]>>();
  });

  it("changes nothing for procedures without the scope", () => {
    type Strict = { "pub.get": { kind: "query"; input: { sessionId: string }; output: string; error: never; stream: false; scopes: never } };
    const table: ProcedureTable<Strict> = { "pub.get": { kind: "query", stream: false, scopes: [] } };
    const strict = createClient(table, { links: [link] });
    // @ts-expect-error not scoped: sessionId is required
    strict.pub.get.query();
    // @ts-expect-error not scoped: sessionId is required
    strict.pub.get.query({});
    strict.pub.get.query({ sessionId: "x" });
    expectTypeOf<Client<Strict>["pub"]["get"]["query"]>().parameter(0).toEqualTypeOf<{ sessionId: string }>();
  });
});

describe("the option builders", () => {
  it("let session procedures leave sessionId out", () => {
    rq.cart.get.queryOptions();
    rq.cart.get.queryKey();
    expectTypeOf(rq.cart.add.mutationOptions().mutationFn).parameter(0).toEqualTypeOf<NoSession<Procedures["cart.add"]["input"]>>();
    expectTypeOf(rq.session.end.mutationOptions().mutationFn).parameter(0).toEqualTypeOf<NoSession<Procedures["session.end"]["input"]> | undefined>();
    // @ts-expect-error filled in, never passed
    rq.cart.get.queryOptions({ sessionId: "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10" });
  });

  it("type the key's sessionId as string | null, and the cached data", () => {
    const key = rq.cart.get.queryKey();
    expectTypeOf(key[1].input.sessionId).toEqualTypeOf<string | null>();
    expectTypeOf(key[1].input.viewerId).toEqualTypeOf<string | null>();
    expectTypeOf<KeyedInput<Procedures["cart.get"]>>().toEqualTypeOf<Omit<Procedures["cart.get"]["input"], "sessionId"> & { sessionId: string | null }>();
    expectTypeOf(queryClient.getQueryData(rq.cart.get.queryKey())).toEqualTypeOf<Cart | undefined>();
    expectTypeOf(sessionKey("x")).toEqualTypeOf<[[], { input: { sessionId: string | null } }]>();
  });

  it("infer the procedures from the client", () => {
    expectTypeOf(createOptionsProxy(client)).toEqualTypeOf<typeof rq>();
    expectTypeOf(rq.cart.get.queryOptions().queryFn).returns.resolves.toEqualTypeOf<Cart>();
  });
});

describe("connectSession", () => {
  it("takes a client whose procedures have session.rotate and session.end, and types the rotation", () => {
    expectTypeOf(connectSession(client)).toEqualTypeOf<() => void>();
    connectSession(client, {
      onChange: (event) => expectTypeOf(event).toEqualTypeOf<SessionFollowEvent<SessionRotation>>(),
    });
    type Other = { "pub.get": { kind: "query"; input: null; output: string; error: never; stream: false; scopes: never } };
    // @ts-expect-error no session procedures to call
    connectSession({} as Client<Other>);
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
