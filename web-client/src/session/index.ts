/**
 * `@tabrpc/client/session`: sessions by parameter injection (client.md section 6). The tab's
 * session id (`createSessionStore`), kept in step with the account (`connectSession`).
 *
 * @module
 */
export { isSessionChange } from "./change.js";
export * from "./connect.js";
export { generateSessionId, isSessionId } from "./id.js";
export type { SessionPersistence, SessionStorageOption, StorageWindow } from "./storage.js";
export * from "./store.js";
export type { CopyCheckOptions } from "./tabClaims.js";
