//! Rules as plain functions: who may do what, what input is acceptable. Called by handlers and
//! the WebSocket path alike, unit-tested here.

pub mod accounts;
pub mod chat;
pub mod friends;
pub mod groups;
pub mod visitors;
