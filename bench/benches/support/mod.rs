//! Shared by the criterion benches: whether this is a real `cargo bench` run (in `cargo test`
//! each bench runs once, so the largest sizes are left out there), a runtime shaped like the
//! server's, a sample message, and an in-memory socket that takes every write.

#![allow(dead_code)]

use chatd_actors::outbox::RawSocket;
use serde_json::{json, Value};
use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// True under `cargo bench` (criterion gets `--bench`); false when `cargo test` runs a bench
/// once as a smoke test.
pub fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// A multi-threaded runtime with the server's default two workers on this machine.
pub fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("cannot build a tokio runtime: {e}"),
    }
}

/// A stored group message as the rich dialect carries it, with a `size`-byte text.
pub fn group_message(size: usize) -> Value {
    json!({
        "id": "6f1c1d52-2f0c-4a7e-9d51-0d3b9c7f2a10", "seq": 42, "chatType": "group",
        "type": "text", "from_id": 7, "to_id": 3, "from_name": "Boss", "from_avatar": "/a.png",
        "to_name": "Team", "to_avatar": "/g.png", "data": "x".repeat(size), "options": {},
        "client_msg_id": null, "create_time": 1_763_880_000_000i64, "isremove": 0,
        "group": {"id": 3, "name": "Team", "avatar": "/g.png"}
    })
}

/// A socket that takes every write and counts the bytes.
#[derive(Default)]
pub struct MemSocket {
    pub written: Arc<AtomicU64>,
}

impl RawSocket for MemSocket {
    fn send_now(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_write_vectored(&[IoSlice::new(buf)])
    }
    fn send_vectored_now(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.try_write_vectored(bufs)
    }
    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.try_write_vectored(&[IoSlice::new(buf)])
    }
    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let n: usize = bufs.iter().map(|b| b.len()).sum();
        self.written.fetch_add(n as u64, Ordering::Release);
        Ok(n)
    }
    fn poll_write_ready(&self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn try_read(&self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }
    fn poll_read_ready(&self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Pending
    }
    fn shutdown_write(&self) {}
}
