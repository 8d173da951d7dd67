import { afterEach, describe, expect, it, vi } from "vitest";
import { procedures, type Procedures } from "../testing/demo-procedures.js";
import { createTabAuth, isAuthChange, isOutcomeUnknown, type TabAuthOptions } from "../auth/tabAuth.js";
import { createClient } from "../client.js";
import { ERROR_REASONS, HEADERS } from "../codes.js";
import { TabrpcError } from "../error.js";
import { fakeFetch, jsonReply, parseBatchUrl, streamReply, tick, type RecordedRequest } from "../testing/fake-fetch.js";
import { deferred, scriptedSource, type ScriptedSource } from "../testing/scripted-auth.js";
import type { Link } from "../types.js";
import { authLink } from "./authLink.js";
import { httpBatchLink } from "./httpBatchLink.js";
import { httpBatchStreamLink } from "./httpBatchStreamLink.js";
import { httpLink } from "./httpLink.js";

const URL_BASE = "http://api.test/trpc";
const user = { id: "user_alice", displayName: "Alice", signedIn: true };

/** Answers every call of a batch with `user`. */
function ok(request: RecordedRequest): Response {
  return jsonReply(parseBatchUrl(request.url).paths.map(() => ({ result: { data: user } })));
}

function setup(
  source: ScriptedSource,
  respond: (r: RecordedRequest) => Response | Promise<Response> = ok,
  options: TabAuthOptions = {},
  before: Link[] = [],
) {
  const auth = createTabAuth(source, options);
  const fetch = fakeFetch(respond);
  const client = createClient(procedures, { links: [...before, authLink({ auth }), httpBatchLink({ url: URL_BASE, fetch })] });
  return { auth, fetch, client };
}

async function rejection(promise: Promise<unknown>): Promise<TabrpcError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TabrpcError);
  return error as TabrpcError;
}

/** The auth link's headers, by their wire names (written out: the names are part of the protocol). */
const authHeaders = (request: RecordedRequest | undefined) => {
  const { authorization, "x-tabrpc-auth-required": marker, "x-tabrpc-account": account, "x-tabrpc-csrf": csrf } = request?.headers ?? {};
  return { authorization, marker, account, csrf };
};

afterEach(() => {
  vi.useRealTimers();
});

