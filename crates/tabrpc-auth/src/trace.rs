//! The auth log (spec `auth.md` §4): one `auth` span per resolution with source, outcome or
//! reason, kid, token fingerprint, skew, `cached` when the verified-token cache answered, and
//! `sub`/`sid` only after success. Never a token, a header value or the claims.

use tracing::field::Empty;

use crate::identity::{Identity, Source};
use crate::verifier::{Checked, Fingerprint};

/// What the log may say about one resolution.
#[derive(Default)]
pub(crate) struct Trace {
    pub(crate) source: Option<Source>,
    kid: Option<String>,
    fingerprint: Option<Fingerprint>,
    skew_secs: Option<i64>,
    cached: bool,
}

impl Trace {
    /// Takes what the log may say about `checked` (its `kid` is moved out: the identity made
    /// from it next does not need it).
    pub(crate) fn take(&mut self, source: Source, checked: &mut Checked) {
        self.source = Some(source);
        self.kid = checked.kid.take();
        self.fingerprint = checked.fingerprint;
        self.skew_secs = checked.skew_secs;
        self.cached = checked.cached;
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
        cached = Empty,
        sub = Empty,
        sid = Empty,
    )
}

/// Fills the span's fields and emits the one debug event; nothing when the span is disabled
/// (the usual case in production, where formatting the fields would be wasted work).
pub(crate) fn record(span: &tracing::Span, identity: &Identity, trace: &Trace) {
    if span.is_disabled() {
        return;
    }
    if let Some(source) = trace.source {
        span.record("source", source.as_str());
    }
    if let Some(kid) = &trace.kid {
        span.record("kid", kid.as_str());
    }
    if let Some(fp) = &trace.fingerprint {
        span.record("fp", fp.to_string().as_str());
    }
    if let Some(skew) = trace.skew_secs {
        span.record("skew_s", skew);
    }
    if trace.cached {
        span.record("cached", true);
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
