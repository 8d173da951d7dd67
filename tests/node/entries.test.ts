// The built package's entry points resolve through its package.json "exports", as an app's
// bundler or Node resolves them, and each has the functions it is for (web-client's
// src/entries.test.ts checks the import graph of each).
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
const manifest = createRequire(import.meta.url)("@tabrpc/client/package.json") as { exports: Record<string, unknown> };

const expected: Record<string, string> = {
  "@tabrpc/client": "createClient",
  "@tabrpc/client/auth": "createTabAuth",
  "@tabrpc/client/session": "createSessionStore",
  "@tabrpc/client/query": "createOptionsProxy",
  "@tabrpc/client/dev-idp": "devIdpAuthSource",
};

describe("@tabrpc/client entry points", () => {
  const specifiers = Object.keys(manifest.exports)
    .filter((subpath) => subpath !== "./package.json")
    .map((subpath) => `@tabrpc/client${subpath.slice(1)}`);

  it("are the ones the docs name", () => {
    expect(specifiers).toEqual([...Object.keys(expected).slice(0, 4), "@tabrpc/client/react", "@tabrpc/client/live", "@tabrpc/client/dev-idp"]);
  });

  it.each(Object.entries(expected))("%s resolves and exports %s", async (specifier, name) => {
    const module = (await import(specifier)) as Record<string, unknown>;
    expect(typeof module[name]).toBe("function");
  });

  it("the core has none of the other entries' functions", async () => {
    const core = (await import("@tabrpc/client")) as Record<string, unknown>;
    for (const name of Object.values(expected).slice(1)) expect(core).not.toHaveProperty(name);
  });

  // Written in parallel to this change: checked once the package builds it.
  const live = path.resolve(here, "../../web-client/dist/live/index.js");
  it.skipIf(!existsSync(live))("@tabrpc/client/live resolves", async () => {
    const specifier = "@tabrpc/client/live";
    expect(Object.keys((await import(specifier)) as object).length).toBeGreaterThan(0);
  });

  it("the React entry is declared with its types", () => {
    const react = manifest.exports["./react"] as { types: string; import: string };
    expect(existsSync(path.resolve(here, "../../web-client", react.types))).toBe(true);
    expect(readFileSync(path.resolve(here, "../../web-client", react.import), "utf8")).toMatch(/from "react"/);
  });
});
