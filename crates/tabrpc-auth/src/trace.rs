//! The auth log (spec `auth.md` §4): one `auth` span per resolution with source, outcome or
//! reason, kid, token fingerprint, skew, and `sub`/`sid` only after success. Never a token, a
//! header value or the claims.

use tracing::field::Empty;

use crate::identity::{Identity, Source};
use crate::verifier::Checked;

/// What the log may say about one resolution.
#[derive(Default)]
pub(crate) struct Trace {
    pub(crate) source: Option<Source>,
    kid: Option<String>,
    fingerprint: Option<String>,
    skew_secs: Option<i64>,
}

impl Trace {
    pub(crate) fn take(&mut self, source: Source, checked: &Checked) {
        self.source = Some(source);
        self.kid.clone_from(&checked.kid);
        self.fingerprint.clone_from(&checked.fingerprint);
        self.skew_secs = checked.skew_secs;
    }
}

/// The `auth` span, its fields filled in by [`record`] once the caller is known.
pub(crate) fn span() -> tracing::Span {
    tracing::debug_span!(
        "auth",
        source = Empty,
        outcome = Empty,
        reason = Empty,
        claim = Empty,
        kid = Empty,
        fp = Empty,
        skew_s = Empty,
        sub = Empty,
        sid = Empty,
    )
}

/// Fills the span's fields and emits the one debug event.
pub(crate) fn record(span: &tracing::Span, identity: &Identity, trace: &Trace) {
    if let Some(source) = trace.source {
        span.record("source", source.as_str());
    }
    if let Some(kid) = &trace.kid {
        span.record("kid", kid.as_str());
    }
    if let Some(fp) = &trace.fingerprint {
        span.record("fp", fp.as_str());
    }
    if let Some(skew) = trace.skew_secs {
        span.record("skew_s", skew);
    }
    match identity {
        Identity::Authenticated(who) => {
            span.record("outcome", "authenticated");
            span.record("sub", who.user_id.as_str());
            if let Some(sid) = &who.session_id {
                span.record("sid", sid.as_str());
            }
            tracing::debug!(parent: span, "caller authenticated");
        }
        Identity::Anonymous { reason } => {
            span.record("outcome", "anonymous");
            span.record("reason", reason.as_str());
            if let Some(claim) = reason.claim() {
                span.record("claim", claim);
            }
            tracing::debug!(parent: span, "caller anonymous");
        }
    }
}
