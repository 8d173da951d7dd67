import { TabrpcError } from "../error.js";

/** Marks a `TabrpcError` as "dropped because the tab's account changed" (see `isAuthChange` in auth/tabAuth.ts). */
export class AuthChangeCause {
  constructor(
    /** The epoch the call started in. */
    readonly from: number,
    /** The epoch when it was dropped. */
    readonly to: number,
  ) {}
}

/** The error of a call cancelled or dropped because the epoch moved on. */
export function authChangeError(path: string, from: number, to: number, response?: Response): TabrpcError {
  return new TabrpcError({
    code: "CLIENT_CLOSED_REQUEST",
    message: `Dropped: the tab's account changed (sign-in, sign-out or switch) while the call to ${path || "the server"} was in flight`,
    httpStatus: 0,
    path,
    response,
    cause: new AuthChangeCause(from, to),
  });
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

/** `promise`, or a rejection after `ms` (the promise itself keeps running; its outcome is ignored). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
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