describe("authLink: headers per HTTP request", () => {
  it("sends the tab's token as a bearer, asked for once per HTTP request from the provider's cache", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    const { fetch, client } = setup(source);
    await Promise.all([client.profile.getUser.query(), client.onboarding.getProgress.query()]);
    await client.profile.getUser.query();
    expect(fetch.requests).toHaveLength(2);
    expect(fetch.requests.map(authHeaders)).toEqual([
      { authorization: "Bearer token-user_alice", marker: undefined, csrf: undefined },
      { authorization: "Bearer token-user_alice", marker: undefined, csrf: undefined },
    ]);
    expect(source.calls).toEqual([{ skipCache: false }, { skipCache: false }]);
  });

  it.each([
    ["null", null],
    ["undefined", undefined],
    ["the empty string", ""],
    ['"null"', "null"],
    ['"undefined"', "undefined"],
    ["whitespace", "  "],
  ])("never sends Bearer with %s as the token", async (_name, token) => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    source.answers.push(token, token);
    const { fetch, client } = setup(source, ok, { tokenRetryDelayMs: 1 });
    await client.profile.getUser.query();
    expect(authHeaders(fetch.requests[0])).toEqual({ authorization: undefined, marker: "1", account: "user_alice", csrf: undefined });
    // An empty answer is retried once, like a failure.
    expect(source.calls).toHaveLength(2);
  });

  it("sends the fail-closed marker without a token when several accounts are signed in", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    source.answers.push(null, null);
    const { fetch, client } = setup(source, ok, { tokenRetryDelayMs: 1 });
    await client.profile.getUser.query();
    expect(authHeaders(fetch.requests[0])).toEqual({ authorization: undefined, marker: "1", account: "user_alice", csrf: undefined });
  });

  it("sends no auth header without a token when a single account is signed in (the cookie path)", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    source.answers.push(null, null);
    const { fetch, client } = setup(source, ok, { tokenRetryDelayMs: 1 });
    await client.profile.getUser.query();
    expect(authHeaders(fetch.requests[0])).toEqual({ authorization: undefined, marker: undefined, account: "user_alice", csrf: undefined });
  });

  it("sends the marker when nobody is signed in (no cookie may answer for this tab)", async () => {
    const { fetch, client } = setup(scriptedSource(), ok, { tokenRetryDelayMs: 1 });
    await client.profile.getUser.query();
    expect(authHeaders(fetch.requests[0])).toEqual({ authorization: undefined, marker: "1", csrf: undefined });
  });

  it("fails closed while the provider does not know the signed-in accounts (still loading)", async () => {
    const source = { ...scriptedSource({ accountId: "user_alice" }), signedInAccounts: () => Number.POSITIVE_INFINITY, signedInAccountIds: () => null };
    source.answers.push(null, null);
    const { fetch, client } = setup(source, ok, { tokenRetryDelayMs: 1 });
    await client.profile.getUser.query();
    expect(authHeaders(fetch.requests[0])).toEqual({ authorization: undefined, marker: "1", account: "user_alice", csrf: undefined });
  });

  it("sends the marker and no token once the tab's sign-out began, while the provider still reports the one account", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    const { auth, fetch, client } = setup(source);
    auth.beginSignOut();
    await client.profile.getUser.query();
    expect(authHeaders(fetch.requests[0])).toEqual({ authorization: undefined, marker: "1", csrf: undefined });
    expect(source.calls).toHaveLength(0);
    // A call still keyed to alice is not sent at all.
    const error = await rejection(client.profile.getUser.query(undefined, { context: { viewerId: "user_alice" } }));
    expect(isAuthChange(error)).toBe(true);
    expect(fetch.requests).toHaveLength(1);
  });

  it("sends the marker when the one signed-in account is not this tab's", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_bob"] });
    source.answers.push(null, null);
    const { fetch, client } = setup(source, ok, { tokenRetryDelayMs: 1 });
    await client.profile.getUser.query();
    expect(authHeaders(fetch.requests[0])).toEqual({ authorization: undefined, marker: "1", account: "user_alice", csrf: undefined });
  });

  it("does not ask for a token, nor wait for a retry, in a signed-out tab", async () => {
    vi.useFakeTimers();
    const source = scriptedSource({ accountId: null, accounts: [] });
    const { fetch, client } = setup(source);
    const call = client.profile.getUser.query();
    // Only the batch's own macrotask: no 500 ms retry pause.
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch.requests).toHaveLength(1);
    await call;
    expect(source.calls).toHaveLength(0);
    expect(authHeaders(fetch.requests[0])).toEqual({ authorization: undefined, marker: "1", csrf: undefined });
  });

  it("sends the marker from a signed-out tab while another tab's account holds the cookie", async () => {
    const { fetch, client } = setup(scriptedSource({ accountId: null, accounts: ["user_bob"] }), ok, { tokenRetryDelayMs: 1 });
    await client.profile.getUser.query();
    expect(authHeaders(fetch.requests[0])).toEqual({ authorization: undefined, marker: "1", csrf: undefined });
  });

  it("adds x-tabrpc-csrf on mutations only", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    const { fetch, client } = setup(source, (r) => jsonReply(parseBatchUrl(r.url).paths.map(() => ({ result: { data: { completed: [], next: "welcome" } } }))));
    await Promise.all([client.onboarding.saveStep.mutate({ step: "welcome" }), client.onboarding.getProgress.query()]);
    const byMethod = Object.fromEntries(fetch.requests.map((r) => [r.method, authHeaders(r)]));
    expect(byMethod).toEqual({
      GET: { authorization: "Bearer token-user_alice", marker: undefined, csrf: undefined },
      POST: { authorization: "Bearer token-user_alice", marker: undefined, csrf: "1" },
    });
  });

  it("works with httpLink too (one request per call, one token each)", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    const auth = createTabAuth(source);
    const fetch = fakeFetch(() => jsonReply({ result: { data: user } }));
    const client = createClient(procedures, { links: [authLink({ auth }), httpLink({ url: URL_BASE, fetch })] });
    await client.profile.getUser.query();
    expect(authHeaders(fetch.requests[0]).authorization).toBe("Bearer token-user_alice");
  });

  it("keeps the headers an earlier link asked for, and still fetches one token per request", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    const hint = vi.fn(() => ({ "x-trace": "t1" }));
    const tracing: Link = (op, next) => next({ ...op, transport: { headers: hint } });
    const { fetch, client } = setup(source, ok, {}, [tracing]);
    await Promise.all([client.profile.getUser.query(), client.onboarding.getProgress.query()]);
    expect(fetch.requests).toHaveLength(1);
    expect(fetch.requests[0]?.headers).toMatchObject({ "x-trace": "t1", authorization: "Bearer token-user_alice" });
    expect(hint).toHaveBeenCalledTimes(1);
    expect(source.calls).toHaveLength(1);
  });
});

