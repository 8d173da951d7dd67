import { afterEach, describe, expect, it, vi } from "vitest";
import { deferred, scriptedSource } from "../testing/scripted-auth.js";
import { createTabAuth, isAuthChange, type AuthChange } from "./tabAuth.js";

afterEach(() => {
  vi.useRealTimers();
});

function recordChanges(source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice"] })) {
  const auth = createTabAuth(source);
  const changes: AuthChange[] = [];
  auth.subscribe((change) => changes.push(change));
  return { source, auth, changes };
}

describe("createTabAuth: changes and epochs", () => {
  it("reports sign-out, sign-in and switch, each with the next epoch", () => {
    const { source, auth, changes } = recordChanges();
    expect(auth.epoch).toBe(0);
    expect(auth.accountId).toBe("user_alice");
    source.set({ accountId: null, accounts: [] });
    source.set({ accountId: "user_bob", accounts: ["user_bob"] });
    source.set({ accountId: "user_carol", accounts: ["user_bob", "user_carol"] });
    expect(changes).toEqual([
      { type: "sign-out", epoch: 1, previous: "user_alice", current: null, signedOut: "user_alice" },
      { type: "sign-in", epoch: 2, previous: null, current: "user_bob", signedOut: null },
      { type: "switch", epoch: 3, previous: "user_bob", current: "user_carol", signedOut: null },
    ]);
    expect(auth.accountId).toBe("user_carol");
  });

  it("treats a switch away from an account that is no longer signed in as its sign-out", () => {
    const { source, changes } = recordChanges(scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] }));
    // Clerk signs a session out and makes the next one active in one update.
    source.set({ accountId: "user_bob", accounts: ["user_bob"] });
    expect(changes).toEqual([{ type: "switch", epoch: 1, previous: "user_alice", current: "user_bob", signedOut: "user_alice" }]);
  });

  it("reports an account signed out in another tab, without moving the epoch", () => {
    const { source, auth, changes } = recordChanges(scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob", "user_carol"] }));
    source.set({ accountId: "user_bob" }); // a switch: alice is still signed in, nothing goes
    source.set({ accounts: ["user_bob", "user_carol"] }); // alice signs out in another tab
    source.set({ accounts: ["user_bob", "user_carol"] }); // reported again: no change
    expect(auth.epoch).toBe(1);
    source.set({ accountId: "user_carol", accounts: ["user_carol"] }); // bob signs out here
    expect(changes).toEqual([
      { type: "switch", epoch: 1, previous: "user_alice", current: "user_bob", signedOut: null },
      { type: "signed-out-elsewhere", epoch: 1, previous: "user_bob", current: "user_bob", signedOut: "user_alice" },
      { type: "switch", epoch: 2, previous: "user_bob", current: "user_carol", signedOut: "user_bob" },
    ]);
  });

  it("does not take an unknown account list (provider loading) for everyone's sign-out", () => {
    let ids: readonly string[] | null = ["user_alice", "user_bob"];
    const base = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const { source, changes } = recordChanges({ ...base, signedInAccountIds: () => ids });
    ids = null;
    source.poke();
    ids = ["user_alice"];
    source.poke();
    expect(changes).toEqual([{ type: "signed-out-elsewhere", epoch: 0, previous: "user_alice", current: "user_alice", signedOut: "user_bob" }]);
  });

  it("exposes the current epoch's signal, fired with an auth-change reason when the epoch ends", () => {
    const { source, auth } = recordChanges();
    const first = auth.signal;
    expect(first.aborted).toBe(false);
    source.set({ accountId: null, accounts: [] });
    expect(first.aborted).toBe(true);
    expect(isAuthChange(first.reason)).toBe(true);
    expect(auth.signal.aborted).toBe(false);
  });

  it("counts a new session of the same account as a change (sign-out and sign-in seen as one update)", () => {
    const { source, auth, changes } = recordChanges();
    source.set({ sessionId: "sess_2" });
    expect(auth.epoch).toBe(1);
    expect(changes[0]?.type).toBe("switch");
  });

  it("ignores repeated notifications of the same state", () => {
    const { source, auth, changes } = recordChanges();
    source.poke();
    source.set({ accountId: "user_alice" });
    source.set({ accounts: ["user_alice", "user_bob"] }); // another tab signed in: not this tab's change
    expect(auth.epoch).toBe(0);
    expect(changes).toEqual([]);
  });

  it("keeps notifying the other listeners when one throws", async () => {
    const { source, auth, changes } = recordChanges();
    const errors: unknown[] = [];
    const onError = (error: unknown) => errors.push(error);
    process.on("uncaughtException", onError);
    try {
      auth.subscribe(() => {
        throw new Error("listener bug");
      });
      const later: AuthChange[] = [];
      auth.subscribe((change) => later.push(change));
      source.set({ accountId: null });
      expect(changes).toHaveLength(1);
      expect(later).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 0));
    } finally {
      process.off("uncaughtException", onError);
    }
    expect(errors).toEqual([new Error("listener bug")]);
  });

  it("stops following the source after dispose, and drops token waiters", async () => {
    const { source, auth, changes } = recordChanges();
    source.answers.push(new Promise<string>(() => undefined));
    const waiting = auth.token().catch((e: unknown) => e);
    auth.dispose();
    expect(isAuthChange(await waiting)).toBe(true);
    source.set({ accountId: null });
    expect(changes).toEqual([]);
  });
});

