import { describe, expect, it } from "vitest";
import { Channel, ChunkError, JsonlDecoder, JsonlFormatError, readLines } from "./jsonl.js";

function bytes(...parts: string[]): ReadableStream<Uint8Array> {
  const encoded = new TextEncoder().encode(parts.join(""));
  // Split at every byte boundary given by the parts, including inside multi-byte characters.
  let offset = 0;
  const chunks = parts.map((p) => {
    const length = new TextEncoder().encode(p).length;
    const chunk = encoded.slice(offset, offset + length);
    offset += length;
    return chunk;
  });
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function lines(stream: ReadableStream<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of readLines(stream)) out.push(line);
  return out;
}

describe("readLines", () => {
  it("splits on newlines across chunk boundaries, keeps a last unterminated line, skips blank lines", async () => {
    await expect(lines(bytes('{"a"', ":1}\n[1,", "2]\n\n", '"tail"'))).resolves.toEqual(['{"a":1}', "[1,2]", '"tail"']);
  });

  it("decodes UTF-8 characters split between chunks", async () => {
    const text = '"é€𝄞"\n';
    const raw = new TextEncoder().encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const byte of raw) controller.enqueue(new Uint8Array([byte]));
        controller.close();
      },
    });
    await expect(lines(stream)).resolves.toEqual(['"é€𝄞"']);
  });
});

describe("JsonlDecoder", () => {
  it("decodes plain values, promises and iterables, at the root and under keys", async () => {
    const decoder = new JsonlDecoder();
    const plain = decoder.decode([[{ result: { data: 1 } }]]);
    const root = decoder.decode([[0], [null, 0, 0]]) as Promise<unknown>;
    const keyed = decoder.decode([[{ a: 0, b: 2 }], ["a", 1, 1]]) as { a: Channel<unknown>; b: number };
    expect(plain).toEqual({ result: { data: 1 } });
    expect(keyed.b).toBe(2);
    expect(keyed.a).toBeInstanceOf(Channel);
    decoder.push([1, 1, [["x"]]]);
    decoder.push([0, 0, [[{ nested: 0 }], ["nested", 0, 2]]]);
    decoder.push([2, 0, [["deep"]]]);
    decoder.push([1, 0, [[]]]);
    const resolved = (await root) as { nested: Promise<unknown> };
    await expect(resolved.nested).resolves.toBe("deep");
    await expect(keyed.a.next()).resolves.toEqual({ done: false, value: "x" });
    await expect(keyed.a.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it("keeps lines that arrive before their chunk is defined", async () => {
    const decoder = new JsonlDecoder();
    decoder.push([5, 0, [["early"]]]);
    await expect(decoder.decode([[0], [null, 0, 5]])).resolves.toBe("early");
  });

  it("rejects promises and fails iterables with the server's error payload", async () => {
    const decoder = new JsonlDecoder();
    const promise = decoder.decode([[0], [null, 0, 0]]) as Promise<unknown>;
    const channel = decoder.decode([[0], [null, 1, 1]]) as Channel<unknown>;
    decoder.push([0, 1, { message: "m" }]);
    decoder.push([1, 2, { message: "n" }]);
    await expect(promise).rejects.toEqual(new ChunkError({ message: "m" }));
    const error = await channel.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChunkError);
    expect((error as ChunkError).payload).toEqual({ message: "n" });
    await expect(channel.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it("fails whatever is still waiting on close", async () => {
    const decoder = new JsonlDecoder();
    const promise = decoder.decode([[0], [null, 0, 0]]) as Promise<unknown>;
    const reason = new Error("cut");
    decoder.close(reason);
    await expect(promise).rejects.toBe(reason);
  });

  it("throws JsonlFormatError on malformed values and lines", () => {
    const decoder = new JsonlDecoder();
    expect(() => decoder.decode({ a: 1 })).toThrow(JsonlFormatError);
    expect(() => decoder.decode([[0], [null, 7, 0]])).toThrow(JsonlFormatError);
    expect(() => decoder.push({ "0": 1 })).toThrow(JsonlFormatError);
    decoder.decode([[0], [null, 0, 1]]);
    expect(() => decoder.decode([[0], [null, 0, 1]])).toThrow(/Bad chunk id 1/);
  });
});

describe("Channel", () => {
  it("delivers values pushed before the end, then ends; return() drops the rest", async () => {
    const channel = new Channel<number>();
    channel.push(1);
    const pending = channel.next();
    channel.push(2);
    channel.push(3);
    await expect(pending).resolves.toEqual({ done: false, value: 1 });
    await expect(channel.next()).resolves.toEqual({ done: false, value: 2 });
    await channel.return();
    channel.push(4);
    await expect(channel.next()).resolves.toEqual({ done: true, value: undefined });
  });
});
