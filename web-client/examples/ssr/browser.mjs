// The browser entry (bundle it with your app's bundler): hydrate the server's page only when
// the tab is on the account it was rendered for, otherwise render from scratch.
import { devIdpAuthSource } from "@tabrpc/client/dev-idp";
import { createElement as h } from "react";
import { createRoot, hydrateRoot } from "react-dom/client";
import { createAppClient, prepareTab, Root } from "./app.mjs";

/**
 * Starts the app in `container`. Call it once the identity provider knows the tab's account
 * (Clerk: after `clerk.load()`); `source` is the tab's auth source.
 */
export function startInBrowser({ apiUrl, source, container, stateElement }) {
  const client = createAppClient({ apiUrl, source });
  let dehydrated = null;
  try {
    dehydrated = JSON.parse(stateElement?.textContent ?? "null");
  } catch {
    dehydrated = null;
  }
  const { queryClient, outcome } = prepareTab(client, dehydrated);
  // For the example's browser test: whether the server's state was taken.
  window.__tabrpcHydrated = outcome.hydrated;
  const root = h(Root, { client, queryClient });
  if (outcome.hydrated) {
    hydrateRoot(container, root);
  } else {
    // Rendered for another account (or anonymous against signed in): throw its HTML away.
    container.replaceChildren();
    createRoot(container).render(root);
  }
  return { client, queryClient, outcome };
}

/** Sign-in buttons for the demo's accounts (this tab only; the page reloads to render again). */
function authBar(source) {
  const bar = document.createElement("p");
  for (const account of ["alice", "bob"]) {
    const button = document.createElement("button");
    button.textContent = `Sign in as ${account}`;
    button.onclick = () => void source.signIn(account).then(() => window.location.reload());
    bar.append(button, " ");
  }
  const out = document.createElement("button");
  out.textContent = "Sign out";
  out.onclick = () => void source.signOut().then(() => window.location.reload());
  bar.append(out);
  document.body.prepend(bar);
}

// With the demo's development identity provider, on the page's own origin (server.mjs forwards
// `/trpc` and `/dev-idp` to the demo server).
if (typeof document !== "undefined" && document.getElementById("tabrpc-state") !== null) {
  const source = devIdpAuthSource({ url: window.location.origin });
  authBar(source);
  // The provider restores this tab's session first: until then the tab's account is unknown.
  void source.refresh().catch(() => undefined).finally(() => {
    startInBrowser({ apiUrl: "/trpc", source, container: document.getElementById("root"), stateElement: document.getElementById("tabrpc-state") });
  });
}
