/**
 * What a client knows of its tab: the procedures table it was created with, and the tab's auth
 * state and session store as its links declare them. `createOptionsProxy`,
 * `connectQueryClient` and `connectSession` read them from the client, so the app passes each
 * once (to `tabLinks`, or to `authLink` and `sessionLink`).
 *
 * @module
 */
import type { TabAuth } from "../auth/tabAuth.js";
import type { CallOptions } from "../client.js";
import type { Scope } from "../codes.js";
import type { SessionStore } from "../session/store.js";
import type { Link, OperationKind } from "../types.js";

/** The tab's state a link applies: `authLink` its auth, `sessionLink` its session store. */
export interface TabState {
  readonly auth?: TabAuth | undefined;
  readonly session?: SessionStore | undefined;
}

/** One row of a procedures table. */
export interface ProcedureEntry {
  readonly kind: OperationKind;
  readonly stream: boolean;
  readonly scopes: readonly Scope[];
}

const declared = new WeakMap<Link, TabState>();

/** Records what `link` applies of the tab's state, for the client it is given to. */
export function declareTabState<L extends Link>(link: L, state: TabState): L {
  declared.set(link, state);
  return link;
}

/**
 * The tab's state declared by `links` (the top-level ones: `tabLinks` puts `authLink` and
 * `sessionLink` there). Throws `TypeError` when two links declare different ones: a client
 * answers for one tab.
 */
export function tabStateOf(links: readonly Link[]): TabState {
  let auth: TabAuth | undefined;
  let session: SessionStore | undefined;
  for (const link of links) {
    const state = declared.get(link);
    if (state?.auth !== undefined) {
      if (auth !== undefined && auth !== state.auth) throw new TypeError("tabrpc: createClient: two links carry different auth states (one client, one tab)");
      auth = state.auth;
    }
    if (state?.session !== undefined) {
      if (session !== undefined && session !== state.session) throw new TypeError("tabrpc: createClient: two links carry different session stores (one client, one tab)");
      session = state.session;
    }
  }
  return { auth, session };
}

/** The key under which a client's root answers its {@link ClientInternals}. */
export const CLIENT: unique symbol = Symbol("tabrpc.client");

/** What the client's helpers read of a client. */
export interface ClientInternals extends TabState {
  /** The procedures table, by dotted path. */
  readonly procedures: Readonly<Record<string, ProcedureEntry | undefined>>;
  /** Calls a procedure through the client's links (untyped). */
  call(path: string, kind: "query" | "mutation", input: unknown, options?: CallOptions): Promise<unknown>;
}

/** The internals of a client made by `createClient`; throws `TypeError` for anything else. */
export function internalsOf(client: unknown, who: string): ClientInternals {
  const internals = (client as { [CLIENT]?: ClientInternals } | null | undefined)?.[CLIENT];
  if (internals === undefined) throw new TypeError(`tabrpc: ${who} needs a client made by createClient`);
  return internals;
}
