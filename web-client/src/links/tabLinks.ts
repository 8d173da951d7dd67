import type { TabAuth } from "../auth/tabAuth.js";
import type { SessionStore } from "../session/store.js";
import type { HTTPBatchLinkOptions, Link } from "../types.js";
import { authLink, type AuthLinkOptions } from "./authLink.js";
import { httpBatchLink } from "./httpBatchLink.js";
import { httpBatchStreamLink } from "./httpBatchStreamLink.js";
import { httpSubscriptionLink, type HTTPSubscriptionLinkOptions } from "./httpSubscriptionLink.js";
import { loggerLink, type LoggerLinkOptions } from "./loggerLink.js";
import { sessionLink } from "./sessionLink.js";
import { splitLink } from "./splitLink.js";

/** Options of {@link tabLinks}. */
export interface TabLinksOptions extends HTTPBatchLinkOptions, Omit<AuthLinkOptions, "auth"> {
  /** The tab's auth state (`createTabAuth`): every call is answered for its account. */
  auth: TabAuth;
  /**
   * The tab's session store (`createSessionStore`), needed when the procedures have `"session"`
   * ones (`createClient` throws without it). Defaults to none.
   */
  session?: SessionStore | undefined;
  /**
   * Send every query and mutation through `httpBatchStreamLink` (answers as each is ready).
   * Defaults to `false`: only procedures with a streamed output use it, the others
   * `httpBatchLink`.
   */
  stream?: boolean | undefined;
  /** Options of the subscriptions' `httpSubscriptionLink` (reconnection). Defaults to its defaults. */
  subscriptions?: Omit<HTTPSubscriptionLinkOptions, "url" | "headers" | "fetch" | "credentials"> | undefined;
  /** Log every call (`loggerLink`), with these options or `true` for its defaults. Defaults to `false`. */
  logger?: LoggerLinkOptions | boolean | undefined;
}

/**
 * The chain a tab's client needs, in the only order that works: logging, the tab's session id
 * (`sessionLink`), the tab's account (`authLink`), then the transport: subscriptions to
 * `httpSubscriptionLink`, streamed outputs (or everything, with `stream`) to
 * `httpBatchStreamLink`, the rest to `httpBatchLink`. Build a chain by hand from the same links
 * only to insert links of your own.
 *
 * @example
 * ```ts
 * const auth = createTabAuth(clerkAuthSource(window.Clerk));
 * const session = createSessionStore();
 * const client = createClient(procedures, { links: tabLinks({ url: "/trpc", auth, session }) });
 * ```
 */
export function tabLinks(options: TabLinksOptions): Link[] {
  const { auth, session, stream = false, subscriptions, logger = false, markerHeader, csrfHeader, ...http } = options;
  const transport = splitLink({
    condition: (op) => op.kind === "subscription",
    true: httpSubscriptionLink({
      ...subscriptions,
      url: http.url,
      headers: http.headers,
      fetch: http.fetch,
      credentials: http.credentials,
    }),
    false: splitLink({
      condition: (op) => stream || op.stream,
      true: httpBatchStreamLink(http),
      false: httpBatchLink(http),
    }),
  });
  return [
    ...(logger === false ? [] : [loggerLink(logger === true ? {} : logger)]),
    ...(session === undefined ? [] : [sessionLink({ session })]),
    authLink({ auth, markerHeader, csrfHeader }),
    transport,
  ];
}