describe("authLink: x-tabrpc-account, whose call it is when no bearer is sent (client.md section 3 rule 6)", () => {
  it("names the call's account with the marker (several accounts) and on the cookie path (one account), never with a bearer", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    source.answers.push(null, null);
    const { fetch, client } = setup(source, ok, { tokenRetryDelayMs: 1 });
    await client.profile.getUser.query(undefined, { context: { viewerId: "user_alice" } });
    source.set({ accounts: ["user_alice"] });
    source.answers.push(new Error("provider down"), new Error("provider down"));
    await client.profile.getUser.query();
    await client.profile.getUser.query();
    expect(fetch.requests.map(authHeaders)).toEqual([
      { authorization: undefined, marker: "1", account: "user_alice", csrf: undefined },
      { authorization: undefined, marker: undefined, account: "user_alice", csrf: undefined },
      { authorization: "Bearer token-user_alice", marker: undefined, account: undefined, csrf: undefined },
    ]);
  });

  it("names the account on a tokenless mutation too, next to the CSRF header", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    source.answers.push(null, null);
    const progress = { completed: ["welcome"], next: "profile" };
    const { fetch, client } = setup(source, (r) => jsonReply(parseBatchUrl(r.url).paths.map(() => ({ result: { data: progress } }))), { tokenRetryDelayMs: 1 });
    await client.onboarding.saveStep.mutate({ step: "welcome" });
    expect(authHeaders(fetch.requests[0])).toEqual({ authorization: undefined, marker: undefined, account: "user_alice", csrf: "1" });
  });

  it("never names an account for a tab with no account: signed out, or once its sign-out began", async () => {
    const signedOut = setup(scriptedSource({ accountId: null, accounts: ["user_bob"] }));
    await signedOut.client.profile.getUser.query();
    const leaving = setup(scriptedSource({ accountId: "user_alice" }));
    leaving.auth.beginSignOut();
    await leaving.client.profile.getUser.query();
    expect([...signedOut.fetch.requests, ...leaving.fetch.requests].map(authHeaders)).toEqual([
      { authorization: undefined, marker: "1", account: undefined, csrf: undefined },
      { authorization: undefined, marker: "1", account: undefined, csrf: undefined },
    ]);
  });

  it("names the account of the request's calls after a switch: the new account's, never the old one's", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    source.answers.push(null, null, null, null);
    const { fetch, client } = setup(source, ok, { tokenRetryDelayMs: 1 });
    await client.profile.getUser.query();
    source.set({ accountId: "user_bob" });
    await client.profile.getUser.query(undefined, { context: { viewerId: "user_bob" } });
    expect(fetch.requests.map((r) => authHeaders(r).account)).toEqual(["user_alice", "user_bob"]);
  });

  it("sends the protocol's header names (HEADERS), and the names the options give instead", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    source.answers.push(null, null);
    const auth = createTabAuth(source, { tokenRetryDelayMs: 1 });
    const fetch = fakeFetch((r) => jsonReply(parseBatchUrl(r.url).paths.map(() => ({ result: { data: null } }))));
    const client = createClient(procedures, {
      links: [authLink({ auth, markerHeader: "X-Fail-Closed", csrfHeader: "x-my-csrf" }), httpBatchLink({ url: URL_BASE, fetch })],
    });
    await client.onboarding.saveStep.mutate({ step: "welcome" });
    expect(fetch.requests[0]?.headers).toEqual({ "x-fail-closed": "1", [HEADERS.ACCOUNT]: "user_alice", "x-my-csrf": "1", "content-type": "application/json" });
  });
});

