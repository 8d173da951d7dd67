import { afterEach, describe, expect, it } from "vitest";
import { createTabAuth } from "../auth/tabAuth.js";
import { createSessionStore, type SessionStore } from "../session/store.js";
import { scriptedSource } from "../testing/scripted-auth.js";
import { resolveScope, scopedInput } from "./scope.js";

const stores: SessionStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.dispose();
});

function tab(accountId: string | null, serverRendering = false) {
  const auth = createTabAuth(scriptedSource({ accountId }));
  const session = createSessionStore({ storage: "memory", serverRendering });
  stores.push(session);
  return { auth, session };
}

describe("resolveScope: whose call is this", () => {
  it("is the tab's current account and session id, for the procedure's scopes", () => {
    const { auth, session } = tab("user_alice");
    expect(resolveScope({ scopes: ["viewer", "session"], context: {} }, auth, session)).toEqual({
      viewerId: "user_alice",
      sessionId: session.id,
      injectViewer: true,
      injectSession: true,
      followsStore: true,
    });
    // An unscoped call has an account (its request's token) but no session.
    expect(resolveScope({ scopes: [], context: {} }, auth, session)).toMatchObject({ viewerId: "user_alice", sessionId: null, injectViewer: false, injectSession: false });
  });

  it("takes a pin from the context first (null included for the account)", () => {
    const { auth, session } = tab("user_alice");
    const pinned = "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10";
    expect(resolveScope({ scopes: ["viewer", "session"], context: { viewerId: null, sessionId: pinned } }, auth, session)).toMatchObject({
      viewerId: null,
      sessionId: pinned,
      followsStore: false,
    });
  });

  it("has no session id while the store has none, and no account without auth", () => {
    const { session } = tab(null, true);
    expect(resolveScope({ scopes: ["viewer", "session"], context: {} }, undefined, session)).toMatchObject({ viewerId: null, sessionId: null, injectSession: true });
  });
});

describe("scopedInput", () => {
  const scope = (viewerId: string | null, sessionId: string | null) => ({ viewerId, sessionId, injectViewer: true, injectSession: true, followsStore: true });

  it("sets the scope's fields over the input's, only for the scopes asked", () => {
    expect(scopedInput({ step: "a", viewerId: "x" }, scope("u", null), ["viewer"])).toEqual({ step: "a", viewerId: "u" });
    expect(scopedInput({ item: "a" }, scope("u", "s"), ["session"])).toEqual({ item: "a", sessionId: "s" });
    expect(scopedInput(undefined, scope("u", "s"), ["viewer", "session"])).toEqual({ viewerId: "u", sessionId: "s" });
  });

  it("leaves viewerId out when anonymous: {} for a left-out input, null kept, a smuggled one dropped", () => {
    expect(scopedInput(undefined, scope(null, null), ["viewer"])).toEqual({});
    expect(scopedInput(null, scope(null, null), ["viewer"])).toBeNull();
    expect(scopedInput({ viewerId: "x", step: "a" }, scope(null, null), ["viewer"])).toEqual({ step: "a" });
  });

  it("leaves inputs that are not objects alone", () => {
    expect(scopedInput("text", scope("u", "s"), ["viewer", "session"])).toBe("text");
    expect(scopedInput([1], scope("u", "s"), ["viewer", "session"])).toEqual([1]);
  });
});
