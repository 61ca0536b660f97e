//! Chat operations called by the HTTP handlers and the WebSocket path alike: sending, the offline
//! queue, history and sync.

pub mod facts;
pub mod groups;
pub mod history;
pub mod message;
pub mod notify;
pub mod offline;
pub mod revoke;
pub mod send;
