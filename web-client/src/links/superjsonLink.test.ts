import superjson from "superjson";
import { describe, expect, it } from "vitest";
import { TabrpcError } from "../error.js";
import { resultFromEnvelope, settleBatchReply } from "../internals/envelope.js";
import type { Operation, OperationResult } from "../types.js";
import { superjsonLink } from "./superjsonLink.js";

const op = (input: unknown): Operation => ({ id: 1, kind: "mutation", path: "wide.echo", input, scopes: [], stream: false, signal: undefined, context: {} });

describe("superjsonLink", () => {
  it("sends the input as superjson's { json, meta } and revives the output's bigint and Date", async () => {
    const sent: unknown[] = [];
    const link = superjsonLink({ transformer: superjson });
    const value = { n: 2n ** 63n - 1n, at: new Date(0), list: [1n] };
    const result = await link(op(value), async (next) => {
      sent.push(JSON.parse(JSON.stringify(next.input)));
      // What a superjson endpoint answers for this input: the same `{ json, meta }`.
      return { data: JSON.parse(JSON.stringify(next.input)) as unknown };
    });
    expect(sent).toEqual([
      { json: { n: "9223372036854775807", at: "1970-01-01T00:00:00.000Z", list: ["1"] }, meta: { values: { n: ["bigint"], at: ["Date"], "list.0": ["bigint"] }, v: 1 } },
    ]);
    expect(result.data).toEqual(value);
  });

  it("sends an absent input as superjson's undefined and leaves outputs it has nothing to revive", async () => {
    const link = superjsonLink({ transformer: superjson });
    const inputs: unknown[] = [];
    const answer = (data: unknown) => async (next: Operation): Promise<OperationResult> => {
      inputs.push(JSON.parse(JSON.stringify(next.input)));
      return { data };
    };
    await expect(link(op(undefined), answer(undefined))).resolves.toEqual({ data: undefined });
    const stream = (async function* () {
      yield 1;
    })();
    expect((await link(op(undefined), answer(stream))).data).toBe(stream);
    expect(inputs[0]).toEqual({ json: null, meta: { values: ["undefined"], v: 1 } });
  });
});

describe("error envelopes of a superjson endpoint", () => {
  const shape = { message: "No procedure found", code: -32004, data: { code: "NOT_FOUND", httpStatus: 404, path: "x" } };

  it("are read from superjson's { json } like plain ones", () => {
    let thrown: unknown;
    try {
      resultFromEnvelope({ error: { json: shape } }, "x", undefined);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TabrpcError);
    expect(thrown).toMatchObject({ code: "NOT_FOUND", httpStatus: 404, message: "No procedure found" });
  });

  it("reject every call of a batch when the whole request was refused", () => {
    const rejected: unknown[] = [];
    const item = { op: op(undefined), resolve: () => undefined, reject: (e: unknown) => rejected.push(e) };
    settleBatchReply([item, item], { error: { json: { ...shape, code: -32600, data: { code: "BAD_REQUEST", httpStatus: 400 } } } }, new Response());
    expect(rejected).toHaveLength(2);
    expect(rejected[0]).toMatchObject({ code: "BAD_REQUEST" });
  });
});
