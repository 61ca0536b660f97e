//! Benchmarks and the load generator for chatd (issue 7). The criterion benches live in
//! `benches/`; the load generator is `src/bin/loadgen.rs`, built from the modules here:
//! [`setup`] makes accounts and a group through the REST API, [`conn`] opens and reads sockets (over [`wsframe`]),
//! [`stats`] counts what arrived, [`report`] prints it, and [`slices`] spreads one group's
//! receivers over several processes.

pub mod conn;
pub mod report;
pub mod setup;
pub mod slices;
pub mod stats;
pub mod wsframe;
