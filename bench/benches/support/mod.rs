//! Shared by the criterion benches: whether this is a real `cargo bench` run (in `cargo test`
//! each bench runs once, so the largest sizes are left out there), a runtime shaped like the
//! server's, and a sample message.

#![allow(dead_code)]

use serde_json::{json, Value};

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
