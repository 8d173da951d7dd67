// Test support only (not part of the package): the demo procedures the unit tests call, picked
// from the generated bindings so that procedures added to the demo later need no change here.
import { procedures as demo, type Procedures as Demo } from "../../../bindings/demo.js";
import type { ProcedureTable } from "../codes.js";

export type Procedures = Pick<Demo, "profile.getUser" | "onboarding.getProgress" | "onboarding.saveStep">;

/** The procedures table of {@link Procedures}, picked from the generated one. */
export const procedures: ProcedureTable<Procedures> = {
  "profile.getUser": demo["profile.getUser"],
  "onboarding.getProgress": demo["onboarding.getProgress"],
  "onboarding.saveStep": demo["onboarding.saveStep"],
};
