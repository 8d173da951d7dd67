// The demo web app: one tab's account, its profile (TanStack Query with `staleTime: Infinity` and
// a background refetch), its anonymous cart and its onboarding progress.
//
// Query parameters: `mode=cookie` turns the per-tab token off (the naive client, to show the
// bug); `refetch=<ms>` sets the background refetch interval (default 5000).
import { MutationObserver, QueryClient, QueryObserver } from "@tanstack/query-core";
import {
  authLink,
  connectQueryClient,
  createClient,
  createOptionsProxy,
  createTabAuth,
  devIdpAuthSource,
  httpBatchLink,
  TabrpcError,
} from "@tabrpc/client";
import type { Procedures, User } from "../../../../bindings/demo.js";

const params = new URLSearchParams(location.search);
const mode = params.get("mode") === "cookie" ? "cookie" : "token";
const refetchMs = Math.max(100, Number(params.get("refetch") ?? "5000") || 5000);

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.querySelector<T>(`[data-testid="${id}"]`);
  if (el === null) throw new Error(`missing element ${id}`);
  return el;
};

function showError(error: unknown): void {
  const text = error instanceof TabrpcError ? `${error.code}: ${error.message}` : String(error);
  $("last-error").textContent = text;
}

const source = devIdpAuthSource({ url: location.origin });
const auth = createTabAuth(source);
const transport = httpBatchLink({ url: "/trpc" });
const client = createClient<Procedures>({
  links: mode === "token" ? [authLink({ auth }), transport] : [transport],
});
const queryClient = new QueryClient();
queryClient.mount();
connectQueryClient(queryClient, auth);
const rq = createOptionsProxy<Procedures>({
  client,
  auth,
  markers: {
    "profile.getUser": ["viewer"],
    "onboarding.getProgress": ["viewer"],
    "onboarding.saveStep": ["viewer"],
  },
});

$("mode").textContent = mode === "token" ? "per-tab token" : "cookie only (no per-tab token)";
if (mode === "cookie") document.body.classList.add("mode-cookie");

// Profile. In token mode the key carries the tab's account, so each account has its own cache
// entry; in cookie mode it is one shared key, as a naive client would have it.
let fetches = 0;
/** Every profile this tab has shown, in order (read by the end-to-end tests). */
const shown: string[] = [];
const profileOptions = () =>
  mode === "token"
    ? rq.profile.getUser.queryOptions(undefined, { staleTime: Infinity, refetchInterval: refetchMs, refetchIntervalInBackground: true })
    : {
        queryKey: ["profile.getUser"],
        queryFn: () => client.profile.getUser.query(),
        staleTime: Infinity,
        refetchInterval: refetchMs,
        refetchIntervalInBackground: true,
      };
const profile = new QueryObserver<User, Error>(queryClient, profileOptions() as never);
let lastUpdated = 0;
profile.subscribe((result) => {
  if (result.dataUpdatedAt !== lastUpdated && result.data !== undefined) {
    lastUpdated = result.dataUpdatedAt;
    fetches += 1;
  }
  const user = result.data;
  const name = user === undefined ? "…" : user.signedIn ? user.displayName : "Anonymous";
  if (user !== undefined && shown[shown.length - 1] !== name) shown.push(name);
  $("profile-name").textContent = user === undefined ? "…" : user.signedIn ? user.displayName : "Anonymous";
  $("profile-id").textContent = user?.id ?? "";
  $("fetches").textContent = String(fetches);
  $("profile-status").textContent = result.status + (result.isFetching ? " (fetching)" : "");
  if (result.error) showError(result.error);
});

// Onboarding (needs a signed-in account).
const progress = new QueryObserver(queryClient, rq.onboarding.getProgress.queryOptions(undefined, { retry: false }) as never);
progress.subscribe((result) => {
  const data = result.data as { completed: string[]; next: string | null } | undefined;
  $("onboarding").textContent =
    data === undefined
      ? result.error instanceof TabrpcError && result.error.code === "UNAUTHORIZED"
        ? "sign in to see your progress"
        : "…"
      : `done: ${data.completed.join(", ") || "nothing yet"}; next: ${data.next ?? "all done"}`;
});
$("onboarding-next").addEventListener("click", () => {
  const next = (progress.getCurrentResult().data as { next: string | null } | undefined)?.next;
  if (next === null || next === undefined) return;
  const save = new MutationObserver(queryClient, rq.onboarding.saveStep.mutationOptions() as never);
  save
    .mutate({ step: next } as never)
    .then(() => queryClient.invalidateQueries({ queryKey: rq.onboarding.pathKey() }))
    .catch(showError);
});

// Account controls.
function renderAccount(): void {
  const current = source.accountId();
  $("tab-account").textContent = current ?? "nobody";
  const signIn = $("sign-in");
  signIn.replaceChildren(
    ...["alice", "bob", "carol"].map((name) => {
      const button = document.createElement("button");
      button.textContent = `Sign in as ${name}`;
      button.dataset.testid = `sign-in-${name}`;
      button.addEventListener("click", () => void source.signIn(name).catch(showError));
      return button;
    }),
  );
  $("switch").replaceChildren(
    ...source
      .sessions()
      .filter((s) => s.sessionId !== source.sessionId())
      .map((s) => {
        const button = document.createElement("button");
        button.textContent = `Switch to ${s.userId}`;
        button.dataset.testid = `switch-${s.userId}`;
        button.addEventListener("click", () => void source.switchTo(s.sessionId).catch(showError));
        return button;
      }),
  );
}
$("sign-out").addEventListener("click", () => void source.signOut().catch(showError));
auth.subscribe(() => {
  renderAccount();
  // The keys follow the account: point the observers at the new account's entries.
  profile.setOptions(profileOptions() as never);
  progress.setOptions(rq.onboarding.getProgress.queryOptions(undefined, { retry: false }) as never);
});
source.subscribe(renderAccount);
renderAccount();
void source.refresh().catch(showError);

// Exposed for the end-to-end tests.
Object.assign(window, { tabrpcDemo: { auth, source, queryClient, shown, fetches: () => fetches } });
