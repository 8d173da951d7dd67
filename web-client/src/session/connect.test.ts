// connectSession: the session id follows the account (client.md sections 4 and 6), against a
// fake server that knows who calls (`Bearer token-<user>`), links sessions and ends them.
import { afterEach, describe, expect, it, vi } from "vitest";
import { procedures, type SessionRotation } from "../../../bindings/demo.js";
import { createTabAuth, type TabAuth } from "../auth/tabAuth.js";
import { createClient } from "../client.js";
import { tabLinks } from "../links/tabLinks.js";
import { fakeFetch, jsonReply, parseBatchUrl, tick, type RecordedRequest } from "../testing/fake-fetch.js";
import { deferred, scriptedSource, type ScriptedSource } from "../testing/scripted-auth.js";
import { connectSession, type SessionFollowEvent } from "./connect.js";
import { createSessionStore, type SessionStore } from "./store.js";

const error = (code: string, httpStatus: number, reason?: string) => ({
  error: { message: `${code} ${reason ?? ""}`, code: -32000, data: { code, httpStatus, ...(reason === undefined ? {} : { reason }) } },
});

/** One call the server saw: its path, input and caller. */
interface Seen {
  readonly path: string;
  readonly input: Record<string, unknown> | undefined;
  readonly caller: string | null;
}

