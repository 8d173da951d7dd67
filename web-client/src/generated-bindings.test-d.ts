// Type-level tests against the generated bindings (bindings/*.ts, written by
// `cargo run -p tabrpc-bindings`): what the Rust demo exports is what the client accepts.
import { describe, expectTypeOf, it } from "vitest";
import type { ERROR_CODES as GENERATED_ERROR_CODES, ProcedureTable as GeneratedTable, Scope as GeneratedScope } from "../../bindings/codes.js";
import { procedures, type Procedures, type SaveStepInput, type User } from "../../bindings/demo.js";
import { createClient, type Client, type ProcedureInput } from "./client.js";
import type { ERROR_CODES, ProcedureTable, Scope } from "./codes.js";
import type { Link } from "./types.js";

declare const link: Link;
const client = createClient(procedures, { links: [link] });

describe("createClient(procedures, …)", () => {
  it("infers the procedures from the generated table, with no type argument", () => {
    expectTypeOf(client).toEqualTypeOf<Client<Procedures>>();
  });

  it("fills in every scoped field, and leaves it out of the input types", () => {
    client.cart.get.query();
    client.cart.add.mutate({ item: "apple" });
    client.onboarding.saveStep.mutate({ step: "welcome" });
    expectTypeOf(client.onboarding.saveStep.mutate).parameter(0).toEqualTypeOf<Omit<SaveStepInput, "viewerId"> & { viewerId?: never }>();
    // @ts-expect-error viewerId is the call's scope (authLink fills it in)
    client.onboarding.saveStep.mutate({ step: "welcome", viewerId: "user_alice" });
    // @ts-expect-error sessionId is the call's scope (sessionLink fills it in)
    client.cart.remove.mutate({ item: "apple", sessionId: "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10" });
  });

  it("checks a hand-written table against the procedures it claims", () => {
    // @ts-expect-error every procedure must be listed
    const partial: ProcedureTable<Procedures> = { "cart.add": { kind: "mutation", stream: false, scopes: ["session"] } };
    // @ts-expect-error scopes are "viewer" or "session"
    const wrong: ProcedureTable<Pick<Procedures, "cart.add">> = { "cart.add": { kind: "mutation", stream: false, scopes: ["cart"] } };
    expectTypeOf(partial).not.toBeAny();
    expectTypeOf(wrong).not.toBeAny();
  });
});

describe("the generated demo bindings", () => {
  it("type a query call whose viewerId is filled in (never passed)", () => {
    expectTypeOf(client.profile.getUser.query()).resolves.toEqualTypeOf<User>();
    // @ts-expect-error viewerId is the call's scope, filled in by authLink
    client.profile.getUser.query({ viewerId: "x" });
    client.profile.getUser.query({});
    client.profile.getUser.query(null);
  });

  it("export an Option field as optional, not nullable", () => {
    expectTypeOf<ProcedureInput<Procedures, "profile.getUser">>().toEqualTypeOf<{ viewerId?: string } | null>();
    // @ts-expect-error never passed, not even null
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

  it("carry kinds and scopes, in the type and in the procedures table", () => {
    expectTypeOf<Procedures["profile.getUser"]["kind"]>().toEqualTypeOf<"query">();
    expectTypeOf<Procedures["onboarding.saveStep"]["kind"]>().toEqualTypeOf<"mutation">();
    expectTypeOf<Procedures["profile.getUser"]["scopes"]>().toEqualTypeOf<"viewer">();
    expectTypeOf<Procedures["cart.add"]["scopes"]>().toEqualTypeOf<"session">();
    expectTypeOf(procedures).toEqualTypeOf<ProcedureTable<Procedures>>();
    expectTypeOf(procedures["cart.add"].scopes).toEqualTypeOf<readonly Scope[]>();
  });
});

describe("the generated codes table", () => {
  it("is the web client's copy, row for row", () => {
    expectTypeOf<typeof GENERATED_ERROR_CODES>().toEqualTypeOf<typeof ERROR_CODES>();
    expectTypeOf<GeneratedTable<Procedures>>().toEqualTypeOf<ProcedureTable<Procedures>>();
    expectTypeOf<GeneratedScope>().toEqualTypeOf<Scope>();
  });
});
