import type { Link, Operation, OperationResult } from "../types.js";

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
   * Inputs and outputs are logged as they are: do not enable it where they hold secrets.
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
    report({ direction: "up", op });
    try {
      const result = await next(op);
      report({ direction: "down", op, elapsedMs: performance.now() - start, outcome: { ok: true, result } });
      return result;
    } catch (error) {
      report({ direction: "down", op, elapsedMs: performance.now() - start, outcome: { ok: false, error } });
      throw error;
    }
  };
}
