import { describe, expect, it } from "vitest";
import { ERROR_REASONS } from "./codes.js";
import { TabrpcError, type ErrorShape } from "./error.js";
import { forCall } from "./internals/errors.js";
import type { Operation } from "./types.js";

const shape = (data: ErrorShape["data"]): ErrorShape => (data === undefined ? { message: "refused", code: -32003 } : { message: "refused", code: -32003, data });
const error = (data: ErrorShape["data"]) => new TabrpcError({ code: "FORBIDDEN", httpStatus: 403, path: "p", shape: shape(data) });

describe("TabrpcError.reason", () => {
  it("is the server's data.reason when it is one of ERROR_REASONS", () => {
    expect(Object.values(ERROR_REASONS).map((reason) => error({ code: "FORBIDDEN", reason }).reason)).toEqual(Object.values(ERROR_REASONS));
  });

  it("is undefined without a reason, for a reason this client does not know (kept in shape), and for local failures", () => {
    expect(error({ code: "FORBIDDEN" }).reason).toBeUndefined();
    expect(error(undefined).reason).toBeUndefined();
    const newer = error({ code: "FORBIDDEN", reason: "some_future_reason" });
    expect(newer.reason).toBeUndefined();
    expect(newer.shape?.data?.reason).toBe("some_future_reason");
    expect(error({ code: "FORBIDDEN", reason: 42 as unknown as string }).reason).toBeUndefined();
    expect(new TabrpcError({ code: "CLIENT_CLOSED_REQUEST", httpStatus: 0, path: "p" }).reason).toBeUndefined();
  });

  it("is kept when a request-level error is handed to each call of the batch", () => {
    const op = { id: 2, kind: "query", path: "other", input: undefined, context: {} } as Operation;
    expect(forCall(error({ code: "FORBIDDEN", reason: "viewer_mismatch" }), op)).toMatchObject({ path: "other", reason: "viewer_mismatch" });
  });
});
