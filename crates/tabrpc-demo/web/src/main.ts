// The demo web app: one tab's account, its profile (TanStack Query with `staleTime: Infinity` and
// a background refetch), what its API requests carried, its anonymous cart and its onboarding
// progress.
//
// The cart belongs to the tab's session id (a "session" procedure: the client fills it in).
// `connectSession` keeps the id in step with the account: at sign-in the anonymous cart moves to
// a new id linked to the account (`session.rotate`, with the new account's token); at sign-out
// the session ends (`session.end`, while the token is still there) and the tab takes a new,
// anonymous id; an ended session gets a new id.
//
// Live updates: `connectLive` keeps the tab's `live.events` stream open for its account and
// session; a change made in another tab (the display name, the cart) refetches what it touched
// here, and only for this tab's account. The page shows the stream's state.
//
// Query parameters: `mode=cookie` turns the per-tab token off (the naive client, to show the
// bug); `refetch=<ms>` sets the background refetch interval (default 5000; `0`: none, the page
// then changes only by its own actions and live updates); `accountsLag=<ms>` makes the
// browser's signed-in accounts, as this tab's auth sees them, trail the provider's by that long
// (see `lagging` below); `live=0` turns live updates off (on by default in token mode);
// `session=browser` keeps one session id (and cart) per browser instead of per tab.
import { MutationObserver, QueryClient, QueryObserver } from "@tanstack/query-core";
import { createClient, HEADERS, TabrpcError, tabLinks } from "@tabrpc/client";
import { createTabAuth, isAuthChange, type AuthSource } from "@tabrpc/client/auth";
import {
  connectSession,
  createSessionStore,
  isSessionChange,
  type SessionChange,
  type SessionFollowEvent,
} from "@tabrpc/client/session";
import { connectQueryClient, createOptionsProxy } from "@tabrpc/client/query";
import { connectLive, type LiveState } from "@tabrpc/client/live";
import { devIdpAuthSource, type DevIdpAuthSource } from "@tabrpc/client/dev-idp";
import { procedures, type Cart, type OnboardingStep, type Progress, type SessionRotation } from "../../../../bindings/demo.js";

const params = new URLSearchParams(location.search);
const mode = params.get("mode") === "cookie" ? "cookie" : "token";
const refetchMs = params.get("refetch") === "0" ? false : Math.max(100, Number(params.get("refetch") ?? "5000") || 5000);
const accountsLagMs = Math.max(0, Number(params.get("accountsLag") ?? "0") || 0);
const liveUpdates = mode === "token" && params.get("live") !== "0";
const sessionMode = params.get("session") === "browser" ? "browser" : "tab";

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.querySelector<T>(`[data-testid="${id}"]`);
  if (el === null) throw new Error(`missing element ${id}`);
  return el;
};

