/**
 * `@tabrpc/client/auth`: per-tab auth (client.md sections 3 and 4). `createTabAuth` over an
 * {@link AuthSource} (the token policy, the epochs, the account changes), and the Clerk adapter
 * `clerkAuthSource`. The development identity provider's adapter is at `@tabrpc/client/dev-idp`.
 *
 * @module
 */
export * from "./clerk.js";
export * from "./source.js";
export * from "./tabAuth.js";
