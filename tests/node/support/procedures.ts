// The fixture's generated bindings (`cargo run -p tabrpc-bindings` writes them), for @tabrpc/client.
export { procedures, type Procedures } from "../../../bindings/conformance.js";
