// @vitest-environment happy-dom
// The React hooks with a session store: queries of session procedures follow the tab's id.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, renderHook, waitFor } from "@testing-library/react";
import { createElement, type ReactNode } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { procedures } from "../../../bindings/demo.js";
import { createTabAuth } from "../auth/tabAuth.js";
import { createClient } from "../client.js";
import { tabLinks } from "../links/tabLinks.js";
import { createOptionsProxy } from "../query/options.js";
import { createSessionStore, type SessionStore } from "../session/store.js";
import { cartServer } from "../testing/cart-server.js";
import { fakeFetch } from "../testing/fake-fetch.js";
import { scriptedSource } from "../testing/scripted-auth.js";
import { useConnectQueryClient, useSessionId, useTabrpcQuery } from "./index.js";

const stores: SessionStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.dispose();
});

function setup(serverRendering: boolean) {
  const session = createSessionStore({ storage: "memory", serverRendering });
  stores.push(session);
  const server = cartServer();
  const auth = createTabAuth(scriptedSource({ accountId: null }), { tokenRetryDelayMs: 1 });
  const fetch = fakeFetch((r) => server.respond(r));
  const client = createClient(procedures, { links: tabLinks({ url: "http://api.test/trpc", auth, session, fetch }) });
  const rq = createOptionsProxy(client);
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const wrapper = ({ children }: { children: ReactNode }) => createElement(QueryClientProvider, { client: queryClient }, children);
  return { session, server, auth, fetch, client, rq, queryClient, wrapper };
}

describe("React hooks with sessions", () => {
  it("useSessionId follows the store, and is null without one", async () => {
    const { session } = setup(true);
    const { result } = renderHook(() => useSessionId(session));
    expect(result.current).toBeNull();
    act(() => session.start());
    expect(result.current).toBe(session.id);
    await act(() => session.refresh());
    expect(result.current).toBe(session.id);
    expect(renderHook(() => useSessionId(undefined)).result.current).toBeNull();
  });

  it("useTabrpcQuery waits for the first id, then re-keys on refresh; the old id's data goes", async () => {
    const { session, client, rq, queryClient, fetch, wrapper } = setup(true);
    const { result } = renderHook(
      () => {
        useConnectQueryClient(client);
        return useTabrpcQuery(rq.cart.get);
      },
      { wrapper },
    );
    expect(result.current.fetchStatus).toBe("idle");
    expect(fetch.requests).toHaveLength(0);
    act(() => session.start());
    await waitFor(() => expect(result.current.data).toEqual({ lines: [] }));
    const firstKey = rq.cart.get.queryKey();
    await act(async () => {
      await client.cart.add.mutate({ item: "apple" });
      await session.refresh(async (newSessionId) => {
        await client.session.rotate.mutate({ newSessionId });
      });
    });
    await waitFor(() => expect(result.current.data).toEqual({ lines: [{ item: "apple", quantity: 1 }] }));
    expect(queryClient.getQueryData(firstKey)).toBeUndefined();
    expect(result.current.error).toBeNull();
  });
});
