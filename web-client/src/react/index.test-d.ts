import { useQuery } from "@tanstack/react-query";
import { describe, expectTypeOf, it } from "vitest";
import type { Progress, User } from "../../../bindings/demo.js";
import type { Procedures } from "../testing/demo-procedures.js";
import type { TabAuth } from "../auth/tabAuth.js";
import type { Client } from "../client.js";
import type { TabrpcError } from "../error.js";
import { createOptionsProxy } from "../query/options.js";
import { useAccountId, useTabrpcMutation, useTabrpcQuery } from "./index.js";

declare const auth: TabAuth;
declare const client: Client<Procedures>;
const rq = createOptionsProxy(client);

describe("React hooks", () => {
  it("type the query's data and error", () => {
    const user = useTabrpcQuery(rq.profile.getUser);
    expectTypeOf(user.data).toEqualTypeOf<User | undefined>();
    expectTypeOf(user.error).toEqualTypeOf<TabrpcError<never> | null>();
    expectTypeOf(useTabrpcQuery(rq.onboarding.getProgress, {}).data).toEqualTypeOf<Progress | undefined>();
    // @ts-expect-error viewerId is filled in, never passed
    useTabrpcQuery(rq.onboarding.getProgress, { viewerId: "user_bob" });
  });

  it("accept TanStack options", () => {
    useTabrpcQuery(rq.profile.getUser, undefined, { staleTime: Infinity, enabled: false });
  });

  it("type mutations' variables and data", () => {
    const save = useTabrpcMutation(rq.onboarding.saveStep);
    save.mutate({ step: "profile" });
    // @ts-expect-error step is required
    save.mutate({});
    expectTypeOf(save.data).toEqualTypeOf<Progress | undefined>();
  });

  it("reject a mutation where a query is expected and the other way round", () => {
    // @ts-expect-error saveStep is a mutation
    useTabrpcQuery(rq.onboarding.saveStep);
    // @ts-expect-error getUser is a query
    useTabrpcMutation(rq.profile.getUser);
  });

  it("let plain useQuery take the builders' options", () => {
    expectTypeOf(useQuery(rq.profile.getUser.queryOptions()).data).toEqualTypeOf<User | undefined>();
    expectTypeOf(useAccountId(auth)).toEqualTypeOf<string | null>();
  });
});
