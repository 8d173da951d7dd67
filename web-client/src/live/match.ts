/**
 * Which cached queries a live event touches (live.md section 2): only those of the account and
 * session the stream was opened for, whatever the event says.
 *
 * @module
 */
import { hashKey, type QueryKey } from "@tanstack/query-core";
import { isRecord } from "../internals/envelope.js";
import type { LiveEvent, LiveScope } from "./events.js";

/** Whose stream it is: the account and session id it was opened with. */
export interface StreamOwner {
  /** The tab's account when the stream was opened (`null`: anonymous). */
  readonly account: string | null;
  /** The session id the stream named (`null`: none). */
  readonly session: string | null;
}

/** The parts of a query key a live event looks at; `undefined` for a key of another shape. */
function parts(key: QueryKey): { path: readonly string[]; input: Record<string, unknown> | undefined } | undefined {
  const path = key[0];
  if (!Array.isArray(path) || !path.every((segment) => typeof segment === "string")) return undefined;
  const meta = key[1];
  const input = isRecord(meta) && isRecord(meta.input) ? meta.input : undefined;
  return { path: path as string[], input };
}

/**
 * Whether an event's scope is one the stream was opened for: its account, its session id, or
 * public. Anything else (another account's, another session's) is not applied.
 */
export function scopeBelongs(scope: LiveScope, owner: StreamOwner): boolean {
  switch (scope.kind) {
    case "account":
      return owner.account !== null && scope.id === owner.account;
    case "session":
      return owner.session !== null && scope.id === owner.session;
    case "public":
      return true;
    default:
      return false;
  }
}

/**
 * Whether a key's input belongs to `scope`, as delivered on `owner`'s stream:
 *
 * - `account`: keys whose `viewerId` is the stream's account;
 * - `session`: keys whose `sessionId` is the stream's, and whose `viewerId` is the stream's
 *   account (or absent);
 * - `public` (and a reset of every scope, `null`): keys of the stream's account, anonymous keys
 *   (`viewerId: null`) and keys that name no account. Never another account's keys.
 *
 * A key that names a session id other than the stream's is never in scope: it is another
 * session's data (a session left behind; `connectQueryClient` removes those).
 */
function keyInScope(input: Record<string, unknown> | undefined, scope: LiveScope | null, owner: StreamOwner): boolean {
  const viewer = input !== undefined && Object.hasOwn(input, "viewerId") ? input.viewerId : undefined;
  const ownAccount = viewer === owner.account;
  if (input !== undefined && Object.hasOwn(input, "sessionId") && input.sessionId !== owner.session) return false;
  switch (scope?.kind) {
    case "account":
      return owner.account !== null && ownAccount;
    case "session":
      return owner.session !== null && input !== undefined && Object.hasOwn(input, "sessionId") && (ownAccount || viewer === undefined);
    default:
      return ownAccount || viewer === null || viewer === undefined;
  }
}

/** Whether `path` is one of `paths`, or under one of `prefixes` (on a dot boundary). */
function pathMatches(path: readonly string[], paths: readonly string[], prefixes: readonly string[]): boolean {
  const dotted = path.join(".");
  if (paths.includes(dotted)) return true;
  return prefixes.some((prefix) => dotted === prefix || dotted.startsWith(`${prefix}.`));
}

/** Whether `input` has every field of `subset`, with an equal value (deep, key order ignored). */
function inputMatches(input: Record<string, unknown> | undefined, subset: Record<string, unknown>): boolean {
  return Object.entries(subset).every(
    ([field, value]) => input !== undefined && Object.hasOwn(input, field) && hashKey([input[field]]) === hashKey([value]),
  );
}

/**
 * The keys an `invalidate` or `reset` event touches on `owner`'s stream, as a predicate on query
 * keys; `undefined` when the event is not for this stream (another scope, a `ready`): nothing
 * is touched.
 */
export function eventFilter(event: LiveEvent, owner: StreamOwner): ((key: QueryKey) => boolean) | undefined {
  if (event.type === "reset") {
    if (event.scope !== null && !scopeBelongs(event.scope, owner)) return undefined;
    const scope = event.scope;
    return (key) => {
      const found = parts(key);
      return found !== undefined && keyInScope(found.input, scope, owner);
    };
  }
  if (event.type !== "invalidate" || !scopeBelongs(event.scope, owner)) return undefined;
  const { scope, paths, prefixes, input } = event;
  return (key) => {
    const found = parts(key);
    return (
      found !== undefined &&
      pathMatches(found.path, paths, prefixes) &&
      keyInScope(found.input, scope, owner) &&
      (input === null || inputMatches(found.input, input))
    );
  };
}

/** Reads one message of the stream; `undefined` for anything that is not a {@link LiveEvent}. */
export function parseLiveEvent(value: unknown): LiveEvent | undefined {
  if (!isRecord(value)) return undefined;
  const isStrings = (list: unknown): list is string[] => Array.isArray(list) && list.every((item) => typeof item === "string");
  const nullableString = (field: unknown) => field === null || typeof field === "string";
  switch (value.type) {
    case "ready":
      return nullableString(value.account) && nullableString(value.session)
        ? { type: "ready", account: value.account as string | null, session: value.session as string | null }
        : undefined;
    case "reset": {
      const scope = value.scope === null ? null : parseScope(value.scope);
      return scope === undefined ? undefined : { type: "reset", scope };
    }
    case "invalidate": {
      const scope = parseScope(value.scope);
      const input = value.input ?? null;
      if (scope === undefined || !isStrings(value.paths) || !isStrings(value.prefixes) || (input !== null && !isRecord(input))) return undefined;
      // JSON.parse gave it: a JSON object.
      return { type: "invalidate", scope, paths: value.paths, prefixes: value.prefixes, input: input as Invalidate["input"] };
    }
    default:
      return undefined;
  }
}

type Invalidate = Extract<LiveEvent, { type: "invalidate" }>;

function parseScope(value: unknown): LiveScope | undefined {
  if (!isRecord(value)) return undefined;
  if (value.kind === "public") return { kind: "public" };
  if ((value.kind === "account" || value.kind === "session") && typeof value.id === "string" && value.id !== "") {
    return { kind: value.kind, id: value.id };
  }
  return undefined;
}
