/**
 * Cache keys with the shape of tRPC's, scoped per account (client.md section 5):
 *
 * ```ts
 * [["profile", "getUser"], { input: { ...input, viewerId }, type: "query" }]
 * ```
 *
 * `viewerId` is **always present**: the account id, or `null` when anonymous (never `undefined`,
 * which TanStack Query hashes like "absent", so anonymous and signed-in entries would collide).
 * An input that is not an object (a string, a number, an array) is kept under `$input`:
 * `{ $input: "abc", viewerId }`.
 *
 * Queries of session procedures (client.md section 6) carry the tab's session id too, so each
 * session has its own cache entries: `{ input: { ...input, sessionId, viewerId } }`, with
 * `sessionId: null` while the tab has none yet (such queries are disabled).
 *
 * @module
 */

/** `"profile.getUser"` → `["profile", "getUser"]`; `""` → `[]`. */
export type PathSegments<TPath extends string> = TPath extends ""
  ? []
  : TPath extends `${infer Head}.${infer Rest}`
    ? [Head, ...PathSegments<Rest>]
    : [TPath];

/** The fields a key keeps of an input (before `viewerId` is added). */
type InputFields<TInput> = TInput extends null | undefined
  ? {}
  : TInput extends readonly unknown[]
    ? { $input: TInput }
    : TInput extends object
      ? Omit<TInput, "viewerId">
      : { $input: TInput };

/** The `input` part of a key: the call's input with `viewerId` always present. */
export type KeyInput<TInput> = InputFields<TInput> & { viewerId: string | null };

/** The key of a query of procedure `TPath` with input type `TInput`. */
export type ProcedureQueryKey<TPath extends string, TInput> = [
  PathSegments<TPath>,
  { input: KeyInput<TInput>; type: "query" },
];

/** The input without the fields an infinite query's pages vary by (`cursor`, `direction`). */
export type WithoutCursor<TInput> = TInput extends null | undefined
  ? TInput
  : TInput extends readonly unknown[]
    ? TInput
    : TInput extends object
      ? Omit<TInput, "cursor" | "direction">
      : TInput;

/**
 * The key of an infinite query of procedure `TPath` (its pages are one cache entry): the input
 * without `cursor`, and `type: "infinite"`, as tRPC's.
 */
export type ProcedureInfiniteQueryKey<TPath extends string, TInput> = [
  PathSegments<TPath>,
  { input: KeyInput<WithoutCursor<TInput>>; type: "infinite" },
];

/**
 * A filter key of one account's queries under a path (see `pathFilter` and `queryFilter` of the
 * option builders): `[["a","b"], { input: { ...input, viewerId }, type? }]`.
 */
export type AccountFilterKey<TPath extends string> = [
  PathSegments<TPath>,
  { input: { viewerId: string | null } & Record<string, unknown>; type?: "query" | "infinite" | "subscription" },
];

/** The key of a mutation of procedure `TPath` (inputs are not part of it; the account is). */
export type ProcedureMutationKey<TPath extends string> = [
  PathSegments<TPath>,
  { input: { viewerId: string | null }; type: "mutation" },
];

/** A filter key matching every procedure under a path, for every account. */
export type PathKey<TPath extends string> = [PathSegments<TPath>];

/** A filter key matching every query (and mutation) of one account. */
export type AccountKey = [[], { input: { viewerId: string | null } }];

/** A filter key matching every query of one session id. */
export type SessionKey = [[], { input: { sessionId: string | null } }];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function segments(path: string): string[] {
  return path === "" ? [] : path.split(".");
}

/** The `input` part of a key at run time (see {@link KeyInput}). */
export function keyInput(input: unknown, viewerId: string | null): Record<string, unknown> {
  if (input === undefined || input === null) return { viewerId };
  if (isPlainObject(input)) return { ...input, viewerId };
  return { $input: input, viewerId };
}

/**
 * The key of a query: `[["a","b"], { input: { ...input, viewerId }, type: "query" }]`; with a
 * `sessionId` (a session procedure's, `null` while there is none yet) it is in the input too,
 * over any the input has.
 */
