import { afterEach, describe, expect, it, vi } from "vitest";
import { deferred } from "../testing/scripted-auth.js";
import { fakeBrowser, MemoryStorage } from "../testing/fake-tabs.js";
import { isSessionId } from "./id.js";
import { createSessionStore, type SessionChange, type SessionStore, type SessionStoreOptions } from "./store.js";

const V4 = "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10";
const stores: SessionStore[] = [];

function store(options: SessionStoreOptions = {}): SessionStore {
  const created = createSessionStore(options);
  stores.push(created);
  return created;
}

function changes(target: SessionStore): SessionChange[] {
  const seen: SessionChange[] = [];
  target.subscribe((change) => seen.push(change));
  return seen;
}

afterEach(() => {
  for (const s of stores.splice(0)) s.dispose();
  vi.unstubAllGlobals();
});

describe("createSessionStore: where the id lives", () => {
  it("makes one id per tab in sessionStorage by default, under tabrpc.sessionId", () => {
    const browser = fakeBrowser();
    const tab1 = browser.open();
    const tab2 = browser.open();
    const a = store({ window: tab1 });
    const b = store({ window: tab2 });
    expect(isSessionId(a.id)).toBe(true);
    expect(isSessionId(b.id)).toBe(true);
    expect(a.id).not.toBe(b.id);
    expect(tab1.sessionStorage.getItem("tabrpc.sessionId")).toBe(a.id);
    expect(a.persistence).toBe("session");
    expect(browser.localStorage.items.size).toBe(0);
  });

  it("uses the configured key, and a custom storage as given", () => {
    const custom = new MemoryStorage();
    custom.items.set("cart.session", V4);
    const s = store({ storage: custom, key: "cart.session" });
    expect(s.id).toBe(V4);
    expect(s.persistence).toBe("custom");
  });

  it("replaces a stored value that is not a session id, and normalises one in upper case", () => {
    const custom = new MemoryStorage();
    custom.items.set("tabrpc.sessionId", "not-a-uuid");
    const replaced = store({ storage: custom });
    expect(isSessionId(replaced.id)).toBe(true);
    expect(custom.getItem("tabrpc.sessionId")).toBe(replaced.id);

    const versionOne = new MemoryStorage();
    versionOne.items.set("tabrpc.sessionId", "3f0c2a9e-7b1d-1c5e-9a2f-1d3b5c7e9f10");
    expect(store({ storage: versionOne }).id).not.toBe("3f0c2a9e-7b1d-1c5e-9a2f-1d3b5c7e9f10");

    const upper = new MemoryStorage();
    upper.items.set("tabrpc.sessionId", V4.toUpperCase());
    expect(store({ storage: upper }).id).toBe(V4);
    expect(upper.getItem("tabrpc.sessionId")).toBe(V4);
  });

  it("falls back to memory when the storage throws, and tells onStorageError", async () => {
    const browser = fakeBrowser();
    const tab = browser.open();
    tab.sessionStorage.failing = true;
    const errors: unknown[] = [];
    const s = store({ window: tab, onStorageError: (e) => errors.push(e) });
    expect(isSessionId(s.id)).toBe(true);
    expect(s.persistence).toBe("memory");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(DOMException);
    const next = await s.refresh();
    expect(s.id).toBe(next);
  });

  it("falls back to memory when the window refuses its storage (sandboxed frame)", () => {
    const errors: unknown[] = [];
    const win = Object.defineProperty(new EventTarget(), "sessionStorage", {
      get() {
        throw new DOMException("denied", "SecurityError");
      },
    });
    const s = store({ window: win, onStorageError: (e) => errors.push(e) });
    expect(isSessionId(s.id)).toBe(true);
    expect(s.persistence).toBe("memory");
    expect(errors).toHaveLength(1);
  });

  it("keeps the id in memory only with storage: 'memory'", () => {
    const a = store({ storage: "memory" });
    const b = store({ storage: "memory" });
    expect(a.persistence).toBe("memory");
    expect(a.id).not.toBe(b.id);
  });

  it("throws a clear error when no id can be made (no Web Crypto)", () => {
    vi.stubGlobal("crypto", undefined);
    expect(() => store({ storage: "memory" })).toThrow(/cannot make a session id/);
  });
});

describe("createSessionStore: localStorage mode", () => {
  it("shares one id between the tabs of a browser, and every tab follows a refresh in another", async () => {
    const browser = fakeBrowser();
    const a = store({ storage: "local", window: browser.open() });
    const b = store({ storage: "local", window: browser.open() });
    expect(b.id).toBe(a.id);
    expect(a.persistence).toBe("local");
    const seen = changes(b);
    const old = a.id;
    const next = await a.refresh();
    await vi.waitFor(() => expect(b.id).toBe(next));
    expect(seen).toEqual([{ type: "storage", previous: old, current: next, epoch: 1 }]);
    expect(b.epoch).toBe(1);
  });

  it("puts the id back when another tab removes it or writes garbage, so the tabs still agree", async () => {
    const browser = fakeBrowser();
    const a = store({ storage: "local", window: browser.open() });
    const b = store({ storage: "local", window: browser.open() });
    const id = a.id;
    browser.localStorage.removeItem("tabrpc.sessionId");
    await vi.waitFor(() => expect(browser.localStorage.getItem("tabrpc.sessionId")).toBe(id));
    browser.localStorage.setItem("tabrpc.sessionId", "garbage");
    await vi.waitFor(() => expect(browser.localStorage.getItem("tabrpc.sessionId")).toBe(id));
    expect([a.id, b.id, a.epoch, b.epoch]).toEqual([id, id, 0, 0]);
  });

  it("ignores other keys", async () => {
    const browser = fakeBrowser();
    const a = store({ storage: "local", window: browser.open() });
    browser.localStorage.setItem("other", V4);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(a.id).not.toBe(V4);
    expect(a.epoch).toBe(0);
  });
});

