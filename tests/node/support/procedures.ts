// The fixture's generated bindings, for @tabrpc/client. Until the exporter writes
// bindings/conformance.ts, the web client's hand-written stand-in is used (same shape).
export type { Procedures } from "../../../web-client/src/testing/fixture-procedures.js";
