import { describe, expectTypeOf, it } from "vitest";
import type { FieldErrors } from "./codes.js";
import type { ErrorShape } from "./error.js";
import { fieldErrors } from "./fieldErrors.js";

describe("fieldErrors", () => {
  it("takes whatever a call rejected with and gives read-only messages by path", () => {
    expectTypeOf(fieldErrors).parameter(0).toEqualTypeOf<unknown>();
    expectTypeOf(fieldErrors).returns.toEqualTypeOf<FieldErrors | undefined>();
    expectTypeOf<FieldErrors[string]>().toEqualTypeOf<readonly string[]>();
    const check = (fields: FieldErrors) => {
      // @ts-expect-error the messages are read, never changed
      fields["item"]?.push("x");
      // @ts-expect-error a path maps to a list of messages, not one
      const one: string | undefined = fields["item"];
      return one;
    };
    void check;
  });

  it("is the type of the error shape's data.fieldErrors", () => {
    expectTypeOf<NonNullable<ErrorShape["data"]>["fieldErrors"]>().toEqualTypeOf<FieldErrors | undefined>();
  });
});
