/**
 * Decoding of the streamed batch reply (wire.md section 3), the format of tRPC's
 * `jsonlStreamProducer`: a head line mapping each batch index to an encoded value, then one line
 * per settled promise or per item of an async iterable, in completion order.
 *
 * An encoded value is `[[data], ...definitions]` (`[[]]` for undefined); a definition
 * `[key, type, chunkId]` says that `data[key]` (or the whole value when `key` is null) is a
 * promise (type 0) or an async iterable (type 1) fed by the later lines of `chunkId`:
 * promise `[id, 0, encoded]` fulfilled, `[id, 1, error]` rejected; iterable `[id, 1, encoded]` a
 * value, `[id, 0, encoded]` the end, `[id, 2, error]` a failure.
 */

/** A line or value that does not follow the format. */
export class JsonlFormatError extends Error {}

/** A promise rejected or an iterable failed by the server; `payload` is the error it sent. */
export class ChunkError extends Error {
  constructor(readonly payload: unknown) {
    super("The server failed a streamed value");
  }
}

/** Splits a byte stream into lines; a last line without `\n` counts too. Empty lines are skipped. */
export async function* readLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let rest = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const lines = (rest + decoder.decode(value, { stream: true })).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") yield line;
    }
    rest += decoder.decode();
    if (rest.trim() !== "") yield rest;
  } finally {
    // Early exit (abort, bad line): stop the download too.
    reader.cancel().catch(() => undefined);
  }
}

/** A single-consumer async iterator fed by pushes; values pushed before an end or failure are delivered first. */
export class Channel<T> implements AsyncIterator<T> {
  private readonly buffer: T[] = [];
  private state: "open" | "ended" | "failed" = "open";
  private failure: unknown;
  private waiter: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | undefined;

  push(value: T): void {
    if (this.state !== "open") return;
    if (this.waiter === undefined) this.buffer.push(value);
    else this.take().resolve({ done: false, value });
  }

  end(): void {
    if (this.state !== "open") return;
    this.state = "ended";
    if (this.waiter !== undefined) this.take().resolve({ done: true, value: undefined });
  }

  fail(error: unknown): void {
    if (this.state !== "open") return;
    this.state = "failed";
    this.failure = error;
    if (this.waiter !== undefined) this.take().reject(error);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ done: false, value: this.buffer.shift() as T });
    if (this.state === "failed") {
      // The failure is reported once; the iterator is finished after it.
      this.state = "ended";
      return Promise.reject(this.failure);
    }
    if (this.state === "ended") return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Stops reading: drops buffered values and ignores later pushes (a failure not yet read too). */
  return(): Promise<IteratorResult<T>> {
    this.buffer.length = 0;
    this.end();
    this.state = "ended";
    return Promise.resolve({ done: true, value: undefined });
  }

  private take() {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter === undefined) throw new Error("unreachable: no waiter");
    return waiter;
  }
}

type Slot =
  | { readonly type: 0; readonly resolve: (value: unknown) => void; readonly reject: (error: unknown) => void }
  | { readonly type: 1; readonly channel: Channel<unknown> };

/**
 * Turns encoded values into plain values with native promises and {@link Channel}s in place of
 * the chunk placeholders, and routes chunk lines to them.
 */
export class JsonlDecoder {
  private readonly slots = new Map<number, Slot>();
  /** Lines that arrived before the line defining their chunk. */
  private readonly early = new Map<number, unknown[][]>();

  decode(encoded: unknown): unknown {
    if (!Array.isArray(encoded) || !Array.isArray(encoded[0])) {
      throw new JsonlFormatError(`Not an encoded value: ${JSON.stringify(encoded)}`);
    }
    const [[data], ...definitions] = encoded as [unknown[], ...unknown[]];
    for (const definition of definitions) {
      if (!Array.isArray(definition) || definition.length !== 3) {
        throw new JsonlFormatError(`Not a chunk definition: ${JSON.stringify(definition)}`);
      }
      const [key, type, id] = definition as unknown[];
      const value = this.define(type, id);
      if (key === null) return value;
      if ((typeof key !== "string" && typeof key !== "number") || typeof data !== "object" || data === null) {
        throw new JsonlFormatError(`Chunk key ${JSON.stringify(key)} has no object to go in`);
      }
      (data as Record<string | number, unknown>)[key] = value;
    }
    return data;
  }

  /** Routes one chunk line `[chunkId, status, payload]`. */
  push(line: unknown): void {
    if (!Array.isArray(line) || line.length !== 3 || typeof line[0] !== "number") {
      throw new JsonlFormatError(`Not a chunk line: ${JSON.stringify(line)}`);
    }
    const [id, status, payload] = line as [number, unknown, unknown];
    const slot = this.slots.get(id);
    if (slot === undefined) {
      const waiting = this.early.get(id) ?? [];
      waiting.push(line);
      this.early.set(id, waiting);
      return;
    }
    if (slot.type === 0) {
      this.slots.delete(id);
      if (status === 0) slot.resolve(this.decode(payload));
      else if (status === 1) slot.reject(new ChunkError(payload));
      else throw new JsonlFormatError(`Bad promise status ${String(status)}`);
      return;
    }
    if (status === 1) return slot.channel.push(this.decode(payload));
    this.slots.delete(id);
    if (status === 0) slot.channel.end();
    else if (status === 2) slot.channel.fail(new ChunkError(payload));
    else throw new JsonlFormatError(`Bad iterable status ${String(status)}`);
  }

  /** Fails every promise and iterable still waiting (the stream ended or broke). */
  close(reason: unknown): void {
    for (const slot of this.slots.values()) {
      if (slot.type === 0) slot.reject(reason);
      else slot.channel.fail(reason);
    }
    this.slots.clear();
    this.early.clear();
  }

  private define(type: unknown, id: unknown): unknown {
    if (typeof id !== "number" || this.slots.has(id)) throw new JsonlFormatError(`Bad chunk id ${String(id)}`);
    let value: unknown;
    if (type === 0) {
      let resolve: (value: unknown) => void = () => undefined;
      let reject: (error: unknown) => void = () => undefined;
      const promise = new Promise<unknown>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A promise nobody awaits (its call was aborted) must not become an unhandled rejection.
      promise.catch(() => undefined);
      this.slots.set(id, { type: 0, resolve, reject });
      value = promise;
    } else if (type === 1) {
      const channel = new Channel<unknown>();
      this.slots.set(id, { type: 1, channel });
      value = channel;
    } else {
      throw new JsonlFormatError(`Bad chunk type ${String(type)}`);
    }
    const waiting = this.early.get(id);
    if (waiting !== undefined) {
      this.early.delete(id);
      for (const line of waiting) this.push(line);
    }
    return value;
  }
}
