//! The codes table of wire.md, copied on purpose (not taken from the server) so that a drift
//! between the server and the contract is caught. Shared by the conformance tests and the fuzzer.

/// name → (JSON-RPC code, HTTP status), in table order.
const CODES: &[(&str, i32, u16)] = &[
    ("PARSE_ERROR", -32700, 400),
    ("BAD_REQUEST", -32600, 400),
    ("INTERNAL_SERVER_ERROR", -32603, 500),
    ("NOT_IMPLEMENTED", -32603, 501),
    ("BAD_GATEWAY", -32603, 502),
    ("SERVICE_UNAVAILABLE", -32603, 503),
    ("GATEWAY_TIMEOUT", -32603, 504),
    ("UNAUTHORIZED", -32001, 401),
    ("PAYMENT_REQUIRED", -32002, 402),
    ("FORBIDDEN", -32003, 403),
    ("NOT_FOUND", -32004, 404),
    ("METHOD_NOT_SUPPORTED", -32005, 405),
    ("TIMEOUT", -32008, 408),
    ("CONFLICT", -32009, 409),
    ("PRECONDITION_FAILED", -32012, 412),
    ("PAYLOAD_TOO_LARGE", -32013, 413),
    ("UNSUPPORTED_MEDIA_TYPE", -32015, 415),
    ("UNPROCESSABLE_CONTENT", -32022, 422),
    ("PRECONDITION_REQUIRED", -32028, 428),
    ("TOO_MANY_REQUESTS", -32029, 429),
    ("CLIENT_CLOSED_REQUEST", -32099, 499),
];

/// The JSON-RPC code and HTTP status of the code named `name`, if it is in the table.
pub fn lookup_code(name: &str) -> Option<(i32, u16)> {
    CODES
        .iter()
        .find(|(code, _, _)| *code == name)
        .map(|&(_, rpc, status)| (rpc, status))
}
