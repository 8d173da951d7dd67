import type { FieldErrors } from "./codes.js";

/**
 * The broken input rules of a failed call, by field path (`{ item: ["length is lower than 1"] }`),
 * for showing next to form fields: the `error.data.fieldErrors` a tabrpc server sends with a
 * 400 BAD_REQUEST when a procedure's input breaks its validation rules.
 *
 * Takes what a call rejected with: a `TabrpcError` (its `shape.data`), or any error with the
 * shape's `data` (the `TRPCClientError` of `@trpc/client`). `undefined` when the error carries
 * none, or when what it carries is not an object of string arrays (the server's data is not
 * trusted to be well formed).
 *
 * ```ts
 * try {
 *   await client.cart.add.mutate({ item: "" });
 * } catch (error) {
 *   const fields = fieldErrors(error); // { item: ["length is lower than 1"] }
 * }
 * ```
 */
export function fieldErrors(error: unknown): FieldErrors | undefined {
  const data = dataOf(error);
  if (data === undefined || data.code !== "BAD_REQUEST") return undefined;
  const fields = data.fieldErrors;
  if (!isRecord(fields)) return undefined;
  const out: Record<string, readonly string[]> = {};
  for (const [path, messages] of Object.entries(fields)) {
    if (!Array.isArray(messages) || !messages.every((m) => typeof m === "string")) return undefined;
    out[path] = [...(messages as string[])];
  }
  return out;
}

/** `error.shape.data` (a `TabrpcError`) or `error.data` (a `TRPCClientError`). */
function dataOf(error: unknown): Record<string, unknown> | undefined {
  if (!isRecord(error)) return undefined;
  const shape = error["shape"];
  if (isRecord(shape) && isRecord(shape["data"])) return shape["data"];
  const data = error["data"];
  return isRecord(data) ? data : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