describe("SessionStore.refresh", () => {
  it("runs beforeUpdate while the old id is current, then stores the new id, moves the epoch on and tells listeners", async () => {
    const custom = new MemoryStorage();
    const s = store({ storage: custom });
    const seen = changes(s);
    const old = s.id;
    let during: unknown;
    const next = await s.refresh((newId, oldId) => {
      during = { newId, oldId, current: s.id, stored: custom.getItem("tabrpc.sessionId") };
    });
    expect(during).toEqual({ newId: next, oldId: old, current: old, stored: old });
    expect(isSessionId(next)).toBe(true);
    expect(next).not.toBe(old);
    expect([s.id, custom.getItem("tabrpc.sessionId"), s.epoch]).toEqual([next, next, 1]);
    expect(seen).toEqual([{ type: "refresh", previous: old, current: next, epoch: 1 }]);
  });

  it("keeps the old id when beforeUpdate fails, and rejects with its error", async () => {
    const custom = new MemoryStorage();
    const s = store({ storage: custom });
    const seen = changes(s);
    const old = s.id;
    const failure = new Error("rotation refused");
    await expect(s.refresh(() => Promise.reject(failure))).rejects.toBe(failure);
    expect([s.id, custom.getItem("tabrpc.sessionId"), s.epoch, seen]).toEqual([old, old, 0, []]);
    // A failure does not block the next refresh.
    await expect(s.refresh()).resolves.not.toBe(old);
  });

  it("never interleaves two refreshes: the second starts from the first one's new id", async () => {
    const s = store({ storage: "memory" });
    const log: string[] = [];
    const first = deferred<void>();
    const initial = s.id;
    const one = s.refresh(async (newId, oldId) => {
      log.push(`one starts ${oldId === initial}`);
      await first.promise;
      log.push(`one ends ${newId}`);
    });
    let secondOld: string | undefined;
    const two = s.refresh((newId, oldId) => {
      secondOld = oldId;
      log.push(`two starts after ${oldId}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(log).toEqual(["one starts true"]);
    first.resolve();
    const [a, b] = await Promise.all([one, two]);
    expect(secondOld).toBe(a);
    expect(log).toEqual(["one starts true", `one ends ${a}`, `two starts after ${a}`]);
    expect([s.id, s.epoch]).toEqual([b, 2]);
  });
});

describe("createSessionStore: server-rendering mode", () => {
  it("has no id until start(); ready() waits for it", async () => {
    const custom = new MemoryStorage();
    const s = store({ storage: custom, serverRendering: true });
    const seen = changes(s);
    expect(s.id).toBeNull();
    expect(custom.items.size).toBe(0);
    let ready: string | undefined;
    void s.ready().then((id) => (ready = id));
    await Promise.resolve();
    expect(ready).toBeUndefined();
    s.start();
    s.start(); // idempotent
    expect(isSessionId(s.id)).toBe(true);
    await vi.waitFor(() => expect(ready).toBe(s.id));
    expect(seen).toEqual([{ type: "start", previous: null, current: s.id, epoch: 0 }]);
  });

  it("is the default on a server (no window) for web storage, not for memory or custom storage", () => {
    expect((globalThis as { window?: unknown }).window).toBeUndefined();
    expect(store().id).toBeNull();
    expect(store({ storage: "local" }).id).toBeNull();
    expect(store({ storage: "memory" }).id).not.toBeNull();
    expect(store({ storage: new MemoryStorage() }).id).not.toBeNull();
  });

  it("starting on a server keeps the id in memory", () => {
    const s = store();
    s.start();
    expect(isSessionId(s.id)).toBe(true);
    expect(s.persistence).toBe("memory");
  });

  it("throws at start, not at creation, when no id can be made", () => {
    vi.stubGlobal("crypto", undefined);
    const s = store({ storage: "memory", serverRendering: true });
    expect(() => s.start()).toThrow(/cannot make a session id/);
  });

  it("rejects ready() on abort and on dispose", async () => {
    const s = store({ storage: "memory", serverRendering: true });
    const controller = new AbortController();
    const aborted = s.ready(controller.signal);
    controller.abort(new Error("gone"));
    await expect(aborted).rejects.toThrow("gone");
    const pending = s.ready();
    s.dispose();
    await expect(pending).rejects.toThrow(/disposed/);
    await expect(s.ready()).rejects.toThrow(/disposed/);
  });
});
