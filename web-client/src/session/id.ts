/**
 * Session ids: random UUID v4s made by the client (client.md section 6), in the one form the
 * server accepts (`tabrpc_sessions::SessionId`): 36 characters, hyphenated, version 4, RFC 4122
 * variant.
 *
 * @module
 */

/** The server's form, compared case-insensitively (ids are kept lower-cased). */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** Whether `value` is a session id the server accepts: a hyphenated UUID v4 (either case). */
export function isSessionId(value: unknown): value is string {
  return typeof value === "string" && SESSION_ID.test(value);
}

/** The parts of Web Crypto an id needs; either is enough. */
interface RandomSource {
  randomUUID?: () => string;
  getRandomValues?: <T extends ArrayBufferView | null>(array: T) => T;
}

/**
 * A new session id (lower-case UUID v4), from `crypto.randomUUID` or, where it is missing (the
 * browser exposes it in secure contexts only: an `http://` page on a LAN address has
 * `getRandomValues` but no `randomUUID`), from 16 bytes of `crypto.getRandomValues`.
 *
 * Throws an `Error` when the environment has neither: the id is the only thing that keeps one
 * tab's anonymous state from another's, so it is never made from `Math.random`.
 */
export function generateSessionId(): string {
  // Looked up at each call (not at import), so a polyfill installed later is used.
  const random = (globalThis as { crypto?: RandomSource }).crypto;
  if (typeof random?.randomUUID === "function") return random.randomUUID().toLowerCase();
  if (typeof random?.getRandomValues === "function") {
    const bytes = random.getRandomValues(new Uint8Array(16));
    // RFC 9562 section 5.4: version 4 in the high nibble of byte 6, variant 10 in the top bits of byte 8.
    bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
    bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
    const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  throw new Error(
    "tabrpc: cannot make a session id: this environment has neither crypto.randomUUID nor crypto.getRandomValues " +
      "(a session id is never made from Math.random; provide Web Crypto, e.g. globalThis.crypto = require('node:crypto').webcrypto)",
  );
}

/**
 * A short, stable digest of an id (FNV-1a, 64 bits, hex), so that tabs can talk about an id
 * without sending it: 64 bits of a hash say nothing usable about 122 random bits.
 */
export function digestOf(id: string): string {
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < id.length; i += 1) {
    hash ^= BigInt(id.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, "0");
}
