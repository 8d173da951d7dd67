import { describe, expect, it } from "vitest";
import { createClient } from "./client.js";
import { procedures } from "../../bindings/conformance.js";
import { procedures as demo } from "../../bindings/demo.js";
import type { Link, Operation } from "./types.js";

/** A terminating link that records operations and answers their path. */
function recorder() {
  const ops: Operation[] = [];
  const link: Link = (op) => {
    ops.push(op);
    return Promise.resolve({ data: op.path, response: undefined });
  };
  return { ops, link };
}

describe("createClient", () => {
  it("turns property paths into dotted procedure paths, kinds into operations", async () => {
    const { ops, link } = recorder();
    const client = createClient(procedures, { links: [link] });
    const signal = new AbortController().signal;
    await expect(client.post.byId.query({ id: 1 }, { signal, context: { viewerId: "u1" } })).resolves.toBe("post.byId");
    await expect(client.echo.mutate("x")).resolves.toBe("echo");
    expect(ops).toEqual([
      { id: 1, kind: "query", path: "post.byId", input: { id: 1 }, scopes: [], stream: false, signal, context: { viewerId: "u1" } },
      { id: 2, kind: "mutation", path: "echo", input: "x", scopes: [], stream: false, signal: undefined, context: {} },
    ]);
  });

  it("stamps each operation with its procedure's scopes and streaming, from the procedures table", async () => {
    const { ops, link } = recorder();
    const client = createClient(demo, { links: [link] });
    await client.cart.add.mutate({ item: "apple" });
    await client.profile.getUser.query();
    const streaming = createClient(procedures, { links: [link] });
    await streaming.iter.query();
    expect(ops.map(({ path, kind, scopes, stream }) => ({ path, kind, scopes, stream }))).toEqual([
      { path: "cart.add", kind: "mutation", scopes: ["session"], stream: false },
      { path: "profile.getUser", kind: "query", scopes: ["viewer"], stream: false },
      { path: "iter", kind: "query", scopes: [], stream: true },
    ]);
    // A path the table does not list (an untyped call) has none.
    await (client as unknown as Record<string, Record<string, () => Promise<unknown>>>).gone?.query?.();
    expect(ops.at(-1)).toMatchObject({ path: "gone", scopes: [], stream: false });
  });

  it("sends an omitted input as undefined (no input), and an explicit null as null", async () => {
    const { ops, link } = recorder();
    const client = createClient(procedures, { links: [link] });
    await client.helloStr.query();
    await client.helloStr.query(null);
    expect(ops.map((op) => op.input)).toEqual([undefined, null]);
  });

  it("gives each call its own copy of the context", async () => {
    const context = { n: 1 };
    const client = createClient(procedures, {
      links: [
        (op, next) => {
          op.context.n = 2;
          return next(op);
        },
        (op) => Promise.resolve({ data: op.context, response: undefined }),
      ],
    });
    await expect(client.noInput.query(undefined, { context })).resolves.toEqual({ n: 2 });
    expect(context).toEqual({ n: 1 });
  });

  it("is not a thenable, at any depth, so awaiting it does not call anything", async () => {
    const { ops, link } = recorder();
    const client = createClient(procedures, { links: [link] });
    expect((await client) === client).toBe(true);
    const node = client.post;
    expect((await node) === node).toBe(true);
    const method = client.post.byId.query;
    expect((await method) === method).toBe(true);
    expect(typeof (client as unknown as { then: unknown }).then).not.toBe("function");
    expect(typeof client.post.byId.query).toBe("function");
    expect(ops).toHaveLength(0);
  });

  it("treats names like toString, constructor, __proto__ and then as plain path segments", async () => {
    const { ops, link } = recorder();
    const untyped = createClient({}, { links: [link] }) as unknown as Record<string, Record<string, (i?: unknown) => Promise<unknown>>>;
    for (const name of ["toString", "constructor", "__proto__", "then", "valueOf", "hasOwnProperty"]) {
      await expect(untyped[name]?.query?.()).resolves.toBe(name);
    }
    expect(ops.map((op) => op.path)).toEqual(["toString", "constructor", "__proto__", "then", "valueOf", "hasOwnProperty"]);
  });

  it("answers undefined for symbol keys (inspection, iteration) instead of throwing", () => {
    const { link } = recorder();
    const client = createClient(procedures, { links: [link] }) as unknown as Record<symbol, unknown>;
    expect(client[Symbol.iterator]).toBeUndefined();
    expect(client[Symbol.toPrimitive]).toBeUndefined();
  });

  it("rejects a call that falls off the end of the chain, and refuses an empty chain", async () => {
    const client = createClient(procedures, { links: [(op, next) => next(op)] });
    await expect(client.noInput.query()).rejects.toThrow(/no terminating link handled query noInput/);
    expect(() => createClient(procedures, { links: [] })).toThrow(TypeError);
  });

  it("rejects (never throws synchronously) when a link throws", async () => {
    const boom = new Error("boom");
    const client = createClient(procedures, {
      links: [
        () => {
          throw boom;
        },
      ],
    });
    const call = client.noInput.query();
    await expect(call).rejects.toBe(boom);
  });
});
