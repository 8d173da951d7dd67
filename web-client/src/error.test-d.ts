import { describe, expectTypeOf, it } from "vitest";
import type { ErrorReason } from "./codes.js";
import type { ErrorShape, TabrpcError } from "./error.js";

describe("TabrpcError.reason", () => {
  it("is one of the generated reasons or undefined, and read-only", () => {
    expectTypeOf<TabrpcError["reason"]>().toEqualTypeOf<ErrorReason | undefined>();
    expectTypeOf<"viewer_mismatch" | "session_expired" | "invalid_token">().toExtend<ErrorReason>();
    expectTypeOf<"viewer-mismatch">().not.toExtend<ErrorReason>();
    const check = (error: TabrpcError) => {
      // @ts-expect-error a reason is read, never set
      error.reason = "viewer_mismatch";
      // @ts-expect-error only the generated reasons compare (a typo is a compile error)
      return error.reason === "viewer-mismatch";
    };
    void check;
  });

  it("leaves the raw data.reason a string (a newer server may send reasons this client does not know)", () => {
    expectTypeOf<NonNullable<ErrorShape["data"]>["reason"]>().toEqualTypeOf<string | undefined>();
  });
});
