// The fixture's generated bindings (`cargo run -p tabrpc-bindings` writes them), for @tabrpc/client.
export type { Procedures } from "../../../bindings/conformance.js";
