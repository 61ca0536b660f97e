//! # chatd
//!
//! A real-time instant-messaging server: one-to-one and group chat over WebSocket and REST for
//! two client families (rich, seeds 000–002; compact, seed 003). See `SPEC.md` for the contract
//! and `DESIGN.md` for the shape.
//!
//! ## Layout
//! - [`config`]: file + environment + flags, production refusing development secrets
//! - [`state`]: the shared state every handler and operation gets, and building it
//! - [`app`]: start-up and shutdown, the running [`app::Application`] (port 0 for tests)
//! - [`server`]: the front service (WebSocket upgrade with small buffers, everything else to warp)
//! - [`cluster`]: several nodes as one service over Redis: liveness, the directory of who is
//!   where, delivery between nodes over Redis Streams, cache invalidation
//! - [`net`]: the client address (trusted proxies) and the per-address connection cap
//! - [`http`]: routes per area; thin handlers over [`ops`]
//! - [`ops`]: the operations (rules + store + commands to the realtime core): friends, sending, offline replay and pull, history and sync, group membership, the one
//!   message constructor
//! - [`video`], [`files`], [`objects`]: video screenshots (checked downloads, ffmpeg), upload
//!   rules, the S3-compatible object store
//! - [`rules`]: who may do what, as plain functions with unit tests
//! - [`auth`], [`sessions`], [`limits`]: tokens and passwords, revocable sessions, rate limits
//! - [`error`], [`i18n`], [`params`], [`views`]: the envelope, reasons in two languages, input,
//!   output shapes
//!
//! Realtime delivery lives in the `chatd-actors` crate, SQL in `chatd-schema`.

pub mod app;
pub mod auth;
pub mod cluster;
pub mod config;
pub mod error;
pub mod files;
pub mod http;
pub mod i18n;
pub mod limits;
pub mod metrics;
pub mod net;
pub mod objects;
pub mod openapi;
pub mod ops;
pub mod params;
pub mod qr;
pub mod rules;
pub mod server;
pub mod sessions;
pub mod state;
pub mod video;
pub mod views;

pub use chatd_actors::Clock;
