// The package's entry points (package.json "exports"): each maps to a source file, exports what
// it is for, and loads only its own part of the package. The import graph is esbuild's (its
// metafile): type-only imports are erased, so what is listed is what a bundler would load.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";
import { describe, expect, it } from "vitest";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const manifest = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
  exports: Record<string, string | { types: string; import: string }>;
  sideEffects: unknown;
};

/** The source file of an entry (`./dist/auth/index.js` → `src/auth/index.ts`). */
function sourceOf(target: string): string {
  const match = /^\.\/dist\/(.+)\.js$/.exec(target);
  if (match?.[1] === undefined) throw new Error(`not a dist module: ${target}`);
  return `src/${match[1]}.ts`;
}

const entries = Object.entries(manifest.exports).flatMap(([subpath, target]) =>
  typeof target === "string" ? [] : [{ subpath, source: sourceOf(target.import), types: target.types }],
);

/** Written by another part of the work: its entry is reserved; checked once its file exists. */
const present = (source: string) => existsSync(path.join(root, source));

/** The modules (relative to web-client/) and the packages one entry loads, bundled on its own. */
async function graph(source: string): Promise<{ modules: string[]; packages: string[] }> {
  const result = await build({
    entryPoints: [path.join(root, source)],
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    format: "esm",
    platform: "neutral",
    packages: "external",
    logLevel: "silent",
  });
  const metafile: Metafile = result.metafile;
  const modules = Object.keys(metafile.inputs).sort();
  const packages = [
    ...new Set(Object.values(metafile.inputs).flatMap((input) => input.imports.filter((i) => i.external).map((i) => i.path))),
  ].sort();
  return { modules, packages };
}

describe("package entry points", () => {
  it("are the core, auth, session, query, react, live and dev-idp, with types beside each module", () => {
    expect(entries.map((e) => e.subpath)).toEqual([".", "./auth", "./session", "./query", "./react", "./live", "./dev-idp"]);
    for (const entry of entries) expect(`./dist/${entry.source.slice(4, -3)}.d.ts`).toBe(entry.types);
    expect(manifest.sideEffects).toBe(false);
  });

  it.each(entries.filter((e) => e.subpath !== "./live" || present(e.source)))("$subpath has its source file $source", ({ source }) => {
    expect(present(source)).toBe(true);
  });

  it("keep every name the single entry had, each at its new entry", async () => {
    const where: Record<string, readonly string[]> = {
      ".": [
        "createClient",
        "TabrpcError",
        "ERROR_CODES",
        "ERROR_REASONS",
        "HEADERS",
        "authLink",
        "httpBatchLink",
        "httpBatchStreamLink",
        "httpLink",
        "httpSubscriptionLink",
        "loggerLink",
        "sessionLink",
        "splitLink",
        "tabLinks",
      ],
      "./auth": ["createTabAuth", "clerkAuthSource", "isAuthChange", "isOutcomeUnknown"],
      "./session": ["createSessionStore", "connectSession", "isSessionChange", "generateSessionId", "isSessionId"],
      "./query": ["createOptionsProxy", "connectQueryClient", "accountKey", "keyInput", "mutationKeyOf", "pathKey", "queryKeyOf", "sessionKey", "isViewerMismatch"],
      "./dev-idp": ["devIdpAuthSource"],
    };
    for (const [subpath, names] of Object.entries(where)) {
      const entry = entries.find((e) => e.subpath === subpath);
      if (entry === undefined) throw new Error(`no entry ${subpath}`);
      const module = (await import(/* @vite-ignore */ path.join(root, entry.source))) as Record<string, unknown>;
      for (const name of names) expect([subpath, name, typeof module[name]]).toEqual([subpath, name, expect.stringMatching(/^(function|object)$/)]);
    }
    const core = (await import("./index.js")) as Record<string, unknown>;
    for (const name of ["createTabAuth", "clerkAuthSource", "createSessionStore", "createOptionsProxy", "devIdpAuthSource"]) {
      expect(core).not.toHaveProperty(name);
    }
  });

  it("the core loads no auth, session, query, React or dev-idp module", { timeout: 30_000 }, async () => {
    const { modules, packages } = await graph("src/index.ts");
    // The links take a TabAuth and a SessionStore as values and import them as types only. The
    // one session module is the error that sessionLink raises for a superseded session id.
    const allowed = /^src\/(index|client|codes|error|fieldErrors|types)\.ts$|^src\/(internals|links)\/[^/]+\.ts$|^src\/session\/change\.ts$/;
    expect(modules.filter((m) => !allowed.test(m))).toEqual([]);
    expect(modules).toContain("src/links/tabLinks.ts");
    expect(packages).toEqual(["eventsource-parser"]);
  });

  it.each([
    ["src/auth/index.ts", /^src\/(auth\/devIdp|session\/(?!change)|query|react|links|client)/],
    ["src/session/index.ts", /^src\/(auth\/(clerk|devIdp)|query|react|links)/],
    ["src/query/index.ts", /^src\/(auth\/(clerk|devIdp)|react|links)/],
    ["src/dev-idp.ts", /^src\/(auth\/(tabAuth|clerk)|session\/(?!change)|query|react|links|client)/],
  ])("%s loads none of the modules it does not need", { timeout: 30_000 }, async (source, forbidden) => {
    const { modules, packages } = await graph(source);
    expect(modules.filter((m) => forbidden.test(m))).toEqual([]);
    // Only the React entry imports React or TanStack's React bindings; none imports Clerk.
    expect(packages.filter((p) => /react|@clerk/.test(p))).toEqual([]);
  });

  it("the Clerk adapter imports nothing of Clerk's, not even its types", () => {
    const imports = [...readFileSync(path.join(root, "src/auth/clerk.ts"), "utf8").matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    expect(imports).toEqual(["./source.js"]);
  });

  it("the React entry imports React, TanStack's React bindings and the query integration", { timeout: 30_000 }, async () => {
    const { modules, packages } = await graph("src/react/index.ts");
    expect(packages).toEqual(expect.arrayContaining(["react", "@tanstack/react-query"]));
    expect(modules).toContain("src/query/connect.ts");
    expect(modules.filter((m) => /^src\/(auth\/devIdp|links)/.test(m))).toEqual([]);
  });
});
