// The superjson transformer (opt-in): the conformance fixture started with `--superjson`
// answers `{ json, meta }` as superjson writes it, so that 64-bit integers above 2^53 and dates
// round-trip typed through the unmodified @trpc/client with `transformer: superjson` and
// through @tabrpc/client's `superjsonLink`; the fixture without the flag stays plain JSON.
import { createClient, httpBatchLink as tabrpcBatchLink, httpLink as tabrpcHttpLink, superjsonLink, TabrpcError } from "@tabrpc/client";
import { createTRPCUntypedClient, httpBatchLink, httpLink, TRPCClientError } from "@trpc/client";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { procedures, type Wide } from "../../bindings/conformance-superjson.js";
import { startFixture, type Fixture } from "./support/fixture.js";

const I64_MAX = 2n ** 63n - 1n;
const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

const wide: Wide = {
  signed: I64_MIN,
  unsigned: U64_MAX,
  narrow: 7,
  at: new Date("2024-05-01T12:00:00.123Z"),
  later: null,
  list: [0n, 2n ** 53n + 1n, I64_MAX],
};

let fixture: Fixture;
let plain: Fixture;
beforeAll(async () => {
  [fixture, plain] = await Promise.all([startFixture(["--superjson"]), startFixture()]);
});
afterAll(async () => {
  await Promise.all([fixture?.close(), plain?.close()]);
});

describe.each(["httpLink", "httpBatchLink"] as const)("the unmodified @trpc/client with transformer: superjson (%s)", (linkName) => {
  const client = () => {
    const options = { url: fixture.url, transformer: superjson };
    return createTRPCUntypedClient({ links: [linkName === "httpLink" ? httpLink(options) : httpBatchLink(options)] });
  };

  it("round-trips i64/u64 beyond 2^53 and dates, typed as bigint and Date", async () => {
    const echoed = (await client().mutation("wide.echo", wide)) as Wide;
    expect(echoed).toEqual(wide);
    expect(typeof echoed.signed).toBe("bigint");
    expect(echoed.at).toBeInstanceOf(Date);
    await expect(client().query("wide.max")).resolves.toEqual([I64_MAX, U64_MAX]);
  });

  it("reads the server's errors (the shape is sent as superjson's { json })", async () => {
    const error = await client().query("no.such.path").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).data).toMatchObject({ code: "NOT_FOUND", httpStatus: 404 });
  });

  it("gets a 400 naming the field for a value Rust cannot hold", async () => {
    const error = await client().mutation("wide.echo", { ...wide, unsigned: 2n ** 64n }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<never>).data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400 });
    expect((error as Error).message).toBe("Invalid superjson input: the bigint at `unsigned` is not an integer in the 64-bit range");
  });
});

describe("@tabrpc/client with superjsonLink and the superjson bindings", () => {
  it.each(["httpLink", "httpBatchLink"] as const)("round-trips the values with their types (%s)", async (linkName) => {
    const terminating = linkName === "httpLink" ? tabrpcHttpLink({ url: fixture.url }) : tabrpcBatchLink({ url: fixture.url });
    const client = createClient(procedures, { links: [superjsonLink({ transformer: superjson }), terminating] });
    const echoed = await client.wide.echo.mutate(wide);
    expectTypeOf(echoed.signed).toEqualTypeOf<bigint>();
    expectTypeOf(echoed.at).toEqualTypeOf<Date>();
    expectTypeOf(echoed.list).toEqualTypeOf<bigint[]>();
    expect(echoed).toEqual(wide);
    const [max, hello] = await Promise.all([client.wide.max.query(), client.hello.query({ who: "sj" })]);
    expect(max).toEqual([I64_MAX, U64_MAX]);
    expect(hello).toEqual({ text: "hello sj" });
    const error = await client.wide.echo.mutate({ ...wide, signed: I64_MAX + 1n }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TabrpcError);
    // 2^63 is a u64, not an i64: the input's deserializer names the field.
    expect(error).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400 });
    expect((error as Error).message).toMatch(/^Invalid input at `signed`: /);
  });
});

describe("the wire", () => {
  it("is superjson's { json, meta } with the transformer, and plain JSON (rounded in JavaScript) without", async () => {
    const sj = await fetch(`${fixture.url}/wide.max`);
    expect(await sj.text()).toBe(
      `{"result":{"data":{"json":["${I64_MAX}","${U64_MAX}"],"meta":{"values":{"0":["bigint"],"1":["bigint"]},"v":1}}}}`,
    );
    const raw = await fetch(`${plain.url}/wide.max`);
    expect(await raw.text()).toBe(`{"result":{"data":[${I64_MAX},${U64_MAX}]}}`);
  });

  it("refuses a plain input on a superjson endpoint with a 400 that says what was expected", async () => {
    const response = await fetch(`${fixture.url}/wide.echo`, { method: "POST", body: JSON.stringify({ signed: 1 }), headers: { "content-type": "application/json" } });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { json: { message: "Invalid superjson input: expected superjson's `{ json, meta }`", data: { code: "BAD_REQUEST" } } } });
  });
});
