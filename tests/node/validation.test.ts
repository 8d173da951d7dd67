// Input validation against the real demo server: `cart.add`'s limits are garde rules, so a
// broken one answers 400 BAD_REQUEST with `error.data.fieldErrors`, which `fieldErrors` reads
// from a rejection of @tabrpc/client and of the unmodified @trpc/client alike.
import { createClient, fieldErrors, httpLink as tabrpcHttpLink, sessionLink, TabrpcError } from "@tabrpc/client";
import { createSessionStore } from "@tabrpc/client/session";
import { createTRPCUntypedClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { randomUUID } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { procedures } from "../../bindings/demo.js";

const url = `${inject("demoUrl")}/trpc`;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("the call succeeded"),
    (error: unknown) => error,
  );
}

describe("validated input (cart.add)", () => {
  it("@tabrpc/client: a 400 BAD_REQUEST whose fieldErrors name each broken rule's field", async () => {
    const session = createSessionStore({ storage: "memory" });
    try {
      const client = createClient(procedures, { links: [sessionLink({ session }), tabrpcHttpLink({ url })] });
      const error = await rejection(client.cart.add.mutate({ item: "", quantity: 100 }));
      expect(error).toBeInstanceOf(TabrpcError);
      expect(error).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400, path: "cart.add" });
      expect((error as TabrpcError).message).toBe("Invalid input: item: length is lower than 1; quantity: greater than 99");
      expect(fieldErrors(error)).toEqual({ item: ["length is lower than 1"], quantity: ["greater than 99"] });
      // A valid input passes the same rules.
      await expect(client.cart.add.mutate({ item: "apple", quantity: 99 })).resolves.toEqual({ lines: [{ item: "apple", quantity: 99 }] });
    } finally {
      session.dispose();
    }
  });

  it("the unmodified @trpc/client sees the same wire: data.fieldErrors on a 400, in a batch too", async () => {
    const client = createTRPCUntypedClient({ links: [httpBatchLink({ url })] });
    const sessionId = randomUUID();
    const [bad, good] = await Promise.allSettled([
      client.mutation("cart.add", { sessionId, item: "x".repeat(101) }),
      client.mutation("cart.add", { sessionId, item: "pear" }),
    ]);
    expect(good).toMatchObject({ status: "fulfilled", value: { lines: [{ item: "pear", quantity: 1 }] } });
    expect(bad.status).toBe("rejected");
    const error = (bad as PromiseRejectedResult).reason as unknown;
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400, fieldErrors: { item: ["length is greater than 100"] } });
    expect(fieldErrors(error)).toEqual({ item: ["length is greater than 100"] });
  });
});
