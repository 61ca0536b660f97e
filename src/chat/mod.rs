//! Chat operations called by the HTTP handlers and the WebSocket path alike: sending, the offline
//! queue, history and sync.

pub mod history;
pub mod offline;
pub mod send;
