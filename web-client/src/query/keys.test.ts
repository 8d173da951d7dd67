import { QueryClient } from "@tanstack/query-core";
import { describe, expect, it } from "vitest";
import { accountKey, keyInput, mutationKeyOf, pathKey, queryKeyOf, sessionKey } from "./keys.js";

describe("query keys", () => {
  it("have tRPC's shape with viewerId always present", () => {
    expect(queryKeyOf("profile.getUser", undefined, "user_alice")).toEqual([["profile", "getUser"], { input: { viewerId: "user_alice" }, type: "query" }]);
    expect(queryKeyOf("profile.getUser", null, null)).toEqual([["profile", "getUser"], { input: { viewerId: null }, type: "query" }]);
    expect(queryKeyOf("post.byId", { id: 1 }, null)).toEqual([["post", "byId"], { input: { id: 1, viewerId: null }, type: "query" }]);
  });

  it("never leave viewerId undefined, which hashes like absent", () => {
    const [, { input }] = queryKeyOf("a", {}, null);
    expect(Object.prototype.hasOwnProperty.call(input, "viewerId")).toBe(true);
    expect(JSON.stringify(input)).toBe('{"viewerId":null}');
  });

  it("keep non-object inputs under $input", () => {
    expect(keyInput("abc", "u")).toEqual({ $input: "abc", viewerId: "u" });
    expect(keyInput(7, null)).toEqual({ $input: 7, viewerId: null });
    expect(keyInput([1, 2], null)).toEqual({ $input: [1, 2], viewerId: null });
  });

  it("put the account in mutation keys", () => {
    expect(mutationKeyOf("onboarding.saveStep", "user_bob")).toEqual([["onboarding", "saveStep"], { input: { viewerId: "user_bob" }, type: "mutation" }]);
  });

  it("build path and account filters", () => {
    expect(pathKey("profile")).toEqual([["profile"]]);
    expect(pathKey("profile.getUser")).toEqual([["profile", "getUser"]]);
    expect(pathKey()).toEqual([[]]);
    expect(accountKey("user_alice")).toEqual([[], { input: { viewerId: "user_alice" } }]);
  });

  it("match the right queries in a QueryClient", () => {
    const client = new QueryClient();
    const keys = [
      queryKeyOf("profile.getUser", undefined, "user_alice"),
      queryKeyOf("profile.getUser", undefined, "user_bob"),
      queryKeyOf("profile.settings", { tab: 1 }, "user_alice"),
      queryKeyOf("profiles.list", undefined, "user_alice"),
      queryKeyOf("onboarding.getProgress", undefined, null),
    ];
    keys.forEach((key, i) => client.setQueryData(key, i));
    const matching = (queryKey: readonly unknown[]) =>
      client
        .getQueryCache()
        .findAll({ queryKey })
        .map((q) => q.state.data)
        .sort();
    expect(matching(pathKey("profile"))).toEqual([0, 1, 2]);
    expect(matching(pathKey("profile.getUser"))).toEqual([0, 1]);
    expect(matching(accountKey("user_alice"))).toEqual([0, 2, 3]);
    expect(matching(accountKey(null))).toEqual([4]);
    expect(matching(pathKey())).toEqual([0, 1, 2, 3, 4]);
  });

  it("carry a session procedure's session id (null while there is none), over the input's", () => {
    expect(queryKeyOf("cart.get", undefined, null, "s1")).toEqual([["cart", "get"], { input: { viewerId: null, sessionId: "s1" }, type: "query" }]);
    expect(queryKeyOf("cart.get", { sessionId: "old", page: 2 }, "u", "s1")).toEqual([["cart", "get"], { input: { page: 2, viewerId: "u", sessionId: "s1" }, type: "query" }]);
    const [, { input }] = queryKeyOf("cart.get", undefined, null, null);
    expect(JSON.stringify(input)).toBe('{"viewerId":null,"sessionId":null}');
    expect(sessionKey("s1")).toEqual([[], { input: { sessionId: "s1" } }]);
  });

  it("match one session's queries with sessionKey, and nothing without a session id", () => {
    const client = new QueryClient();
    [
      queryKeyOf("cart.get", undefined, null, "s1"),
      queryKeyOf("cart.get", undefined, "user_alice", "s1"),
      queryKeyOf("cart.get", undefined, null, "s2"),
      queryKeyOf("cart.get", undefined, null, null),
      queryKeyOf("profile.getUser", undefined, null),
    ].forEach((key, i) => client.setQueryData(key, i));
    const matching = (queryKey: readonly unknown[]) =>
      client
        .getQueryCache()
        .findAll({ queryKey })
        .map((q) => q.state.data)
        .sort();
    expect(matching(sessionKey("s1"))).toEqual([0, 1]);
    expect(matching(sessionKey(null))).toEqual([3]);
  });
});
