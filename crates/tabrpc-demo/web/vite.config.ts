import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const client = (file: string) => fileURLToPath(new URL(`../../../web-client/src/${file}`, import.meta.url));

// The app is built from the client's sources, so it always runs the code under test.
export default defineConfig({
  resolve: {
    // One copy of TanStack Query for the app and the client sources.
    dedupe: ["@tanstack/query-core"],
    // Each entry point of the package to its source file (package.json "exports").
    alias: [
      { find: /^@tabrpc\/client$/, replacement: client("index.ts") },
      { find: /^@tabrpc\/client\/dev-idp$/, replacement: client("dev-idp.ts") },
      { find: /^@tabrpc\/client\/(auth|session|query|react|live)$/, replacement: client("$1/index.ts") },
    ],
  },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
});
