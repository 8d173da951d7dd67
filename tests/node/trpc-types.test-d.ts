// Type tests (checked by `tsc --noEmit`, never run): the generated tRPC router types
// (bindings/*.trpc.ts) give tRPC's own clients, unmodified, the types of a tabrpc server:
// inputs, outputs, errors and subscriptions for `@trpc/client`, and the options proxy of
// `@trpc/tanstack-react-query`. Each `@ts-expect-error` is a call that must not compile.
import { QueryClient } from "@tanstack/react-query";
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, safe, splitLink, type TRPCClientError } from "@trpc/client";
import type { inferRouterError, inferRouterInputs, inferRouterOutputs, TRPCBuiltRouter, TRPCMutationProcedure } from "@trpc/server";
import { createTRPCContext, createTRPCOptionsProxy } from "@trpc/tanstack-react-query";
import { describe, expectTypeOf, test } from "vitest";
import type { ErrorCodeName, ErrorReason } from "../../bindings/codes.js";
import type { Greeting, HelloInput, OptMutOutput, Post, SubEvent, SubInput } from "../../bindings/conformance.js";
import type { AppRouter, ErrorShape } from "../../bindings/conformance.trpc.js";
import type { Cart, CartAddInput, GetUserInput, Progress, SessionRotation, User } from "../../bindings/demo.js";
import type { AppRouter as DemoRouter } from "../../bindings/demo.trpc.js";

const url = "http://127.0.0.1:1";
const client = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      condition: (op) => op.type === "subscription",
      true: httpSubscriptionLink({ url }),
      false: httpBatchLink({ url }),
    }),
  ],
});
const demo = createTRPCClient<DemoRouter>({ links: [httpBatchLink({ url })] });

