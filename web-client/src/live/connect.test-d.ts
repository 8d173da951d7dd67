// Type-level tests of connectLive: the procedure it opens is one of the client's subscriptions,
// and its connection is a stop function with a typed state.
import { QueryClient } from "@tanstack/query-core";
import { describe, expectTypeOf, it } from "vitest";
import type { Procedures as Demo } from "../../../bindings/demo.js";
import type { TabAuth } from "../auth/tabAuth.js";
import { createClient } from "../client.js";
import type { ProcedureTable } from "../codes.js";
import { tabLinks } from "../links/tabLinks.js";
import { createSessionStore } from "../session/store.js";
import { connectLive, type LiveConnection, type LiveState, type LiveStatus } from "./connect.js";
import type { LiveEvent } from "./events.js";

type Live = {
  "live.events": { kind: "subscription"; input: { viewerId?: string; sessionId?: string } | null; output: LiveEvent; error: never; stream: false; scopes: "viewer" | "session" };
  "feed.other": { kind: "subscription"; input: null; output: LiveEvent; error: never; stream: false; scopes: never };
};
declare const auth: TabAuth;
type Some = Pick<Demo, "profile.getUser" | "cart.get">;
declare const withLive: ProcedureTable<Some & Live>;
declare const withoutLive: ProcedureTable<Some>;
const session = createSessionStore({ storage: "memory" });
const client = createClient(withLive, { links: tabLinks({ url: "/trpc", auth, session }) });
const without = createClient(withoutLive, { links: tabLinks({ url: "/trpc", auth, session }) });
const queryClient = new QueryClient();

describe("connectLive", () => {
  it("opens live.events by default, or another subscription of the client", () => {
    expectTypeOf(connectLive(client, queryClient)).toEqualTypeOf<LiveConnection>();
    connectLive(client, queryClient, { procedure: "feed.other", retryDelayMs: 500 });
    // @ts-expect-error a query is not a stream of events
    connectLive(client, queryClient, { procedure: "profile.getUser" });
    // @ts-expect-error no such procedure
    connectLive(client, queryClient, { procedure: "live.event" });
  });

  it("needs the procedure named when the client has no live.events", () => {
    // @ts-expect-error these procedures have no subscription at all
    connectLive(without, queryClient);
  });

  it("is a stop function with a typed state", () => {
    const live = connectLive(client, queryClient);
    expectTypeOf(live).toBeCallableWith();
    expectTypeOf(live.state).toEqualTypeOf<LiveState>();
    expectTypeOf(live.state.status).toEqualTypeOf<LiveStatus>();
    expectTypeOf(live.state.account).toEqualTypeOf<string | null>();
    expectTypeOf(live.subscribe).parameter(0).parameter(0).toEqualTypeOf<LiveState>();
    expectTypeOf(live.subscribe(() => undefined)).toEqualTypeOf<() => void>();
  });
});
