import { runChain } from "../internals/chain.js";
import type { Link, Operation } from "../types.js";

/** Options of {@link splitLink}. */
export interface SplitLinkOptions {
  /** Chooses the branch per call. */
  condition: (op: Operation) => boolean;
  /** The links for calls where `condition` is true. */
  true: Link | readonly Link[];
  /** The links for calls where `condition` is false. */
  false: Link | readonly Link[];
}

/**
 * Sends each call down one of two chains, e.g. streamed procedures to `httpBatchStreamLink` and
 * the rest to `httpBatchLink`. A branch that does not end in a terminating link continues with the
 * links after the `splitLink`. An exception thrown by `condition` rejects the call with it.
 */
export function splitLink(options: SplitLinkOptions): Link {
  const branch = (links: Link | readonly Link[]): readonly Link[] => (typeof links === "function" ? [links] : links);
  const yes = branch(options.true);
  const no = branch(options.false);
  return (op, next) => runChain(options.condition(op) ? yes : no, op, next);
}
