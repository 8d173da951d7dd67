import { describe, expect, it, vi } from "vitest";
import { clerkAuthSource, type ClerkLike, type ClerkSessionLike } from "./clerk.js";
import { createTabAuth, type AuthChange } from "./tabAuth.js";

function session(id: string, userId: string): ClerkSessionLike & { getToken: ReturnType<typeof vi.fn> } {
  return { id, user: { id: userId }, getToken: vi.fn(async () => `jwt-${id}`) };
}

/** A stand-in for `window.Clerk`: only what the adapter reads, plus a way to emit. */
function fakeClerk() {
  const listeners = new Set<(resources: unknown) => void>();
  const clerk = {
    session: undefined as ClerkSessionLike | null | undefined,
    client: undefined as { signedInSessions: ClerkSessionLike[] } | undefined,
    addListener(listener: (resources: unknown) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit() {
      for (const listener of listeners) listener({ session: clerk.session, client: clerk.client });
    },
    listeners,
  };
  return clerk;
}

describe("clerkAuthSource", () => {
  it("reads nothing before Clerk has loaded", async () => {
    const source = clerkAuthSource(fakeClerk());
    expect(source.accountId()).toBeNull();
    // Unknown, so the auth link fails closed (the marker) rather than let the cookie decide.
    expect(source.signedInAccounts()).toBe(Number.POSITIVE_INFINITY);
    expect(source.signedInAccountIds?.()).toBeNull();
    await expect(source.getToken({ skipCache: true })).resolves.toBeNull();
  });

  it("counts the accounts as unknown while `loaded` is false, and knows them once loaded", () => {
    const clerk = { ...fakeClerk(), loaded: false, client: { signedInSessions: [] as ClerkSessionLike[] } };
    const source = clerkAuthSource(clerk);
    expect(source.signedInAccounts()).toBe(Number.POSITIVE_INFINITY);
    expect(source.signedInAccountIds?.()).toBeNull();
    clerk.loaded = true;
    expect(source.signedInAccounts()).toBe(0);
    expect(source.signedInAccountIds?.()).toEqual([]);
  });

  it("asks this tab's session for its token, passing skipCache", async () => {
    const clerk = fakeClerk();
    const alice = session("sess_a", "user_alice");
    const bob = session("sess_b", "user_bob");
    clerk.session = alice;
    clerk.client = { signedInSessions: [alice, bob] };
    const source = clerkAuthSource(clerk);
    await expect(source.getToken({ skipCache: true })).resolves.toBe("jwt-sess_a");
    expect(alice.getToken).toHaveBeenCalledWith({ skipCache: true });
    expect(bob.getToken).not.toHaveBeenCalled();
    expect(source.accountId()).toBe("user_alice");
    expect(source.sessionId?.()).toBe("sess_a");
    expect(source.signedInAccounts()).toBe(2);
    expect(source.signedInAccountIds?.()).toEqual(["user_alice", "user_bob"]);
  });

  it("reads the session active at the time of each call", async () => {
    const clerk = fakeClerk();
    clerk.session = session("sess_a", "user_alice");
    const source = clerkAuthSource(clerk);
    clerk.session = session("sess_b", "user_bob");
    await expect(source.getToken({ skipCache: false })).resolves.toBe("jwt-sess_b");
  });

  it("falls back to activeSessions (older Clerk versions)", () => {
    const clerk: ClerkLike = { client: { activeSessions: [session("s", "u")] }, addListener: () => undefined };
    expect(clerkAuthSource(clerk).signedInAccounts()).toBe(1);
  });

  it("drives a TabAuth through Clerk's listener, de-duplicating its frequent emits", () => {
    const clerk = fakeClerk();
    const alice = session("sess_a", "user_alice");
    const bob = session("sess_b", "user_bob");
    clerk.session = alice;
    clerk.client = { signedInSessions: [alice, bob] };
    const auth = createTabAuth(clerkAuthSource(clerk));
    const changes: AuthChange[] = [];
    auth.subscribe((change) => changes.push(change));
    clerk.emit();
    clerk.emit();
    clerk.session = bob;
    clerk.emit();
    clerk.session = null;
    clerk.client = { signedInSessions: [alice] };
    clerk.emit();
    expect(changes.map(({ type, previous, current, signedOut }) => ({ type, previous, current, signedOut }))).toEqual([
      { type: "switch", previous: "user_alice", current: "user_bob", signedOut: null },
      { type: "sign-out", previous: "user_bob", current: null, signedOut: "user_bob" },
    ]);
    auth.dispose();
    expect(clerk.listeners.size).toBe(0);
  });
});
