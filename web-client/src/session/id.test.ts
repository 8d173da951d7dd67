import { afterEach, describe, expect, it, vi } from "vitest";
import { digestOf, generateSessionId, isSessionId } from "./id.js";

const V4 = "3f0c2a9e-7b1d-4c5e-9a2f-1d3b5c7e9f10";

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("isSessionId", () => {
  it("accepts exactly what the server accepts: a hyphenated UUID v4, RFC 4122 variant, either case", () => {
    expect(isSessionId(V4)).toBe(true);
    expect(isSessionId(V4.toUpperCase())).toBe(true);
    expect(isSessionId("3f0c2a9e-7b1d-1c5e-9a2f-1d3b5c7e9f10")).toBe(false); // version 1
    expect(isSessionId("3f0c2a9e-7b1d-4c5e-7a2f-1d3b5c7e9f10")).toBe(false); // NCS variant
    expect(isSessionId("3f0c2a9e7b1d4c5e9a2f1d3b5c7e9f10")).toBe(false); // simple form
    expect(isSessionId(`{${V4}}`)).toBe(false);
    expect(isSessionId(` ${V4}`)).toBe(false);
    expect(isSessionId("00000000-0000-0000-0000-000000000000")).toBe(false);
    expect(isSessionId(null)).toBe(false);
    expect(isSessionId(42)).toBe(false);
  });
});

describe("generateSessionId", () => {
  it("uses crypto.randomUUID when there is one", () => {
    const spy = vi.spyOn(globalThis.crypto, "randomUUID");
    const id = generateSessionId();
    expect(spy).toHaveBeenCalledOnce();
    expect(isSessionId(id)).toBe(true);
    expect(generateSessionId()).not.toBe(id);
  });

  it("makes a v4 from crypto.getRandomValues without randomUUID (an insecure context)", () => {
    const real = globalThis.crypto;
    const getRandomValues = vi.fn(<T extends ArrayBufferView | null>(array: T): T => real.getRandomValues(array as unknown as Uint8Array) as unknown as T);
    vi.stubGlobal("crypto", { getRandomValues });
    const random = vi.spyOn(Math, "random");
    const ids = Array.from({ length: 200 }, () => generateSessionId());
    expect(getRandomValues).toHaveBeenCalledTimes(200);
    expect(ids.every(isSessionId)).toBe(true);
    expect(ids.every((id) => id === id.toLowerCase())).toBe(true);
    expect(new Set(ids).size).toBe(200);
    expect(random).not.toHaveBeenCalled();
  });

  it("sets the version and variant bits whatever the random bytes", () => {
    vi.stubGlobal("crypto", { getRandomValues: <T extends ArrayBufferView | null>(array: T): T => (array as unknown as Uint8Array).fill(0xff) as unknown as T });
    expect(generateSessionId()).toBe("ffffffff-ffff-4fff-bfff-ffffffffffff");
    vi.stubGlobal("crypto", { getRandomValues: <T extends ArrayBufferView | null>(array: T): T => array });
    expect(generateSessionId()).toBe("00000000-0000-4000-8000-000000000000");
  });

  it("throws a clear error without Web Crypto, and never falls back to Math.random", () => {
    const random = vi.spyOn(Math, "random");
    vi.stubGlobal("crypto", undefined);
    expect(() => generateSessionId()).toThrow(/neither crypto\.randomUUID nor crypto\.getRandomValues.*never made from Math\.random/);
    vi.stubGlobal("crypto", {});
    expect(() => generateSessionId()).toThrow(/neither crypto\.randomUUID nor crypto\.getRandomValues/);
    expect(random).not.toHaveBeenCalled();
  });
});

describe("digestOf", () => {
  it("is stable, short, and does not contain the id", () => {
    expect(digestOf(V4)).toBe(digestOf(V4));
    expect(digestOf(V4)).toMatch(/^[0-9a-f]{16}$/);
    expect(digestOf(V4)).not.toBe(digestOf(V4.replace("3f", "3e")));
  });
});
