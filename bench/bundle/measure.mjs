// Bundle size of each @tabrpc/client entry point and of @trpc/client, all bundled the same way:
// a tiny app module that imports the named exports (or the whole entry) and uses them, bundled by
// esbuild (ESM, browser, ES2022, minified, tree-shaken), then compressed with `gzip -9`.
// Prints a Markdown table; with `--json FILE` also writes the figures. Run by run.sh.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const client = path.resolve(here, "../../web-client");

/** Peer dependencies the app has anyway: left out of every bundle (the React row). */
const external = ["react", "react-dom", "@tanstack/react-query"];

const named = (from, names) => ({ code: `import { ${names.join(", ")} } from "${from}";\nconsole.log(${names.join(", ")});\n` });
const whole = (from) => ({ code: `import * as entry from "${from}";\nconsole.log(entry);\n` });

/** What a typical tabrpc app imports: the client, per-tab auth with Clerk, sessions, TanStack Query. */
const app = {
  code: [
    `import { createClient, tabLinks } from "@tabrpc/client";`,
    `import { clerkAuthSource, createTabAuth } from "@tabrpc/client/auth";`,
    `import { connectSession, createSessionStore } from "@tabrpc/client/session";`,
    `import { connectQueryClient, createOptionsProxy } from "@tabrpc/client/query";`,
    `console.log(createClient, tabLinks, clerkAuthSource, createTabAuth, connectSession, createSessionStore, connectQueryClient, createOptionsProxy);`,
    "",
  ].join("\n"),
};

/**
 * The alternative not taken: a root entry that re-exports everything (as `@tabrpc/client` did
 * before the entry points). A local barrel stands in for it; tree-shaking then decides.
 */
const barrel = [
  `export * from "@tabrpc/client";`,
  `export * from "@tabrpc/client/auth";`,
  `export * from "@tabrpc/client/session";`,
  `export * from "@tabrpc/client/query";`,
  `export * from "@tabrpc/client/dev-idp";`,
  "",
].join("\n");

const rows = [
  ["`@tabrpc/client`", "`createClient`, `httpBatchLink`", named("@tabrpc/client", ["createClient", "httpBatchLink"])],
  ["`@tabrpc/client`", "`createClient`, `tabLinks`", named("@tabrpc/client", ["createClient", "tabLinks"])],
  ["`@tabrpc/client`", "the whole entry", whole("@tabrpc/client")],
  ["`@tabrpc/client/auth`", "`createTabAuth`, `clerkAuthSource`", named("@tabrpc/client/auth", ["createTabAuth", "clerkAuthSource"])],
  ["`@tabrpc/client/auth`", "the whole entry", whole("@tabrpc/client/auth")],
  ["`@tabrpc/client/session`", "the whole entry", whole("@tabrpc/client/session")],
  ["`@tabrpc/client/query`", "the whole entry", whole("@tabrpc/client/query")],
  ["`@tabrpc/client/react`", "the whole entry (React and TanStack React Query left out)", whole("@tabrpc/client/react")],
  ["`@tabrpc/client/live`", "the whole entry", whole("@tabrpc/client/live"), path.join(client, "dist/live/index.js")],
  ["`@tabrpc/client/dev-idp`", "the whole entry", whole("@tabrpc/client/dev-idp")],
  ["a tabrpc app", "`createClient`, `tabLinks`, `createTabAuth`, `clerkAuthSource`, `createSessionStore`, `connectSession`, `createOptionsProxy`, `connectQueryClient`", app],
  ["one root re-exporting everything (not shipped)", "`createClient`, `httpBatchLink`", { code: named("./barrel.js", ["createClient", "httpBatchLink"]).code, barrel: true }],
  ["one root re-exporting everything (not shipped)", "the whole entry", { code: whole("./barrel.js").code, barrel: true }],
  ["`@trpc/client`", "`createTRPCClient`, `httpBatchLink`", named("@trpc/client", ["createTRPCClient", "httpBatchLink"])],
  ["`@trpc/client`", "the whole entry", whole("@trpc/client")],
];

function gzipSize(bytes) {
  const gz = spawnSync("gzip", ["-9", "-c"], { input: bytes, maxBuffer: 64 << 20 });
  if (gz.status !== 0) throw new Error(`gzip failed: ${gz.stderr}`);
  return gz.stdout.length;
}

const work = mkdtempSync(path.join(here, ".work-"));
const results = [];
try {
  writeFileSync(path.join(work, "barrel.js"), barrel);
  for (const [entry, imports, input, needs] of rows) {
    if (needs !== undefined && !existsSync(needs)) {
      results.push({ entry, imports, skipped: `${path.relative(client, needs)} not built` });
      continue;
    }
    const file = path.join(work, "app.js");
    writeFileSync(file, input.code);
    const out = await esbuild.build({
      entryPoints: [file],
      bundle: true,
      write: false,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      treeShaking: true,
      legalComments: "none",
      external,
      absWorkingDir: here,
      nodePaths: [path.join(here, "node_modules")],
      logLevel: "error",
    });
    const bytes = out.outputFiles[0].contents;
    results.push({ entry, imports, minified: bytes.length, gzip: gzipSize(bytes) });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const lines = [
  "| entry | imports | minified | gzip -9 |",
  "|---|---|---:|---:|",
  ...results.map((r) =>
    r.skipped ? `| ${r.entry} | ${r.imports} | (${r.skipped}) | |` : `| ${r.entry} | ${r.imports} | ${r.minified} B (${kb(r.minified)}) | ${r.gzip} B (${kb(r.gzip)}) |`,
  ),
];
console.log(lines.join("\n"));
const versions = {
  esbuild: esbuild.version,
  "@trpc/client": JSON.parse(await import("node:fs").then((fs) => fs.readFileSync(path.join(here, "node_modules/@trpc/client/package.json"), "utf8"))).version,
};
console.log(`\nesbuild ${versions.esbuild}, @trpc/client ${versions["@trpc/client"]}, node ${process.version}`);
const jsonAt = process.argv.indexOf("--json");
if (jsonAt !== -1 && process.argv[jsonAt + 1] !== undefined) writeFileSync(process.argv[jsonAt + 1], JSON.stringify({ versions, results }, null, 2) + "\n");
