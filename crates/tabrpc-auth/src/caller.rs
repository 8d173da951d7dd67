//! [`Caller`]: a request's [`Identity`] together with what is needed to answer "who are you?"
//! errors, so that contexts can carry one value and procedures can require a user in one line.

use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use tabrpc_core::{Error as RpcError, ViewerContext};

use crate::identity::{Authenticated, Identity};
use crate::resolver::Resolver;

/// The caller of one request, as the context of a procedure carries it.
///
/// ```
/// use tabrpc_auth::{Caller, Identity, AnonymousReason, Source};
/// let anonymous = Caller::new(Identity::anonymous(AnonymousReason::None));
/// assert_eq!(anonymous.require().err().map(|e| e.code().name()), Some("UNAUTHORIZED"));
/// let alice = Caller::new(Identity::dangerous_unverified("alice", Some("sess_1"), Source::Header));
/// assert_eq!(alice.require().map(|who| who.user_id.as_str()).ok(), Some("alice"));
/// ```
///
/// Cheap to clone (the identity is shared): a context is cloned for every call of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    identity: Arc<Identity>,
    retry_after: Duration,
}

impl Caller {
    /// A caller with `identity`. A `not_ready` identity answers `Retry-After: 1`; use
    /// [`Resolver::caller`] to get the verifier's own estimate.
    pub fn new(identity: Identity) -> Self {
        Self {
            identity: Arc::new(identity),
            retry_after: Duration::from_secs(1),
        }
    }

    /// Who is calling.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The verified user id, if the caller is authenticated.
    pub fn user_id(&self) -> Option<&str> {
        self.identity.user_id()
    }

    /// The authenticated caller, or the error a procedure that needs a user answers with:
    /// 401 UNAUTHORIZED with `WWW-Authenticate: Bearer` (and `error="invalid_token"` for a
    /// rejected token), or 503 with `Retry-After` while no verification key was ever loaded.
    ///
    /// # Errors
    ///
    /// When the caller is anonymous.
    pub fn require(&self) -> Result<&Authenticated, RpcError> {
        match &*self.identity {
            Identity::Authenticated(who) => Ok(who),
            Identity::Anonymous { reason } => Err(reason.to_rpc_error(self.retry_after)),
        }
    }
}

impl ViewerContext for Caller {
    fn viewer(&self) -> Result<&str, RpcError> {
        self.require().map(|who| who.user_id.as_str())
    }
}

impl Resolver {
    /// [`Resolver::resolve`], wrapped as a [`Caller`] whose 503 carries this verifier's
    /// `Retry-After`.
    pub async fn caller(&self, parts: &Parts) -> Caller {
        let identity = self.resolve(parts).await;
        Caller {
            identity: Arc::new(identity),
            retry_after: self.verifier().retry_after(),
        }
    }
}
