//! The one table of RPC error codes, shared by server, transport and the TypeScript client.

use std::fmt;

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = ($name:literal, $rpc:literal, $status:literal) ),* $(,)?) => {
        /// An RPC error code: one row of the shared codes table (`docs/wire.md`).
        ///
        /// Every error a tabrpc server sends carries exactly one of these. The table is exported
        /// to TypeScript by `tabrpc-typescript` so that server and client cannot drift.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code's name as sent in `error.data.code`, e.g. `"NOT_FOUND"`.
            pub const fn name(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)* }
            }

            /// The JSON-RPC number sent in `error.code`, e.g. `-32004`. Several names share
            /// `-32603`; only [`ErrorCode::name`] tells them apart.
            pub const fn json_rpc_code(self) -> i32 {
                match self { $(ErrorCode::$variant => $rpc,)* }
            }

            /// The HTTP status this code answers with, e.g. `404`.
            pub const fn http_status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// Looks a code up by its name (`"NOT_FOUND"`); `None` for an unknown name.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    /// Unparsable bytes where JSON was expected.
    ParseError = ("PARSE_ERROR", -32700, 400),
    /// The request or its input is malformed or does not match the procedure's input type.
    BadRequest = ("BAD_REQUEST", -32600, 400),
    /// An unexpected failure on the server (a panic, an internal error).
    InternalServerError = ("INTERNAL_SERVER_ERROR", -32603, 500),
    /// The server knows the request but does not implement it.
    NotImplemented = ("NOT_IMPLEMENTED", -32603, 501),
    /// An upstream service answered badly.
    BadGateway = ("BAD_GATEWAY", -32603, 502),
    /// The server is not ready (for example no signing keys were ever loaded).
    ServiceUnavailable = ("SERVICE_UNAVAILABLE", -32603, 503),
    /// An upstream service did not answer in time.
    GatewayTimeout = ("GATEWAY_TIMEOUT", -32603, 504),
    /// No valid credentials.
    Unauthorized = ("UNAUTHORIZED", -32001, 401),
    /// Payment is required.
    PaymentRequired = ("PAYMENT_REQUIRED", -32002, 402),
    /// Valid credentials that do not allow this call.
    Forbidden = ("FORBIDDEN", -32003, 403),
    /// No such procedure or resource.
    NotFound = ("NOT_FOUND", -32004, 404),
    /// The HTTP method does not fit the procedure.
    MethodNotSupported = ("METHOD_NOT_SUPPORTED", -32005, 405),
    /// The call took longer than allowed.
    Timeout = ("TIMEOUT", -32008, 408),
    /// The call conflicts with the current state.
    Conflict = ("CONFLICT", -32009, 409),
    /// A precondition of the call does not hold.
    PreconditionFailed = ("PRECONDITION_FAILED", -32012, 412),
    /// The request body is larger than allowed.
    PayloadTooLarge = ("PAYLOAD_TOO_LARGE", -32013, 413),
    /// The request's content type is not supported.
    UnsupportedMediaType = ("UNSUPPORTED_MEDIA_TYPE", -32015, 415),
    /// Well-formed input that cannot be processed.
    UnprocessableContent = ("UNPROCESSABLE_CONTENT", -32022, 422),
    /// The call needs a precondition header.
    PreconditionRequired = ("PRECONDITION_REQUIRED", -32028, 428),
    /// Rate limited.
    TooManyRequests = ("TOO_MANY_REQUESTS", -32029, 429),
    /// The client closed the request before the answer.
    ClientClosedRequest = ("CLIENT_CLOSED_REQUEST", -32099, 499),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.name()), "duplicate name {}", code.name());
            assert_eq!(ErrorCode::from_name(code.name()), Some(*code));
        }
        assert_eq!(ErrorCode::ALL.len(), 21);
        assert_eq!(ErrorCode::from_name("toString"), None);
    }

    #[test]
    fn table_rows_match_the_spec() {
        assert_eq!(ErrorCode::NotFound.json_rpc_code(), -32004);
        assert_eq!(ErrorCode::NotFound.http_status(), 404);
        assert_eq!(ErrorCode::GatewayTimeout.json_rpc_code(), -32603);
        assert_eq!(ErrorCode::ClientClosedRequest.http_status(), 499);
        assert_eq!(ErrorCode::MethodNotSupported.json_rpc_code(), -32005);
    }
}
