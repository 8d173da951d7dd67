import { describe, expect, it } from "vitest";
import { MemoryStorage } from "../testing/fake-tabs.js";
import { resolveStorage, StorageSlot } from "./storage.js";

describe("resolveStorage", () => {
  it("picks the window's storage by name, memory for 'memory', and a custom object as given", () => {
    const session = new MemoryStorage();
    const local = new MemoryStorage();
    const win = { sessionStorage: session, localStorage: local };
    const onError = () => undefined;
    expect(resolveStorage("session", win, onError)).toBe(session);
    expect(resolveStorage("local", win, onError)).toBe(local);
    expect(resolveStorage("memory", win, onError)).toBeNull();
    const custom = new MemoryStorage();
    expect(resolveStorage(custom, win, onError)).toBe(custom);
    expect(resolveStorage("session", undefined, onError)).toBeNull();
  });

  it("falls back to memory when reading the property throws (sandboxed frames)", () => {
    const errors: unknown[] = [];
    const win = {
      get sessionStorage(): MemoryStorage {
        throw new DOMException("denied", "SecurityError");
      },
    };
    expect(resolveStorage("session", win, (e) => errors.push(e))).toBeNull();
    expect(errors).toHaveLength(1);
  });
});

describe("StorageSlot", () => {
  it("reads and writes its key", () => {
    const storage = new MemoryStorage();
    const slot = new StorageSlot(storage, "k", () => undefined);
    slot.write("v");
    expect(storage.getItem("k")).toBe("v");
    expect(slot.read()).toBe("v");
    slot.remove();
    expect(storage.items.has("k")).toBe(false);
  });

  it("moves to memory, with its value, at the first failure, and reports it once", () => {
    const storage = new MemoryStorage();
    const errors: unknown[] = [];
    const slot = new StorageSlot(storage, "k", (e) => errors.push(e));
    slot.write("before");
    storage.failing = true;
    slot.write("after"); // a full quota, say
    expect(slot.storage).toBeNull();
    expect(slot.read()).toBe("after");
    storage.failing = false;
    expect(storage.getItem("k")).toBe("before"); // never written again
    slot.write("later");
    expect(slot.read()).toBe("later");
    expect(errors).toHaveLength(1);
  });

  it("reads null from memory when the first read fails", () => {
    const storage = new MemoryStorage();
    storage.items.set("k", "stored");
    storage.failing = true;
    const slot = new StorageSlot(storage, "k", () => undefined);
    expect(slot.read()).toBeNull();
    expect(slot.storage).toBeNull();
  });
});
