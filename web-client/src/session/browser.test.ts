// @vitest-environment happy-dom
// The session store with the defaults, in a DOM: the global window, its real Storage objects
// and events.
import { afterEach, describe, expect, it, vi } from "vitest";
import { digestOf, isSessionId } from "./id.js";
import { createSessionStore, type SessionStore } from "./store.js";

const stores: SessionStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.dispose();
  window.sessionStorage.clear();
  window.localStorage.clear();
});

function store(options: Parameters<typeof createSessionStore>[0] = {}): SessionStore {
  const created = createSessionStore(options);
  stores.push(created);
  return created;
}

describe("createSessionStore in a browser", () => {
  it("uses window.sessionStorage by default, and leaves the marker for the next page at pagehide", () => {
    const s = store();
    expect(isSessionId(s.id)).toBe(true);
    expect(s.persistence).toBe("session");
    expect(window.sessionStorage.getItem("tabrpc.sessionId")).toBe(s.id);
    window.dispatchEvent(new Event("pagehide"));
    expect(window.sessionStorage.getItem("tabrpc.sessionId.handoff")).toBe(digestOf(s.id ?? ""));
  });

  it("follows another tab's write in localStorage mode (a real StorageEvent)", async () => {
    const s = store({ storage: "local" });
    const next = "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10";
    window.localStorage.setItem("tabrpc.sessionId", next);
    window.dispatchEvent(new StorageEvent("storage", { key: "tabrpc.sessionId", newValue: next, storageArea: window.localStorage }));
    await vi.waitFor(() => expect(s.id).toBe(next));
    expect(s.epoch).toBe(1);
  });
});
