// The token policy of client.md section 3 rule 2 (issue 15, item 4): the provider answers from
// its own cache; the cache is skipped only near the token's `exp` and on the retry after a 401
// `invalid_token`; a hung provider costs one timeout per epoch.
import { afterEach, describe, expect, it, vi } from "vitest";
import { createClient } from "../client.js";
import { ERROR_REASONS } from "../codes.js";
import { nearExpiry, tokenExpiry } from "../internals/auth.js";
import { authLink } from "../links/authLink.js";
import { httpBatchLink } from "../links/httpBatchLink.js";
import { fakeFetch, jsonReply, parseBatchUrl, type RecordedRequest } from "../testing/fake-fetch.js";
import { procedures } from "../testing/demo-procedures.js";
import { deferred, scriptedSource, type ScriptedSource } from "../testing/scripted-auth.js";
import type { GetTokenOptions } from "./source.js";
import { createTabAuth, type TabAuthOptions } from "./tabAuth.js";

const URL_BASE = "http://api.test/trpc";
const user = { id: "user_alice", displayName: "Alice", signedIn: true };
const ok = (request: RecordedRequest) => jsonReply(parseBatchUrl(request.url).paths.map(() => ({ result: { data: user } })));

/** An unsigned JWT-shaped token with this payload (the client never verifies it). */
const jwt = (payload: object) => `eyJhbGciOiJub25lIn0.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.sig`;

/**
 * A provider with its own per-session cache, like Clerk's: `getToken({ skipCache: false })`
 * answers the cached token (even one about to expire) and makes a round trip (mints a new token,
 * valid for `lifetimeMs`) only when asked with `skipCache` or when it has none.
 */
function cachingProvider(lifetimeMs = 60_000, accounts: readonly string[] = ["user_alice"]) {
  const base = scriptedSource({ accountId: "user_alice", accounts });
  const calls: GetTokenOptions[] = [];
  let cached: string | undefined;
  let minted = 0;
  const provider = {
    ...base,
    calls,
    roundTrips: 0,
    /** Puts a token in the provider's cache, as if fetched earlier. */
    seed(token: string) {
      cached = token;
    },
    getToken(options: GetTokenOptions) {
      calls.push(options);
      if (options.skipCache || cached === undefined) {
        provider.roundTrips += 1;
        minted += 1;
        cached = jwt({ sub: "user_alice", n: minted, exp: Math.floor((Date.now() + lifetimeMs) / 1000) });
      }
      return Promise.resolve(cached);
    },
  };
  return provider;
}

function setup(source: ScriptedSource, options: TabAuthOptions = {}, respond: (r: RecordedRequest) => Response | Promise<Response> = ok) {
  const auth = createTabAuth(source, options);
  const fetch = fakeFetch(respond);
  const client = createClient(procedures, { links: [authLink({ auth }), httpBatchLink({ url: URL_BASE, fetch })] });
  return { auth, fetch, client };
}

/** A call's result, advancing fake timers by 0 ms (the batcher dispatches on a 0 ms timer) without moving the clock. */
async function settle<T>(call: Promise<T>): Promise<T> {
  await vi.advanceTimersByTimeAsync(0);
  return call;
}

const bearer = (request: RecordedRequest | undefined) => request?.headers.authorization;
const expOf = (request: RecordedRequest | undefined) => tokenExpiry((bearer(request) ?? "").replace(/^Bearer /, ""));

afterEach(() => {
  vi.useRealTimers();
});