describe("authLink: token failures", () => {
  it("retries a throwing getToken once after 500 ms, then goes on without a token", async () => {
    vi.useFakeTimers();
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    source.answers.push(new Error("network"), new Error("network again"));
    const { fetch, client } = setup(source);
    const call = client.profile.getUser.query();
    await vi.advanceTimersByTimeAsync(0);
    expect(source.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(499);
    expect(source.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(source.calls).toHaveLength(2);
    await call;
    expect(authHeaders(fetch.requests[0])).toEqual({ authorization: undefined, marker: "1", account: "user_alice", csrf: undefined });
  });

  it("uses the retry's token when the first getToken throws", async () => {
    vi.useFakeTimers();
    const source = scriptedSource({ accountId: "user_alice" });
    source.answers.push(new Error("flaky"), "second-try");
    const { fetch, client } = setup(source);
    const call = client.profile.getUser.query();
    await vi.advanceTimersByTimeAsync(500);
    await call;
    expect(authHeaders(fetch.requests[0]).authorization).toBe("Bearer second-try");
  });

  it("times a hanging getToken out after 5 s and sends without a token then; the retry runs in the background", async () => {
    vi.useFakeTimers();
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const never = new Promise<string>(() => undefined);
    source.answers.push(never, never);
    const { fetch, client } = setup(source);
    const call = client.profile.getUser.query();
    await vi.advanceTimersByTimeAsync(4_999);
    expect(fetch.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    await call;
    expect(source.calls).toHaveLength(1);
    expect(authHeaders(fetch.requests[0])).toEqual({ authorization: undefined, marker: "1", account: "user_alice", csrf: undefined });
    await vi.advanceTimersByTimeAsync(500);
    expect(source.calls).toEqual([{ skipCache: false }, { skipCache: true }]);
  });

  it("does not remember a failed fetch: the next request asks again", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    source.answers.push(new Error("down"), new Error("still down"));
    const { fetch, client } = setup(source, ok, { tokenRetryDelayMs: 1 });
    await client.profile.getUser.query();
    await client.profile.getUser.query();
    expect(source.calls).toHaveLength(3);
    expect(fetch.requests.map((r) => authHeaders(r).authorization)).toEqual([undefined, "Bearer token-user_alice"]);
  });

  it("shares one token fetch in flight between the requests of one epoch", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    const pending = deferred<string>();
    source.answers.push(pending.promise);
    const { fetch, client } = setup(source);
    const calls = [client.profile.getUser.query(), client.onboarding.saveStep.mutate({ step: "welcome" })];
    await tick();
    expect(source.calls).toHaveLength(1);
    pending.resolve("shared");
    await Promise.allSettled(calls);
    expect(fetch.requests.map((r) => authHeaders(r).authorization)).toEqual(["Bearer shared", "Bearer shared"]);
  });
});

describe("authLink: 401 invalid_token", () => {
  /** A 401 for every call of the batch, with this `WWW-Authenticate` challenge (none: `null`) and `data.reason`. */
  const unauthorized = (challenge: string | null, reason?: string) => (request: RecordedRequest) =>
    new Response(
      JSON.stringify(
        parseBatchUrl(request.url).paths.map(() => ({
          error: { message: "authentication required", code: -32001, data: { code: "UNAUTHORIZED", httpStatus: 401, ...(reason === undefined ? {} : { reason }) } },
        })),
      ),
      { status: 401, headers: { "content-type": "application/json", ...(challenge === null ? {} : { "www-authenticate": challenge }) } },
    );

  it("fetches a fresh token once and retries the call once", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    source.answers.push("expired", "fresh");
    let first = true;
    const { fetch, client } = setup(source, (request) => {
      if (first) {
        first = false;
        return unauthorized('Bearer error="invalid_token"')(request);
      }
      return ok(request);
    });
    await expect(client.profile.getUser.query()).resolves.toEqual(user);
    expect(fetch.requests.map((r) => authHeaders(r).authorization)).toEqual(["Bearer expired", "Bearer fresh"]);
    expect(source.calls).toHaveLength(2);
  });

  it("gives up after one retry", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    const { fetch, client } = setup(source, unauthorized('Bearer error="invalid_token"'));
    const error = await rejection(client.profile.getUser.query());
    expect(error.code).toBe("UNAUTHORIZED");
    expect(fetch.requests).toHaveLength(2);
  });

  it("retries the calls of one batch together, in one request", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    let first = true;
    const { fetch, client } = setup(source, (request) => {
      if (first) {
        first = false;
        return unauthorized('Bearer error="invalid_token"')(request);
      }
      return ok(request);
    });
    await Promise.all([client.profile.getUser.query(), client.profile.getUser.query(undefined, { context: { viewerId: "user_alice" } })]);
    expect(fetch.requests).toHaveLength(2);
  });

  it("recognises invalid_token by data.reason too, when no WWW-Authenticate challenge came through (e.g. a proxy dropped it)", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    source.answers.push("expired", "fresh");
    let first = true;
    const { fetch, client } = setup(source, (request) => {
      if (first) {
        first = false;
        return unauthorized(null, ERROR_REASONS.INVALID_TOKEN)(request);
      }
      return ok(request);
    });
    await expect(client.profile.getUser.query()).resolves.toEqual(user);
    expect(fetch.requests.map((r) => authHeaders(r).authorization)).toEqual(["Bearer expired", "Bearer fresh"]);
  });

  it("does not retry a 401 whose reason is another one (credentials_refused: the marker or a refused cookie)", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    const { fetch, client } = setup(source, unauthorized("Bearer", ERROR_REASONS.CREDENTIALS_REFUSED));
    const error = await rejection(client.profile.getUser.query());
    expect(error.reason).toBe("credentials_refused");
    expect(fetch.requests).toHaveLength(1);
  });

  it("does not retry a 401 without invalid_token (no credentials at all)", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    const { fetch, client } = setup(source, unauthorized("Bearer"));
    await rejection(client.profile.getUser.query());
    expect(fetch.requests).toHaveLength(1);
  });
});

