// Copied-tab detection in sessionStorage mode, through the session store: pages of simulated tabs
// (their own sessionStorage, copied as browsers copy it) talking over the real BroadcastChannel.
import { afterEach, describe, expect, it, vi } from "vitest";
import { fakeBrowser, type FakeTab } from "../testing/fake-tabs.js";
import { isSessionId } from "./id.js";
import { createSessionStore, type SessionChange, type SessionStore } from "./store.js";
import { TabClaims } from "./tabClaims.js";

const pages: { dispose(): void }[] = [];
let keyCount = 0;
/** A fresh key per test: the channel is named after it, so tests never hear each other. */
let key = "";

afterEach(() => {
  for (const page of pages.splice(0)) page.dispose();
});

/** Opens the app in `tab`: a page and its session store. */
function page(tab: FakeTab, copyCheck: { probeMs: number; releaseMs: number } | false = { probeMs: 100, releaseMs: 400 }) {
  const store = createSessionStore({ window: tab, key, copyCheck });
  pages.push(store);
  const changes: SessionChange[] = [];
  store.subscribe((change) => changes.push(change));
  return { store, changes };
}

/** The old page of a tab goes away (reload, navigation): `pagehide`, then its realm is gone. */
function unload(tab: FakeTab, store: SessionStore): void {
  tab.hide();
  store.dispose();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when a page answers on the channel that it holds an id (listening like any page would). */
function held(): Promise<void> {
  const channel = new BroadcastChannel(`tabrpc.session ${key}`);
  pages.push({ dispose: () => channel.close() });
  return new Promise((resolve) => {
    channel.addEventListener("message", (event: MessageEvent) => {
      if ((event.data as { t?: unknown }).t === "held") resolve();
    });
  });
}

function fresh() {
  key = `tabrpc.test.${process.pid}.${keyCount++}`;
  return fakeBrowser();
}

describe("copied tabs (sessionStorage mode)", () => {
  it("gives a tab opened by window.open or duplicated its own id, and the original keeps its id", async () => {
    const browser = fresh();
    const tab1 = browser.open();
    const original = page(tab1);
    const id = original.store.id;
    expect(isSessionId(id)).toBe(true);

    const tab2 = browser.open(tab1.sessionStorage.copy()); // the browser copies sessionStorage
    const copy = page(tab2);
    expect(copy.store.id).toBeNull(); // checking: session calls wait
    const own = await copy.store.ready();
    expect(own).not.toBe(id);
    expect(isSessionId(own)).toBe(true);
    expect(tab2.sessionStorage.getItem(key)).toBe(own);
    expect(copy.changes).toEqual([{ type: "start", previous: null, current: own, epoch: 0 }]);
    expect([original.store.id, original.store.epoch, original.changes]).toEqual([id, 0, []]);
    expect(tab1.sessionStorage.getItem(key)).toBe(id);
  });

  it("keeps the id of a reloaded tab at once: the page before leaves a marker at pagehide", () => {
    const browser = fresh();
    const tab = browser.open();
    const before = page(tab);
    const id = before.store.id;
    unload(tab, before.store);
    const after = page(browser.open(tab.sessionStorage)); // the same tab's storage
    expect(after.store.id).toBe(id);
  });

  it("keeps the id of a reloaded tab whose old page unloads only after the new page asked", async () => {
    const browser = fresh();
    const tab = browser.open();
    const before = page(tab);
    const id = before.store.id;
    const answered = held();
    const after = page(browser.open(tab.sessionStorage));
    await answered; // the old page answered that it holds the id
    expect(after.store.id).toBeNull();
    unload(tab, before.store); // now its pagehide runs, and it lets go
    await expect(after.store.ready()).resolves.toBe(id);
    expect(tab.sessionStorage.getItem(`${key}.handoff`)).toBeNull();
  });

  it("keeps the id of a restored tab that no other tab uses, after a short check", async () => {
    const browser = fresh();
    const tab = browser.open();
    const before = page(tab);
    const id = before.store.id;
    before.store.dispose(); // a crash: no pagehide, no marker
    const restored = page(browser.open(tab.sessionStorage.copy()));
    expect(restored.store.id).toBeNull();
    await expect(restored.store.ready()).resolves.toBe(id);
  });

  it("lets a copy keep the id when the original moves to a new id meanwhile", async () => {
    const browser = fresh();
    const tab1 = browser.open();
    const original = page(tab1);
    const id = original.store.id;
    const answered = held();
    const copy = page(browser.open(tab1.sessionStorage.copy()));
    await answered;
    expect(copy.store.id).toBeNull();
    const next = await original.store.refresh(); // the original says it released the old id
    await expect(copy.store.ready()).resolves.toBe(id);
    expect(original.store.id).toBe(next);
  });

  it("takes a new id when a live tab turns out to use it after all (a tab duplicated while on another site)", async () => {
    const browser = fresh();
    const tab1 = browser.open();
    const original = page(tab1);
    const id = original.store.id;
    tab1.hide(true); // to another site; the page stays in the back/forward cache
    const duplicate = page(browser.open(tab1.sessionStorage.copy())); // copies the marker too
    expect(duplicate.store.id).toBe(id);
    await sleep(300); // its own check (100 ms): nobody answers, the original is hidden
    expect(duplicate.store.id).toBe(id);
    tab1.show(true); // back in the original tab: it checks again, and the duplicate holds the id
    await vi.waitFor(() => expect(original.store.id).not.toBe(id), { timeout: 3000 });
    expect(duplicate.store.id).toBe(id);
    expect(original.changes).toEqual([{ type: "copy", previous: id, current: original.store.id, epoch: 1 }]);
  });

  it("does nothing with copyCheck: false", () => {
    const browser = fresh();
    const tab1 = browser.open();
    const original = page(tab1, false);
    const copy = page(browser.open(tab1.sessionStorage.copy()), false);
    expect(copy.store.id).toBe(original.store.id);
  });

  it("does not apply to localStorage mode, where tabs share the id by design", () => {
    const browser = fresh();
    const a = createSessionStore({ window: browser.open(), storage: "local", key });
    const b = createSessionStore({ window: browser.open(), storage: "local", key });
    pages.push(a, b);
    expect(b.id).toBe(a.id);
  });
});

describe("TabClaims", () => {
  it("ignores malformed messages on its channel", async () => {
    const name = `tabrpc.test.claims.${process.pid}`;
    const claims = new TabClaims(name, { probeMs: 20, releaseMs: 50 });
    pages.push(claims);
    const other = new BroadcastChannel(name);
    pages.push({ dispose: () => other.close() });
    const id = "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10";
    const verdict = claims.verify(id);
    other.postMessage("held");
    other.postMessage({ t: "held", d: 7, from: "x", to: "y" });
    other.postMessage(null);
    await expect(verdict).resolves.toBe("own");
  });

  it("answers 'own' at once without BroadcastChannel", async () => {
    const original = globalThis.BroadcastChannel;
    try {
      (globalThis as { BroadcastChannel?: unknown }).BroadcastChannel = undefined;
      const claims = new TabClaims("x", {});
      pages.push(claims);
      await expect(claims.verify("3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10")).resolves.toBe("own");
    } finally {
      globalThis.BroadcastChannel = original;
    }
  });
});
