/**
 * `@tabrpc/client`: the framework-free core. The typed client (`createClient`), every link (the
 * HTTP transports, `splitLink`, `loggerLink`, `authLink`, `sessionLink` and the ready-made chain
 * `tabLinks`), the error class and the generated codes table.
 *
 * The rest of the package has its own entry point, so an app loads only what it uses:
 *
 * | entry | what |
 * | --- | --- |
 * | `@tabrpc/client/auth` | per-tab auth: `createTabAuth`, `clerkAuthSource`, the token policy |
 * | `@tabrpc/client/session` | session ids by parameter injection: `createSessionStore`, `connectSession` |
 * | `@tabrpc/client/query` | TanStack Query: `createOptionsProxy`, the query keys, `connectQueryClient` |
 * | `@tabrpc/client/react` | React hooks over `@tanstack/react-query` |
 * | `@tabrpc/client/live` | live queries |
 * | `@tabrpc/client/dev-idp` | `devIdpAuthSource`, the demo server's development identity provider |
 *
 * The links take a `TabAuth` or a `SessionStore` as a value and depend on them by type only: this
 * entry never loads the auth, session, query or React modules.
 *
 * @module
 */
export * from "./client.js";
export * from "./codes.js";
export * from "./error.js";
export * from "./links/authLink.js";
export * from "./links/httpBatchLink.js";
export * from "./links/httpBatchStreamLink.js";
export * from "./links/httpLink.js";
export * from "./links/httpSubscriptionLink.js";
export * from "./links/loggerLink.js";
export * from "./links/sessionLink.js";
export * from "./links/splitLink.js";
export * from "./links/tabLinks.js";
export * from "./types.js";
export * from "./fieldErrors.js";
export * from "./links/superjsonLink.js";
