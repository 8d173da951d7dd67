/**
 * `@tabrpc/client/query`: the TanStack Query integration (client.md section 5). The options
 * proxy (`createOptionsProxy`), the per-account query keys, and `connectQueryClient`.
 *
 * @module
 */
export * from "./connect.js";
export * from "./keys.js";
export * from "./options.js";
export { isViewerMismatch } from "./viewerCall.js";
export * from "./ssr.js";
