/**
 * Where a session id is kept, and the fallback to memory when the browser refuses storage.
 *
 * @module
 */
import type { TabStorage } from "../auth/devIdp.js";

/**
 * Where the id lives: `"session"` (`sessionStorage`: one id per tab), `"local"`
 * (`localStorage`: one id per browser, followed by every tab), `"memory"` (this page only, lost
 * on reload), or your own storage object (read and written synchronously).
 */
export type SessionStorageOption = "session" | "local" | "memory" | TabStorage;

/** Where the id actually lives now: `"memory"` also after a storage failure. */
export type SessionPersistence = "session" | "local" | "memory" | "custom";

/** The window a store belongs to, as far as storage goes. */
export interface StorageWindow {
  readonly sessionStorage?: TabStorage | undefined;
  readonly localStorage?: TabStorage | undefined;
}

/** The web storage `option` names, or `null` (memory) when it is missing or refused. */
export function resolveStorage(option: SessionStorageOption, win: StorageWindow | undefined, onError: (error: unknown) => void): TabStorage | null {
  if (option === "memory") return null;
  if (typeof option !== "string") return option;
  try {
    // Reading the property itself throws in sandboxed frames and with storage blocked.
    const storage = option === "session" ? win?.sessionStorage : win?.localStorage;
    return storage ?? null;
  } catch (error) {
    onError(error);
    return null;
  }
}

/**
 * One key of a storage that never throws: the first failing read or write (Safari's private
 * mode, a full quota, storage disabled by policy) moves it, with its current value, to memory
 * for the rest of the page's life, and reports the error once.
 */
export class StorageSlot {
  #storage: TabStorage | null;
  #memory: string | null = null;
  readonly #onError: (error: unknown) => void;

  constructor(
    storage: TabStorage | null,
    readonly key: string,
    onError: (error: unknown) => void,
  ) {
    this.#storage = storage;
    this.#onError = onError;
  }

  /** The storage in use, `null` once in memory. */
  get storage(): TabStorage | null {
    return this.#storage;
  }

  read(): string | null {
    if (this.#storage === null) return this.#memory;
    try {
      return this.#storage.getItem(this.key);
    } catch (error) {
      this.#fail(error);
      return this.#memory;
    }
  }

  write(value: string): void {
    this.#memory = value;
    if (this.#storage === null) return;
    try {
      this.#storage.setItem(this.key, value);
    } catch (error) {
      this.#fail(error);
    }
  }

  remove(): void {
    this.#memory = null;
    if (this.#storage === null) return;
    try {
      this.#storage.removeItem(this.key);
    } catch (error) {
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    this.#storage = null;
    this.#onError(error);
  }
}
