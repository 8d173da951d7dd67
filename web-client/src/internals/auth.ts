import { ERROR_REASONS } from "../codes.js";
import { TabrpcError } from "../error.js";

/** Marks a `TabrpcError` as "dropped because the tab's account changed" (see `isAuthChange` in auth/tabAuth.ts). */
export class AuthChangeCause {
  constructor(
    /** The epoch the call started in. */
    readonly from: number,
    /** The epoch when it was dropped. */
    readonly to: number,
    /**
     * A mutation dropped after its request may have left: the server may have run it (its
     * answer was dropped, not its effect).
     */
    readonly outcomeUnknown: boolean = false,
  ) {}
}

/**
 * The error of a call cancelled or dropped because the epoch moved on, or made for an account
 * that is not the tab's. With `outcomeUnknown` (a mutation whose request may have been sent),
 * the message says the server may have run it.
 */
export function authChangeError(path: string, from: number, to: number, response?: Response, outcomeUnknown = false): TabrpcError {
  const what = path || "the server";
  return new TabrpcError({
    code: "CLIENT_CLOSED_REQUEST",
    message: outcomeUnknown
      ? `Outcome unknown: the tab's account changed (sign-in, sign-out or switch) after the mutation ${what} was sent; the server may have run it, its answer was dropped`
      : `Dropped: the tab's account changed (sign-in, sign-out or switch) while the call to ${what} was in flight`,
    httpStatus: 0,
    path,
    response,
    cause: new AuthChangeCause(from, to, outcomeUnknown),
  });
}

/**
 * The error of a call made for account `viewerId` while the tab is on `current`: it is not sent
 * (another account's token must never carry it).
 */
export function otherAccountError(path: string, viewerId: string | null, current: string | null, epoch: number): TabrpcError {
  return new TabrpcError({
    code: "CLIENT_CLOSED_REQUEST",
    message: `Dropped: the call to ${path || "the server"} is for ${viewerId === null ? "no account (anonymous)" : "another account"}, and the tab is ${current === null ? "signed out" : "signed in to another account"}; it was not sent`,
    httpStatus: 0,
    path,
    cause: new AuthChangeCause(epoch, epoch),
  });
}

/**
 * A signal that fires when any of `signals` does (`AbortSignal.any`, or listeners where it is
 * missing), and the function that stops following them (a no-op with `AbortSignal.any`, whose
 * references are weak).
 */
export function anySignal(signals: readonly (AbortSignal | undefined)[]): { signal: AbortSignal; stop: () => void } {
  const given = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  if (given.length === 1 && given[0] !== undefined) return { signal: given[0], stop: () => undefined };
  if (typeof AbortSignal.any === "function") return { signal: AbortSignal.any(given), stop: () => undefined };
  const controller = new AbortController();
  const stop = () => {
    for (const signal of given) signal.removeEventListener("abort", onAbort);
  };
  const onAbort = function (this: AbortSignal) {
    stop();
    controller.abort(this.reason);
  };
  for (const signal of given) {
    if (signal.aborted) {
      controller.abort(signal.reason);
      stop();
      break;
    }
    signal.addEventListener("abort", onAbort, { once: true });
  }
  return { signal: controller.signal, stop };
}

/** A token worth sending: a non-empty string that is not a serialised placeholder. */
export function isUsableToken(token: unknown): token is string {
  if (typeof token !== "string") return false;
  const trimmed = token.trim();
  return trimmed !== "" && trimmed !== "null" && trimmed !== "undefined";
}

/** Resolves after `ms`; rejects with `signal.reason` as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The rejection of {@link withTimeout}. */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}

/**
 * The `exp` claim (seconds since the epoch) of a JWT's payload, decoded **without** verifying
 * anything (only to know when to ask for a new one); `undefined` for a token that is not a JWT or
 * has no numeric `exp`.
 */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined || payload === "") return undefined;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const json: unknown = JSON.parse(atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4)));
    const exp = typeof json === "object" && json !== null ? (json as { exp?: unknown }).exp : undefined;
    return typeof exp === "number" && Number.isFinite(exp) ? exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `token` expires within `marginMs` of `now` (or has expired). A token whose `exp` cannot
 * be decoded is not near its expiry (the provider's cache decides for it).
 */
export function nearExpiry(token: string, marginMs: number, now = Date.now()): boolean {
  const exp = tokenExpiry(token);
  return exp !== undefined && exp * 1000 - now <= marginMs;
}

/** `promise`, or a rejection (a {@link TimeoutError}) after `ms` (the promise itself keeps running; its outcome is ignored). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(`${what} took more than ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** `promise`, or a rejection with `signal.reason` as soon as `signal` fires. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** Runs every listener even if one throws; a throw is re-raised on its own, outside the loop. */
export function notifyAll<T>(listeners: Iterable<(value: T) => void>, value: T): void {
  for (const listener of [...listeners]) {
    try {
      listener(value);
    } catch (error) {
      // A bug in one listener must not stop the others (e.g. the query clean-up at sign-out).
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

/**
 * A 401 that says the token was refused: `error.data.reason` is `invalid_token`, or its
 * `WWW-Authenticate` says so (RFC 6750; the header alone may be dropped by a proxy, or hidden
 * from a cross-origin page that the server does not expose it to).
 */
export function isInvalidToken(error: unknown): boolean {
  if (!(error instanceof TabrpcError) || error.httpStatus !== 401) return false;
  if (error.reason === ERROR_REASONS.INVALID_TOKEN) return true;
  const challenge = error.response?.headers.get("www-authenticate") ?? "";
  return /\berror\s*=\s*"?invalid_token"?/i.test(challenge);
}
