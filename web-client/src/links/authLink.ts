import type { TabAuth } from "../auth/tabAuth.js";
import { TabrpcError } from "../error.js";
import { authChangeError } from "../internals/auth.js";
import { isRecord } from "../internals/envelope.js";
import type { HTTPHeaders, HTTPRequestInfo, Link, Operation, OperationResult, TransportHints } from "../types.js";

/** Options of {@link authLink}. */
export interface AuthLinkOptions {
  /** The tab's auth state (`createTabAuth`). */
  auth: TabAuth;
  /**
   * The fail-closed marker header, sent when there is no token while several accounts are
   * signed in. Defaults to `x-tabrpc-auth-required` (the server's default).
   */
  markerHeader?: string | undefined;
  /**
   * The header sent on every mutation so that a cookie-authenticated mutation passes the
   * server's CSRF rule; `false` sends none. Defaults to `x-tabrpc-csrf`.
   */
  csrfHeader?: string | false | undefined;
}

/** What the link remembers about each call, in its context, for the request's header function. */
const CALL = "tabrpcAuth";

interface CallAuth {
  /** The epoch the call started in. */
  readonly epoch: number;
  /** A retry after a 401 `invalid_token`: it must not reuse a token fetch already in flight. */
  readonly retry: boolean;
}

/** The call's account: its context's `viewerId`, else its input's, else the tab's current one. */
function viewerOf(op: Operation, auth: TabAuth): string | null {
  const fromContext = op.context.viewerId;
  if (typeof fromContext === "string" || fromContext === null) return fromContext;
  if (isRecord(op.input) && typeof op.input.viewerId === "string") return op.input.viewerId;
  return auth.accountId;
}

function sessionOf(op: Operation): string | null {
  const fromContext = op.context.sessionId;
  if (typeof fromContext === "string" || fromContext === null) return fromContext;
  if (isRecord(op.input) && typeof op.input.sessionId === "string") return op.input.sessionId;
  return null;
}

/** A 401 whose `WWW-Authenticate` says the token was refused (RFC 6750 `invalid_token`). */
function isInvalidToken(error: unknown): boolean {
  if (!(error instanceof TabrpcError) || error.httpStatus !== 401) return false;
  const challenge = error.response?.headers.get("www-authenticate") ?? "";
  return /\berror\s*=\s*"?invalid_token"?/i.test(challenge);
}

/**
 * Puts **this tab's** identity on every HTTP request (client.md sections 2–4), so that a
 * request is answered for the tab's account and never for whichever account the shared session
 * cookie follows. Place it before the transport link:
 *
 * ```ts
 * const auth = createTabAuth(clerkAuthSource(clerk));
 * createClient<Procedures>({ links: [authLink({ auth }), httpBatchLink({ url })] });
 * ```
 *
 * Per HTTP request, right before `fetch` (after batching), it asks for a fresh token
 * (`TabAuth.token`: timeout 5 s, one retry after 500 ms), then sends:
 *
 * - a usable token: `Authorization: Bearer <token>` (never `Bearer null`, `undefined` or empty);
 * - no token while more than one account is signed in in this browser, or while this tab is
 *   signed out and another tab is not: the fail-closed marker (`x-tabrpc-auth-required: 1`), so
 *   the server ignores the shared cookie;
 * - no token, single account (or none at all): no auth header (the cookie still serves
 *   single-account apps);
 * - on mutations, also `x-tabrpc-csrf: 1`.
 *
 * Batches never mix accounts: calls with different `viewerId`s, session ids or epochs go in
 * different HTTP requests (through `Operation.transport.groupKey`, honoured by every HTTP link).
 *
 * Epochs: a call is tagged with the epoch it starts in. If the epoch moves on (sign-in, sign-out,
 * switch) before its token is attached, the call is cancelled; if it moves on before the answer
 * arrives, the answer is dropped. Both reject with `CLIENT_CLOSED_REQUEST` (`isAuthChange(error)`
 * is true), at once, without waiting for a token fetch in flight.
 *
 * A call answered 401 with `WWW-Authenticate: Bearer error="invalid_token"` is retried once with
 * a freshly fetched token.
 */
export function authLink(options: AuthLinkOptions): Link {
  const { auth } = options;
  const marker = (options.markerHeader ?? "x-tabrpc-auth-required").toLowerCase();
  const csrf = options.csrfHeader === false ? undefined : (options.csrfHeader ?? "x-tabrpc-csrf").toLowerCase();

  /** One function for every call, so a batch resolves its headers once. */
  async function headers(request: HTTPRequestInfo): Promise<HTTPHeaders> {
    const calls = request.operations.map((op) => op.context[CALL] as CallAuth | undefined);
    const epoch = calls[0]?.epoch ?? auth.epoch;
    const out: Record<string, string> = {};
    if (csrf !== undefined && request.operations[0]?.kind === "mutation") out[csrf] = "1";
    const token = await auth.token({ epoch, fresh: calls.some((call) => call?.retry === true) });
    if (token !== null) {
      out.authorization = `Bearer ${token}`;
      return out;
    }
    const accounts = auth.source.signedInAccounts();
    // Without a token the server would fall back to the shared cookie, which follows the
    // browser's most recently active tab. That is only this tab's account when the browser has
    // exactly one account and this tab is signed in to it.
    if (accounts > 1 || (accounts === 1 && auth.source.accountId() === null)) out[marker] = "1";
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
    const group = JSON.stringify([viewerOf(op, auth), sessionOf(op), epoch]);
    const attempt = async (retry: boolean): Promise<OperationResult> => {
      const call: CallAuth = { epoch, retry };
      const previous = op.transport?.groupKey;
      try {
        const result = await next({
          ...op,
          context: { ...op.context, [CALL]: call },
          transport: {
            ...op.transport,
            groupKey: previous === undefined ? group : JSON.stringify([previous, group]),
            headers: withEarlier(op.transport?.headers),
          },
        });
        if (auth.epoch !== epoch) throw authChangeError(op.path, epoch, auth.epoch, result.response);
        return result;
      } catch (error) {
        // Whatever the answer was, it belongs to an account state this tab has left.
        if (auth.epoch !== epoch) throw authChangeError(op.path, epoch, auth.epoch, error instanceof TabrpcError ? error.response : undefined);
        throw error;
      }
    };
    try {
      return await attempt(false);
    } catch (error) {
      if (!isInvalidToken(error)) throw error;
      return attempt(true);
    }
  };
}
