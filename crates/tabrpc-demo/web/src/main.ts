// The demo web app: one tab's account, its profile (TanStack Query with `staleTime: Infinity` and
// a background refetch), what its API requests carried, its anonymous cart and its onboarding
// progress.
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
import { PROCEDURE_MARKERS, type OnboardingStep, type Procedures, type Progress, type User } from "../../../../bindings/demo.js";

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

/** The subject (`sub`) of a JWT, for display; the token itself is never shown. */
function subject(token: string): string {
  try {
    const payload = token.split(".")[1] ?? "";
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { sub?: unknown };
    return typeof claims.sub === "string" ? claims.sub : "?";
  } catch {
    return "?";
  }
}

// What each API request of this tab carried, counted and shown (the screenshots show it).
const carried = { bearer: 0, marker: 0, none: 0 };
async function observedFetch(url: string, init: RequestInit): Promise<Response> {
  const headers = new Headers(init.headers);
  const authorization = headers.get("authorization");
  let shownAuth: string;
  if (authorization !== null) {
    carried.bearer += 1;
    shownAuth = `this tab's token (${subject(authorization.replace(/^Bearer\s+/i, ""))})`;
  } else if (headers.get("x-tabrpc-auth-required") === "1") {
    carried.marker += 1;
    shownAuth = "fail-closed marker, no token";
  } else {
    carried.none += 1;
    shownAuth = "no auth header (the shared cookie decides)";
  }
  $("last-request-auth").textContent = shownAuth;
  $("requests-bearer").textContent = String(carried.bearer);
  $("requests-marker").textContent = String(carried.marker);
  $("requests-none").textContent = String(carried.none);
  $("last-request-status").textContent = "…";
  try {
    const response = await fetch(url, init);
    $("last-request-status").textContent = `HTTP ${response.status}`;
    return response;
  } catch (error) {
    $("last-request-status").textContent = "failed";
    throw error;
  }
}

/**
 * The procedures this app calls: the profile and onboarding (marked "viewer"). The cart (marked
 * "session") joins them with the client's session store.
 */
type AppProcedures = Pick<Procedures, "profile.getUser" | "onboarding.getProgress" | "onboarding.saveStep">;

const source = devIdpAuthSource({ url: location.origin });
const auth = createTabAuth(source);
const transport = httpBatchLink({ url: "/trpc", fetch: observedFetch });
const client = createClient<AppProcedures>({
  links: mode === "token" ? [authLink({ auth }), transport] : [transport],
});
// A refused call (4xx: signed out, not allowed) is an answer, not a glitch: shown at once, not
// retried; anything else is retried twice.
const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (failures, error) => failures < 2 && !(error instanceof TabrpcError && error.httpStatus >= 400 && error.httpStatus < 500),
    },
  },
});
queryClient.mount();
connectQueryClient(queryClient, auth);
const rq = createOptionsProxy<AppProcedures>({
  client,
  auth,
  markers: {
    "profile.getUser": PROCEDURE_MARKERS["profile.getUser"],
    "onboarding.getProgress": PROCEDURE_MARKERS["onboarding.getProgress"],
    "onboarding.saveStep": PROCEDURE_MARKERS["onboarding.saveStep"],
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

// Onboarding (per account; needs a signed-in account).
const STEPS: readonly OnboardingStep[] = ["welcome", "profile", "preferences", "done"];
// Not asked for while the tab is signed out: there is no progress to show, only a refusal.
const progressOptions = () => rq.onboarding.getProgress.queryOptions(undefined, { retry: false, enabled: auth.accountId !== null });
const progress = new QueryObserver(queryClient, progressOptions() as never);
progress.subscribe((result) => {
  const data = result.data as Progress | undefined;
  $("onboarding").textContent =
    data === undefined
      ? auth.accountId === null || (result.error instanceof TabrpcError && result.error.code === "UNAUTHORIZED")
        ? "sign in to see your progress"
        : "…"
      : `${data.completed.length} of ${STEPS.length} steps done; next: ${data.next ?? "all done"}`;
  $("onboarding-steps").replaceChildren(
    ...(data === undefined ? [] : STEPS).map((step) => {
      const item = document.createElement("li");
      const done = data?.completed.includes(step) === true;
      item.dataset.testid = `onboarding-step-${step}`;
      item.dataset.done = String(done);
      item.textContent = `${done ? "✓" : "○"} ${step}`;
      return item;
    }),
  );
  ($("onboarding-next") as HTMLButtonElement).disabled = data?.next === undefined || data.next === null;
});
$("onboarding-next").addEventListener("click", () => {
  const next = (progress.getCurrentResult().data as Progress | undefined)?.next;
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
  progress.setOptions(progressOptions() as never);
});
source.subscribe(renderAccount);
renderAccount();
void source.refresh().catch(showError);

// Exposed for the end-to-end tests.
Object.assign(window, { tabrpcDemo: { auth, source, client, queryClient, shown, fetches: () => fetches, carried } });
