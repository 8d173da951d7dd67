// @vitest-environment happy-dom
import { QueryClient, QueryClientProvider, useQuery } from "@tanstack/react-query";
import { act, render, renderHook, screen, waitFor } from "@testing-library/react";
import { createElement, type ReactNode } from "react";
import { describe, expect, it } from "vitest";
import { procedures as demo, type Procedures as Demo } from "../../../bindings/demo.js";
import { createTabAuth } from "../auth/tabAuth.js";
import { createClient } from "../client.js";
import type { ProcedureTable } from "../codes.js";
import { authLink } from "../links/authLink.js";
import { httpBatchLink } from "../links/httpBatchLink.js";
import { fakeFetch, jsonReply, parseBatchUrl, type RecordedRequest } from "../testing/fake-fetch.js";
import { scriptedSource } from "../testing/scripted-auth.js";
import type { Link } from "../types.js";
import { createOptionsProxy } from "../query/options.js";
import { createTabrpcContext, useSubscription } from "./index.js";

type Procs = Pick<Demo, "profile.getUser"> & {
  "feed.watch": { kind: "subscription"; input: { topic: string; viewerId?: string }; output: { n: number; for: string }; error: never; stream: true; scopes: "viewer" };
};
const table: ProcedureTable<Procs> = {
  "profile.getUser": demo["profile.getUser"],
  "feed.watch": { kind: "subscription", stream: true, scopes: ["viewer"] },
};

function server(request: RecordedRequest): Response {
  const { paths } = parseBatchUrl(request.url);
  const caller = request.headers.authorization?.replace("Bearer token-", "") ?? null;
  return jsonReply(paths.map(() => ({ result: { data: { id: caller ?? "", displayName: caller ?? "Anonymous", signedIn: caller !== null } } })));
}

/** Subscriptions: events pushed by the test to the open ones, each stream ending when closed. */
function feed() {
  const open = new Map<number, { viewerId: unknown; push: (n: number) => void }>();
  let lastId = 0;
  const link: Link = (op, next) => {
    if (op.kind !== "subscription") return next(op);
    const id = ++lastId;
    const queue: number[] = [];
    let wake: (() => void) | undefined;
    const viewerId = op.context["viewerId"];
    open.set(id, {
      viewerId,
      push: (n) => {
        queue.push(n);
        wake?.();
      },
    });
    const signal = op.signal;
    signal?.addEventListener("abort", () => {
      open.delete(id);
      wake?.();
    });
    async function* events() {
      while (signal?.aborted !== true) {
        const n = queue.shift();
        if (n !== undefined) yield { n, for: String(viewerId) };
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    }
    return Promise.resolve({ data: events() });
  };
  const push = (n: number) => {
    for (const subscription of open.values()) subscription.push(n);
  };
  return { link, open, push };
}

function setup() {
  const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
  const auth = createTabAuth(source, { settleMs: 10 });
  const fetch = fakeFetch(server);
  const subscriptions = feed();
  const client = createClient(table, { links: [authLink({ auth }), subscriptions.link, httpBatchLink({ url: "http://api.test/trpc", fetch })] });
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const { TabrpcProvider, useTabrpc } = createTabrpcContext<Procs>();
  const wrapper = ({ children }: { children: ReactNode }) =>
    createElement(QueryClientProvider, { client: queryClient }, createElement(TabrpcProvider, { client, queryClient }, children));
  return { source, client, queryClient, wrapper, useTabrpc, subscriptions };
}

describe("useTabrpc", () => {
  it("re-renders its component on an account change, with keys of the new account", async () => {
    const { source, wrapper, useTabrpc, queryClient } = setup();
    let renders = 0;
    function Profile() {
      renders++;
      const rq = useTabrpc();
      const user = useQuery(rq.profile.getUser.queryOptions());
      return createElement("p", null, user.data?.displayName ?? "loading");
    }
    render(createElement(Profile), { wrapper });
    await screen.findByText("user_alice");
    const before = renders;
    act(() => source.set({ accountId: "user_bob" }));
    await screen.findByText("user_bob");
    expect(renders).toBeGreaterThan(before);
    expect(queryClient.getQueryCache().getAll().map((query) => (query.queryKey[1] as { input: { viewerId: string } }).input.viewerId).sort()).toEqual(["user_alice", "user_bob"]);
    // The provider connected the query client: alice's sign-out removes her entries.
    act(() => source.set({ accounts: ["user_bob"] }));
    await waitFor(() => expect(queryClient.getQueryCache().getAll()).toHaveLength(1));
  });

  it("is a new proxy per account (memos follow), the same one otherwise", () => {
    const { source, wrapper, useTabrpc } = setup();
    const { result, rerender } = renderHook(() => useTabrpc(), { wrapper });
    const first = result.current;
    rerender();
    expect(result.current).toBe(first);
    act(() => source.set({ accountId: "user_bob" }));
    expect(result.current).not.toBe(first);
  });

  it("throws a clear error without a provider", () => {
    const { useTabrpc } = createTabrpcContext<Procs>();
    expect(() => renderHook(() => useTabrpc())).toThrow(/TabrpcProvider/);
  });
});

describe("useSubscription", () => {
  it("receives values, and re-subscribes for the new account on a switch, closing the old one", async () => {
    const { source, wrapper, useTabrpc, subscriptions } = setup();
    const seen: string[] = [];
    const { result, unmount } = renderHook(
      () => {
        const rq = useTabrpc();
        return useSubscription(rq.feed.watch.subscriptionOptions({ topic: "news" }, { onData: (event) => seen.push(`${event.for}:${event.n}`) }));
      },
      { wrapper },
    );
    expect(result.current.status).toBe("connecting");
    await waitFor(() => expect(subscriptions.open.size).toBe(1));
    act(() => subscriptions.push(1));
    await waitFor(() => expect(result.current.data).toEqual({ n: 1, for: "user_alice" }));
    expect(result.current.status).toBe("pending");

    act(() => source.set({ accountId: "user_bob" }));
    await waitFor(() => expect([...subscriptions.open.values()].map((s) => s.viewerId)).toEqual(["user_bob"]));
    act(() => subscriptions.push(2));
    await waitFor(() => expect(result.current.data).toEqual({ n: 2, for: "user_bob" }));
    expect(seen).toEqual(["user_alice:1", "user_bob:2"]);

    act(() => result.current.reset());
    await waitFor(() => expect(result.current.status).toBe("connecting"));
    expect(result.current.data).toBeUndefined();
    unmount();
    await waitFor(() => expect(subscriptions.open.size).toBe(0));
  });

  it("stays idle while disabled", () => {
    const { client, wrapper, subscriptions } = setup();
    const rq = createOptionsProxy(client);
    const { result } = renderHook(() => useSubscription(rq.feed.watch.subscriptionOptions({ topic: "x" }, { enabled: false })), { wrapper });
    expect(result.current.status).toBe("idle");
    expect(subscriptions.open.size).toBe(0);
  });
});
