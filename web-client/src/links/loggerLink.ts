import { isRecord } from "../internals/envelope.js";
import type { Link, Operation, OperationResult } from "../types.js";

/** How many characters of a session id a log shows. */
const SESSION_PREFIX = 8;

/** `abcdef01…`: enough to tell sessions apart in a log, too little to use one. */
function shortId(value: string): string {
  return value.length > SESSION_PREFIX ? `${value.slice(0, SESSION_PREFIX)}…` : value;
}

/** The fields that hold a session id, a credential: logged cut to a short prefix. */
const SESSION_FIELDS = ["sessionId", "newSessionId"] as const;

/** `record` with each session id field that is a string cut to its prefix; `record` itself when there is none. */
function redactFields<T extends Record<string, unknown>>(record: T): T {
  let out: T = record;
  for (const field of SESSION_FIELDS) {
    const value = record[field];
    if (typeof value === "string") out = { ...out, [field]: shortId(value) };
  }
  return out;
}

/**
 * The operation as logged: `sessionId` and `newSessionId` (the id `session.rotate` moves to), in
 * the input and the context, cut to a short prefix (a session id is a credential).
 */
function redacted(op: Operation): Operation {
  const input = isRecord(op.input) ? redactFields(op.input) : op.input;
  const context = redactFields(op.context);
  return input === op.input && context === op.context ? op : { ...op, input, context };
}

/** What {@link loggerLink} reports: a call going out (`up`), or its outcome (`down`). */
export type LogEvent =
  | { readonly direction: "up"; readonly op: Operation }
  | {
      readonly direction: "down";
      readonly op: Operation;
      /** Milliseconds from the call to its outcome (for streams: until the iterable was handed out). */
      readonly elapsedMs: number;
      readonly outcome: { readonly ok: true; readonly result: OperationResult } | { readonly ok: false; readonly error: unknown };
    };

/** Options of {@link loggerLink}. */
export interface LoggerLinkOptions {
  /** Whether to report this event. Defaults to always. */
  enabled?: ((event: LogEvent) => boolean) | undefined;
  /**
   * Receives each event. Defaults to `console.log` for calls and results, `console.error` for
   * failures, as `>> query #1 post.byId <input>` / `<< query #1 post.byId ok 12ms <data>`.
   * Inputs and outputs are logged as they are, except `sessionId` and `newSessionId` (in the
   * input and the context of the events' `op`), cut to their first 8 characters: do not enable
   * it where other fields hold secrets.
   */
  log?: ((event: LogEvent) => void) | undefined;
}

function consoleLog(event: LogEvent): void {
  const { op } = event;
  const label = `${op.kind} #${op.id} ${op.path}`;
  if (event.direction === "up") return console.log(`>> ${label}`, op.input);
  const elapsed = `${Math.round(event.elapsedMs)}ms`;
  if (event.outcome.ok) console.log(`<< ${label} ok ${elapsed}`, event.outcome.result.data);
  else console.error(`<< ${label} failed ${elapsed}`, event.outcome.error);
}

/**
 * A pass-through link that reports each call and its outcome. It never changes them; an
 * exception thrown by `log` or `enabled` is not caught (it fails the call), so keep them simple.
 */
export function loggerLink(options: LoggerLinkOptions = {}): Link {
  const { enabled = () => true, log = consoleLog } = options;
  const report = (event: LogEvent) => {
    if (enabled(event)) log(event);
  };
  return async (op, next) => {
    const start = performance.now();
    const logged = redacted(op);
    report({ direction: "up", op: logged });
    try {
      const result = await next(op);
      report({ direction: "down", op: logged, elapsedMs: performance.now() - start, outcome: { ok: true, result } });
      return result;
    } catch (error) {
      report({ direction: "down", op: logged, elapsedMs: performance.now() - start, outcome: { ok: false, error } });
      throw error;
    }
  };
}
