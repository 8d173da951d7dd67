import superjson from "superjson";
import { describe, expectTypeOf, it } from "vitest";
import type { Link } from "../types.js";
import { superjsonLink, type DataTransformer } from "./superjsonLink.js";

describe("superjsonLink", () => {
  it("takes superjson itself as the transformer and is a link", () => {
    expectTypeOf(superjson).toExtend<DataTransformer>();
    expectTypeOf(superjsonLink({ transformer: superjson })).toEqualTypeOf<Link>();
    // @ts-expect-error a transformer needs both directions
    superjsonLink({ transformer: { serialize: (v: unknown) => v } });
  });
});
