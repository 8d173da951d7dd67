import { TabrpcError } from "../error.js";
import type { FetchLike, HTTPHeaders, HTTPLinkOptions, Operation, OperationKind, TransportHints } from "../types.js";
import { preview } from "./envelope.js";
import { badGateway, localError } from "./errors.js";

/** A call with its input serialised once, when it was made (later changes to the object are not sent). */
export interface SerializedCall {
  readonly op: Operation;
  /** The input as JSON; `undefined` for "no input". */
  readonly json: string | undefined;
}

/** Serialises the input now; a value JSON cannot carry (a cycle, a BigInt) fails the call locally. */
export function serializeInput(op: Operation): string | undefined {
  if (op.input === undefined) return undefined;
  try {
    return JSON.stringify(op.input);
  } catch (cause) {
    throw localError("BAD_REQUEST", `The input of ${op.path} cannot be sent as JSON: ${String(cause)}`, op.path, {
      cause,
    });
  }
}

/** The base URL without trailing slashes. */
export function trimBase(url: string): string {
  return url.replace(/\/+$/, "");
}

/** Queries carry inputs in the URL; mutations never do. */
function inputObject(calls: readonly SerializedCall[]): string | undefined {
  const entries: string[] = [];
  calls.forEach((call, index) => {
    if (call.json !== undefined) entries.push(`"${index}":${call.json}`);
  });
  return entries.length > 0 ? `{${entries.join(",")}}` : undefined;
}

/** `<base>/<path1>,<path2>?batch=1[&input=<{"0":…}>]`; `input` is left out when no query has one. */
export function batchUrl(base: string, kind: OperationKind, calls: readonly SerializedCall[]): string {
  const url = `${base}/${calls.map((call) => encodeURIComponent(call.op.path)).join(",")}?batch=1`;
  const input = kind === "query" ? inputObject(calls) : undefined;
  return input === undefined ? url : `${url}&input=${encodeURIComponent(input)}`;
}

/** The POST body of a batch of mutations: `{"0":…}`, `{}` when none has an input. */
export function batchBody(calls: readonly SerializedCall[]): string {
  return inputObject(calls) ?? "{}";
}

/**
 * The exact length of {@link batchUrl} for a batch being filled, without building it:
 * `encodeURIComponent` encodes character by character, so encoded lengths add up.
 */
export class UrlSizer {
  private count = 0;
  private pathChars = 0;
  private inputCount = 0;
  private inputChars = 0;

  constructor(
    private readonly base: string,
    private readonly kind: OperationKind,
  ) {}

  /** Lengths of the parts one call adds: its encoded path, and its encoded JSON input if any. */
  static measure(call: SerializedCall): { path: number; input: number | undefined } {
    return {
      path: encodeURIComponent(call.op.path).length,
      input: call.json === undefined ? undefined : encodeURIComponent(call.json).length,
    };
  }

  /** The URL length if a call of these sizes were added now. */
  lengthWith(size: { path: number; input: number | undefined }): number {
    const withInput = this.kind === "query" && size.input !== undefined;
    return this.total(
      this.count + 1,
      this.pathChars + size.path,
      this.inputCount + (withInput ? 1 : 0),
      this.inputChars + (withInput ? this.entryChars(size.input ?? 0) : 0),
    );
  }

  push(size: { path: number; input: number | undefined }): void {
    if (this.kind === "query" && size.input !== undefined) {
      this.inputCount += 1;
      this.inputChars += this.entryChars(size.input);
    }
    this.count += 1;
    this.pathChars += size.path;
  }

  reset(): void {
    this.count = this.pathChars = this.inputCount = this.inputChars = 0;
  }

  /** `"<index>":<json>` encoded: `%22` index `%22%3A` json. */
  private entryChars(inputChars: number): number {
    return 9 + String(this.count).length + inputChars;
  }

  private total(count: number, pathChars: number, inputCount: number, inputChars: number): number {
    // `<base>/` + paths joined by `,` + `?batch=1`
    let length = this.base.length + 1 + pathChars + (count - 1) + 8;
    // `&input=` + `%7B` + entries joined by `%2C` + `%7D`
    if (inputCount > 0) length += 7 + 6 + inputChars + 3 * (inputCount - 1);
    return length;
  }
}

/** Checked when a link is created, so a missing `fetch` fails at start-up, not per call. */
export function checkFetch(options: HTTPLinkOptions): void {
  if (options.fetch === undefined && typeof globalThis.fetch !== "function") {
    throw new TypeError("tabrpc: no global fetch in this environment; pass the `fetch` option");
  }
}

