import type { TabAuth } from "../auth/tabAuth.js";
import { HEADERS } from "../codes.js";
import { TabrpcError } from "../error.js";
import { anySignal, authChangeError, isInvalidToken, otherAccountError } from "../internals/auth.js";
import { isAsyncIterable } from "../internals/envelope.js";
import { resolveScope, scopedInput } from "../internals/scope.js";
import { declareTabState } from "../internals/tab.js";
import type { HTTPHeaders, HTTPRequestInfo, Link, Operation, OperationResult, TransportHints } from "../types.js";

/** Options of {@link authLink}. */
export interface AuthLinkOptions {
  /** The tab's auth state (`createTabAuth`). */
  auth: TabAuth;
  /**
   * The fail-closed marker header, sent whenever there is no token, unless exactly one account
   * is signed in and it is this tab's. Defaults to `HEADERS.MARKER`, `x-tabrpc-auth-required`
   * (the server's default).
   */
  markerHeader?: string | undefined;
  /**
   * The header sent on every mutation so that a cookie-authenticated mutation passes the
   * server's CSRF rule; `false` sends none. Defaults to `HEADERS.CSRF`, `x-tabrpc-csrf`.
   */
  csrfHeader?: string | false | undefined;
}

/** What the link remembers about each call, in its context, for the request's header function. */
const CALL = "tabrpcAuth";

interface CallAuth {
  /** The epoch the call started in. */
  readonly epoch: number;
  /** The call's account (`null`: anonymous); one for every call of a request (its group key holds it). */
  readonly account: string | null;
  /** A retry after a 401 `invalid_token`: it must not reuse a token fetch already in flight. */
  readonly retry: boolean;
  /** Set once its request's headers are resolved: the request may leave from then on. */
  sent: boolean;
}

/**
 * A streamed output that ends with the auth-change error once the epoch moved on (the stream
 * link fails it with an abort when the call's signal fires); `stop` runs when it ends.
 */
function guardStream(stream: AsyncIterable<unknown>, changed: () => TabrpcError | undefined, stop: () => void): AsyncIterable<unknown> {
  return {
    [Symbol.asyncIterator]() {
      const inner = stream[Symbol.asyncIterator]();
      return {
        async next() {
          const before = changed();
          if (before !== undefined) {
            stop();
            await inner.return?.();
            throw before;
          }
          try {
            const step = await inner.next();
            const after = changed();
            if (after !== undefined) throw after;
            if (step.done === true) stop();
            return step;
          } catch (error) {
            stop();
            throw changed() ?? error;
          }
        },
        async return(value?: unknown) {
          stop();
          return (await inner.return?.(value)) ?? { done: true, value: undefined };
        },
      };
    },
  };
}

/**
 * Puts **this tab's** identity on every HTTP request (client.md sections 2–4), so that a
 * request is answered for the tab's account and never for whichever account the shared session
 * cookie follows. `tabLinks({ url, auth })` puts it in the right place; in a chain of your own,
 * put it after `sessionLink` and before the transport links:
 *
 * ```ts
 * const auth = createTabAuth(clerkAuthSource(clerk));
 * createClient(procedures, { links: [authLink({ auth }), httpBatchLink({ url })] });
 * ```
 *
 * Per HTTP request, right before `fetch` (after batching), it asks for the tab's token
 * (`TabAuth.token`: from the provider's own per-session cache unless the token nears its `exp`;
 * timeout 5 s, paid once per epoch; one retry after 500 ms), then sends:
 *
 * - a usable token: `Authorization: Bearer <token>` (never `Bearer null`, `undefined` or empty);
 * - no token, unless exactly one account is signed in in this browser and it is this tab's: the
 *   fail-closed marker (`x-tabrpc-auth-required: 1`), so the server ignores the shared cookie
 *   (several accounts, a signed-out tab, a provider that has not loaded yet: the server answers
 *   as anonymous);
 * - no token, this tab's account the only one signed in: no auth header (the cookie still
 *   serves single-account apps);
 * - whenever no token is sent for a signed-in tab (marker or not): `x-tabrpc-account: <the
 *   call's account id>`, so that the server refuses a cookie of another account (a provider's
 *   account list can lag behind another tab's sign-in; the cookie follows the last active tab);
 * - on mutations, also `x-tabrpc-csrf: 1`.
 *
 * A call is for one account: its context's `viewerId` (a pin), else the tab's current one (the
 * scope resolver's decision, shared with `sessionLink` and the option builders). A `"viewer"`
 * procedure gets it in its input (`viewerId`, left out when anonymous), so that the server
 * checks it. A call for an account that is not the tab's current one (another
 * account, or `null`, anonymous, while the tab is signed in, or an account while it is signed
 * out) is never sent with this tab's token: it is dropped at once, unsent, with the same error as
 * an epoch change. Batches never mix accounts: calls with different session ids or epochs go in
 * different HTTP requests (through `Operation.transport.groupKey`, honoured by every HTTP link).
 *
 * Epochs: a call is tagged with the epoch it starts in. If the epoch moves on (sign-in, sign-out,
 * switch) before its token is attached, the call is cancelled; if it moves on before the answer
 * arrives, the answer is dropped. Both reject with `CLIENT_CLOSED_REQUEST` (`isAuthChange(error)`
 * is true), at once, without waiting for a token fetch in flight. The call's signal passed on
 * also fires with the epoch (`TabAuth.signal`): its HTTP request is aborted (never sent, if the
 * change lands after the token was attached but before `fetch`), and a streamed output ends with
 * that error. A mutation dropped once its request may have left fails with "outcome unknown"
 * (`isOutcomeUnknown`): the server may have run it.
 *
 * A call answered 401 `invalid_token` (`WWW-Authenticate: Bearer error="invalid_token"`, or
 * `error.data.reason`) is retried once with a freshly fetched token (`getToken({ skipCache: true })`).
 */
