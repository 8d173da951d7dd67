import { describe, expect, it } from "vitest";
import type { Operation, OperationKind } from "../types.js";
import { batchBody, batchUrl, type SerializedCall, UrlSizer } from "./http.js";

function call(kind: OperationKind, path: string, input: unknown): SerializedCall {
  const op: Operation = { id: 0, kind, path, input, scopes: [], stream: false, signal: undefined, context: {} };
  return { op, json: input === undefined ? undefined : JSON.stringify(input) };
}

describe("batch URLs", () => {
  it("builds the tRPC v11 batch URL and body", () => {
    const calls = [call("query", "a.b", { x: "é &=" }), call("query", "c", undefined), call("query", "d", [1])];
    expect(batchUrl("http://h/rpc", "query", calls)).toMatchInlineSnapshot(
      `"http://h/rpc/a.b,c,d?batch=1&input=%7B%220%22%3A%7B%22x%22%3A%22%C3%A9%20%26%3D%22%7D%2C%222%22%3A%5B1%5D%7D"`,
    );
    expect(batchUrl("http://h/rpc", "mutation", calls)).toBe("http://h/rpc/a.b,c,d?batch=1");
    expect(batchBody(calls)).toMatchInlineSnapshot(`"{"0":{"x":"é &="},"2":[1]}"`);
    expect(batchBody([call("mutation", "m", undefined)])).toBe("{}");
  });

  it("escapes path characters that would change the URL's meaning", () => {
    expect(batchUrl("", "query", [call("query", "a,b/c?d", undefined)])).toBe("/a%2Cb%2Fc%3Fd?batch=1");
  });

  it("UrlSizer predicts the exact length of every prefix of a batch", () => {
    const inputs: unknown[] = [undefined, "x", { s: "ü€𝄞 \n\"" }, 12345, null, [true, { a: "%" }], "y".repeat(30)];
    for (const kind of ["query", "mutation"] as const) {
      // 150 calls, so that indexes of 1, 2 and 3 digits appear.
      const calls = Array.from({ length: 150 }, (_, i) => call(kind, i % 3 === 0 ? "post.byId" : `p${i}`, inputs[i % inputs.length]));
      const sizer = new UrlSizer("http://h/rpc", kind);
      calls.forEach((c, i) => {
        const size = UrlSizer.measure(c);
        expect(sizer.lengthWith(size)).toBe(batchUrl("http://h/rpc", kind, calls.slice(0, i + 1)).length);
        sizer.push(size);
      });
      sizer.reset();
      expect(sizer.lengthWith(UrlSizer.measure(calls[1] as SerializedCall))).toBe(batchUrl("http://h/rpc", kind, [calls[1] as SerializedCall]).length);
    }
  });
});
