import { QueryClient } from "@tanstack/query-core";
import { describe, expect, it } from "vitest";
import { procedures } from "../testing/demo-procedures.js";
import { createTabAuth } from "../auth/tabAuth.js";
import { createClient } from "../client.js";
import { authLink } from "../links/authLink.js";
import { httpBatchLink } from "../links/httpBatchLink.js";
import { fakeFetch, jsonReply, parseBatchUrl, type RecordedRequest } from "../testing/fake-fetch.js";
import { scriptedSource } from "../testing/scripted-auth.js";
import { queryKeyOf } from "./keys.js";
import { createOptionsProxy } from "./options.js";
import { dehydrateForAccount, hydrateForAccount, requestAuthSource, serializeForHtml } from "./ssr.js";

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
/** A JWT-shaped token (unsigned: only the API server verifies tokens). */
const jwt = (sub: string) => `${b64url({ alg: "RS256" })}.${b64url({ sub, exp: 2_000_000_000 })}.c2ln`;

/** Answers as the bearer's `sub`, checking viewerId like the demo. */
function server(request: RecordedRequest): Response {
  const { paths, input } = parseBatchUrl(request.url);
  const token = request.headers.authorization?.replace("Bearer ", "");
  const caller = token === undefined ? null : (JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as { sub: string }).sub;
  return jsonReply(
    paths.map((_, i) => {
      const viewerId = (input?.[String(i)] as { viewerId?: string } | undefined)?.viewerId;
      if (viewerId !== undefined && viewerId !== caller) return { error: { message: "mismatch", code: -32003, data: { code: "FORBIDDEN", httpStatus: 403, reason: "viewer_mismatch" } } };
      return { result: { data: { id: caller ?? "", displayName: caller === null ? "Anonymous" : `Name of ${caller}`, signedIn: caller !== null } } };
    }),
  );
}

/** The server side of one page request: a client for the request's token. */
async function renderFor(token: string | null) {
  const fetch = fakeFetch(server);
  const auth = createTabAuth(requestAuthSource(token));
  const client = createClient(procedures, { links: [authLink({ auth }), httpBatchLink({ url: "http://api.test/trpc", fetch })] });
  const queryClient = new QueryClient();
  await queryClient.prefetchQuery(createOptionsProxy(client).profile.getUser.queryOptions());
  return { fetch, client, queryClient };
}

/** A browser tab on `accountId`. */
function tab(accountId: string | null) {
  const auth = createTabAuth(scriptedSource({ accountId }));
  const client = createClient(procedures, { links: [authLink({ auth }), httpBatchLink({ url: "http://api.test/trpc", fetch: fakeFetch(server) })] });
  return { client, queryClient: new QueryClient(), rq: createOptionsProxy(client) };
}

describe("requestAuthSource", () => {
  it("is the request's token and its sub, or anonymous", async () => {
    const alice = requestAuthSource(jwt("user_alice"));
    expect(alice.accountId()).toBe("user_alice");
    expect(await alice.getToken({ skipCache: false })).toBe(jwt("user_alice"));
    expect(requestAuthSource(null).accountId()).toBeNull();
    expect(requestAuthSource("").signedInAccounts()).toBe(0);
    expect(requestAuthSource("opaque", { accountId: "user_x" }).accountId()).toBe("user_x");
    expect(() => requestAuthSource("opaque")).toThrow(/accountId/);
    expect(() => requestAuthSource(`${b64url({})}.${b64url({ sub: 5 })}.x`)).toThrow(TypeError);
  });
});

describe("dehydrateForAccount / hydrateForAccount", () => {
  it("prefetches with the request's bearer and labels the state with its account", async () => {
    const { fetch, client, queryClient } = await renderFor(jwt("user_alice"));
    expect(fetch.requests[0]?.headers.authorization).toBe(`Bearer ${jwt("user_alice")}`);
    // Something of another account, and something not keyed by account, never leave the server.
    queryClient.setQueryData(queryKeyOf("profile.getUser", undefined, "user_bob"), { id: "user_bob" });
    queryClient.setQueryData(["plain"], 1);
    const state = dehydrateForAccount(queryClient, client);
    expect(state.accountId).toBe("user_alice");
    expect(state.state.queries.map((query) => query.queryKey)).toEqual([queryKeyOf("profile.getUser", undefined, "user_alice")]);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });

  it("hydrates a tab of the same account, and nothing into a tab of another", async () => {
    const { client, queryClient } = await renderFor(jwt("user_alice"));
    const state = JSON.parse(serializeForHtml(dehydrateForAccount(queryClient, client))) as unknown;

    const alice = tab("user_alice");
    expect(hydrateForAccount(alice.queryClient, alice.client, state)).toEqual({ hydrated: true, queries: 1 });
    expect(alice.queryClient.getQueryData(alice.rq.profile.getUser.queryKey())?.displayName).toBe("Name of user_alice");

    for (const other of [tab("user_bob"), tab(null)]) {
      expect(hydrateForAccount(other.queryClient, other.client, state)).toEqual({ hydrated: false, reason: "other-account" });
      expect(other.queryClient.getQueryCache().getAll()).toHaveLength(0);
    }
    const anonymousPage = await renderFor(null);
    const bob = tab("user_bob");
    expect(hydrateForAccount(bob.queryClient, bob.client, dehydrateForAccount(anonymousPage.queryClient, anonymousPage.client))).toEqual({ hydrated: false, reason: "other-account" });
    expect(hydrateForAccount(bob.queryClient, bob.client, { queries: [] })).toEqual({ hydrated: false, reason: "not-tabrpc-state" });
    expect(hydrateForAccount(bob.queryClient, bob.client, null)).toEqual({ hydrated: false, reason: "not-tabrpc-state" });
  });

  it("leaves out a query of another account even under the right label", async () => {
    const { client, queryClient } = await renderFor(jwt("user_bob"));
    const bobs = dehydrateForAccount(queryClient, client);
    const forged = { tabrpc: 1, accountId: "user_alice", state: bobs.state };
    const alice = tab("user_alice");
    expect(hydrateForAccount(alice.queryClient, alice.client, forged)).toEqual({ hydrated: true, queries: 0 });
    expect(alice.queryClient.getQueryCache().getAll()).toHaveLength(0);
  });
});

describe("serializeForHtml", () => {
  it("never closes the script element", () => {
    const text = serializeForHtml({ name: "</script><script>alert(1)</script>", amp: "&", sep: "\u2028" });
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(text)).toEqual({ name: "</script><script>alert(1)</script>", amp: "&", sep: "\u2028" });
  });
});
