// The Clerk adapter against the types of the real Clerk browser packages (dev dependencies only:
// `clerkAuthSource` is typed structurally and never imports them).
import type { Clerk } from "@clerk/clerk-js";
import type { ClientResource, GetTokenOptions, ListenerCallback, LoadedClerk, SignedInSessionResource } from "@clerk/shared/types";
import { describe, expectTypeOf, test } from "vitest";
import { clerkAuthSource, type ClerkClientLike, type ClerkLike, type ClerkSessionLike } from "./clerk.js";
import type { AuthSource } from "./source.js";

describe("clerkAuthSource with Clerk's own types", () => {
  test("takes a real Clerk instance (`new Clerk(key)`, `window.Clerk` once defined)", () => {
    expectTypeOf<Clerk>().toExtend<ClerkLike>();
    expectTypeOf(clerkAuthSource).toBeCallableWith({} as Clerk);
    expectTypeOf(clerkAuthSource({} as Clerk)).toEqualTypeOf<AuthSource>();
  });

  test("takes a loaded Clerk (`useClerk()`, `getClerkInstance()`), its client and its sessions", () => {
    expectTypeOf<LoadedClerk>().toExtend<ClerkLike>();
    expectTypeOf<ClientResource>().toExtend<ClerkClientLike>();
    expectTypeOf<SignedInSessionResource>().toExtend<ClerkSessionLike>();
  });

  test("reads what Clerk has: this tab's session, the browser's signed-in sessions, skipCache", () => {
    // The properties the adapter reads exist on Clerk's types with compatible types (not only
    // optional members that any object would satisfy).
    expectTypeOf<Clerk["session"]>().toExtend<ClerkLike["session"]>();
    expectTypeOf<Clerk["loaded"]>().toEqualTypeOf<boolean>();
    expectTypeOf<NonNullable<Clerk["client"]>["signedInSessions"]>().toExtend<readonly ClerkSessionLike[]>();
    expectTypeOf<NonNullable<SignedInSessionResource["user"]>["id"]>().toEqualTypeOf<string>();
    expectTypeOf<GetTokenOptions>().toHaveProperty("skipCache").toEqualTypeOf<boolean | undefined>();
    expectTypeOf<ListenerCallback>().parameter(0).not.toBeNever();
  });

  test("refuses what is not Clerk: a Clerk that may be undefined, a session whose token is not a string", () => {
    // `window.Clerk` is `Clerk | undefined` until the script has run: the app checks first.
    expectTypeOf<Window["Clerk"]>().toEqualTypeOf<Clerk | undefined>();
    expectTypeOf(clerkAuthSource).parameter(0).not.toEqualTypeOf<Clerk | undefined>();
    // @ts-expect-error possibly undefined
    clerkAuthSource(undefined as Window["Clerk"]);
    const session = { id: "s", user: { id: "u" }, getToken: async () => 42 };
    // @ts-expect-error getToken must give a string or null
    clerkAuthSource({ session, addListener: () => () => undefined });
  });
});
