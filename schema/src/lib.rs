//! # chatd-schema: the Store
//!
//! One query API over PostgreSQL and SQLite. Query code is written once: [`Store`] holds either a
//! PostgreSQL pool or the embedded SQLite connection, and the `run!` macro expands the same diesel
//! expression in both arms so each arm type-checks against its own backend.
//!
//! ## Layout
//! - [`schema`]: diesel `table!` definitions (the migrations under `/migrations` keep both backends in step)
//! - [`models`]: row structs and insert forms
//! - [`store`]: the connection enum, connecting, migrating, the `run!` macro, the error type
//! - `readers`: the embedded database's reader connections for the hot point reads (the session
//!   check, a connecting user's backlog check), run on the calling thread
//! - `queries/`: `impl Store` blocks by area (users, sessions, friends, groups, messages, positions,
//!   conversations, limits)
//! - [`ids`]: typed ids (`UserId`, `GroupId`, `MessageId`, `SessionId`)
//! - [`conv`]: conversation keys (`s:<low>:<high>`, `g:<group>`)

pub mod checkpoint;
pub mod conv;
pub mod ids;
pub mod models;
mod queries;
mod readers;
pub mod schema;
pub mod store;

pub use ids::{GroupId, MessageId, SessionId, UserId};
pub use queries::conversations::{ConversationRow, ListCursor, UNREAD_WINDOW};
pub use queries::groups::NewMember;
pub use queries::messages::StoredMessage;
pub use queries::users::UserField;
pub use store::{Backend, Store, StoreError};