/** Sessions as tabrpc-sessions keeps them: an owner once linked, ended ids answer session_expired. */
function sessionServer() {
  const owners = new Map<string, string | null>();
  const ended = new Set<string>();
  const seen: Seen[] = [];
  /** Answers to hold or script, by path: the next call of that path waits for it. */
  const hold = new Map<string, Promise<unknown>>();
  /** Tokens the server refuses (401 invalid_token). */
  const refused = new Set<string>();
  const answer = async (path: string, input: Record<string, unknown> | undefined, bearer: string | undefined): Promise<unknown> => {
    const caller = bearer?.startsWith("Bearer token-") === true ? bearer.slice("Bearer token-".length) : null;
    seen.push({ path, input, caller });
    const gate = hold.get(path);
    if (gate !== undefined) {
      hold.delete(path);
      const scripted = await gate;
      if (scripted !== undefined) return scripted;
    }
    if (bearer !== undefined && refused.has(bearer.slice("Bearer ".length))) return error("UNAUTHORIZED", 401, "invalid_token");
    const id = String(input?.sessionId);
    // Rotating away from an ended session works (a client can always recover); it moves nothing.
    if (path === "session.rotate" && ended.has(id)) {
      owners.set(String(input?.newSessionId), caller);
      return { result: { data: { moved: 0, linked: caller !== null } } };
    }
    if (ended.has(id)) return error("NOT_FOUND", 404, "session_expired");
    const owner = owners.get(id);
    if (owner !== undefined && owner !== null && owner !== caller) return error("FORBIDDEN", 403, "session_mismatch");
    if (path === "session.rotate") {
      ended.add(id);
      owners.set(String(input?.newSessionId), caller);
      return { result: { data: { moved: 1, linked: caller !== null } } };
    }
    if (path === "session.end") {
      ended.add(id);
      return { result: {} };
    }
    if (owner === undefined || owner === null) owners.set(id, caller);
    return { result: { data: { lines: [] } } };
  };
  return {
    owners,
    ended,
    seen,
    hold,
    refused,
    async respond(request: RecordedRequest): Promise<Response> {
      const { paths, input } = parseBatchUrl(request.url);
      const inputs = (request.method === "POST" ? JSON.parse(request.body ?? "{}") : (input ?? {})) as Record<string, Record<string, unknown> | undefined>;
      const answers = await Promise.all(paths.map((path, i) => answer(path, inputs[String(i)], request.headers.authorization)));
      return jsonReply(answers);
    },
  };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function setup(initial: { accountId?: string | null; accounts?: readonly string[] } = { accountId: null }) {
  const server = sessionServer();
  const source: ScriptedSource = scriptedSource(initial);
  const auth: TabAuth = createTabAuth(source, { tokenRetryDelayMs: 1, signOutGraceMs: 200 });
  const session: SessionStore = createSessionStore({ storage: "memory" });
  const fetch = fakeFetch((r) => server.respond(r));
  const client = createClient(procedures, { links: tabLinks({ url: "http://api.test/trpc", auth, session, fetch }) });
  const events: SessionFollowEvent<SessionRotation>[] = [];
  const errors: unknown[] = [];
  const disconnect = connectSession(client, { onChange: (event) => events.push(event), onError: (e) => errors.push(e) });
  cleanups.push(disconnect, () => session.dispose(), () => auth.dispose());
  return { server, source, auth, session, fetch, client, events, errors, disconnect };
}

const paths = (seen: readonly Seen[], path: string) => seen.filter((s) => s.path === path);

describe("connectSession: sign-in", () => {
  it("rotates the anonymous session to a new id linked to the account, with the account's token", async () => {
    const { server, source, session, events, errors } = setup();
    const anonymous = session.id;
    source.set({ accountId: "user_alice" });
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(events[0]).toMatchObject({ type: "rotated", reason: "sign-in", account: "user_alice", previous: anonymous, sessionId: session.id, rotation: { moved: 1, linked: true } });
    expect(session.id).not.toBe(anonymous);
    expect(paths(server.seen, "session.rotate")).toEqual([
      { path: "session.rotate", input: { newSessionId: session.id, sessionId: anonymous }, caller: "user_alice" },
    ]);
    expect(server.owners.get(session.id ?? "")).toBe("user_alice");
    expect(errors).toEqual([]);
  });

  it("retries the rotation once with a fresh token when the server refuses the token (401 invalid_token)", async () => {
    const { server, source, session, events } = setup();
    server.refused.add("stale");
    source.answers.push("stale");
    const anonymous = session.id;
    source.set({ accountId: "user_alice" });
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(events[0]).toMatchObject({ type: "rotated", account: "user_alice" });
    expect(paths(server.seen, "session.rotate").map((s) => s.input?.sessionId)).toEqual([anonymous, anonymous]);
    expect(source.calls.at(-1)).toEqual({ skipCache: true });
  });

  it("takes a new id, keeping the old one's data there, when the rotation is refused", async () => {
    const { server, source, session, events, errors } = setup();
    server.hold.set("session.rotate", Promise.resolve(error("CONFLICT", 409)));
    const anonymous = session.id;
    source.set({ accountId: "user_alice" });
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(events[0]).toMatchObject({ type: "renewed", reason: "rotation-failed", account: "user_alice", previous: anonymous });
    expect(session.id).not.toBe(anonymous);
    expect(errors).toHaveLength(1);
  });
});

describe("connectSession: epochs (client.md section 4)", () => {
  it("keeps the anonymous id when the tab signs out while the rotation is in flight", async () => {
    const { server, source, session, events, errors } = setup();
    const gate = deferred<unknown>();
    server.hold.set("session.rotate", gate.promise);
    const anonymous = session.id;
    source.set({ accountId: "user_alice" });
    await vi.waitFor(() => expect(paths(server.seen, "session.rotate")).toHaveLength(1));
    source.set({ accountId: null });
    gate.resolve(undefined); // the server answers (for alice): dropped, the tab has left her
    await tick(20);
    expect(session.id).toBe(anonymous);
    expect(events).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("rotates for the last account when the tab switches while the rotation is in flight", async () => {
    const { server, source, session, events } = setup();
    const gate = deferred<unknown>();
    server.hold.set("session.rotate", gate.promise);
    source.set({ accountId: "user_alice", accounts: ["user_alice"] });
    await vi.waitFor(() => expect(paths(server.seen, "session.rotate")).toHaveLength(1));
    source.set({ accountId: "user_bob", accounts: ["user_alice", "user_bob"] });
    gate.resolve(undefined);
    await vi.waitFor(() => expect(events).toHaveLength(1));
    // The first rotation reached the server (its answer, for alice, was dropped): the old id
    // ended there, so bob's rotation moves nothing; the tab ends on a new id of bob's.
    expect(events[0]).toMatchObject({ type: "rotated", account: "user_bob", rotation: { moved: 0 } });
    expect(server.owners.get(session.id ?? "")).toBe("user_bob");
    expect(paths(server.seen, "session.rotate").map((s) => s.caller)).toEqual(["user_alice", "user_bob"]);
  });

  it("settles on the last state after rapid repeats, with one step per state at most", async () => {
    const { server, source, session, events } = setup();
    source.set({ accountId: "user_alice" });
    source.set({ accountId: null });
    source.set({ accountId: "user_alice", sessionId: "sess_2" });
    source.set({ accountId: null });
    source.set({ accountId: "user_bob" });
    await vi.waitFor(() => expect(events).toHaveLength(1));
    await tick(20);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "rotated", account: "user_bob" });
    expect(paths(server.seen, "session.rotate").map((s) => s.caller)).toEqual(["user_bob"]);
    expect(server.owners.get(session.id ?? "")).toBe("user_bob");
  });

  it("takes a new id at a switch, and at a sign-out made elsewhere", async () => {
    const { source, session, events } = setup({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const alices = session.id;
    source.set({ accountId: "user_bob" });
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(events[0]).toMatchObject({ type: "renewed", reason: "switch", account: "user_bob", previous: alices });
    source.set({ accountId: null, accounts: [] });
    await vi.waitFor(() => expect(events).toHaveLength(2));
    expect(events[1]).toMatchObject({ type: "renewed", reason: "sign-out", account: null });
  });
});

describe("connectSession: sign-out through auth.signOut", () => {
  it("ends the session with the account's token, then signs out, then takes an anonymous id", async () => {
    const { server, source, auth, session, events } = setup({ accountId: "user_alice" });
    const alices = session.id;
    const order: string[] = [];
    const providerSignOut = vi.fn(async () => {
      order.push(`provider (tab ${auth.accountId ?? "signed out"})`);
      source.set({ accountId: null, accounts: [] });
    });
    await auth.signOut(providerSignOut);
    await vi.waitFor(() => expect(events).toHaveLength(2));
    expect(paths(server.seen, "session.end")).toEqual([{ path: "session.end", input: { sessionId: alices }, caller: "user_alice" }]);
    expect(order).toEqual(["provider (tab signed out)"]); // signed out here before the provider answered
    expect(events.map(({ type, reason, account }) => ({ type, reason, account }))).toEqual([
      { type: "ended", reason: "sign-out", account: "user_alice" },
      { type: "renewed", reason: "sign-out", account: null },
    ]);
    expect(session.id).not.toBe(alices);
    expect(server.ended.has(alices ?? "")).toBe(true);
  });

  it("signs out even when the session cannot be ended in time, and shares one sign-out between repeated calls", async () => {
    const { server, source, auth } = setup({ accountId: "user_alice" });
    server.hold.set("session.end", new Promise(() => undefined)); // never answers
    const providerSignOut = vi.fn(async () => source.set({ accountId: null, accounts: [] }));
    const first = auth.signOut(providerSignOut);
    const second = auth.signOut(providerSignOut);
    expect(second).toBe(first);
    await first;
    expect(providerSignOut).toHaveBeenCalledTimes(1);
    expect(auth.accountId).toBeNull();
  });

  it("follows the provider again (an undo) when its sign-out fails", async () => {
    const { auth } = setup({ accountId: "user_alice" });
    const failure = new Error("network down");
    await expect(auth.signOut(() => Promise.reject(failure))).rejects.toBe(failure);
    expect(auth.accountId).toBe("user_alice");
  });
});

describe("connectSession: ended sessions", () => {
  it("takes a new id, once, when calls answer session_expired", async () => {
    const { server, client, session, events } = setup();
    const id = session.id ?? "";
    server.ended.add(id);
    const results = await Promise.allSettled([client.cart.get.query(), client.cart.add.mutate({ item: "apple" })]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    await vi.waitFor(() => expect(events).toHaveLength(1));
    await tick(10);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "renewed", reason: "expired", previous: id, account: null });
    await expect(client.cart.get.query()).resolves.toEqual({ lines: [] });
  });

  it("takes a new id when the session is linked to another account (session_mismatch)", async () => {
    const { server, client, session, events } = setup({ accountId: "user_alice" });
    const id = session.id ?? "";
    server.owners.set(id, "user_bob");
    await expect(client.cart.get.query()).rejects.toMatchObject({ reason: "session_mismatch" });
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(events[0]).toMatchObject({ type: "renewed", reason: "mismatch", previous: id, account: "user_alice" });
  });

  it("stops when disconnected", async () => {
    const { source, session, events, disconnect } = setup();
    disconnect();
    const id = session.id;
    source.set({ accountId: "user_alice" });
    await tick(20);
    expect(events).toEqual([]);
    expect(session.id).toBe(id);
  });
});

describe("connectSession: configuration", () => {
  it("needs a client whose links carry the auth state and the session store", () => {
    const bare = createClient(procedures, { links: [() => Promise.reject(new Error("unused"))] });
    expect(() => connectSession(bare)).toThrow(/authLink and sessionLink/);
  });
});
