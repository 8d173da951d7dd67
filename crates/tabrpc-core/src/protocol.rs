//! Protocol constants shared by server and client: header names and the machine-readable error
//! reasons sent in `error.data.reason`. `tabrpc-typescript` exports them next to the codes
//! table, so the client reads them from the generated bindings and never copies them by hand.

/// The fail-closed marker header (`docs/auth.md` section 1 rule 3): a tab that could not get a
/// token while several accounts are signed in sends it (value `1`), and the server then ignores
/// the shared cookie.
pub const MARKER_HEADER: &str = "x-tabrpc-auth-required";

/// The header a signed-in tab sends when it sends no bearer token, naming the account the call
/// is for (`docs/auth.md` section 1 rule 4). Not a credential: the server only uses it to refuse
/// a cookie identity of another account.
pub const ACCOUNT_HEADER: &str = "x-tabrpc-account";

/// The custom header that satisfies the CSRF rule for cookie-authenticated mutations: a
/// cross-origin page can only send it after a CORS preflight the server approved.
pub const CSRF_HEADER: &str = "x-tabrpc-csrf";

/// The request header by which a tRPC client asks for the JSONL streaming batch
/// (`trpc-accept: application/jsonl`, `docs/wire.md` section 1).
pub const TRPC_ACCEPT_HEADER: &str = "trpc-accept";

/// The request header with which a subscription resumes after the last event it received
/// (`docs/wire.md` section 4): a cursor, never a credential.
pub const LAST_EVENT_ID_HEADER: &str = "last-event-id";

macro_rules! reasons {
    ($( $(#[$doc:meta])* $variant:ident = ($constant:literal, $name:literal) ),* $(,)?) => {
        /// A machine-readable reason an error carries in `error.data.reason`, so clients never
        /// match on message text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorReason {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorReason {
            /// Every reason, in table order.
            pub const ALL: &'static [ErrorReason] = &[$(ErrorReason::$variant),*];

            /// The reason as sent in `error.data.reason`, e.g. `"viewer_mismatch"`.
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorReason::$variant => $name,)* }
            }

            /// The constant's name in the TypeScript bindings, e.g. `"VIEWER_MISMATCH"`.
            pub const fn constant_name(self) -> &'static str {
                match self { $(ErrorReason::$variant => $constant,)* }
            }
        }
    };
}

reasons! {
    /// 403: the input's `viewerId` names an account other than the verified caller's. During an
    /// account switch this is expected and transient (`docs/client.md` section 5).
    ViewerMismatch = ("VIEWER_MISMATCH", "viewer_mismatch"),
    /// 403: the session is linked to an account other than the caller's.
    SessionMismatch = ("SESSION_MISMATCH", "session_mismatch"),
    /// 404: the session id is unknown, expired or revoked: the client makes a new one.
    SessionExpired = ("SESSION_EXPIRED", "session_expired"),
    /// 401: a token was presented and refused (expired, bad signature, …): fetch a fresh one.
    InvalidToken = ("INVALID_TOKEN", "invalid_token"),
    /// 401: the request carried credentials, or the fail-closed marker, that name no caller
    /// (several `Authorization` headers, cookies of different accounts, a cookie of another
    /// account than the tab's, a cookie mutation failing the CSRF rule, the marker itself).
    /// Anything that would bind data to the caller refuses such a request.
    CredentialsRefused = ("CREDENTIALS_REFUSED", "credentials_refused"),
    /// 400: the input has a key that reads as a reserved key (`viewerId`, `sessionId`, in any
    /// spelling) and the procedure is not behind that key's guard (auth.md section 3). A client
    /// bug: the key is not sent to such procedures.
    ReservedInputKey = ("RESERVED_INPUT_KEY", "reserved_input_key"),
}

impl std::fmt::Display for ErrorReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
