import { describe, expect, it } from "vitest";
import { TabrpcError, type ErrorShape } from "./error.js";
import { fieldErrors } from "./fieldErrors.js";

const rejected = (data: NonNullable<ErrorShape["data"]>, code: TabrpcError["code"] = "BAD_REQUEST") =>
  new TabrpcError({ code, httpStatus: 400, path: "cart.add", shape: { message: "Invalid input", code: -32600, data } });

describe("fieldErrors", () => {
  it("reads the server's data.fieldErrors of a 400 by field path", () => {
    const error = rejected({ code: "BAD_REQUEST", httpStatus: 400, fieldErrors: { item: ["length is lower than 1"], "lines[0].sku": ["a", "b"] } });
    expect(fieldErrors(error)).toEqual({ item: ["length is lower than 1"], "lines[0].sku": ["a", "b"] });
  });

  it("reads the data of an error shaped like @trpc/client's (error.data)", () => {
    expect(fieldErrors({ message: "x", data: { code: "BAD_REQUEST", fieldErrors: { quantity: ["lower than 1"] } } })).toEqual({ quantity: ["lower than 1"] });
  });

  it("is undefined without field errors, for another code, for a malformed payload, and for non-errors", () => {
    expect(fieldErrors(rejected({ code: "BAD_REQUEST" }))).toBeUndefined();
    expect(fieldErrors(rejected({ code: "FORBIDDEN", fieldErrors: { item: ["x"] } }, "FORBIDDEN"))).toBeUndefined();
    expect(fieldErrors(rejected({ code: "BAD_REQUEST", fieldErrors: { item: "x" } as never }))).toBeUndefined();
    expect(fieldErrors(rejected({ code: "BAD_REQUEST", fieldErrors: { item: [1] } as never }))).toBeUndefined();
    expect(fieldErrors(rejected({ code: "BAD_REQUEST", fieldErrors: ["x"] as never }))).toBeUndefined();
    expect(fieldErrors(new TabrpcError({ code: "BAD_REQUEST", httpStatus: 0, path: "p" }))).toBeUndefined();
    expect(fieldErrors(undefined)).toBeUndefined();
    expect(fieldErrors("BAD_REQUEST")).toBeUndefined();
  });

  it("returns a copy: changing it does not change the error", () => {
    const error = rejected({ code: "BAD_REQUEST", fieldErrors: { item: ["x"] } });
    const fields = fieldErrors(error) as Record<string, string[]>;
    fields["item"]?.push("y");
    expect(fieldErrors(error)).toEqual({ item: ["x"] });
  });
});
