//! `live.events`: the stream each tab opens for live invalidation, and how the demo's
//! mutations publish after they commit.

use tabrpc::Router;

use crate::Ctx;

pub(crate) fn router() -> Router<Ctx> {
    Router::new().procedure("events", tabrpc::live::events())
}

/// Logs a publish that failed after its change was committed: the mutation still succeeded
/// (answering an error would make the client believe it did not), and a tab that misses the
/// event refetches at its next reconnection's reset or its own next fetch.
pub(crate) fn after_commit(published: Result<String, tabrpc::live::Error>) {
    if let Err(err) = published {
        tracing::warn!(error = %err, "publishing a live invalidation failed");
    }
}