describe("createTRPCClient<AppRouter>", () => {
  test("queries: inputs and outputs", () => {
    expectTypeOf(client.hello.query).parameter(0).toEqualTypeOf<void | HelloInput | null | undefined>();
    expectTypeOf(client.hello.query()).resolves.toEqualTypeOf<Greeting>();
    expectTypeOf(client.hello.query({ who: "ann" })).resolves.toEqualTypeOf<Greeting>();
    expectTypeOf(client.helloStr.query("bob")).resolves.toEqualTypeOf<string>();
    expectTypeOf(client.noInput.query()).resolves.toEqualTypeOf<string>();
    expectTypeOf(client.returnNull.query()).resolves.toEqualTypeOf<string | null>();
    // `()` is sent as no `data` at all: the client gets `undefined`.
    expectTypeOf(client.returnUndefined.query()).resolves.toEqualTypeOf<undefined>();
    expectTypeOf(client.post.byId.query).parameter(0).toEqualTypeOf<{ id: number }>();
    expectTypeOf(client.post.byId.query({ id: 1 })).resolves.toEqualTypeOf<Post>();
    expectTypeOf(client.slow.query(5)).resolves.toEqualTypeOf<string>();
    expectTypeOf(client.iter.query()).resolves.toEqualTypeOf<AsyncIterable<number>>();
  });

  test("queries: wrong inputs and unknown procedures do not compile", () => {
    // @ts-expect-error `who` is a string
    void client.hello.query({ who: 5 });
    // @ts-expect-error not a HelloInput
    void client.hello.query("ann");
    // @ts-expect-error `post.byId` needs its input
    void client.post.byId.query();
    // @ts-expect-error `id` is a number
    void client.post.byId.query({ id: "1" });
    // @ts-expect-error `noInput` takes none
    void client.noInput.query("x");
    // @ts-expect-error no such procedure
    void client.post.byName.query("x");
    // @ts-expect-error a mutation has no `query`
    void client.echo.query("x");
    // @ts-expect-error a query has no `mutate`
    void client.hello.mutate();
  });

  test("mutations", () => {
    expectTypeOf(client.echo.mutate("hi")).resolves.toEqualTypeOf<string>();
    expectTypeOf(client.mut.mutate()).resolves.toEqualTypeOf<string>();
    expectTypeOf(client.optMut.mutate()).resolves.toEqualTypeOf<OptMutOutput>();
    expectTypeOf(client.optMut.mutate("x")).resolves.toEqualTypeOf<OptMutOutput>();
    // @ts-expect-error `echo` takes a string
    void client.echo.mutate(5);
    // @ts-expect-error `echo` needs its input
    void client.echo.mutate();
  });

  test("errors: the server's error shape, with data.code, data.httpStatus and data.reason", () => {
    type Data = NonNullable<TRPCClientError<AppRouter>["data"]>;
    expectTypeOf<Data>().toEqualTypeOf<ErrorShape["data"]>();
    expectTypeOf<Data["code"]>().toEqualTypeOf<ErrorCodeName>();
    expectTypeOf<Data["reason"]>().toEqualTypeOf<ErrorReason | undefined>();
    expectTypeOf<Data["path"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Data["httpStatus"]>().toExtend<number>();
    expectTypeOf<404>().toExtend<Data["httpStatus"]>();
    // @ts-expect-error not an HTTP status of the codes table
    expectTypeOf<200>().toExtend<Data["httpStatus"]>();
    expectTypeOf<NonNullable<TRPCClientError<AppRouter>["shape"]>["code"]>().toEqualTypeOf<ErrorShape["code"]>();
    expectTypeOf<-32603>().toExtend<ErrorShape["code"]>();
    expectTypeOf<inferRouterError<AppRouter>>().toEqualTypeOf<ErrorShape>();
    const matches = (error: TRPCClientError<AppRouter>) =>
      // @ts-expect-error not a code name
      error.data?.code === "FORBIDEN" || error.data?.reason === "viewer_mismatch";
    void matches;
  });

  test("subscriptions: tracked events are { id, data }, errors have the error shape", () => {
    expectTypeOf(client.sub.subscribe).parameter(0).toEqualTypeOf<void | SubInput | null | undefined>();
    client.sub.subscribe(
      { n: 3 },
      {
        onData: (event) => expectTypeOf(event).toEqualTypeOf<{ id: string; data: SubEvent }>(),
        onError: (error) => expectTypeOf(error.data?.code).toEqualTypeOf<ErrorCodeName | undefined>(),
      },
    );
    client.subFail.subscribe(undefined, { onData: (value) => expectTypeOf(value).toEqualTypeOf<string>() });
    // @ts-expect-error `n` is a number
    client.sub.subscribe({ n: "3" }, {});
    // @ts-expect-error a subscription has no `query`
    void client.sub.query();
  });

  test("inferRouterInputs / inferRouterOutputs", () => {
    expectTypeOf<inferRouterInputs<AppRouter>["post"]["byId"]>().toEqualTypeOf<{ id: number }>();
    expectTypeOf<inferRouterOutputs<AppRouter>["hello"]>().toEqualTypeOf<Greeting>();
    expectTypeOf<inferRouterOutputs<DemoRouter>["profile"]["getUser"]>().toEqualTypeOf<User>();
  });
});

describe("a declared error payload (Procedure::error_payload)", () => {
  // What export_trpc writes for a procedure with an error payload (its Rust test has this line):
  // the procedure's own error shape, `ErrorShape<payload>`.
  type SoldOut = { sku: string };
  type Shop = TRPCBuiltRouter<
    { ctx: object; meta: object; errorShape: ErrorShape; transformer: false },
    { cart: { add: TRPCMutationProcedure<{ input: string; output: undefined; meta: object; errorShape: ErrorShape<SoldOut> }> } }
  >;
  const shop = createTRPCClient<Shop>({ links: [httpBatchLink({ url })] });

  test("types error.data.payload of that procedure's errors", async () => {
    const [, error] = await safe(shop.cart.add.mutate("tea"));
    if (error) expectTypeOf(error.data?.payload).toEqualTypeOf<SoldOut | undefined>();
    // Other errors carry no payload.
    expectTypeOf<NonNullable<TRPCClientError<Shop>["data"]>["payload"]>().toEqualTypeOf<undefined>();
  });
});

describe("the demo's AppRouter: scoped keys keep the bindings' optionality", () => {
  test("viewer-scoped: viewerId optional; session-scoped: sessionId required (tRPC's client does not inject it)", () => {
    expectTypeOf(demo.profile.getUser.query).parameter(0).toEqualTypeOf<void | GetUserInput | null | undefined>();
    expectTypeOf(demo.profile.getUser.query({ viewerId: "user_1" })).resolves.toEqualTypeOf<User>();
    expectTypeOf(demo.onboarding.getProgress.query()).resolves.toEqualTypeOf<Progress>();
    expectTypeOf(demo.onboarding.saveStep.mutate({ step: "profile" })).resolves.toEqualTypeOf<Progress>();
    expectTypeOf(demo.cart.add.mutate).parameter(0).toEqualTypeOf<CartAddInput>();
    expectTypeOf(demo.cart.get.query({ sessionId: "s" })).resolves.toEqualTypeOf<Cart>();
    expectTypeOf(demo.session.rotate.mutate({ sessionId: "a", newSessionId: "b" })).resolves.toEqualTypeOf<SessionRotation>();
    expectTypeOf(demo.session.end.mutate({ sessionId: "a" })).resolves.toEqualTypeOf<undefined>();
    // @ts-expect-error `sessionId` is required
    void demo.cart.add.mutate({ item: "tea" });
    // @ts-expect-error not a step
    void demo.onboarding.saveStep.mutate({ step: "lunch" });
    // @ts-expect-error `viewerId` is a string
    void demo.profile.getUser.query({ viewerId: 1 });
  });
});

describe("@trpc/tanstack-react-query's options proxy", () => {
  const queryClient = new QueryClient();
  const trpc = createTRPCOptionsProxy<AppRouter>({ client, queryClient });

  test("queryOptions / mutationOptions / subscriptionOptions carry the types", async () => {
    const hello = trpc.hello.queryOptions({ who: "ann" });
    expectTypeOf(await queryClient.fetchQuery(hello)).toEqualTypeOf<Greeting>();
    expectTypeOf(queryClient.getQueryData(trpc.post.byId.queryKey({ id: 1 }))).toEqualTypeOf<Post | undefined>();
    const echo = trpc.echo.mutationOptions();
    expectTypeOf<Parameters<NonNullable<typeof echo.mutationFn>>[0]>().toEqualTypeOf<string>();
    expectTypeOf<Awaited<ReturnType<NonNullable<typeof echo.mutationFn>>>>().toEqualTypeOf<string>();
    expectTypeOf<NonNullable<Parameters<NonNullable<typeof echo.onError>>[0]["data"]>["code"]>().toEqualTypeOf<ErrorCodeName>();
    const sub = trpc.sub.subscriptionOptions({ n: 2 }, { onData: (event) => expectTypeOf(event).toEqualTypeOf<{ id: string; data: SubEvent }>() });
    void sub;
  });

  test("wrong inputs do not compile", () => {
    // @ts-expect-error `id` is a number
    trpc.post.byId.queryOptions({ id: "1" });
    // @ts-expect-error `post.byId` needs its input
    trpc.post.byId.queryOptions();
    // @ts-expect-error a mutation has no queryOptions
    trpc.echo.queryOptions("x");
    // @ts-expect-error no such procedure
    trpc.nope.queryOptions();
  });

  test("createTRPCContext<AppRouter> (React) is typed the same way", () => {
    const { useTRPC } = createTRPCContext<AppRouter>();
    expectTypeOf<ReturnType<typeof useTRPC>>().toEqualTypeOf<typeof trpc>();
  });
});
