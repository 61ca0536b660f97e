//! Operations: the rules and store calls behind each endpoint, called by the HTTP handlers and the
//! WebSocket path alike, each taking its typed input and the caller and returning rows or the
//! crate's error. Handlers parse and render; they hold no rules.

pub mod accounts;
pub mod compact;
pub mod conversations;
pub mod facts;
pub mod friends;
pub mod group_admin;
pub mod groups;
pub mod health;
pub mod history;
pub mod message;
pub mod notifications;
pub mod notify;
pub mod offline;
pub mod presence;
pub mod reads;
pub mod revoke;
pub mod send;
pub mod typing;
pub mod visitors;
