// The demo's procedures: the generated ones, plus the live-invalidation procedures the demo uses
// (`live.events`, `profile.setDisplayName`) as the server declares them, for builds of the
// bindings that predate them. The generated declarations win wherever they exist (the types
// below add only missing paths), so this file changes nothing once the bindings have them and
// can then be reduced to the re-export.
import type { ProcedureTable } from "@tabrpc/client";
import type { LiveEvent } from "@tabrpc/client/live";
import { procedures as generated, type Procedures as Generated, type User } from "../../../../bindings/demo.js";

type Expected = {
  "live.events": {
    kind: "subscription";
    input: { viewerId?: string; sessionId?: string } | null;
    output: LiveEvent;
    error: never;
    stream: false;
    scopes: "viewer" | "session";
  };
  "profile.setDisplayName": { kind: "mutation"; input: { displayName: string; viewerId?: string }; output: User; error: never; stream: false; scopes: "viewer" };
};

export type Procedures = Generated & Omit<Expected, keyof Generated>;

const expected: ProcedureTable<Expected> = {
  "live.events": { kind: "subscription", stream: false, scopes: ["viewer", "session"] },
  "profile.setDisplayName": { kind: "mutation", stream: false, scopes: ["viewer"] },
};

/** The run-time table: the generated rows over the expected ones. */
export const procedures = { ...expected, ...generated } as ProcedureTable<Procedures>;
