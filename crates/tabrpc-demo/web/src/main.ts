// The demo web app: one tab's account, its profile (TanStack Query with `staleTime: Infinity` and
// a background refetch), what its API requests carried, its anonymous cart and its onboarding
// progress.
//
// The cart belongs to the tab's session id (marked "session": the session link fills it in). At
// sign-in the anonymous cart moves to a new id linked to the account (`session.rotate`, with the
// new account's token); at sign-out the session ends (`session.end`, while the token is still
// there) and the tab takes a new, anonymous id.
//
// Query parameters: `mode=cookie` turns the per-tab token off (the naive client, to show the
// bug); `refetch=<ms>` sets the background refetch interval (default 5000); `accountsLag=<ms>`
// makes the browser's signed-in accounts, as this tab's auth sees them, trail the provider's by
// that long (see `lagging` below).
import { MutationObserver, QueryClient, QueryObserver } from "@tanstack/query-core";
import {
  authLink,
  connectQueryClient,
  createClient,
  createOptionsProxy,
  createSessionStore,
  createTabAuth,
  devIdpAuthSource,
  HEADERS,
  httpBatchLink,
  isAuthChange,
  isSessionChange,
  sessionLink,
  TabrpcError,
  type AuthSource,
  type DevIdpAuthSource,
  type SessionChange,
} from "@tabrpc/client";
import {
  PROCEDURE_MARKERS,
  type Cart,
  type OnboardingStep,
  type Procedures,
  type Progress,
  type SessionRotation,
  type User,
} from "../../../../bindings/demo.js";

const params = new URLSearchParams(location.search);
const mode = params.get("mode") === "cookie" ? "cookie" : "token";
const refetchMs = Math.max(100, Number(params.get("refetch") ?? "5000") || 5000);
const accountsLagMs = Math.max(0, Number(params.get("accountsLag") ?? "0") || 0);

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.querySelector<T>(`[data-testid="${id}"]`);
  if (el === null) throw new Error(`missing element ${id}`);
  return el;
};