describe("token policy: the provider's cache", () => {
  it.each([
    // Before (alwaysSkipCache, the old default): a provider round trip per request.
    ["alwaysSkipCache: true (the old default)", { alwaysSkipCache: true }, { skipCache: 100, roundTrips: 100 }],
    // After: the first request fills the provider's cache; request 50 (the token 10 s from its exp) renews it.
    ["the default", {}, { skipCache: 1, roundTrips: 2 }],
  ] as const)("100 requests, one a second, 60 s tokens, with %s", async (_name, options, expected) => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-01-01T00:00:00Z"));
    const source = cachingProvider();
    const { fetch, client } = setup(source, options);
    for (let i = 0; i < 100; i += 1) {
      await settle(client.profile.getUser.query());
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(fetch.requests).toHaveLength(100);
    expect(source.calls).toHaveLength(100); // one getToken per HTTP request, answered from memory unless skipCache
    expect(source.calls.filter((c) => c.skipCache)).toHaveLength(expected.skipCache);
    expect(source.roundTrips).toBe(expected.roundTrips);
    // Every request carried a token more than the margin (10 s) away from its exp.
    const start = new Date("2026-01-01T00:00:00Z").getTime();
    fetch.requests.forEach((request, i) => expect((expOf(request) ?? 0) * 1000 - (start + i * 1_000)).toBeGreaterThan(10_000));
  });

  it("asks again with skipCache when the cached token is within the margin of its exp", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-01-01T00:00:00Z"));
    const source = cachingProvider();
    const stale = jwt({ sub: "user_alice", exp: Math.floor(Date.now() / 1000) + 5 });
    source.seed(stale);
    const { fetch, client } = setup(source);
    await settle(client.profile.getUser.query());
    expect(source.calls).toEqual([{ skipCache: false }, { skipCache: true }]);
    expect(bearer(fetch.requests[0])).not.toBe(`Bearer ${stale}`);
    expect(expOf(fetch.requests[0])).toBe(Math.floor(Date.now() / 1000) + 60);
    // The next request: the renewed token is far from its exp, the cache answers.
    await settle(client.profile.getUser.query());
    expect(source.calls).toEqual([{ skipCache: false }, { skipCache: true }, { skipCache: false }]);
    expect(bearer(fetch.requests[1])).toBe(bearer(fetch.requests[0]));
  });

  it("asks with skipCache directly when the epoch's last token nears its exp, and the margin is an option", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-01-01T00:00:00Z"));
    const source = cachingProvider(20_000);
    const { client } = setup(source, { refreshMarginMs: 5_000 });
    await settle(client.profile.getUser.query()); // a round trip: the provider's cache is empty
    await vi.advanceTimersByTimeAsync(14_000); // 6 s left: outside a 5 s margin
    await settle(client.profile.getUser.query());
    await vi.advanceTimersByTimeAsync(1_000); // 5 s left: inside
    await settle(client.profile.getUser.query());
    expect(source.calls).toEqual([{ skipCache: false }, { skipCache: false }, { skipCache: true }]);
  });

  it("retries after a 401 invalid_token with skipCache", async () => {
    const source = cachingProvider();
    let refused: string | undefined;
    const { fetch, client } = setup(source, {}, (request) => {
      if (refused === undefined) {
        refused = request.headers.authorization;
        return new Response(
          JSON.stringify(parseBatchUrl(request.url).paths.map(() => ({ error: { message: "expired", code: -32001, data: { code: "UNAUTHORIZED", httpStatus: 401, reason: ERROR_REASONS.INVALID_TOKEN } } }))),
          { status: 401, headers: { "content-type": "application/json", "www-authenticate": 'Bearer error="invalid_token"' } },
        );
      }
      return ok(request);
    });
    await expect(client.profile.getUser.query()).resolves.toEqual(user);
    expect(source.calls).toEqual([{ skipCache: false }, { skipCache: true }]);
    expect(bearer(fetch.requests[1])).not.toBe(refused);
    // Later requests take the renewed token from the provider's cache.
    await client.profile.getUser.query();
    expect(source.calls.at(-1)).toEqual({ skipCache: false });
    expect(bearer(fetch.requests[2])).toBe(bearer(fetch.requests[1]));
  });
});

