/**
 * Live invalidation (live.md): `connectLive` keeps the tab's stream open and invalidates the
 * matching queries of the tab's account and session only.
 *
 * @module
 */
export { connectLive } from "./connect.js";
export type { ConnectLiveArgs, ConnectLiveOptions, LiveConnection, LiveState, LiveStatus, SubscriptionPath } from "./connect.js";
export type { LiveEvent, LiveScope } from "./events.js";
