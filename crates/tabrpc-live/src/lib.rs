//! Live invalidation for tabrpc: publish "this changed, refetch it" to the tabs of one
//! account, one session or everyone, over one server-sent event stream per tab
//! (`live.events`), opened with the tab's own token like every call.
//!
//! ```
//! use tabrpc_live::Live;
//!
//! # async fn run() -> Result<(), tabrpc_live::Error> {
//! let live = Live::in_process(); // or Live::postgres(pool).await? for several instances
//! // After a mutation committed:
//! live.account("user_2").invalidate(["profile.getUser"]).await?;
//! # Ok(()) }
//! ```
//!
//! Serve the stream with [`events`] under `live.events` (the context implements
//! [`LiveContext`]). What a stream delivers is decided by the server alone: the verified
//! caller's account, the session it names if the session store lets this caller use it, and
//! public events. Each event has an id (`<epoch>-<n>`); a reconnection with `Last-Event-ID`
//! replays what it missed from the last [`LiveConfig::retention`] events (1024 by default),
//! or gets a [`LiveEvent::Reset`] when that is not possible (an older id, an id of another
//! process, a stream that fell more than [`LiveConfig::buffer`] events behind). Delivery is at
//! least once, in order per scope.

mod error;
mod event;
mod hub;
mod live;
mod postgres;
mod procedure;
mod subscription;

pub use error::{Error, ErrorKind};
pub use event::{LiveEvent, LiveScope, MAX_INPUT_LEN, MAX_PATH_LEN, MAX_PATHS, Paths};
pub use hub::LiveConfig;
pub use live::{Live, Publisher};
pub use procedure::{LiveContext, LiveCtx, LiveInput, events};
pub use subscription::Subscription;
