//! Black-box tests: the real server on a free port, driven over HTTP and WebSocket, on both
//! backends (embedded SQLite, and PostgreSQL + Redis).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod accounts;
mod big_group;
mod cluster;
mod compact;
mod confirm;
mod connections;
mod conversations;
mod delivery;
mod docs;
mod faults;
mod files;
mod friends;
mod groups;
mod history;
mod metrics;
mod migrations;
mod offline;
mod presence;
mod reads;
mod revoke;
mod security;
mod startup;
mod typing;
mod visitors;