export function queryKeyOf(
  path: string,
  input: unknown,
  viewerId: string | null,
  sessionId?: string | null,
): [string[], { input: Record<string, unknown>; type: "query" }] {
  const fields = keyInput(input, viewerId);
  return [segments(path), { input: sessionId === undefined ? fields : { ...fields, sessionId }, type: "query" }];
}

/** The input of an infinite query's key: without `cursor` and `direction` (the pages vary by them). */
function withoutCursor(input: unknown): unknown {
  if (!isPlainObject(input)) return input;
  const { cursor: _cursor, direction: _direction, ...rest } = input;
  return rest;
}

/**
 * The key of an infinite query: `[["a","b"], { input: { ...input, viewerId }, type: "infinite" }]`,
 * the input without `cursor` and `direction`; a `sessionId` as in {@link queryKeyOf}.
 */
export function infiniteQueryKeyOf(
  path: string,
  input: unknown,
  viewerId: string | null,
  sessionId?: string | null,
): [string[], { input: Record<string, unknown>; type: "infinite" }] {
  const [segs, { input: fields }] = queryKeyOf(path, withoutCursor(input), viewerId, sessionId);
  return [segs, { input: fields, type: "infinite" }];
}

/**
 * A filter key for one account's entries under a dotted path: `[["a","b"], { input: { ...input,
 * viewerId }, type }]` (`type` left out: every kind). TanStack Query matches a filter's objects
 * partially, so the key matches every input that has these fields, and only the entries of
 * account `viewerId`.
 */
export function accountFilterKeyOf(
  path: string,
  input: unknown,
  viewerId: string | null,
  type?: "query" | "infinite" | "subscription",
): [string[], { input: Record<string, unknown>; type?: "query" | "infinite" | "subscription" }] {
  const fields = keyInput(type === "infinite" ? withoutCursor(input) : input, viewerId);
  return [segments(path), type === undefined ? { input: fields } : { input: fields, type }];
}

/** The key of a mutation: `[["a","b"], { input: { viewerId }, type: "mutation" }]`. */
export function mutationKeyOf(path: string, viewerId: string | null): [string[], { input: { viewerId: string | null }; type: "mutation" }] {
  return [segments(path), { input: { viewerId }, type: "mutation" }];
}

/**
 * A filter key for every query under a dotted path, whatever the account:
 * `pathKey("profile")` → `[["profile"]]`, `pathKey("profile.getUser")` →
 * `[["profile","getUser"]]`, `pathKey()` → `[[]]` (everything). TanStack Query matches keys by
 * prefix, so `queryClient.invalidateQueries({ queryKey: pathKey("profile") })` refreshes every
 * account's `profile.*`.
 */
export function pathKey<TPath extends string = "">(path?: TPath): PathKey<TPath> {
  return [segments(path ?? "")] as PathKey<TPath>;
}

/**
 * A filter key for every query of one account (`null`: the anonymous ones), whatever the
 * procedure: `[[], { input: { viewerId: id } }]`.
 *
 * @example On a sign-out of `id` (what `connectQueryClient` does).
 * ```ts
 * await queryClient.cancelQueries({ queryKey: accountKey(id) });
 * queryClient.removeQueries({ queryKey: accountKey(id) });
 * ```
 */
export function accountKey(viewerId: string | null): AccountKey {
  return [[], { input: { viewerId } }];
}

/**
 * A filter key for every query of one session id (`null`: the queries built while the tab had
 * none), whatever the procedure and the account: `[[], { input: { sessionId: id } }]`.
 *
 * @example After a refresh (what `connectQueryClient` does when given the session store).
 * ```ts
 * await queryClient.cancelQueries({ queryKey: sessionKey(oldId) });
 * queryClient.removeQueries({ queryKey: sessionKey(oldId) });
 * ```
 */
export function sessionKey(sessionId: string | null): SessionKey {
  return [[], { input: { sessionId } }];
}
