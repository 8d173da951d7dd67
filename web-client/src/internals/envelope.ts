import { ERROR_CODES, type ErrorCodeName } from "../codes.js";
import { TabrpcError, type ErrorShape } from "../error.js";
import type { OperationResult } from "../types.js";
import { badGateway } from "./errors.js";

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether `value` is a stream (the output of a streamed procedure or a subscription). */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === "function";
}

/** `@trpc/client` needs exactly this much of an error object; so do we. */
export function isErrorShape(value: unknown): value is ErrorShape {
  return (
    isRecord(value) &&
    typeof value.message === "string" &&
    typeof value.code === "number" &&
    (value.data === undefined || isRecord(value.data))
  );
}

/**
 * The error object of an envelope: as sent, or unwrapped from superjson's `{"json":{…}}` (what
 * a server with the superjson transformer sends; the shape never needs superjson's `meta`).
 */
export function errorOf(value: unknown): unknown {
  return isRecord(value) && !("message" in value) && isErrorShape(value.json) ? value.json : value;
}

function isCodeName(name: unknown): name is ErrorCodeName {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(ERROR_CODES, name);
}

function codeOf(shape: ErrorShape): ErrorCodeName {
  const name = shape.data?.code;
  if (isCodeName(name)) return name;
  // Five names share -32603; the first row with the number is the most generic of them.
  for (const [candidate, row] of Object.entries(ERROR_CODES)) {
    if (row.code === shape.code) return candidate as ErrorCodeName;
  }
  return "INTERNAL_SERVER_ERROR";
}

/** The error a server sent, for the call at `path`. */
export function errorFromShape(
  shape: ErrorShape,
  path: string,
  response: Response | undefined,
): TabrpcError {
  const code = codeOf(shape);
  const status = shape.data?.httpStatus;
  return new TabrpcError({
    code,
    message: shape.message,
    httpStatus: typeof status === "number" ? status : ERROR_CODES[code].httpStatus,
    path,
    payload: shape.data?.payload,
    shape,
    response,
  });
}

/**
 * Reads one response envelope: `{"result":{"data":…}}` (or `{"result":{}}`) resolves,
 * `{"error":{…}}` throws the server's error, anything else throws BAD_GATEWAY.
 */
export function resultFromEnvelope(
  envelope: unknown,
  path: string,
  response: Response | undefined,
): OperationResult {
  if (isRecord(envelope)) {
    if (isRecord(envelope.result)) return { data: envelope.result.data, response };
    const error = errorOf(envelope.error);
    if (isErrorShape(error)) throw errorFromShape(error, path, response);
  }
  throw badGateway(
    `The reply for ${path} is not a result or an error envelope: ${preview(envelope)}`,
    path,
    response,
  );
}

/** A short, log-safe rendering of an unexpected value for error messages. */
export function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** The calls of a batch as settled from a whole (non-streamed) reply. */
interface Settleable {
  readonly op: { readonly path: string };
  resolve(result: OperationResult): void;
  reject(error: TabrpcError): void;
}

/**
 * Settles every call of a batch from its JSON reply: an array maps by index (a missing item is
 * BAD_GATEWAY); a single error envelope (a top-level error) rejects them all; anything else is
 * BAD_GATEWAY for all.
 */
export function settleBatchReply(items: readonly Settleable[], reply: unknown, response: Response): void {
  if (!Array.isArray(reply)) {
    const all = items.map((item) => item.op.path).join(",");
    const shape = isRecord(reply) ? errorOf(reply.error) : undefined;
    const error =
      isErrorShape(shape)
        ? errorFromShape(shape, all, response)
        : badGateway(`The batch reply for ${all} is neither an array nor an error envelope: ${preview(reply)}`, all, response);
    for (const item of items) item.reject(error);
    return;
  }
  items.forEach((item, index) => {
    try {
      if (index >= reply.length) {
        throw badGateway(`The batch reply has no item ${index} (for ${item.op.path}); it has ${reply.length}`, item.op.path, response);
      }
      item.resolve(resultFromEnvelope(reply[index], item.op.path, response));
    } catch (error) {
      item.reject(error as TabrpcError);
    }
  });
}
