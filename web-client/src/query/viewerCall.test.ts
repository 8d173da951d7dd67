import { describe, expect, it } from "vitest";
import { TabrpcError, type ErrorShape } from "../error.js";
import { isViewerMismatch } from "./viewerCall.js";

const forbidden = (message: string, reason?: string) =>
  new TabrpcError({
    code: "FORBIDDEN",
    message,
    httpStatus: 403,
    path: "profile.getUser",
    shape: { message, code: -32003, data: { code: "FORBIDDEN", httpStatus: 403, ...(reason === undefined ? {} : { reason }) } } satisfies ErrorShape,
  });

describe("isViewerMismatch", () => {
  it("is the 403 whose data.reason is viewer_mismatch, whatever its message", () => {
    expect(isViewerMismatch(forbidden("viewer/session mismatch", "viewer_mismatch"))).toBe(true);
    expect(isViewerMismatch(forbidden("reworded", "viewer_mismatch"))).toBe(true);
  });

  it("regression: never decides by message text (the same message without the reason is another 403)", () => {
    expect(isViewerMismatch(forbidden("viewer/session mismatch"))).toBe(false);
    expect(isViewerMismatch(forbidden("viewer/session mismatch", "session_mismatch"))).toBe(false);
  });

  it("is false for anything that is not a FORBIDDEN TabrpcError", () => {
    const shape = { message: "x", code: -32001, data: { code: "UNAUTHORIZED", reason: "viewer_mismatch" } };
    expect(isViewerMismatch(new TabrpcError({ code: "UNAUTHORIZED", httpStatus: 401, path: "p", shape }))).toBe(false);
    expect(isViewerMismatch(new Error("viewer/session mismatch"))).toBe(false);
    expect(isViewerMismatch(undefined)).toBe(false);
  });
});
