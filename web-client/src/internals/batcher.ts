import type { TabrpcError } from "../error.js";
import type { HTTPBatchLinkOptions, Operation, OperationKind, OperationResult } from "../types.js";
import { abortError, forCall, localError, wrongLink } from "./errors.js";
import { serializeInput, type SerializedCall, UrlSizer } from "./http.js";

/** One call inside a batch request, as the request's sender sees it. */
export interface BatchItem extends SerializedCall {
  /** Settles the call; a later settle (or an abort) is ignored. `keepOpen`: see {@link release}. */
  resolve(result: OperationResult, keepOpen?: boolean): void;
  reject(error: TabrpcError): void;
  /**
   * Tells the batcher this call no longer needs the HTTP request. Settling does it, unless the
   * result was resolved with `keepOpen` (a streamed output still being read).
   */
  release(): void;
}

/** One HTTP request's worth of calls: same kind, same group, within the size limits. */
export interface BatchRequest {
  readonly kind: OperationKind;
  readonly items: readonly BatchItem[];
  /** Fires when every call of the request was aborted or released before it finished. */
  readonly signal: AbortSignal;
  /** The sender calls it once the reply is fully read; the request is never aborted after it. */
  finish(): void;
}

/** Sends one request; must settle every item. A rejection rejects every item not yet settled. */
export type BatchSender = (request: BatchRequest) => Promise<void>;

interface RequestState {
  readonly controller: AbortController;
  readonly items: Item[];
  finished: boolean;
}

class Item implements BatchItem {
  settled = false;
  released = false;
  /** The queue it waits in until dispatch. */
  queue: Item[] | undefined;
  request: RequestState | undefined;

  constructor(
    readonly op: Operation,
    readonly json: string | undefined,
    private readonly onResolve: (result: OperationResult) => void,
    private readonly onReject: (error: TabrpcError) => void,
  ) {}

  readonly onAbort = (): void => {
    this.reject(abortError(this.op));
    this.release();
    if (this.queue !== undefined) {
      // Dropped before dispatch: it never reaches the wire.
      this.queue.splice(this.queue.indexOf(this), 1);
      this.queue = undefined;
    }
  };

  resolve(result: OperationResult, keepOpen = false): void {
    if (this.settled) return;
    this.settled = true;
    this.onResolve(result);
    if (!keepOpen) this.release();
  }

  reject(error: TabrpcError): void {
    if (this.settled) return;
    this.settled = true;
    this.onReject(forCall(error, this.op));
    this.release();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.op.signal?.removeEventListener("abort", this.onAbort);
    const request = this.request;
    if (request !== undefined && !request.finished && request.items.every((item) => item.released)) {
      request.controller.abort();
    }
  }
}

/**
 * Collects the calls made in one macrotask and sends them as few HTTP requests as the limits
 * allow: one queue per (kind, group key, the operation's `transport.groupKey`), each split
 * greedily in call order.
 *
 * Returns the `load` function a batch link calls for each operation. Throws `RangeError` for bad
 * limits (at link creation).
 */
export function createBatcher(
  linkName: string,
  base: string,
  linkOptions: HTTPBatchLinkOptions,
  send: BatchSender,
): (op: Operation) => Promise<OperationResult> {
  const maxItems = linkOptions.maxItems ?? 100;
  const maxURLLength = linkOptions.maxURLLength ?? 8192;
  const groupKey = linkOptions.groupKey ?? (() => "");
  if (!(maxItems >= 1)) throw new RangeError(`tabrpc: maxItems must be at least 1, got ${maxItems}`);
  if (!(maxURLLength > 0)) throw new RangeError(`tabrpc: maxURLLength must be positive, got ${maxURLLength}`);
  const queues = new Map<string, Item[]>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  function dispatch(): void {
    timer = undefined;
    const pending = [...queues.values()];
    queues.clear();
    for (const queue of pending) {
      for (const items of split(queue)) start(items);
    }
  }

  function split(queue: Item[]): Item[][] {
    const kind = queue[0]?.op.kind ?? "query";
    const sizer = new UrlSizer(base, kind);
    const batches: Item[][] = [];
    let current: Item[] = [];
    for (const item of queue) {
      item.queue = undefined;
      const size = UrlSizer.measure(item);
      if (current.length > 0 && (current.length >= maxItems || sizer.lengthWith(size) > maxURLLength)) {
        batches.push(current);
        current = [];
        sizer.reset();
      }
      if (current.length === 0 && sizer.lengthWith(size) > maxURLLength) {
        item.reject(
          localError(
            "PAYLOAD_TOO_LARGE",
            `Not sent: the call to ${item.op.path} alone needs a URL of ${sizer.lengthWith(size)} characters, more than maxURLLength (${maxURLLength})`,
            item.op.path,
          ),
        );
        continue;
      }
      sizer.push(size);
      current.push(item);
    }
    if (current.length > 0) batches.push(current);
    return batches;
  }

  function start(items: Item[]): void {
    const request: RequestState = { controller: new AbortController(), items, finished: false };
    for (const item of items) item.request = request;
    const kind = items[0]?.op.kind ?? "query";
    send({
      kind,
      items,
      signal: request.controller.signal,
      finish: () => {
        request.finished = true;
      },
    }).catch((error: unknown) => {
      for (const item of items) item.reject(forCall(error, item.op));
    });
  }

  return (op) =>
    new Promise<OperationResult>((resolve, reject) => {
      if (op.kind === "subscription") {
        reject(wrongLink(op, linkName, "queries and mutations"));
        return;
      }
      if (op.signal?.aborted) {
        reject(abortError(op));
        return;
      }
      let json: string | undefined;
      let key: string;
      try {
        json = serializeInput(op);
        key = JSON.stringify([op.kind, groupKey(op), op.transport?.groupKey ?? ""]);
      } catch (error) {
        reject(forCall(error, op));
        return;
      }
      const item = new Item(op, json, resolve, reject);
      let queue = queues.get(key);
      if (queue === undefined) queues.set(key, (queue = []));
      queue.push(item);
      item.queue = queue;
      op.signal?.addEventListener("abort", item.onAbort, { once: true });
      // A macrotask, not a microtask: calls made from different promise callbacks of the same
      // tick (e.g. several components rendering) still share the request.
      timer ??= setTimeout(dispatch, 0);
    });
}