describe("createTabAuth: token", () => {
  it("lets the provider answer from its cache by default, and returns a usable token", async () => {
    const { source, auth } = recordChanges();
    await expect(auth.token()).resolves.toBe("token-user_alice");
    await expect(auth.token()).resolves.toBe("token-user_alice");
    expect(source.calls).toEqual([{ skipCache: false }, { skipCache: false }]);
  });

  it("asks with skipCache every time with alwaysSkipCache", async () => {
    const source = scriptedSource({ accountId: "user_alice" });
    const auth = createTabAuth(source, { alwaysSkipCache: true });
    await auth.token();
    await auth.token();
    await auth.token({ fresh: true });
    expect(source.calls).toEqual([{ skipCache: true }, { skipCache: true }, { skipCache: true }]);
  });

  it("lets the provider answer from its cache when alwaysSkipCache is off, except for fresh ones and retries", async () => {
    vi.useFakeTimers();
    const source = scriptedSource({ accountId: "user_alice" });
    const auth = createTabAuth(source, { alwaysSkipCache: false });
    await auth.token();
    await auth.token({ fresh: true });
    source.answers.push(new Error("cached token broken"));
    const retried = auth.token();
    await vi.advanceTimersByTimeAsync(500);
    await expect(retried).resolves.toBe("token-user_alice");
    expect(source.calls).toEqual([{ skipCache: false }, { skipCache: true }, { skipCache: false }, { skipCache: true }]);
  });

  it("refuses a token for an epoch that is over", async () => {
    const { source, auth } = recordChanges();
    source.set({ accountId: "user_bob" });
    const error = await auth.token({ epoch: 0 }).catch((e: unknown) => e);
    expect(isAuthChange(error)).toBe(true);
    expect(source.calls).toEqual([]);
  });

  it("shares a fetch in flight, unless asked for a fresh one", async () => {
    const { source, auth } = recordChanges();
    const first = deferred<string>();
    source.answers.push(first.promise, "fresh");
    const a = auth.token();
    const b = auth.token();
    const c = auth.token({ fresh: true });
    first.resolve("shared");
    await expect(Promise.all([a, b, c])).resolves.toEqual(["shared", "shared", "fresh"]);
    expect(source.calls).toHaveLength(2);
  });

  it("reports failed fetches to onTokenError and resolves to null after the retry", async () => {
    vi.useFakeTimers();
    const source = scriptedSource({ accountId: "user_alice" });
    source.answers.push(new Error("one"), new Error("two"));
    const errors: unknown[] = [];
    const auth = createTabAuth(source, { onTokenError: (e) => errors.push(e) });
    const token = auth.token();
    await vi.advanceTimersByTimeAsync(500);
    await expect(token).resolves.toBeNull();
    expect(errors).toEqual([new Error("one"), new Error("two")]);
  });

  it("abandons the retry pause when the epoch moves on", async () => {
    vi.useFakeTimers();
    const source = scriptedSource({ accountId: "user_alice" });
    source.answers.push(new Error("one"));
    const auth = createTabAuth(source);
    const token = auth.token().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    source.set({ accountId: null });
    expect(isAuthChange(await token)).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(source.calls).toHaveLength(1);
  });
});

