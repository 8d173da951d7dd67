// A browser as the auth tests need it: one cookie jar shared by all its tabs (what makes the
// shared `__session` cookie follow the most recently active tab), and a log of the API requests
// as they went on the wire, cookies included.
import type { FetchLike } from "@tabrpc/client";
import makeFetchCookie from "fetch-cookie";

/** One request to the API (`/trpc/...`), with the headers that decide who is calling. */
export interface ApiRequest {
  readonly method: string;
  /** The procedure paths of the (batch) request. */
  readonly paths: string[];
  readonly authorization: string | null;
  readonly marker: string | null;
  readonly csrf: string | null;
  /** The subject of the `__session` cookie sent along, if any. */
  readonly cookieSubject: string | null;
}

/** The `sub` claim of a JWT, without verifying it (the server does that). */
export function subjectOf(jwt: string): string | null {
  const payload = jwt.split(".")[1];
  if (payload === undefined) return null;
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sub?: unknown };
  return typeof claims.sub === "string" ? claims.sub : null;
}

function sessionCookie(cookieHeader: string | null): string | null {
  for (const pair of (cookieHeader ?? "").split(";")) {
    const [name, value] = pair.trim().split("=");
    if (name === "__session" && value !== undefined && value !== "") return value;
  }
  return null;
}

export interface Browser {
  /** The `fetch` of every tab of this browser: stores `Set-Cookie`, sends `Cookie`. */
  readonly fetch: FetchLike;
  /** The API requests so far, in order. */
  readonly requests: ApiRequest[];
  /** The subject of the `__session` cookie the jar holds now for `url`. */
  cookieSubject(url: string): Promise<string | null>;
}

export function createBrowser(): Browser {
  const requests: ApiRequest[] = [];
  // Recorded below the cookie layer, so the log shows the Cookie header actually sent.
  const wire = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const parsed = new URL(url);
    if (parsed.pathname.startsWith("/trpc/")) {
      const headers = new Headers(init.headers);
      const cookie = sessionCookie(headers.get("cookie"));
      requests.push({
        method: init.method ?? "GET",
        paths: decodeURIComponent(parsed.pathname.slice("/trpc/".length)).split(","),
        authorization: headers.get("authorization"),
        marker: headers.get("x-tabrpc-auth-required"),
        csrf: headers.get("x-tabrpc-csrf"),
        cookieSubject: cookie === null ? null : subjectOf(cookie),
      });
    }
    return globalThis.fetch(url, init);
  };
  const jar = new makeFetchCookie.toughCookie.CookieJar();
  const withCookies = makeFetchCookie(wire, jar);
  return {
    fetch: (url, init) => withCookies(url, init),
    requests,
    async cookieSubject(url) {
      const cookies = await jar.getCookies(url);
      const value = cookies.find((c) => c.key === "__session")?.value;
      return value === undefined || value === "" ? null : subjectOf(value);
    },
  };
}