export interface SendRequest {
  readonly options: HTTPLinkOptions;
  readonly operations: readonly Operation[];
  readonly url: string;
  readonly method: "GET" | "POST";
  readonly body: string | undefined;
  readonly extraHeaders: HTTPHeaders;
  readonly signal: AbortSignal;
  /** For messages and errors: the call's path, or the joined paths of a batch. */
  readonly path: string;
}

/** The link's `headers` option, then each distinct per-call header function (transport hints). */
async function resolveHeaders(request: SendRequest): Promise<Record<string, string>> {
  const { headers } = request.options;
  const info = { operations: request.operations };
  const hooks = new Set<NonNullable<TransportHints["headers"]>>();
  for (const op of request.operations) {
    if (op.transport?.headers !== undefined) hooks.add(op.transport.headers);
  }
  const resolved: HTTPHeaders[] = [];
  try {
    resolved.push(typeof headers === "function" ? await headers(info) : headers ?? {});
    for (const hook of hooks) resolved.push(await hook(info));
  } catch (cause) {
    if (cause instanceof TabrpcError) throw cause;
    throw localError("CLIENT_CLOSED_REQUEST", `Not sent: the headers option failed: ${String(cause)}`, request.path, {
      cause,
    });
  }
  const out: Record<string, string> = {};
  for (const source of [request.extraHeaders, ...resolved]) {
    for (const [name, value] of Object.entries(source)) {
      if (value !== undefined) out[name.toLowerCase()] = value;
    }
  }
  return out;
}

/**
 * Resolves the headers (right before fetch), then fetches. Rejects with a `TabrpcError`:
 * `CLIENT_CLOSED_REQUEST` if the signal fired first, `SERVICE_UNAVAILABLE` if fetch threw.
 */
export async function send(request: SendRequest): Promise<Response> {
  const headers = await resolveHeaders(request);
  const aborted = () => localError("CLIENT_CLOSED_REQUEST", `The call to ${request.path} was aborted`, request.path);
  if (request.signal.aborted) throw aborted();
  const init: RequestInit = { method: request.method, headers, signal: request.signal };
  if (request.body !== undefined) init.body = request.body;
  if (request.options.credentials !== undefined) init.credentials = request.options.credentials;
  try {
    // Called detached (no `this`): browsers reject `fetch` called on a foreign object.
    const fetchFn: FetchLike = request.options.fetch ?? ((url, options) => globalThis.fetch(url, options));
    return await fetchFn(request.url, init);
  } catch (cause) {
    if (request.signal.aborted) throw aborted();
    throw localError("SERVICE_UNAVAILABLE", `Could not reach the server for ${request.path}: ${String(cause)}`, request.path, {
      cause,
    });
  }
}

/** Reads a whole JSON reply; an unreadable or non-JSON body is BAD_GATEWAY. */
export async function readJson(response: Response, path: string, signal: AbortSignal): Promise<unknown> {
  let text: string;
  try {
    text = await response.text();
  } catch (cause) {
    if (signal.aborted) throw localError("CLIENT_CLOSED_REQUEST", `The call to ${path} was aborted`, path, { response, cause });
    throw badGateway(`The reply for ${path} was cut: ${String(cause)}`, path, response, cause);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw badGateway(
      `The reply for ${path} is not JSON (HTTP ${response.status}, content-type ${response.headers.get("content-type") ?? "none"}): ${preview(text)}`,
      path,
      response,
      cause,
    );
  }
}

/**
 * Sends one batch request (tRPC v11 format): queries as GET with the inputs in the URL,
 * mutations as POST with the inputs as a JSON body.
 */
export function sendBatch(
  options: HTTPLinkOptions,
  base: string,
  batch: { readonly kind: OperationKind; readonly items: readonly SerializedCall[]; readonly signal: AbortSignal },
  extraHeaders: HTTPHeaders = {},
): Promise<Response> {
  const { kind, items, signal } = batch;
  return send({
    options,
    operations: items.map((item) => item.op),
    url: batchUrl(base, kind, items),
    method: kind === "query" ? "GET" : "POST",
    body: kind === "mutation" ? batchBody(items) : undefined,
    extraHeaders: kind === "mutation" ? { ...extraHeaders, "content-type": "application/json" } : extraHeaders,
    signal,
    path: joinedPaths(items),
  });
}

/** `a,b,c`: how a batch names itself in messages. */
export function joinedPaths(items: readonly SerializedCall[]): string {
  return items.map((item) => item.op.path).join(",");
}
