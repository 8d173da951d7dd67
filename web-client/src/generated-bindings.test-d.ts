// Type-level tests against the generated bindings (bindings/*.ts, written by
// `cargo run -p tabrpc-bindings`): what the Rust demo exports is what the client accepts.
import { describe, expectTypeOf, it } from "vitest";
import type { ERROR_CODES as GENERATED_ERROR_CODES } from "../../bindings/codes.js";
import type { Procedures, User } from "../../bindings/demo.js";
import { createClient, type ProcedureInput } from "./client.js";
import type { ERROR_CODES } from "./codes.js";
import type { Link } from "./types.js";

declare const link: Link;
const client = createClient<Procedures>({ links: [link] });

describe("the generated demo bindings", () => {
  it("type a query call with an optional viewerId", () => {
    expectTypeOf(client.profile.getUser.query({ viewerId: "x" })).resolves.toEqualTypeOf<User>();
    client.profile.getUser.query();
    client.profile.getUser.query({});
    client.profile.getUser.query(null);
  });

  it("export an Option field as optional, not nullable", () => {
    expectTypeOf<ProcedureInput<Procedures, "profile.getUser">>().toEqualTypeOf<{ viewerId?: string } | null>();
    // @ts-expect-error viewerId is a string or left out, never null
    client.profile.getUser.query({ viewerId: null });
  });

  it("reject a wrong path", () => {
    // @ts-expect-error no such procedure
    client.profile.getUsr.query();
    // @ts-expect-error no such namespace
    client.profiles.getUser.query();
  });

  it("reject a wrong input type", () => {
    // @ts-expect-error viewerId is a string
    client.profile.getUser.query({ viewerId: 1 });
    // @ts-expect-error no such step
    client.onboarding.saveStep.mutate({ step: "nope" });
    // @ts-expect-error saveStep needs its input
    client.onboarding.saveStep.mutate();
  });

  it("reject a query called as a mutation and the other way round", () => {
    // @ts-expect-error getUser is a query
    client.profile.getUser.mutate();
    // @ts-expect-error saveStep is a mutation
    client.onboarding.saveStep.query({ step: "welcome" });
  });

  it("carry kinds and markers", () => {
    expectTypeOf<Procedures["profile.getUser"]["kind"]>().toEqualTypeOf<"query">();
    expectTypeOf<Procedures["onboarding.saveStep"]["kind"]>().toEqualTypeOf<"mutation">();
    expectTypeOf<Procedures["profile.getUser"]["markers"]>().toEqualTypeOf<"viewer">();
  });
});

describe("the generated codes table", () => {
  it("is the web client's copy, row for row", () => {
    expectTypeOf<typeof GENERATED_ERROR_CODES>().toEqualTypeOf<typeof ERROR_CODES>();
  });
});
