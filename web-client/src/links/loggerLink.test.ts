import { describe, expect, it, vi } from "vitest";
import { createClient } from "../client.js";
import { TabrpcError } from "../error.js";
import { procedures, type Procedures } from "../../../bindings/conformance.js";
import { loggerLink, type LogEvent } from "./loggerLink.js";

function summary(event: LogEvent): string {
  const head = `${event.direction} ${event.op.kind} #${event.op.id} ${event.op.path}`;
  if (event.direction === "up") return `${head} ${JSON.stringify(event.op.input)}`;
  return event.outcome.ok ? `${head} ok ${JSON.stringify(event.outcome.result.data)}` : `${head} failed ${String(event.outcome.error)}`;
}

describe("loggerLink", () => {
  it("reports each call and its outcome without changing them", async () => {
    const events: LogEvent[] = [];
    const failure = new TabrpcError({ code: "FORBIDDEN", message: "nope", httpStatus: 403, path: "forbiddenMsg" });
    const client = createClient(procedures, {
      links: [
        loggerLink({ log: (e) => events.push(e) }),
        (op) => (op.path === "forbiddenMsg" ? Promise.reject(failure) : Promise.resolve({ data: "out", response: undefined })),
      ],
    });
    await expect(client.helloStr.query("in")).resolves.toBe("out");
    await expect(client.forbiddenMsg.query()).rejects.toBe(failure);
    expect(events.map(summary)).toMatchInlineSnapshot(`
      [
        "up query #1 helloStr "in"",
        "down query #1 helloStr ok "out"",
        "up query #2 forbiddenMsg undefined",
        "down query #2 forbiddenMsg failed TabrpcError: nope",
      ]
    `);
    const down = events[1];
    expect(down?.direction === "down" && down.elapsedMs >= 0).toBe(true);
  });

  it("skips events `enabled` refuses, and logs to the console by default", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      const client = createClient(procedures, {
        links: [loggerLink({ enabled: (e) => e.direction === "down" }), () => Promise.resolve({ data: 1, response: undefined })],
      });
      await client.noInput.query();
      expect(log).toHaveBeenCalledTimes(1);
      expect(String(log.mock.calls[0]?.[0])).toMatch(/^<< query #1 noInput ok \d+ms$/);
    } finally {
      log.mockRestore();
    }
  });

  it("never logs a full session id: input and context show an 8-character prefix, the call gets the whole id", async () => {
    const sessionId = "6f1c2a9e-4b7d-4c1e-9a2f-0d3e5b7c9a11";
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const events: LogEvent[] = [];
    const seen: unknown[] = [];
    try {
      const client = createClient(procedures, {
        links: [
          loggerLink({ enabled: (e) => (events.push(e), true) }),
          (op) => (seen.push(op.input, op.context.sessionId), Promise.resolve({ data: 1, response: undefined })),
        ],
      });
      await client.helloStr.query({ sessionId, keep: "x" } as never, { context: { sessionId } });
      const printed = JSON.stringify(log.mock.calls);
      expect(printed).not.toContain(sessionId);
      expect(printed).toContain("6f1c2a9e…");
      expect(JSON.stringify(events.map((e) => [e.op.input, e.op.context]))).not.toContain(sessionId);
      expect(events[0]?.op.input).toEqual({ sessionId: "6f1c2a9e…", keep: "x" });
      expect(seen).toEqual([{ sessionId, keep: "x" }, sessionId]);
    } finally {
      log.mockRestore();
    }
  });

  it("never logs a full new session id either (session.rotate's newSessionId): input and context show the prefix", async () => {
    const sessionId = "6f1c2a9e-4b7d-4c1e-9a2f-0d3e5b7c9a11";
    const newSessionId = "0b8e6d4c-2a1f-4e3d-8c5b-7a9f1e3d5c77";
    const events: LogEvent[] = [];
    const seen: unknown[] = [];
    const client = createClient(procedures, {
      links: [
        loggerLink({ log: (e) => events.push(e) }),
        (op) => (seen.push(op.input, op.context.newSessionId), Promise.resolve({ data: 1, response: undefined })),
      ],
    });
    await client.helloStr.query({ sessionId, newSessionId } as never, { context: { newSessionId } });
    expect(events.map((e) => [e.op.input, e.op.context.newSessionId])).toEqual([
      [{ sessionId: "6f1c2a9e…", newSessionId: "0b8e6d4c…" }, "0b8e6d4c…"],
      [{ sessionId: "6f1c2a9e…", newSessionId: "0b8e6d4c…" }, "0b8e6d4c…"],
    ]);
    expect(seen).toEqual([{ sessionId, newSessionId }, newSessionId]);
  });
});