describe("token policy: a hung provider costs one timeout per epoch", () => {
  it("fails closed at once after the epoch's first timeout, retries once in the background, and waits again only in a new epoch", async () => {
    vi.useFakeTimers();
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const never = new Promise<string>(() => undefined);
    source.answers.push(never, never);
    const errors: unknown[] = [];
    const { fetch, client } = setup(source, { onTokenError: (e) => errors.push(e) });
    const first = client.profile.getUser.query();
    await vi.advanceTimersByTimeAsync(4_999);
    expect(fetch.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    await first;
    // Ten more requests of the same epoch: sent at once, no timer advanced, fail-closed marker.
    const before = Date.now();
    for (let i = 0; i < 10; i += 1) {
      const call = client.profile.getUser.query();
      await vi.advanceTimersByTimeAsync(0);
      await call;
    }
    expect(Date.now()).toBe(before);
    expect(fetch.requests).toHaveLength(11);
    for (const request of fetch.requests) {
      expect(request.headers.authorization).toBeUndefined();
      expect(request.headers["x-tabrpc-auth-required"]).toBe("1");
    }
    // The one background retry (rule 3) after 500 ms, with skipCache; it hangs too: nothing more.
    await vi.advanceTimersByTimeAsync(20_000);
    expect(source.calls).toEqual([{ skipCache: false }, { skipCache: true }]);
    expect(errors.map((e) => (e as Error).name)).toEqual(["TimeoutError", "TimeoutError"]);

    // A new epoch (switch) asks again, and pays its own timeout once.
    const late = deferred<string>();
    source.answers.push(never, late.promise);
    source.set({ accountId: "user_bob" });
    const next = client.profile.getUser.query();
    await vi.advanceTimersByTimeAsync(5_000);
    await next;
    expect(bearer(fetch.requests[11])).toBeUndefined();
    await vi.advanceTimersByTimeAsync(500); // the background retry starts
    expect(source.calls).toHaveLength(4);
    const still = client.profile.getUser.query();
    await vi.advanceTimersByTimeAsync(0);
    await still;
    expect(bearer(fetch.requests[12])).toBeUndefined();
    // The background retry answers: the provider is used again (its cache: the default answer).
    late.resolve("token-user_bob-late");
    await vi.advanceTimersByTimeAsync(0);
    await settle(client.profile.getUser.query());
    expect(bearer(fetch.requests[13])).toBe("Bearer token-user_bob");
    expect(source.calls).toHaveLength(5);
  });

  it("never hands a late answer of an old epoch to the new one", async () => {
    vi.useFakeTimers();
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const hung = deferred<string>();
    source.answers.push(hung.promise);
    const { fetch, client } = setup(source);
    const first = client.profile.getUser.query();
    await vi.advanceTimersByTimeAsync(5_000);
    await first;
    source.set({ accountId: "user_bob" });
    hung.resolve("token-user_alice-late");
    await vi.advanceTimersByTimeAsync(0);
    await settle(client.profile.getUser.query());
    expect(fetch.requests.map(bearer)).toEqual([undefined, "Bearer token-user_bob"]);
    // The old epoch's background retry was abandoned with it.
    expect(source.calls).toEqual([{ skipCache: false }, { skipCache: false }]);
  });
});

describe("token policy: reading exp", () => {
  it("decodes a JWT payload's exp without verifying, and treats anything else as not near its expiry", () => {
    const now = 1_000_000_000_000;
    expect(tokenExpiry(jwt({ exp: 1_000_000_005 }))).toBe(1_000_000_005);
    expect(nearExpiry(jwt({ exp: 1_000_000_005 }), 10_000, now)).toBe(true);
    expect(nearExpiry(jwt({ exp: 999_999_000 }), 10_000, now)).toBe(true); // expired
    expect(nearExpiry(jwt({ exp: 1_000_000_011 }), 10_000, now)).toBe(false);
    for (const opaque of ["token-user_alice", "a.b.c", "a..c", jwt({ sub: "x" }), jwt({ exp: "soon" }), `x.${Buffer.from("null").toString("base64url")}.y`]) {
      expect(tokenExpiry(opaque)).toBeUndefined();
      expect(nearExpiry(opaque, 10_000, now)).toBe(false);
    }
  });
});
