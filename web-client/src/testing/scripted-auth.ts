// Test support only (not part of the package): an auth source whose state and token answers
// the test scripts step by step.
import type { AuthSource, GetTokenOptions } from "../auth/source.js";

/** One scripted answer of `getToken`: a value, a thrown error, or a promise the test settles. */
export type TokenAnswer = string | null | undefined | Error | Promise<string | null | undefined>;

export interface ScriptedSource extends AuthSource {
  /** Every `getToken` call's options, in order. */
  readonly calls: GetTokenOptions[];
  /** Answers for the next `getToken` calls, in order; when empty, `token-<account>` (or null). */
  readonly answers: TokenAnswer[];
  /** Changes the state and notifies (as the provider would). */
  set(state: Partial<{ accountId: string | null; sessionId: string | null; accounts: readonly string[] }>): void;
  /** Notifies without changing anything (a provider's redundant notification). */
  poke(): void;
}

export function scriptedSource(initial: { accountId?: string | null; accounts?: readonly string[] } = {}): ScriptedSource {
  let accountId = initial.accountId ?? null;
  let sessionId: string | null = accountId === null ? null : `sess_${accountId}`;
  let accounts = initial.accounts ?? (accountId === null ? [] : [accountId]);
  const listeners = new Set<() => void>();
  const calls: GetTokenOptions[] = [];
  const answers: TokenAnswer[] = [];
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  return {
    calls,
    answers,
    getToken(options) {
      calls.push(options);
      const answer = answers.length > 0 ? answers.shift() : accountId === null ? null : `token-${accountId}`;
      if (answer instanceof Error) return Promise.reject(answer);
      return Promise.resolve(answer);
    },
    accountId: () => accountId,
    sessionId: () => sessionId,
    signedInAccounts: () => accounts.length,
    signedInAccountIds: () => accounts,
    subscribe(onChange) {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
    set(state) {
      if (state.accountId !== undefined) {
        accountId = state.accountId;
        sessionId = state.sessionId !== undefined ? state.sessionId : accountId === null ? null : `sess_${accountId}`;
      } else if (state.sessionId !== undefined) {
        sessionId = state.sessionId;
      }
      if (state.accounts !== undefined) accounts = state.accounts;
      notify();
    },
    poke: notify,
  };
}

/** A promise with its settle functions exposed. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
