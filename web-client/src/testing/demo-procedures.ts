// Test support only (not part of the package): the demo procedures the unit tests call, picked
// from the generated bindings so that procedures added to the demo later need no change here.
import type { Procedures as Demo } from "../../../bindings/demo.js";

export type Procedures = Pick<Demo, "profile.getUser" | "onboarding.getProgress" | "onboarding.saveStep">;

/** The run-time markers of {@link Procedures} (the bindings carry them as types only). */
export const MARKERS = {
  "profile.getUser": ["viewer"],
  "onboarding.getProgress": ["viewer"],
  "onboarding.saveStep": ["viewer"],
} as const;