describe("authLink: batches never mix accounts", () => {
  it("sends the current account's calls together and never sends another account's (nor anonymous) call", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const { fetch, client } = setup(source);
    const results = await Promise.allSettled([
      client.profile.getUser.query(undefined, { context: { viewerId: "user_alice" } }),
      client.profile.getUser.query(undefined, { context: { viewerId: "user_bob" } }),
      client.onboarding.getProgress.query(undefined, { context: { viewerId: "user_alice" } }),
      client.profile.getUser.query(undefined, { context: { viewerId: "user_bob" } }),
      client.profile.getUser.query(undefined, { context: { viewerId: null } }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected", "rejected"]);
    for (const r of results) if (r.status === "rejected") expect(isAuthChange(r.reason)).toBe(true);
    const groups = fetch.requests.map((r) => [parseBatchUrl(r.url), authHeaders(r).authorization]);
    expect(groups).toEqual([
      [{ paths: ["profile.getUser", "onboarding.getProgress"], input: { "0": { viewerId: "user_alice" }, "1": { viewerId: "user_alice" } } }, "Bearer token-user_alice"],
    ]);
  });

  it("drops a call made for an account while the tab is signed out, unsent", async () => {
    const source = scriptedSource({ accountId: null, accounts: ["user_bob"] });
    const { fetch, client } = setup(source);
    const error = await rejection(client.profile.getUser.query(undefined, { context: { viewerId: "user_bob" } }));
    expect(isAuthChange(error)).toBe(true);
    expect(isOutcomeUnknown(error)).toBe(false);
    await client.profile.getUser.query(undefined, { context: { viewerId: null } });
    expect(fetch.requests).toHaveLength(1);
    expect(source.calls).toHaveLength(0);
  });

  it("counts a call without viewerId as the tab's current account's", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    const { fetch, client } = setup(source);
    await Promise.all([client.profile.getUser.query(), client.profile.getUser.query(undefined, { context: { viewerId: "user_alice" } })]);
    expect(fetch.requests).toHaveLength(1);
  });

  it("separates calls of different session ids", async () => {
    const { fetch, client } = setup(scriptedSource({ accountId: "user_alice" }));
    await Promise.all([
      client.profile.getUser.query(undefined, { context: { sessionId: "s1" } }),
      client.profile.getUser.query(undefined, { context: { sessionId: "s2" } }),
      client.profile.getUser.query(undefined, { context: { sessionId: "s1" } }),
    ]);
    expect(fetch.requests.map((r) => parseBatchUrl(r.url).paths.length)).toEqual([2, 1]);
  });
});

describe("authLink: epochs", () => {
  it("drops a call at once when the tab signs out while its token fetch is in flight", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    source.answers.push(new Promise<string>(() => undefined)); // hangs
    const { auth, fetch, client } = setup(source);
    const call = client.profile.getUser.query();
    await tick();
    expect(source.calls).toHaveLength(1);
    source.set({ accountId: null, accounts: [] });
    expect(auth.epoch).toBe(1);
    // No timer advanced: sign-out did not wait for the hanging fetch, nor its timeout.
    const error = await rejection(call);
    expect(isAuthChange(error)).toBe(true);
    expect(error.code).toBe("CLIENT_CLOSED_REQUEST");
    expect(error.path).toBe("profile.getUser");
    expect(fetch.requests).toHaveLength(0);
  });

  it("never attaches a token that resolves after the epoch changed", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const late = deferred<string>();
    source.answers.push(late.promise);
    const { fetch, client } = setup(source);
    const call = client.profile.getUser.query();
    await tick();
    source.set({ accountId: "user_bob" });
    late.resolve("token-of-alice");
    expect(isAuthChange(await rejection(call))).toBe(true);
    await tick();
    expect(fetch.requests).toHaveLength(0);
  });

  it("aborts the request in flight at an account switch, and drops its answer", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const reply = deferred<Response>();
    const { fetch, client } = setup(source, () => reply.promise);
    const call = client.profile.getUser.query();
    await tick();
    expect(fetch.requests).toHaveLength(1);
    expect(fetch.requests[0]?.signal.aborted).toBe(false);
    source.set({ accountId: "user_bob" });
    expect(fetch.requests[0]?.signal.aborted).toBe(true);
    reply.resolve(jsonReply([{ result: { data: user } }]));
    const error = await rejection(call);
    expect(isAuthChange(error)).toBe(true);
    expect(isOutcomeUnknown(error)).toBe(false);
  });

  it("drops an answer that arrives after a switch even when the transport ignores the signal", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const reply = deferred<{ data: unknown; response: Response }>();
    const auth = createTabAuth(source);
    const client = createClient(procedures, { links: [authLink({ auth }), () => reply.promise] });
    const call = client.profile.getUser.query();
    await tick();
    source.set({ accountId: "user_bob" });
    reply.resolve({ data: user, response: new Response(null, { status: 200 }) });
    const error = await rejection(call);
    expect(isAuthChange(error)).toBe(true);
    expect(error.response?.status).toBe(200);
  });

  it("never sends a token that passed the epoch check when the switch lands before fetch", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const auth = createTabAuth(source);
    const fetch = fakeFetch(ok);
    // Between the auth link and the transport: the switch lands once the auth link's headers
    // (alice's token, checked against the epoch) are resolved, before the request is sent.
    const switchAfterHeaders: Link = (op, next) => {
      const headers = op.transport?.headers;
      return next({
        ...op,
        transport: {
          ...op.transport,
          headers: async (request) => {
            const out = (await headers?.(request)) ?? {};
            source.set({ accountId: "user_bob" });
            return out;
          },
        },
      });
    };
    for (const transport of [httpBatchLink({ url: URL_BASE, fetch }), httpLink({ url: URL_BASE, fetch })]) {
      source.set({ accountId: "user_alice" });
      const client = createClient(procedures, { links: [authLink({ auth }), switchAfterHeaders, transport] });
      const error = await rejection(client.profile.getUser.query());
      expect(isAuthChange(error)).toBe(true);
    }
    expect(fetch.requests).toHaveLength(0);
  });

  it("ends a streamed output at a sign-out: later items are not delivered and the request is aborted", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    const auth = createTabAuth(source);
    const reply = streamReply();
    const fetch = fakeFetch(() => reply.response);
    const client = createClient(procedures, { links: [authLink({ auth }), httpBatchStreamLink({ url: URL_BASE, fetch })] });
    const call = (client.profile.getUser.query as (input?: unknown) => Promise<unknown>)();
    await tick();
    reply.line({ "0": [[0], [null, 0, 0]] });
    reply.line([0, 0, [[{ result: 0 }], ["result", 0, 1]]]);
    reply.line([1, 0, [[{ data: 0 }], ["data", 1, 2]]]);
    const stream = (await call) as AsyncIterable<unknown>;
    const iterator = stream[Symbol.asyncIterator]();
    reply.line([2, 1, [[1]]]);
    await expect(iterator.next()).resolves.toEqual({ done: false, value: 1 });
    source.set({ accountId: null, accounts: [] });
    expect(fetch.requests[0]?.signal.aborted).toBe(true);
    reply.line([2, 1, [[2]]]);
    const error = await rejection(iterator.next());
    expect(isAuthChange(error)).toBe(true);
  });

  it("says a mutation dropped after its request left may have run (outcome unknown)", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const reply = deferred<Response>();
    const { fetch, client } = setup(source, () => reply.promise);
    const sent = client.onboarding.saveStep.mutate({ step: "welcome" });
    await tick();
    expect(fetch.requests).toHaveLength(1);
    source.set({ accountId: "user_bob" });
    const error = await rejection(sent);
    expect(isAuthChange(error)).toBe(true);
    expect(isOutcomeUnknown(error)).toBe(true);
    expect(error.message).toMatch(/^Outcome unknown: .*may have run/);
  });

  it("does not say outcome unknown for a mutation dropped before its request left", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    source.answers.push(new Promise<string>(() => undefined));
    const { fetch, client } = setup(source);
    const pending = client.onboarding.saveStep.mutate({ step: "welcome" });
    await tick();
    source.set({ accountId: "user_bob" });
    const error = await rejection(pending);
    expect(isAuthChange(error)).toBe(true);
    expect(isOutcomeUnknown(error)).toBe(false);
    expect(error.message).toMatch(/^Dropped: /);
    expect(fetch.requests).toHaveLength(0);
  });

  it("drops an error response that arrives after a switch too", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const reply = deferred<Response>();
    const { client } = setup(source, () => reply.promise);
    const call = client.profile.getUser.query();
    await tick();
    source.set({ accountId: "user_bob" });
    reply.resolve(jsonReply([{ error: { message: "viewer/session mismatch", code: -32003, data: { code: "FORBIDDEN", httpStatus: 403, reason: "viewer_mismatch" } } }], 403));
    expect(isAuthChange(await rejection(call))).toBe(true);
  });

  it("de-duplicates repeated notifications of the same state: one epoch step", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    const { auth, fetch, client } = setup(source);
    const call = client.profile.getUser.query();
    source.poke();
    source.poke();
    source.set({ accountId: "user_alice" });
    expect(auth.epoch).toBe(0);
    await expect(call).resolves.toEqual(user);
    source.set({ accountId: null });
    source.set({ accountId: null });
    expect(auth.epoch).toBe(1);
    expect(fetch.requests).toHaveLength(1);
  });

  it("counts two rapid real changes as two steps, and serves calls of the new epoch", async () => {
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const { auth, fetch, client } = setup(source);
    const old = client.profile.getUser.query();
    source.set({ accountId: "user_bob" });
    source.set({ accountId: "user_alice" });
    expect(auth.epoch).toBe(2);
    const fresh = client.profile.getUser.query();
    expect(isAuthChange(await rejection(old))).toBe(true);
    await expect(fresh).resolves.toEqual(user);
    expect(fetch.requests).toHaveLength(1);
    expect(authHeaders(fetch.requests[0]).authorization).toBe("Bearer token-user_alice");
  });

  it("keeps calls of different epochs out of one request", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    const { fetch, client } = setup(source);
    const before = client.profile.getUser.query(undefined, { context: { viewerId: "user_alice" } });
    source.set({ sessionId: "sess_new" }); // same account, new session: a new epoch
    const after = client.profile.getUser.query(undefined, { context: { viewerId: "user_alice" } });
    await Promise.allSettled([before, after]);
    expect(isAuthChange(await rejection(before))).toBe(true);
    await expect(after).resolves.toEqual(user);
    expect(fetch.requests).toHaveLength(1);
  });

  it("lets a failed token fetch of the old epoch not block the new epoch's fetch", async () => {
    vi.useFakeTimers();
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    source.answers.push(new Error("down"));
    const { fetch, client } = setup(source);
    const old = rejection(client.profile.getUser.query());
    await vi.advanceTimersByTimeAsync(0);
    source.set({ accountId: "user_bob" });
    const fresh = client.profile.getUser.query();
    await vi.advanceTimersByTimeAsync(0);
    await expect(fresh).resolves.toEqual(user);
    expect(isAuthChange(await old)).toBe(true);
    expect(fetch.requests.map((r) => authHeaders(r).authorization)).toEqual(["Bearer token-user_bob"]);
  });
});
