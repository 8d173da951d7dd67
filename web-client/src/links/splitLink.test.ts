import { describe, expect, it } from "vitest";
import { createClient } from "../client.js";
import { procedures, type Procedures } from "../../../bindings/conformance.js";
import type { Link } from "../types.js";
import { splitLink } from "./splitLink.js";

const answer =
  (name: string): Link =>
  (op) =>
    Promise.resolve({ data: `${name}:${op.path}`, response: undefined });

const tag =
  (name: string): Link =>
  (op, next) =>
    next({ ...op, context: { ...op.context, tags: [...((op.context.tags as string[]) ?? []), name] } });

describe("splitLink", () => {
  it("sends each call down the branch its condition picks", async () => {
    const client = createClient(procedures, {
      links: [splitLink({ condition: (op) => op.path === "iter", true: answer("stream"), false: [answer("batch")] })],
    });
    await expect(client.iter.query()).resolves.toBe("stream:iter");
    await expect(client.hello.query()).resolves.toBe("batch:hello");
  });

  it("continues with the links after it when a branch does not terminate", async () => {
    const client = createClient(procedures, {
      links: [
        splitLink({ condition: (op) => op.kind === "mutation", true: tag("m"), false: [] }),
        (op) => Promise.resolve({ data: JSON.stringify(op.context.tags ?? []), response: undefined }),
      ],
    });
    await expect(client.echo.mutate("x")).resolves.toBe('["m"]');
    await expect(client.hello.query()).resolves.toBe("[]");
  });

  it("rejects the call when the condition throws", async () => {
    const boom = new Error("bad condition");
    const client = createClient(procedures, {
      links: [
        splitLink({
          condition: () => {
            throw boom;
          },
          true: answer("a"),
          false: answer("b"),
        }),
      ],
    });
    await expect(client.hello.query()).rejects.toBe(boom);
  });
});
