//! `impl Store` blocks, one file per area. Every SQL statement of the server lives here.

pub mod conversations;
pub mod friends;
pub mod groups;
pub mod limits;
pub mod messages;
pub mod positions;
pub mod presence;
pub mod requests;
pub mod sessions;
pub mod users;