function showError(error: unknown): void {
  // An answer for a session id or an account the tab has left: dropped on purpose, nothing to show.
  if (isSessionChange(error) || isAuthChange(error)) return;
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

/** One API request of this tab: its procedures, what it carried, and the tab's account when it was sent. */
interface SentRequest {
  readonly paths: string;
  /** `bearer:<sub>`, `marker` (the fail-closed header, no token) or `none`. */
  readonly carried: string;
  readonly tabAccount: string | null;
}

// What each API request of this tab carried, counted and shown (the screenshots show it), and
// listed for the end-to-end tests.
const carried = { bearer: 0, marker: 0, none: 0 };
const requests: SentRequest[] = [];
async function observedFetch(url: string, init: RequestInit): Promise<Response> {
  const headers = new Headers(init.headers);
  const authorization = headers.get("authorization");
  let shownAuth: string;
  let kind: string;
  if (authorization !== null) {
    carried.bearer += 1;
    const sub = subject(authorization.replace(/^Bearer\s+/i, ""));
    kind = `bearer:${sub}`;
    shownAuth = `this tab's token (${sub})`;
  } else if (headers.get(HEADERS.MARKER) === "1") {
    carried.marker += 1;
    kind = "marker";
    shownAuth = "fail-closed marker, no token";
  } else {
    carried.none += 1;
    kind = "none";
    const account = headers.get(HEADERS.ACCOUNT);
    shownAuth = account === null ? "no auth header (the shared cookie decides)" : `no token: the shared cookie, only if it is ${account}'s`;
  }
  const paths = decodeURIComponent(new URL(url, location.href).pathname.replace(/^\/trpc\//, ""));
  requests.push({ paths, carried: kind, tabAccount: source.accountId() });
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
 * `source` as a provider whose list of the browser's signed-in accounts lags (one that learns of
 * other tabs' sessions only when it next polls its server): another tab's sign-in or sign-out
 * reaches it `ms` later; this tab's own account is there at once. The dev IdP adapter itself follows the other tabs at once
 * (BroadcastChannel), so this is how the demo shows a tab that believes its account is the only
 * one while the shared cookie already holds another tab's account.
 */
function lagging(inner: DevIdpAuthSource, ms: number): AuthSource {
  let known: readonly string[] = inner.signedInAccountIds();
  const listeners = new Set<() => void>();
  inner.subscribe(() => {
    const now = inner.signedInAccountIds();
    setTimeout(() => {
      known = now;
      for (const listener of [...listeners]) listener();
    }, ms);
  });
  const ids = (): readonly string[] => {
    const own = inner.accountId();
    return own === null || known.includes(own) ? known : [...known, own];
  };
  return {
    getToken: (options) => inner.getToken(options),
    accountId: () => inner.accountId(),
    sessionId: () => inner.sessionId(),
    signedInAccounts: () => ids().length,
    signedInAccountIds: ids,
    subscribe(onChange) {
      listeners.add(onChange);
      const stop = inner.subscribe(onChange);
      return () => {
        listeners.delete(onChange);
        stop();
      };
    },
  };
}

/**
 * Cookie mode's naive client, which shows the bug: it knows no account and has no token, and its
 * fail-closed marker goes under a name the server ignores, so the shared cookie decides every
 * answer (and every cache key is the anonymous one).
 */
const naive: AuthSource = { getToken: async () => null, accountId: () => null, signedInAccounts: () => 0, subscribe: () => () => undefined };

const source = devIdpAuthSource({ url: location.origin });
const auth = createTabAuth(mode === "cookie" ? naive : accountsLagMs > 0 ? lagging(source, accountsLagMs) : source);
// This tab's anonymous session id (a UUID v4 in sessionStorage: one per tab; a tab opened with
// window.open gets its own, a reload keeps it), or the browser's (localStorage) with
// `session=browser`.
const session = createSessionStore({ storage: sessionMode === "browser" ? "local" : "session" });
const markerHeader = mode === "cookie" ? "x-demo-cookie-mode" : undefined;
const client = createClient(procedures, { links: tabLinks({ url: "/trpc", auth, session, fetch: observedFetch, markerHeader }) });
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
connectQueryClient(queryClient, client);
const rq = createOptionsProxy(client);
connectSession(client, { onChange: followed, onError: showError });
/** Every failure of the live stream (it retries by itself), for the page and the tests. */
const liveErrors: string[] = [];
const live = liveUpdates
  ? connectLive(client, queryClient, {
      onError: (error) => liveErrors.push(error instanceof TabrpcError ? `${error.code}: ${error.message}` : String(error)),
    })
  : undefined;

$("mode").textContent = mode === "token" ? "per-tab token" : "cookie only (no per-tab token)";
if (mode === "cookie") document.body.classList.add("mode-cookie");

// Profile. In token mode the key carries the tab's account, so each account has its own cache
// entry; in cookie mode it is one shared key (the naive client's account is always "none").
let fetches = 0;
/** Every profile this tab has shown, in order (read by the end-to-end tests). */
const shown: string[] = [];
const profileOptions = () =>
  rq.profile.getUser.queryOptions(undefined, { staleTime: Infinity, refetchInterval: refetchMs, refetchIntervalInBackground: true });
const profile = new QueryObserver(queryClient, profileOptions());
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

/** A section of the page from static markup (no data in it: the render functions fill it in). */
function markup(html: string): HTMLElement {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  return template.content.firstElementChild as HTMLElement;
}

// The display name (per account): saved with `profile.setDisplayName`; the other tabs of the
// account show it through their live stream, other accounts' tabs hear nothing of it.
const nameForm = markup(`<form>
  <input data-testid="display-name-input" placeholder="new display name" />
  <button data-testid="display-name-save">Save name</button>
  <span class="muted" data-testid="display-name-status"></span>
</form>`);
$("profile-name").closest("section")?.append(nameForm);
nameForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const displayName = $<HTMLInputElement>("display-name-input").value.trim();
  if (displayName === "") return;
  $("display-name-status").textContent = "saving…";
  new MutationObserver(queryClient, rq.profile.setDisplayName.mutationOptions())
    .mutate({ displayName })
    .then(async () => {
      $("display-name-status").textContent = "saved";
      await queryClient.invalidateQueries({ queryKey: rq.profile.getUser.queryKey() });
    })
    .catch((error: unknown) => {
      $("display-name-status").textContent = "not saved";
      showError(error);
    });
});
const renderNameForm = () => {
  $<HTMLButtonElement>("display-name-save").disabled = tabAccount() === null;
};

// Live updates: the stream's state, as `connectLive` reports it.
$("profile-name").closest("section")?.after(
  markup(`<section>
  <h2>Live updates <span class="muted">(one stream per tab, for its account and session)</span></h2>
  <div>Stream: <b data-testid="live-status">off</b> for <b data-testid="live-account">nobody (live updates are off)</b></div>
  <div class="muted" data-testid="live-detail"></div>
  <div class="muted" data-testid="live-last-event"></div>
  <div class="muted" data-testid="live-error"></div>
</section>`),
);
function renderLive(state: LiveState): void {
  $("live-status").textContent = state.status;
  $("live-account").textContent = state.account ?? "anonymous";
  $("live-detail").textContent =
    `session ${state.session === null ? "none" : `${state.session.slice(0, 8)}…`} · events received ${state.received}, applied ${state.applied}, dropped ${state.dropped} · reconnects ${state.reconnects}`;
  $("live-last-event").textContent = state.lastEvent === null ? "no event yet" : `last event: ${state.lastEvent.type} at ${new Date(state.lastEvent.at).toLocaleTimeString()}`;
  $("live-error").textContent = state.error === undefined ? "" : `last failure: ${liveErrors[liveErrors.length - 1] ?? String(state.error)}`;
}
if (live !== undefined) {
  live.subscribe(renderLive);
  renderLive(live.state);
}

// Onboarding (per account; needs a signed-in account).
const STEPS: readonly OnboardingStep[] = ["welcome", "profile", "preferences", "done"];
// Not asked for while the tab is signed out: there is no progress to show, only a refusal.
/** The tab's account as its client sees it (the naive client of cookie mode sees none: ask the provider). */
const tabAccount = () => (mode === "token" ? auth.accountId : source.accountId());
const progressOptions = () => rq.onboarding.getProgress.queryOptions(undefined, { retry: false, enabled: tabAccount() !== null });
const progress = new QueryObserver(queryClient, progressOptions());
function renderProgress(): void {
  const result = progress.getCurrentResult();
  const data: Progress | undefined = result.data;
  $("onboarding").textContent =
    data === undefined
      ? tabAccount() === null || (result.error instanceof TabrpcError && result.error.code === "UNAUTHORIZED")
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
}
progress.subscribe(renderProgress);
renderProgress();
$("onboarding-next").addEventListener("click", () => {
  const next = progress.getCurrentResult().data?.next;
  if (next === null || next === undefined) return;
  new MutationObserver(queryClient, rq.onboarding.saveStep.mutationOptions())
    .mutate({ step: next })
    .then(() => queryClient.invalidateQueries({ queryKey: rq.onboarding.pathKey() }))
    .catch(showError);
});

// The session id, as this tab shows it: enough to tell tabs apart, never the whole id (the
// tests read the whole one from `window.tabrpcDemo.session.id`).
const shortId = (id: string | null) => (id === null ? "…" : `${id.slice(0, 8)}…`);

/**
 * The account this tab's session id belongs to (`null`: anonymous), as `connectSession` last
 * said: at start-up the tab's account (a new id is linked to its first caller).
 */
let sessionOwner: string | null = auth.accountId;
/** What the tab last did with its session (shown, and read by the tests). */
let sessionNote = "";
/** Every change of this tab's session id, in order (read by the end-to-end tests). */
const sessionChanges: SessionChange[] = [];
/** The session id the tab had when its script started (`null`: it was checking for a copied tab). */
const sessionIdAtStart = session.id;
/** Whether the session was ended before this tab's sign-out (for the note that follows). */
let ended = false;

/** Says what `connectSession` did. */
function followed(event: SessionFollowEvent<SessionRotation>): void {
  sessionOwner = event.account;
  if (event.type === "ended") ended = true;
  else if (event.type === "rotated") {
    const { moved = 0, linked = false } = event.rotation ?? {};
    sessionNote = `signed in: ${moved} cart line(s) moved to a new session${linked ? ` linked to ${event.account}` : ""}`;
  } else if (event.reason === "sign-out") {
    sessionNote = ended ? "signed out: session ended, new anonymous session" : "signed out: new anonymous session";
    ended = false;
  } else if (event.reason === "switch") sessionNote = `switched to ${event.account}: new session`;
  else if (event.reason === "rotation-failed") sessionNote = "signed in: the cart could not be moved; new session";
  else sessionNote = "the session had ended: took a new id";
  updateCart();
}

/**
 * Whether the tab's session id belongs to its account, so the cart may be asked for. Not while
 * the id is about to change (after a sign-in, before the rotation; after a sign-out or a switch,
 * before the new id): the call would be refused (403, a session linked to another account) or
 * go to a session about to end.
 */
const sessionFollowsAccount = () => auth.accountId === sessionOwner;

// The cart (a per-tab query: only this tab changes it, so no refetch on focus). In cookie mode
// one key for every account, as a naive client would have it.
const cartOptions = () => rq.cart.get.queryOptions(undefined, { enabled: sessionFollowsAccount(), refetchOnWindowFocus: false });
const cart = new QueryObserver(queryClient, cartOptions());

function renderCart(): void {
  const result = cart.getCurrentResult();
  const data: Cart | undefined = result.data;
  const usable = session.id !== null && sessionFollowsAccount();
  $("session-id").textContent = session.id === null ? "checking whether this tab was copied…" : shortId(session.id);
  $("session-owner").textContent =
    mode === "cookie" ? "not moved at sign-in (cookie mode)" : sessionOwner === null ? "anonymous" : `linked to ${sessionOwner}`;
  $("session-note").textContent = sessionNote;
  $("cart-status").textContent = !usable
    ? session.id === null
      ? "waiting for this tab's session id"
      : "changing this tab's session…"
    : result.error instanceof TabrpcError
      ? `error: ${result.error.code}`
      : data === undefined
        ? "loading…"
        : `${data.lines.length === 0 ? "empty" : `${data.lines.length} item(s)`} (server answer for session ${shortId(session.id)})${result.isFetching ? ", refreshing" : ""}`;
  $("cart-items").replaceChildren(
    ...(usable ? (data?.lines ?? []) : []).map((line) => {
      const item = document.createElement("li");
      item.dataset.testid = "cart-line";
      item.dataset.item = line.item;
      item.dataset.quantity = String(line.quantity);
      const remove = document.createElement("button");
      remove.textContent = "Remove";
      remove.dataset.testid = `cart-remove-${line.item}`;
      remove.addEventListener("click", () => cartChange("remove", line.item));
      item.append(`${line.item} × ${line.quantity} `, remove);
      return item;
    }),
  );
  for (const button of document.querySelectorAll<HTMLButtonElement>("[data-cart-control]")) button.disabled = !usable;
}
cart.subscribe(renderCart);
/** Points the cart at the tab's session and account of now (its key holds both). */
function updateCart(): void {
  cart.setOptions(cartOptions());
  renderCart();
}
session.subscribe((change) => {
  sessionChanges.push(change);
  // A tab that found a live tab using its id took a new one, which its account uses first.
  if (change.type === "copy") sessionOwner = auth.accountId;
  updateCart();
});

function cartChange(kind: "add" | "remove", item: string): void {
  const options = kind === "add" ? rq.cart.add.mutationOptions() : rq.cart.remove.mutationOptions();
  // Answered for the session id the call was sent with; an answer for an id the tab has left
  // is dropped by the session link (and not shown).
  new MutationObserver(queryClient, options)
    .mutate({ item })
    .then(async (updated) => {
      const key = rq.cart.get.queryKey();
      // A fetch of the cart still in flight may hold an answer from before this change.
      await queryClient.cancelQueries({ queryKey: key, exact: true });
      queryClient.setQueryData(key, updated);
    })
    .catch(showError);
}
for (const fruit of ["apple", "pear"]) {
  $(`cart-add-${fruit}`).addEventListener("click", () => cartChange("add", fruit));
}
$("cart-add").addEventListener("click", () => {
  const item = $<HTMLInputElement>("cart-item").value.trim();
  if (item !== "") cartChange("add", item);
});
$("cart-refresh").addEventListener("click", () => void cart.refetch());

// Account controls.
function renderAccount(): void {
  const current = source.accountId();
  $("tab-account").textContent = current ?? "nobody";
  // Nothing to sign out of while this tab has no account.
  $("sign-out").hidden = current === null;
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
// Signed out here at once, after the session ended; the naive client only asks the provider.
$("sign-out").addEventListener("click", () => void (mode === "token" ? auth.signOut(() => source.signOut()) : source.signOut()).catch(showError));
/** The keys follow the account: points the observers at the new account's entries. */
function followAccount(): void {
  renderAccount();
  profile.setOptions(profileOptions());
  progress.setOptions(progressOptions());
  updateCart();
  renderNameForm();
}
auth.subscribe(followAccount);
source.subscribe(followAccount);
renderAccount();
renderCart();
renderNameForm();
void source.refresh().catch(showError);

// Exposed for the end-to-end tests.
Object.assign(window, {
  tabrpcDemo: {
    auth,
    source,
    session,
    client,
    queryClient,
    shown,
    fetches: () => fetches,
    carried,
    requests,
    sessionChanges,
    sessionIdAtStart,
    sessionOwner: () => sessionOwner,
    live: () => live?.state ?? null,
    liveErrors,
  },
});
