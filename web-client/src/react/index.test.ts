// @vitest-environment happy-dom
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, renderHook, waitFor } from "@testing-library/react";
import { createElement, type ReactNode } from "react";
import { describe, expect, it } from "vitest";
import { procedures } from "../testing/demo-procedures.js";
import { createTabAuth } from "../auth/tabAuth.js";
import { createClient } from "../client.js";
import { authLink } from "../links/authLink.js";
import { httpBatchLink } from "../links/httpBatchLink.js";
import { queryKeyOf } from "../query/keys.js";
import { createOptionsProxy } from "../query/options.js";
import { fakeFetch, jsonReply, parseBatchUrl, type RecordedRequest } from "../testing/fake-fetch.js";
import { scriptedSource } from "../testing/scripted-auth.js";
import { useAccountId, useConnectQueryClient, useTabrpcMutation, useTabrpcQuery } from "./index.js";

/** Answers as the bearer token's account (`token-<user>`), checking viewerId like the demo. */
function server(request: RecordedRequest): Response {
  const { paths, input } = parseBatchUrl(request.url);
  const inputs = (request.method === "POST" ? JSON.parse(request.body ?? "{}") : (input ?? {})) as Record<string, { viewerId?: string } | undefined>;
  const caller = request.headers.authorization?.replace("Bearer token-", "") ?? null;
  return jsonReply(
    paths.map((path, i) => {
      const viewerId = inputs[String(i)]?.viewerId;
      if (viewerId !== undefined && viewerId !== caller) {
        return { error: { message: "viewer/session mismatch", code: -32003, data: { code: "FORBIDDEN", httpStatus: 403, reason: "viewer_mismatch" } } };
      }
      if (path === "profile.getUser") return { result: { data: { id: caller ?? "", displayName: caller ?? "Anonymous", signedIn: caller !== null } } };
      return { result: { data: { completed: ["welcome"], next: "profile" } } };
    }),
  );
}

function setup() {
  const source = scriptedSource({ accountId: "user_alice", accounts: ["user_alice", "user_bob"] });
  const auth = createTabAuth(source, { settleMs: 10 });
  const fetch = fakeFetch(server);
  const client = createClient(procedures, { links: [authLink({ auth }), httpBatchLink({ url: "http://api.test/trpc", fetch })] });
  const rq = createOptionsProxy(client);
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const wrapper = ({ children }: { children: ReactNode }) => createElement(QueryClientProvider, { client: queryClient }, children);
  return { source, auth, fetch, client, rq, queryClient, wrapper };
}

describe("React hooks", () => {
  it("useAccountId follows the tab's account", () => {
    const { source, auth } = setup();
    const { result } = renderHook(() => useAccountId(auth));
    expect(result.current).toBe("user_alice");
    act(() => source.set({ accountId: "user_bob" }));
    expect(result.current).toBe("user_bob");
  });

  it("useTabrpcQuery re-keys on an account switch, keeping both accounts apart; sign-out removes one", async () => {
    const { source, client, rq, queryClient, wrapper } = setup();
    const { result } = renderHook(
      () => {
        useConnectQueryClient(client);
        return useTabrpcQuery(rq.profile.getUser);
      },
      { wrapper },
    );
    await waitFor(() => expect(result.current.data?.id).toBe("user_alice"));
    act(() => source.set({ accountId: "user_bob" }));
    await waitFor(() => expect(result.current.data?.id).toBe("user_bob"));
    expect(queryClient.getQueryData(queryKeyOf("profile.getUser", undefined, "user_alice") as unknown as ReturnType<typeof rq.profile.getUser.queryKey>)?.id).toBe("user_alice");
    act(() => source.set({ accountId: null, accounts: ["user_alice"] }));
    await waitFor(() => expect(result.current.data?.signedIn).toBe(false));
    expect(queryClient.getQueryData(queryKeyOf("profile.getUser", undefined, "user_bob"))).toBeUndefined();
    expect(queryClient.getQueryData(queryKeyOf("profile.getUser", undefined, "user_alice") as unknown as ReturnType<typeof rq.profile.getUser.queryKey>)?.id).toBe("user_alice");
    expect(result.current.error).toBeNull();
  });

  it("useTabrpcMutation sends the shown account's viewerId", async () => {
    const { rq, fetch, wrapper } = setup();
    const { result } = renderHook(() => useTabrpcMutation(rq.onboarding.saveStep), { wrapper });
    await act(() => result.current.mutateAsync({ step: "welcome" }));
    await waitFor(() => expect(result.current.data).toEqual({ completed: ["welcome"], next: "profile" }));
    expect(fetch.requests[0]?.body).toBe('{"0":{"step":"welcome","viewerId":"user_alice"}}');
  });
});