describe("createTabAuth: settled", () => {
  it("waits until the account stayed unchanged for settleMs, restarting on each change", async () => {
    vi.useFakeTimers();
    const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    const auth = createTabAuth(source, { settleMs: 300 });
    let settled = false;
    void auth.settled().then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(200);
    source.set({ accountId: "user_bob" });
    await vi.advanceTimersByTimeAsync(100);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(299);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
  });

  it("rejects when its signal fires", async () => {
    const auth = createTabAuth(scriptedSource());
    const controller = new AbortController();
    const settled = auth.settled(controller.signal).catch((e: unknown) => e);
    controller.abort(new Error("cancelled"));
    await expect(settled).resolves.toEqual(new Error("cancelled"));
  });
});

describe("createTabAuth: signed-out tab", () => {
  it("resolves null at once without asking the provider", async () => {
    vi.useFakeTimers();
    const source = scriptedSource({ accountId: null, accounts: ["user_bob"] });
    const auth = createTabAuth(source);
    let token: string | null | undefined;
    void auth.token().then((t) => (token = t));
    await vi.advanceTimersByTimeAsync(0);
    expect(token).toBeNull();
    expect(source.calls).toHaveLength(0);
  });
});

describe("createTabAuth: beginSignOut", () => {
  it("signs the tab out at once, before the provider notifies, and once only", async () => {
    const { source, auth, changes } = recordChanges(scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] }));
    const pending = auth.token(); // a fetch of the old epoch
    auth.beginSignOut();
    expect(auth.accountId).toBeNull();
    expect(auth.epoch).toBe(1);
    await expect(pending).rejects.toSatisfy(isAuthChange);
    expect(changes).toEqual([{ type: "sign-out", epoch: 1, previous: "user_alice", current: null, signedOut: "user_alice" }]);
    // No token while the provider still reports alice: the provider is not even asked.
    const asked = source.calls.length;
    expect(await auth.token()).toBeNull();
    expect(source.calls).toHaveLength(asked);
    // The provider's own sign-out: the account first, the list in a later update. Neither is news.
    source.set({ accountId: null });
    source.set({ accounts: ["user_bob"] });
    expect(changes).toHaveLength(1);
    expect(auth.epoch).toBe(1);
    // Signing in again afterwards is an ordinary sign-in.
    source.set({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
    expect(changes.at(-1)).toEqual({ type: "sign-in", epoch: 2, previous: null, current: "user_alice", signedOut: null });
    expect(await auth.token()).toBe("token-user_alice");
  });

  it("follows the source again when the provider's sign-out failed (undo)", async () => {
    const { auth, changes } = recordChanges();
    const undo = auth.beginSignOut();
    undo();
    undo(); // harmless twice
    expect(auth.accountId).toBe("user_alice");
    expect(changes.map((c) => c.type)).toEqual(["sign-out", "sign-in"]);
    expect(auth.epoch).toBe(2);
    expect(await auth.token()).toBe("token-user_alice");
  });

  it("ends by itself when the source reports another account, and does nothing when signed out", () => {
    const { source, auth, changes } = recordChanges(scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] }));
    const undo = auth.beginSignOut();
    expect(auth.beginSignOut()).not.toBe(undo); // a second call while one runs: no change
    source.set({ accountId: "user_bob", accounts: ["user_bob"] });
    expect(auth.accountId).toBe("user_bob");
    undo(); // too late: the source moved on
    expect(auth.accountId).toBe("user_bob");
    expect(changes.map((c) => c.type)).toEqual(["sign-out", "sign-in"]);

    const signedOut = recordChanges(scriptedSource({ accountId: null, accounts: ["user_bob"] }));
    signedOut.auth.beginSignOut();
    expect(signedOut.changes).toEqual([]);
    expect(signedOut.auth.epoch).toBe(0);
  });
});
