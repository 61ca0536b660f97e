//! # chatd-actors: the realtime core
//!
//! ## Layout
//! - [`clock`]: the server clock (injectable, so tests can move time)
//! - [`positions`]: delivered positions: what a user has been sent per conversation (their
//!   offline backlog is every message above it), moved by live delivery and written in batches
//! - [`user`]: `UserActor`, one per connected user: runs the user's sockets, publishes them to the
//!   registry, closes revoked ones, keeps the user's positions below what a closed socket never
//!   wrote, serializes replays
//! - [`online`]: [`online::Online`], the socket list a user actor publishes, which deliveries
//!   write through
//! - [`opening`]: sockets answered with their 101 that no user actor has taken yet (a replay
//!   waits for them)
//! - [`group`]: `GroupActor`, one per active group: owns the member list (executes membership
//!   changes in order with messages), fans out
//! - [`registry`]: the route table (user id → sockets, group id → `GroupActor`) and
//!   `RegistryActor`, its one writer: attach, detach, spawn and retire group actors
//! - [`delivery`]: the one place that routes a message to users' sockets here (the seam where
//!   other nodes plug in)
//! - [`remote`]: other nodes as the core sees them: which users are where, and the queue of
//!   deliveries for them (drained into Redis by the server's cluster module)
//! - [`writer`]: the batching message writer: durable store write, then in-order fan-out
//! - [`wire`]: how things look on the wire: client and answer frames of both dialects
//!   ([`wire::frames`]), the rich message object ([`wire::message`]), a message rendered once per
//!   dialect as a ready frame ([`wire::push::Push`]), frame encoding shared by every socket
//! - [`outbox`]: a socket's outgoing side: deliveries write straight into the kernel, a bounded
//!   queue holds what the kernel cannot take yet
//! - [`budget`]: the per-user send budget every client frame and REST send draws from
//! - [`socket`]: one socket's state as its user actor runs it (read, answer, finish stalled
//!   writes, heartbeat, idle close, report what it did not write)

mod backlog;
pub mod budget;
pub mod clock;
pub mod delivery;
pub mod error;
mod flag;
pub mod group;
mod group_inbox;
pub mod metrics;
pub mod online;
pub mod opening;
pub mod outbox;
pub mod positions;
mod prefetch;
pub mod presence;
mod raw_socket;
pub mod registry;
pub mod remote;
mod routes;
pub mod socket;
#[cfg(test)]
mod testing;
pub mod user;
pub mod wire;
pub mod writer;

pub use budget::SendBudget;
pub use clock::Clock;
pub use delivery::{Delivery, Target};
pub use error::ActorsError;
pub use group::{FanoutConfig, GroupActor, GroupRef, Membership};
pub use positions::{OfflineConfig, UserPositions};
pub use presence::PresenceConfig;
pub use registry::{Registry, RegistryActor, Routes};
pub use user::{UserActor, UserSeed};
pub use wire::frames::{ClientFrame, Dialect};
pub use wire::push::Push;
pub use writer::{Accepted, Pending, Route, Writer};
