// Test support only (not part of the package): a `fetch` that records requests and answers from
// a handler, and helpers to build replies.
import type { FetchLike } from "../types.js";

export interface RecordedRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
  readonly signal: AbortSignal;
  /** `fetch`'s `credentials`, when the link set it. */
  readonly credentials?: RequestCredentials;
}

export type FakeFetch = FetchLike & { readonly requests: RecordedRequest[] };

/** A fetch whose replies come from `respond`; every request is recorded in `.requests`. */
export function fakeFetch(respond: (request: RecordedRequest) => Response | Promise<Response>): FakeFetch {
  const requests: RecordedRequest[] = [];
  const fn = async (url: string, init: RequestInit): Promise<Response> => {
    const signal = init.signal ?? new AbortController().signal;
    const request: RecordedRequest = {
      url,
      method: init.method ?? "GET",
      headers: { ...(init.headers as Record<string, string>) },
      body: typeof init.body === "string" ? init.body : undefined,
      signal,
      ...(init.credentials === undefined ? {} : { credentials: init.credentials }),
    };
    requests.push(request);
    const reply = respond(request);
    // Like the real fetch: a signal that fires while waiting rejects with an AbortError.
    return await new Promise<Response>((resolve, reject) => {
      const onAbort = () => reject(new DOMException("This operation was aborted", "AbortError"));
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      Promise.resolve(reply).then(resolve, reject);
    });
  };
  return Object.assign(fn, { requests });
}

/** A JSON reply. */
export function jsonReply(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** The calls of a tRPC-style batch URL: paths, and the decoded `input` object (if any). */
export function parseBatchUrl(url: string): { paths: string[]; input: Record<string, unknown> | undefined } {
  const parsed = new URL(url);
  const paths = decodeURIComponent(parsed.pathname.split("/").pop() ?? "").split(",");
  const input = parsed.searchParams.get("input");
  return { paths, input: input === null ? undefined : (JSON.parse(input) as Record<string, unknown>) };
}

/** A 200 reply whose body the test writes piece by piece. */
export interface WrittenReply {
  readonly response: Response;
  /** Sends `text` as the next piece of the body. */
  write(text: string): void;
  close(): void;
  fail(error: unknown): void;
  /** Whether the reader cancelled the body (the client let go of it). */
  cancelled(): boolean;
}

/** A reply of `contentType` whose body the test writes piece by piece. */
export function writtenReply(contentType: string): WrittenReply {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start: (c) => {
      controller = c;
    },
    cancel: () => {
      cancelled = true;
    },
  });
  const encoder = new TextEncoder();
  return {
    response: new Response(body, { status: 200, headers: { "content-type": contentType } }),
    write: (text) => controller?.enqueue(encoder.encode(text)),
    close: () => controller?.close(),
    fail: (error) => controller?.error(error),
    cancelled: () => cancelled,
  };
}

/** A streamed (JSONL) reply whose lines the test writes one by one. */
export function streamReply(): WrittenReply & { line: (value: unknown) => void } {
  const reply = writtenReply("application/json");
  return { ...reply, line: (value) => reply.write(`${JSON.stringify(value)}\n`) };
}

/** Lets pending promise callbacks and timers of the current macrotask run. */
export function tick(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