export function authLink(options: AuthLinkOptions): Link {
  return declareTabState(link(options), { auth: options.auth });
}

function link(options: AuthLinkOptions): Link {
  const { auth } = options;
  const marker = (options.markerHeader ?? HEADERS.MARKER).toLowerCase();
  const csrf = options.csrfHeader === false ? undefined : (options.csrfHeader ?? HEADERS.CSRF).toLowerCase();

  /** One function for every call, so a batch resolves its headers once. */
  async function headers(request: HTTPRequestInfo): Promise<HTTPHeaders> {
    const calls = request.operations.map((op) => op.context[CALL] as CallAuth | undefined);
    const epoch = calls[0]?.epoch ?? auth.epoch;
    const account = calls[0]?.account ?? null;
    const out: Record<string, string> = {};
    if (csrf !== undefined && request.operations[0]?.kind === "mutation") out[csrf] = "1";
    const token = await auth.token({ epoch, fresh: calls.some((call) => call?.retry === true) });
    for (const call of calls) if (call !== undefined) call.sent = true;
    if (token !== null) {
      out.authorization = `Bearer ${token}`;
      return out;
    }
    // Without a token the server would fall back to the shared cookie, which follows the
    // browser's most recently active tab. That is only this tab's account when the browser has
    // exactly one account and this tab is signed in to it; in any other case (several, none,
    // unknown while the provider loads, a signed-out tab) fail closed.
    const accounts = auth.source.signedInAccounts();
    // `auth.accountId` too: a tab whose sign-out began (`beginSignOut`) is signed out already,
    // while the provider still reports the account and the cookie may still be its.
    const accountId = auth.accountId === null ? null : auth.source.accountId();
    const ids = auth.source.signedInAccountIds?.();
    const onlyThisTab = accounts === 1 && accountId !== null && (ids === undefined || ids === null || ids.includes(accountId));
    if (!onlyThisTab) out[marker] = "1";
    // Whose call this is, so that the server refuses a cookie of any other account (auth.md
    // section 1): the provider's list of accounts may lag behind a sign-in in another tab, and
    // the cookie follows whichever tab was active last. Not a credential; only the tab's own
    // account, and never from a tab that has none (or is leaving it).
    if (account !== null && auth.accountId === account) out[HEADERS.ACCOUNT] = account;
    return out;
  }

  type HeadersHint = NonNullable<TransportHints["headers"]>;
  const composed = new WeakMap<HeadersHint, HeadersHint>();
  /** Keeps a header function an earlier link set; one composed function per earlier one, so batches still call it once. */
  const withEarlier = (earlier: HeadersHint | undefined): HeadersHint => {
    if (earlier === undefined) return headers;
    let both = composed.get(earlier);
    if (both === undefined) {
      both = async (request) => ({ ...(await earlier(request)), ...(await headers(request)) });
      composed.set(earlier, both);
    }
    return both;
  };

  return async (op, next) => {
    const epoch = auth.epoch;
    const current = auth.accountId;
    const scope = resolveScope(op, auth, undefined);
    if (scope.injectSession && typeof op.context.sessionId !== "string") {
      // The session id decides the request's group: it must be known here.
      throw new TypeError(`tabrpc: ${op.path} is a "session" procedure and reached authLink without its session id: put sessionLink before authLink (tabLinks does)`);
    }
    const { viewerId, sessionId } = scope;
    // Another account's call (or an anonymous one in a signed-in tab, and the reverse) must not
    // go out with this tab's token, nor with none (the cookie or the marker would answer for
    // another account than its key's).
    if (viewerId !== current) throw otherAccountError(op.path, viewerId, current, epoch);
    const group = JSON.stringify([viewerId, sessionId, epoch]);
    const input = scopedInput(op.input, scope, ["viewer"]);
    // Ends with the epoch: the request is aborted, a stream stops.
    const { signal, stop } = anySignal([op.signal, auth.signal]);
    /** A mutation that may have reached the server: its drop says so. */
    let mayHaveRun = false;
    const dropped = (response: Response | undefined) =>
      authChangeError(op.path, epoch, auth.epoch, response, op.kind === "mutation" && mayHaveRun);
    const attempt = async (retry: boolean): Promise<OperationResult> => {
      const call: CallAuth = { epoch, account: viewerId, retry, sent: false };
      const previous = op.transport?.groupKey;
      try {
        const result = await next({
          ...op,
          input,
          signal,
          context: { ...op.context, viewerId, [CALL]: call },
          transport: {
            ...op.transport,
            groupKey: previous === undefined ? group : JSON.stringify([previous, group]),
            headers: withEarlier(op.transport?.headers),
          },
        });
        if (call.sent) mayHaveRun = true;
        if (auth.epoch !== epoch) throw dropped(result.response);
        return result;
      } catch (error) {
        if (call.sent) mayHaveRun = true;
        // Whatever the answer was, it belongs to an account state this tab has left.
        if (auth.epoch !== epoch) throw dropped(error instanceof TabrpcError ? error.response : undefined);
        throw error;
      }
    };
    let result: OperationResult;
    try {
      try {
        result = await attempt(false);
      } catch (error) {
        if (!isInvalidToken(error)) throw error;
        result = await attempt(true);
      }
    } catch (error) {
      stop();
      throw error;
    }
    if (!isAsyncIterable(result.data)) {
      stop();
      return result;
    }
    return { ...result, data: guardStream(result.data, () => (auth.epoch === epoch ? undefined : dropped(result.response)), stop) };
  };
}
