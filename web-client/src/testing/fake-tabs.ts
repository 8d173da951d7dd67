// Test support only (not part of the package): browser tabs as far as the session store sees
// them: a window (an event target) with its own sessionStorage, and one localStorage shared by
// the tabs of a browser, whose writes fire `storage` events in the *other* tabs, as browsers do.
// Tabs talk over the real BroadcastChannel of the test process.
import type { TabStorage } from "../auth/devIdp.js";
import type { SessionWindow } from "../session/store.js";

/** A Map-backed storage; `failing` makes every access throw (private mode, blocked storage). */
export class MemoryStorage implements TabStorage {
  readonly items = new Map<string, string>();
  failing = false;
  /** Called after each change with the key and the new value (`null`: removed). */
  onChange: ((key: string, value: string | null) => void) | undefined;

  getItem(key: string): string | null {
    this.#check();
    return this.items.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    this.#check();
    this.items.set(key, String(value));
    this.onChange?.(key, String(value));
  }

  removeItem(key: string): void {
    this.#check();
    this.items.delete(key);
    this.onChange?.(key, null);
  }

  /** A copy, as the browser makes of sessionStorage for `window.open` and "duplicate tab". */
  copy(): MemoryStorage {
    const copy = new MemoryStorage();
    for (const [key, value] of this.items) copy.items.set(key, value);
    return copy;
  }

  #check(): void {
    if (this.failing) throw new DOMException("The operation is insecure.", "SecurityError");
  }
}

/** One page of a tab. */
export interface FakeTab extends SessionWindow {
  dispatchEvent(event: Event): boolean;
  readonly sessionStorage: MemoryStorage;
  readonly localStorage: MemoryStorage;
  /** Fires `pagehide` (the page unloads, reloads, navigates, or enters the back/forward cache). */
  hide(persisted?: boolean): void;
  /** Fires `pageshow` (`persisted`: back from the back/forward cache). */
  show(persisted: boolean): void;
}

/** A browser profile: tabs sharing one localStorage. */
export interface FakeBrowser {
  readonly localStorage: MemoryStorage;
  /** A new page with the given sessionStorage (a new, empty one by default). */
  open(sessionStorage?: MemoryStorage): FakeTab;
}

export function fakeBrowser(): FakeBrowser {
  const localStorage = new MemoryStorage();
  const tabs = new Set<FakeTab>();
  localStorage.onChange = (key, value) => {
    // Browsers fire `storage` in every other window of the origin, later (a task), never in
    // the one that wrote. The writer is unknown here: every tab gets it; the store reads the
    // storage itself, so a tab hearing its own write sees no change.
    for (const tab of tabs) {
      setTimeout(() => {
        const event = Object.assign(new Event("storage"), { key, newValue: value, storageArea: localStorage });
        tab.dispatchEvent(event);
      }, 0);
    }
  };
  return {
    localStorage,
    open(sessionStorage = new MemoryStorage()) {
      const target = new EventTarget();
      const tab: FakeTab = Object.assign(target, {
        sessionStorage,
        localStorage,
        hide(persisted = false) {
          target.dispatchEvent(Object.assign(new Event("pagehide"), { persisted }));
        },
        show(persisted: boolean) {
          target.dispatchEvent(Object.assign(new Event("pageshow"), { persisted }));
        },
      });
      tabs.add(tab);
      return tab;
    },
  };
}
