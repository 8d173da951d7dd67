import { QueryClient, QueryObserver } from "@tanstack/query-core";
import { describe, expectTypeOf, it } from "vitest";
import type { Procedures as Conformance, Post } from "../../../bindings/conformance.js";
import type { OnboardingStep, Progress, User } from "../../../bindings/demo.js";
import type { Procedures } from "../testing/demo-procedures.js";
import type { Client } from "../client.js";
import type { TabrpcError } from "../error.js";
import { accountKey, pathKey, type PathSegments } from "./keys.js";
import { createOptionsProxy, type OptionsProxy } from "./options.js";

declare const client: Client<Procedures>;
declare const conformanceClient: Client<Conformance>;
const rq = createOptionsProxy(client);
const queryClient = new QueryClient();

describe("query keys", () => {
  it("have tRPC's shape, with viewerId always present and typed string | null", () => {
    const key = rq.profile.getUser.queryKey();
    expectTypeOf(key[0]).toEqualTypeOf<["profile", "getUser"]>();
    expectTypeOf(key[1].type).toEqualTypeOf<"query">();
    expectTypeOf(key[1].input.viewerId).toEqualTypeOf<string | null>();
    const saveKey = rq.onboarding.saveStep.mutationKey();
    expectTypeOf(saveKey[1]).toEqualTypeOf<{ input: { viewerId: string | null }; type: "mutation" }>();
  });

  it("carry the input's other fields, and non-object inputs under $input", () => {
    const crq = createOptionsProxy(conformanceClient);
    expectTypeOf(crq.post.byId.queryKey({ id: 1 })[1].input.id).toEqualTypeOf<number>();
    expectTypeOf(crq.slow.queryKey(5)[1].input.$input).toEqualTypeOf<number>();
  });

  it("are tagged with the data and error types, so the cache is typed", () => {
    expectTypeOf(queryClient.getQueryData(rq.profile.getUser.queryKey())).toEqualTypeOf<User | undefined>();
    expectTypeOf(queryClient.getQueryData(rq.onboarding.getProgress.queryKey())).toEqualTypeOf<Progress | undefined>();
  });

  it("split paths into segments for filters", () => {
    expectTypeOf(pathKey("profile.getUser")).toEqualTypeOf<[["profile", "getUser"]]>();
    expectTypeOf(pathKey()).toEqualTypeOf<[[]]>();
    expectTypeOf(rq.profile.pathKey()).toEqualTypeOf<[["profile"]]>();
    expectTypeOf(rq.pathKey()).toEqualTypeOf<[[]]>();
    expectTypeOf<PathSegments<"a.b.c">>().toEqualTypeOf<["a", "b", "c"]>();
    expectTypeOf(accountKey("u")).toEqualTypeOf<[[], { input: { viewerId: string | null } }]>();
  });
});

describe("query options", () => {
  it("type the data of observers and fetches", async () => {
    const observer = new QueryObserver(queryClient, rq.profile.getUser.queryOptions());
    expectTypeOf(observer.getCurrentResult().data).toEqualTypeOf<User | undefined>();
    expectTypeOf(observer.getCurrentResult().error).toEqualTypeOf<TabrpcError<never> | null>();
    expectTypeOf(await queryClient.fetchQuery(rq.onboarding.getProgress.queryOptions())).toEqualTypeOf<Progress>();
  });

  it("type select's result", () => {
    const observer = new QueryObserver(queryClient, rq.profile.getUser.queryOptions(undefined, { select: (user) => user.displayName.length }));
    expectTypeOf(observer.getCurrentResult().data).toEqualTypeOf<number | undefined>();
  });

  it("cache a unit output as null", () => {
    const crq = createOptionsProxy(conformanceClient);
    expectTypeOf(queryClient.getQueryData(crq.returnUndefined.queryKey())).toEqualTypeOf<null | undefined>();
    expectTypeOf(queryClient.getQueryData(crq.post.byId.queryKey({ id: 1 }))).toEqualTypeOf<Post | undefined>();
  });

  it("reject wrong inputs and kinds", () => {
    // @ts-expect-error step is required
    rq.onboarding.saveStep.mutationOptions().mutationFn?.({}, {} as never);
    // @ts-expect-error no such step
    rq.onboarding.saveStep.mutationOptions().mutationFn?.({ step: "nope" }, {} as never);
    // @ts-expect-error getUser is a query
    rq.profile.getUser.mutationOptions();
    // @ts-expect-error saveStep is a mutation
    rq.onboarding.saveStep.queryOptions({ step: "welcome" });
    // @ts-expect-error no such procedure
    rq.profile.getUsr.queryOptions();
    const crq = createOptionsProxy(conformanceClient);
    // @ts-expect-error post.byId needs its input
    crq.post.byId.queryOptions();
  });
});

describe("viewerId auto-fill", () => {
  it("lets viewer procedures leave viewerId out, and never take it", () => {
    rq.profile.getUser.queryOptions();
    rq.profile.getUser.queryOptions({});
    rq.profile.getUser.queryKey(null);
    // @ts-expect-error viewerId is the tab's current account, filled in: never passed
    rq.profile.getUser.queryOptions({ viewerId: "user_bob" });
    // @ts-expect-error nor in a key
    rq.profile.getUser.queryKey({ viewerId: "user_bob" });
  });

  it("fills a viewerId the bindings require", () => {
    type Strict = {
      "me.get": { kind: "query"; input: { viewerId: string }; output: string; error: never; stream: false; scopes: "viewer" };
      "me.set": { kind: "mutation"; input: { viewerId: string; name: string }; output: null; error: never; stream: false; scopes: "viewer" | "session" };
      "pub.get": { kind: "query"; input: { viewerId: string }; output: string; error: never; stream: false; scopes: never };
    };
    const strict = createOptionsProxy({} as Client<Strict>);
    strict.me.get.queryOptions();
    expectTypeOf(strict.me.set.mutationOptions().mutationFn)
      .parameter(0)
      .toEqualTypeOf<Omit<{ viewerId: string; name: string }, "viewerId" | "sessionId"> & { viewerId?: never; sessionId?: never }>();
    // @ts-expect-error a procedure without the scope gets no auto-fill: its input is as the bindings say
    strict.pub.get.queryOptions();
  });

  it("types mutation variables from the input", () => {
    const options = rq.onboarding.saveStep.mutationOptions();
    expectTypeOf(options.mutationFn).parameter(0).toExtend<{ step: OnboardingStep }>();
    expectTypeOf(options.mutationFn).returns.resolves.toEqualTypeOf<Progress>();
  });
});

describe("createOptionsProxy", () => {
  it("infers the procedures from the client alone", () => {
    expectTypeOf(rq).toEqualTypeOf<OptionsProxy<Procedures>>();
    expectTypeOf(createOptionsProxy(conformanceClient)).toEqualTypeOf<OptionsProxy<Conformance>>();
  });
});
