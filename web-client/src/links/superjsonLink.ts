import { isAsyncIterable, isRecord } from "../internals/envelope.js";
import type { Link } from "../types.js";

/**
 * What {@link superjsonLink} needs of a transformer: superjson itself fits
 * (`import superjson from "superjson"`).
 */
export interface DataTransformer {
  serialize(value: unknown): unknown;
  deserialize(value: never): unknown;
}

/** Options of {@link superjsonLink}. */
export interface SuperjsonLinkOptions {
  /** The transformer, e.g. `superjson`. */
  transformer: DataTransformer;
}

/**
 * Encodes inputs and decodes outputs with superjson, for a server whose endpoint has the
 * superjson transformer on (`Config::transformer(Transformer::Superjson)`), so that 64-bit
 * integers and dates arrive as `bigint` and `Date` (the bindings exported with the transformer
 * say so). Put it after the links that fill in inputs (`authLink`, `sessionLink`) and before the
 * terminating link:
 *
 * ```ts
 * links: [sessionLink({ session }), superjsonLink({ transformer: superjson }), httpBatchLink({ url })]
 * ```
 *
 * Only JSON replies are transformed (`httpLink`, `httpBatchLink`): streamed outputs and
 * subscriptions stay plain JSON, so route those around it with a `splitLink`. Error replies are
 * read either way. An output that superjson cannot read rejects the call with what it threw.
 */
export function superjsonLink(options: SuperjsonLinkOptions): Link {
  const { transformer } = options;
  return async (op, next) => {
    const result = await next({ ...op, input: transformer.serialize(op.input) });
    // `{"result":{}}` (a server without the transformer) and streams have nothing to revive.
    if (!isRecord(result.data) || isAsyncIterable(result.data)) return result;
    return { ...result, data: transformer.deserialize(result.data as never) };
  };
}
