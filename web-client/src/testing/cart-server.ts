// Test support only (not part of the package): the demo's session procedures in a few lines,
// as a fake-fetch handler: carts by session id, `session.rotate` moving a cart, and the 400 the
// server answers for a missing or malformed sessionId.
import type { CartLine } from "../../../bindings/demo.js";
import { isSessionId } from "../session/id.js";
import { jsonReply, parseBatchUrl, type RecordedRequest } from "./fake-fetch.js";

const badSession = {
  error: { message: "Invalid input at `sessionId`: Invalid session id", code: -32600, data: { code: "BAD_REQUEST", httpStatus: 400 } },
};

export interface CartServer {
  /** Carts by session id. */
  readonly carts: Map<string, CartLine[]>;
  /** Every call's input, in order, by path. */
  readonly calls: { path: string; input: Record<string, unknown> | undefined }[];
  respond(request: RecordedRequest): Response;
}

export function cartServer(): CartServer {
  const carts = new Map<string, CartLine[]>();
  const calls: CartServer["calls"] = [];
  const answer = (path: string, input: Record<string, unknown> | undefined): unknown => {
    calls.push({ path, input });
    if (path === "profile.getUser") return { result: { data: { id: "", displayName: "Anonymous", signedIn: false } } };
    const sessionId = input?.sessionId;
    if (!isSessionId(sessionId)) return badSession;
    const lines = carts.get(sessionId) ?? [];
    switch (path) {
      case "cart.get":
        return { result: { data: { lines } } };
      case "cart.add": {
        const item = String(input?.item);
        carts.set(sessionId, [...lines.filter((l) => l.item !== item), { item, quantity: (lines.find((l) => l.item === item)?.quantity ?? 0) + Number(input?.quantity ?? 1) }]);
        return { result: { data: { lines: carts.get(sessionId) } } };
      }
      case "session.rotate": {
        const next = input?.newSessionId;
        if (!isSessionId(next)) return badSession;
        carts.set(next, lines);
        carts.delete(sessionId);
        return { result: { data: { moved: lines.length, linked: false } } };
      }
      default:
        return { error: { message: `No procedure ${path}`, code: -32004, data: { code: "NOT_FOUND", httpStatus: 404 } } };
    }
  };
  return {
    carts,
    calls,
    respond(request) {
      const { paths, input } = parseBatchUrl(request.url);
      const inputs = (request.method === "POST" ? JSON.parse(request.body ?? "{}") : (input ?? {})) as Record<string, Record<string, unknown> | undefined>;
      return jsonReply(paths.map((path, i) => answer(path, inputs[String(i)])));
    },
  };
}
