import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["*.test.ts"],
    globalSetup: ["./support/global-setup.ts"],
    // One browser at a time: the scenarios are about timing inside one browser, and CI has
    // two cores.
    fileParallelism: false,
    testTimeout: 60_000,
    // What a tab shows follows network round trips: poll for it generously (CI is slow), the
    // tests still fail on a wrong value that stays.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 120_000,
  },
});
