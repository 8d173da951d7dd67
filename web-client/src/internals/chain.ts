import type { Link, Next, Operation, OperationResult } from "../types.js";

/**
 * Runs `op` through `links` in order; the last link's `next` is `end`. A link that throws
 * synchronously rejects the call like one that rejects.
 */
export function runChain(links: readonly Link[], op: Operation, end: Next): Promise<OperationResult> {
  const step =
    (index: number): Next =>
    (current) => {
      const link = links[index];
      if (link === undefined) return end(current);
      try {
        return link(current, step(index + 1));
      } catch (error) {
        return Promise.reject(error);
      }
    };
  return step(0)(op);
}
