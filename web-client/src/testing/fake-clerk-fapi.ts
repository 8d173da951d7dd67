// Test support only (not part of the package): just enough of Clerk's Frontend API (FAPI) for the
// real `@clerk/clerk-js` to load and run in happy-dom without its network service: the instance's
// environment, the browser's client with its signed-in sessions, session tokens and `touch` (what
// `setActive` calls), and the removal of a session (what `signOut({ sessionId })` calls).
// Installed as the global `fetch`, which is what clerk-js calls.
//
// Tokens are JWT-shaped but not signed: clerk-js decodes them (it reads `exp` and `iat` for its
// cache), it never verifies them. Each carries a serial number `n`, so a test can tell a token
// clerk-js asked for from one it answered from its cache.

/** Each fake is its own instance on its own host, so a Clerk left from an earlier test (its token
 * poller keeps running) never reaches a later test's fake. */
let instances = 0;

export interface FakeAccount {
  readonly sessionId: string;
  readonly userId: string;
  readonly name: string;
}

export interface FakeFapi {
  /** The instance's host. */
  readonly host: string;
  /** A development publishable key of the instance (`pk_test_` + base64 of `host$`), as Clerk's keys are. */
  readonly publishableKey: string;
  /** The requests clerk-js made, as `METHOD /path`. */
  readonly requests: string[];
  /** The claims of every token the fake handed out, in order. */
  readonly issued: { sub: string; sid: string; n: number }[];
  /** Installs the fake as the global `fetch`; returns the function that puts the old one back. */
  install(): () => void;
}

const b64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

/** A fake FAPI whose client has `accounts` signed in, `active` being the last active session. */
export function fakeClerkFapi(accounts: readonly FakeAccount[], active: string | null): FakeFapi {
  const host = `clerk-${++instances}.example.test`;
  const now = Date.now();
  const requests: string[] = [];
  const issued: { sub: string; sid: string; n: number }[] = [];
  let signedIn = [...accounts];
  let lastActive = active;

  const token = (account: FakeAccount) => {
    const claims = { sub: account.userId, sid: account.sessionId, n: issued.length + 1 };
    issued.push(claims);
    const iat = Math.floor(Date.now() / 1000);
    const payload = { ...claims, iat, nbf: iat, exp: iat + 60, iss: `https://${host}` };
    return { object: "token", jwt: `${b64url({ alg: "RS256", typ: "JWT", kid: "fake" })}.${b64url(payload)}.c2ln` };
  };
  const user = (account: FakeAccount) => ({
    object: "user",
    id: account.userId,
    first_name: account.name,
    last_name: null,
    username: account.name.toLowerCase(),
    image_url: "",
    has_image: false,
    email_addresses: [],
    phone_numbers: [],
    web3_wallets: [],
    external_accounts: [],
    enterprise_accounts: [],
    passkeys: [],
    organization_memberships: [],
    public_metadata: {},
    unsafe_metadata: {},
    created_at: now,
    updated_at: now,
  });
  const session = (account: FakeAccount) => ({
    object: "session",
    id: account.sessionId,
    status: "active",
    expire_at: now + 86_400_000,
    abandon_at: now + 86_400_000,
    last_active_at: now,
    last_active_token: token(account),
    last_active_organization_id: null,
    actor: null,
    tasks: null,
    factor_verification_age: null,
    user: user(account),
    public_user_data: { first_name: account.name, last_name: null, image_url: "", has_image: false, identifier: account.name, user_id: account.userId },
    created_at: now,
    updated_at: now,
  });
  const client = () => ({
    object: "client",
    id: "client_fake",
    sessions: signedIn.map(session),
    sign_in: null,
    sign_up: null,
    last_active_session_id: lastActive,
    last_authentication_strategy: null,
    cookie_expires_at: null,
    created_at: now,
    updated_at: now,
  });
  const environment = {
    object: "environment",
    id: "env_fake",
    // Multi-session: several accounts signed in in one browser, the case tabrpc is for.
    auth_config: { object: "auth_config", id: "aac_fake", single_session_mode: false, claimed_at: null, reverification: false },
    display_config: { object: "display_config", id: "display_config_fake", instance_environment_type: "development", application_name: "tabrpc test" },
    user_settings: {},
    organization_settings: { enabled: false },
    commerce_settings: {},
    api_keys_settings: {},
    protect_config: {},
    maintenance_mode: false,
  };

  const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  const notFound = () => json({ errors: [{ code: "resource_not_found", message: "not found", long_message: "not found" }] }, 404);

  async function fapi(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.host !== host) throw new TypeError(`fake FAPI: unexpected request to ${url.host}`);
    // clerk-js tunnels PATCH and DELETE as POST with `_method`.
    const method = url.searchParams.get("_method") ?? init?.method ?? "GET";
    requests.push(`${method} ${url.pathname}`);
    if (url.pathname === "/v1/environment") return json(environment);
    if (url.pathname === "/v1/client") return json({ response: client(), client: null });
    const match = /^\/v1\/client\/sessions\/([^/]+)\/(tokens|touch|remove|end)$/.exec(url.pathname);
    const account = signedIn.find((a) => a.sessionId === match?.[1]);
    if (match === null || account === undefined) return notFound();
    switch (match[2]) {
      case "tokens":
        return json(token(account));
      case "touch":
        lastActive = account.sessionId;
        return json({ response: session(account), client: client() });
      default: {
        signedIn = signedIn.filter((a) => a !== account);
        if (lastActive === account.sessionId) lastActive = signedIn[0]?.sessionId ?? null;
        return json({ response: { ...session(account), status: "removed" }, client: client() });
      }
    }
  }

  return {
    host,
    publishableKey: `pk_test_${btoa(`${host}$`)}`,
    requests,
    issued,
    install() {
      const previous = globalThis.fetch;
      globalThis.fetch = fapi as typeof fetch;
      return () => {
        globalThis.fetch = previous;
      };
    },
  };
}

/** The claims of a JWT-shaped token (not verified). */
export function claimsOf(jwt: string | null | undefined): Record<string, unknown> | null {
  const payload = jwt?.split(".")[1];
  if (payload === undefined) return null;
  return JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
}