function showError(error: unknown): void {
  // A cart answer for a session id the tab has left: dropped on purpose, nothing to show.
  if (isSessionChange(error)) return;
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

const source = devIdpAuthSource({ url: location.origin });
const auth = createTabAuth(accountsLagMs > 0 ? lagging(source, accountsLagMs) : source);
// This tab's anonymous session id (a UUID v4 in sessionStorage: one per tab; a tab opened with
// window.open gets its own, a reload keeps it).
const session = createSessionStore();
const transport = httpBatchLink({ url: "/trpc", fetch: observedFetch });
// The session link goes first: it fills in `sessionId`, by which the auth link keeps calls of
// different sessions in different requests.
const sessions = sessionLink({ store: session, markers: PROCEDURE_MARKERS });
const client = createClient<Procedures>({
  links: mode === "token" ? [sessions, authLink({ auth }), transport] : [sessions, transport],
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
connectQueryClient(queryClient, auth, { session });
const rq = createOptionsProxy<Procedures>({ client, auth, session, markers: PROCEDURE_MARKERS });

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
function renderProgress(): void {
  const result = progress.getCurrentResult();
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
}
progress.subscribe(renderProgress);
renderProgress();
$("onboarding-next").addEventListener("click", () => {
  const next = (progress.getCurrentResult().data as Progress | undefined)?.next;
  if (next === null || next === undefined) return;
  const save = new MutationObserver(queryClient, rq.onboarding.saveStep.mutationOptions() as never);
  save
    .mutate({ step: next } as never)
    .then(() => queryClient.invalidateQueries({ queryKey: rq.onboarding.pathKey() }))
    .catch(showError);
});

// The session id, as this tab shows it: enough to tell tabs apart, never the whole id (the
// tests read the whole one from `window.tabrpcDemo.session.id`).
const shortId = (id: string | null) => (id === null ? "…" : `${id.slice(0, 8)}…`);

/**
 * The account this tab's session id belongs to (`null`: anonymous). A new id is created on the
 * server by its first call, linked to the caller's account, so at start-up it is the tab's
 * account; afterwards only {@link followAccount} and the sign-out change it, together with the id.
 */
let sessionOwner: string | null = auth.accountId;
/** What the tab last did with its session (shown, and read by the tests). */
let sessionNote = "";
/** Every change of this tab's session id, in order (read by the end-to-end tests). */
const sessionChanges: SessionChange[] = [];
/** The session id the tab had when its script started (`null`: it was checking for a copied tab). */
const sessionIdAtStart = session.id;

/**
 * Whether the tab's session id belongs to its account, so the cart may be asked for. Not while
 * the id is about to change (after a sign-in, before the rotation; after a sign-out or a switch,
 * before the new id): the call would be refused (403, a session linked to another account) or
 * go to a session about to end. Cookie mode never follows the account.
 */
const sessionFollowsAccount = () => mode === "cookie" || auth.accountId === sessionOwner;

// The cart (a per-tab query: only this tab changes it, so no refetch on focus). In cookie mode
// one key for every account, as a naive client would have it.
const cartOptions = () =>
  mode === "token"
    ? rq.cart.get.queryOptions(undefined, { enabled: sessionFollowsAccount(), refetchOnWindowFocus: false })
    : {
        queryKey: ["cart.get", session.id],
        queryFn: () => client.cart.get.query(),
        enabled: session.id !== null,
        refetchOnWindowFocus: false,
      };
const cart = new QueryObserver(queryClient, cartOptions() as never);

function renderCart(): void {
  const result = cart.getCurrentResult();
  const data = result.data as Cart | undefined;
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
cart.subscribe((result) => {
  renderCart();
  // An ended session (expired, revoked, rotated elsewhere) answers 404: the remedy is a new id.
  if (result.error instanceof TabrpcError && result.error.code === "NOT_FOUND") {
    const ended = session.id;
    void inSessionQueue(async () => {
      if (session.id !== ended) return;
      await session.refresh();
      sessionOwner = auth.accountId;
      sessionNote = "the session had ended: took a new id";
    });
  }
});
/** Points the cart at the tab's session and account of now (its key holds both). */
const updateCart = () => {
  cart.setOptions(cartOptions() as never);
  renderCart();
};
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
  new MutationObserver(queryClient, options as never)
    .mutate({ item } as never)
    .then(async (updated) => {
      const key = rq.cart.get.queryKey();
      // A fetch of the cart still in flight may hold an answer from before this change.
      await queryClient.cancelQueries({ queryKey: key, exact: true });
      queryClient.setQueryData(key, updated as Cart);
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

// The session follows the account, one change at a time.
let sessionWork: Promise<void> = Promise.resolve();
function inSessionQueue(step: () => Promise<void>): Promise<void> {
  const run = sessionWork
    .then(step)
    .catch((error: unknown) => {
      if (!isAuthChange(error)) showError(error);
    })
    .finally(updateCart);
  sessionWork = run;
  return run;
}

/**
 * Brings the session in line with the tab's account after a sign-in, a switch, or a sign-out
 * made elsewhere (this tab's own sign-out is {@link signOut}).
 *
 * - From anonymous to an account (sign-in): `session.rotate`, sent with the new account's
 *   token, moves the cart to a new id linked to that account; the old id ends.
 * - From one account to another, or to none (another tab signed the account out): the id
 *   belongs to the old account, which this tab can no longer speak for; the tab takes a new id
 *   (the old session stays the old account's, until it expires).
 */
function followAccount(): void {
  void inSessionQueue(async () => {
    await session.ready(); // a copied tab is still checking its id
    const target = auth.accountId;
    if (target === sessionOwner) return;
    if (sessionOwner === null && target !== null) {
      try {
        let rotation: SessionRotation | undefined;
        await session.refresh(async (newSessionId) => {
          rotation = await client.session.rotate.mutate({ newSessionId });
        });
        sessionNote = `signed in: ${rotation?.moved ?? 0} cart line(s) moved to a new session${rotation?.linked === true ? ` linked to ${target}` : ""}`;
      } catch (error) {
        // The account changed again meanwhile: the step queued by that change takes over.
        if (isAuthChange(error)) throw error;
        // Not moved (the old id stays anonymous, with its cart): carry on with a new id.
        showError(error);
        await session.refresh();
        sessionNote = "signed in: the cart could not be moved; new session";
      }
    } else {
      await session.refresh();
      sessionNote = `${target === null ? "signed out elsewhere" : `switched to ${target}`}: new session`;
    }
    sessionOwner = target;
  });
}

/**
 * This tab's sign-out: end the session while the tab's token is still there (a session linked to
 * an account answers only that account), then sign out, then take a new, anonymous id. A session
 * that cannot be ended is left to expire (nobody else can use it); the sign-out goes on.
 */
function signOut(): void {
  void inSessionQueue(async () => {
    if (source.accountId() === null) return;
    let ended = false;
    await session.refresh(async () => {
      try {
        await client.session.end.mutate();
        ended = true;
      } catch (error) {
        showError(error);
      }
      // Signed out here at once (no more token, calls in flight dropped), not only once the
      // provider's own sign-out has answered.
      const undo = auth.beginSignOut();
      await source.signOut().catch((error: unknown) => {
        undo();
        throw error;
      });
    });
    sessionOwner = null;
    sessionNote = ended ? "signed out: session ended, new anonymous session" : "signed out: new anonymous session";
  });
}

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
$("sign-out").addEventListener("click", () => (mode === "token" ? signOut() : void source.signOut().catch(showError)));
auth.subscribe(() => {
  renderAccount();
  // The keys follow the account: point the observers at the new account's entries.
  profile.setOptions(profileOptions() as never);
  progress.setOptions(progressOptions() as never);
  updateCart();
  if (mode === "token") followAccount();
});
source.subscribe(renderAccount);
renderAccount();
renderCart();
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
  },
});
