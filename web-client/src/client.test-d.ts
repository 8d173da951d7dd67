import { describe, expectTypeOf, it } from "vitest";
import { createClient, type ProcedureError, type ProcedureInput, type ProcedureOutput, type Unsubscribable } from "./client.js";
import type { ErrorCodeName, ProcedureTable } from "./codes.js";
import type { TabrpcError } from "./error.js";
import { procedures, type Greeting, type Post, type Procedures } from "../../bindings/conformance.js";
import type { Link } from "./types.js";

declare const link: Link;
const client = createClient(procedures, { links: [link] });

describe("typed calls", () => {
  it("types outputs from the bindings", () => {
    expectTypeOf(client.hello.query()).resolves.toEqualTypeOf<Greeting>();
    expectTypeOf(client.post.byId.query({ id: 1 })).resolves.toEqualTypeOf<Post>();
    expectTypeOf(client.echo.mutate("x")).resolves.toEqualTypeOf<string>();
    expectTypeOf(client.returnNull.query()).resolves.toEqualTypeOf<string | null>();
  });

  it("resolves a unit output (generated as null) to undefined", () => {
    expectTypeOf(client.returnUndefined.query()).resolves.toEqualTypeOf<undefined>();
  });

  it("types a streamed output as an AsyncIterable of its items", () => {
    expectTypeOf(client.iter.query()).resolves.toEqualTypeOf<AsyncIterable<number>>();
  });

  it("makes the input optional exactly when null or undefined is accepted", () => {
    expectTypeOf(client.hello.query).parameter(0).toEqualTypeOf<{ who?: string } | null | undefined>();
    client.hello.query();
    client.hello.query(null);
    client.hello.query({ who: "x" }, { signal: new AbortController().signal });
    client.helloStr.query(undefined, { context: { viewerId: "u1" } });
    client.noInput.query();
    client.mut.mutate();
    // @ts-expect-error post.byId needs its input
    client.post.byId.query();
    // @ts-expect-error echo needs its input
    client.echo.mutate();
  });

  it("rejects wrong inputs", () => {
    // @ts-expect-error id is a number
    client.post.byId.query({ id: "1" });
    // @ts-expect-error unknown field on an exact object literal
    client.post.byId.query({ id: 1, extra: true });
    // @ts-expect-error echo takes a string
    client.echo.mutate(1);
    // @ts-expect-error echo does not take null
    client.echo.mutate(null);
    // @ts-expect-error slow takes a number
    client.slow.query("10");
    // @ts-expect-error options are an object
    client.noInput.query(undefined, "signal");
  });

  it("rejects wrong paths", () => {
    // @ts-expect-error no such procedure
    client.nope.query();
    // @ts-expect-error no such procedure under post
    client.post.byName.query({ id: 1 });
    // @ts-expect-error `post` is a namespace, not a procedure
    client.post.query();
    // @ts-expect-error `then` is not a procedure: the client is not a thenable
    client.then;
  });

  it("rejects a query called as a mutation and the other way round", () => {
    // @ts-expect-error hello is a query
    client.hello.mutate();
    // @ts-expect-error echo is a mutation
    client.echo.query("x");
    expectTypeOf(client.hello).not.toHaveProperty("mutate");
    expectTypeOf(client.echo).not.toHaveProperty("query");
  });

  it("exposes per-procedure helper types", () => {
    expectTypeOf<ProcedureInput<Procedures, "post.byId">>().toEqualTypeOf<{ id: number }>();
    expectTypeOf<ProcedureOutput<Procedures, "iter">>().toEqualTypeOf<AsyncIterable<number>>();
    expectTypeOf<ProcedureError<Procedures, "hello">["payload"]>().toEqualTypeOf<undefined>();
    expectTypeOf<ProcedureError<Procedures, "hello">["code"]>().toEqualTypeOf<ErrorCodeName>();
  });
});

describe("procedures with typed errors, scopes, nesting and subscriptions", () => {
  type Extra = {
    "cart.add": { kind: "mutation"; input: { sku: string; viewerId?: string | null }; output: { count: number }; error: { reason: "sold_out" }; stream: false; scopes: "viewer" | "session" };
    "cart.items.list": { kind: "query"; input: undefined; output: string[]; error: never; stream: false; scopes: never };
    "cart": { kind: "query"; input: null; output: { open: boolean }; error: never; stream: false; scopes: never };
    "feed": { kind: "subscription"; input: null; output: string; error: never; stream: false; scopes: never };
  };
  const table: ProcedureTable<Extra> = {
    "cart.add": { kind: "mutation", stream: false, scopes: ["viewer", "session"] },
    "cart.items.list": { kind: "query", stream: false, scopes: [] },
    "cart": { kind: "query", stream: false, scopes: [] },
    "feed": { kind: "subscription", stream: false, scopes: [] },
  };
  const extra = createClient(table, { links: [link] });

  it("types deep paths, and a procedure that is also a namespace", () => {
    expectTypeOf(extra.cart.items.list.query()).resolves.toEqualTypeOf<string[]>();
    expectTypeOf(extra.cart.query()).resolves.toEqualTypeOf<{ open: boolean }>();
    expectTypeOf(extra.cart.add.mutate({ sku: "a" })).resolves.toEqualTypeOf<{ count: number }>();
  });

  it("types the error payload", () => {
    expectTypeOf<ProcedureError<Extra, "cart.add">>().toEqualTypeOf<TabrpcError<{ reason: "sold_out" }>>();
    expectTypeOf<ProcedureError<Extra, "cart.add">["payload"]>().toEqualTypeOf<{ reason: "sold_out" } | undefined>();
  });

  it("offers subscribe, not query or mutate, on subscriptions; and subscribe on nothing else", () => {
    // @ts-expect-error feed is a subscription
    extra.feed.query();
    // @ts-expect-error feed is a subscription
    extra.feed.mutate();
    // @ts-expect-error cart is a query
    extra.cart.subscribe(null, {});
    // @ts-expect-error cart.add is a mutation
    extra.cart.add.subscribe({ sku: "a" }, {});
  });
});

describe("subscriptions", () => {
  it("types the handlers' values and errors from the bindings, and returns an Unsubscribable", () => {
    const sub = client.sub.subscribe(
      { n: 2 },
      {
        onData: (event) => expectTypeOf(event).toEqualTypeOf<{ i: number }>(),
        onError: (error) => expectTypeOf(error).toEqualTypeOf<TabrpcError<never>>(),
      },
    );
    expectTypeOf(sub).toEqualTypeOf<Unsubscribable>();
    client.subFail.subscribe(undefined, { onData: (value) => expectTypeOf(value).toEqualTypeOf<string>() });
  });

  it("checks the input, and needs the handlers argument", () => {
    // @ts-expect-error n is a number
    client.sub.subscribe({ n: "2" }, {});
    // @ts-expect-error the handlers are not optional
    client.sub.subscribe(null);
    // @ts-expect-error onData gets the procedure's output
    client.sub.subscribe(null, { onData: (event: string) => event });
  });
});
