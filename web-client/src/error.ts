import { ERROR_REASONS, type ErrorCodeName, type ErrorReason, type FieldErrors } from "./codes.js";

/**
 * An error object as the server sends it under `"error"` (wire.md section 2):
 * `{"message":…,"code":<JSON-RPC code>,"data":{"code":"<NAME>","httpStatus":…,"path":…,"reason":…}}`.
 * Only `message` and `code` are checked when reading a reply; the rest is kept as received.
 */
export interface ErrorShape {
  readonly message: string;
  readonly code: number;
  readonly data?: {
    readonly code?: string;
    readonly httpStatus?: number;
    readonly path?: string;
    /**
     * Why, in machine-readable form, when the server says (one of `ERROR_REASONS`, or a reason
     * a newer server added). Read it as {@link TabrpcError.reason}.
     */
    readonly reason?: string;
    /** A procedure's typed error payload, when it declares one. */
    readonly payload?: unknown;
    /**
     * The broken input rules of a 400 from a procedure that validates its input, by field
     * path. Read it with `fieldErrors(error)`, which checks its shape.
     */
    readonly fieldErrors?: FieldErrors;
    readonly [key: string]: unknown;
  };
}

/** The fields of a {@link TabrpcError}. */
export interface TabrpcErrorInit<TPayload = unknown> {
  code: ErrorCodeName;
  /** Defaults to the code name. */
  message?: string;
  httpStatus: number;
  path: string;
  payload?: TPayload | undefined;
  shape?: ErrorShape | undefined;
  response?: Response | undefined;
  cause?: unknown;
}

/**
 * The one error class of the client: every failed call rejects with it, whether the server
 * answered an error or the call failed locally.
 *
 * | what happened | `code` | `httpStatus` | `shape` |
 * |---|---|---|---|
 * | the server answered an error envelope | its `data.code` (by JSON-RPC number if the name is unknown) | its `data.httpStatus` | the received error object |
 * | `fetch` threw (network down, DNS, CORS) | `SERVICE_UNAVAILABLE` | `0` (no response) | `undefined` |
 * | the reply is not JSON, or not shaped like an envelope, or a batch reply lacks this call's item, or a stream was cut | `BAD_GATEWAY` | the response's status | `undefined` |
 * | the call's `AbortSignal` fired | `CLIENT_CLOSED_REQUEST` | `0` | `undefined` |
 * | the call alone makes a URL longer than `maxURLLength` (never sent) | `PAYLOAD_TOO_LARGE` | `0` | `undefined` |
 * | the input cannot be serialised to JSON (never sent) | `BAD_REQUEST` | `0` | `undefined` |
 * | the `headers` option threw (never sent) | `CLIENT_CLOSED_REQUEST`, or the thrown `TabrpcError` | `0` | `undefined` |
 *
 * `httpStatus` is `0` exactly when no HTTP response was received. The original failure, when
 * there is one, is in `cause`.
 *
 * @typeParam TPayload - the procedure's typed error payload (`error.data.payload`); use
 * `ProcedureError<Procedures, "path">` to get it for one procedure.
 */
export class TabrpcError<TPayload = unknown> extends Error {
  override readonly name = "TabrpcError";
  /** The name of the row of the shared codes table, e.g. `"NOT_FOUND"`. */
  readonly code: ErrorCodeName;
  /** The HTTP status the server gave this error; `0` when no response was received. */
  readonly httpStatus: number;
  /** The dotted path of the procedure that was called. */
  readonly path: string;
  /** The procedure's typed error payload (`error.data.payload`), if the server sent one. */
  readonly payload: TPayload | undefined;
  /** The raw error object as received; `undefined` for local failures. */
  readonly shape: ErrorShape | undefined;
  /** The HTTP response that carried the error (shared by a batch); `undefined` if none. */
  readonly response: Response | undefined;
  /**
   * The server's machine-readable reason (`error.data.reason`, e.g. `"viewer_mismatch"` on a
   * 403 of the viewer guard, `"invalid_token"` on a 401 for a refused token): match on it,
   * never on `message`. `undefined` when the server sent none, or one this client does not know
   * (the raw value stays in `shape.data.reason`), and for local failures.
   */
  readonly reason: ErrorReason | undefined;

  constructor(init: TabrpcErrorInit<TPayload>) {
    super(init.message || init.code, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.httpStatus = init.httpStatus;
    this.path = init.path;
    this.payload = init.payload;
    this.shape = init.shape;
    this.response = init.response;
    this.reason = reasonOf(init.shape);
  }
}

const KNOWN_REASONS: ReadonlySet<string> = new Set(Object.values(ERROR_REASONS));

function reasonOf(shape: ErrorShape | undefined): ErrorReason | undefined {
  const reason = shape?.data?.reason;
  return typeof reason === "string" && KNOWN_REASONS.has(reason) ? (reason as ErrorReason) : undefined;
}
