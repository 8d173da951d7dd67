import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The app is built from the client's sources, so it always runs the code under test.
export default defineConfig({
  resolve: {
    // One copy of TanStack Query for the app and the client sources.
    dedupe: ["@tanstack/query-core"],
    alias: {
      "@tabrpc/client": fileURLToPath(new URL("../../../web-client/src/index.ts", import.meta.url)),
    },
  },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
});
