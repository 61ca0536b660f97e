//! What one idle authenticated WebSocket costs the server in heap, counted by a counting
//! allocator around the system one (issue 23): the real server in this process, N users each
//! with one socket opened by a plain blocking TCP client (which allocates nothing on the heap
//! while it holds its socket), and the heap's growth between "warm" (other users already
//! connected, so one-time tables exist) and "all N connected and idle".
//!
//! Besides the total it prints every allocation size that grew by about one per connection (or
//! more), which is how BENCHMARKS.md's breakdown names its parts. Run with
//! `cargo test --release --test memory -- --nocapture` for the figures of a release build (an
//! async function's state is larger in a debug build, so the budget below holds for both but
//! the table is made from release).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chatd::app::Application;
use chatd::config::{Config, Options};
use chatd::Clock;
use chatd_schema::UserId;

/// Sizes counted one by one; larger ones share the last slot.
const EXACT: usize = 16 * 1024;

struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);
/// What the allocations hold in glibc's terms: 8 bytes of header, 16-byte steps, 32 at least.
static FOOTPRINT: AtomicI64 = AtomicI64::new(0);
static BY_SIZE: [AtomicI64; EXACT + 1] = [const { AtomicI64::new(0) }; EXACT + 1];

fn footprint(size: usize) -> i64 {
    ((size + 8 + 15) & !15).max(32) as i64
}

/// `MEM_TRACE_SIZE=n`: note where each allocation of exactly n bytes made during the measured
/// phase comes from, and print the places of those still live at its end (how the breakdown's
/// rows were named).
static TRACE_SIZE: AtomicI64 = AtomicI64::new(-1);
static TRACES: std::sync::Mutex<Option<std::collections::HashMap<usize, String>>> =
    std::sync::Mutex::new(None);

thread_local! {
    static IN_TRACE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn trace(ptr: *mut u8, size: usize, live: bool) {
    if size as i64 != TRACE_SIZE.load(Ordering::Relaxed) || IN_TRACE.with(|t| t.replace(true)) {
        return;
    }
    if let Ok(mut map) = TRACES.lock() {
        let map = map.get_or_insert_with(Default::default);
        if !live {
            map.remove(&(ptr as usize));
        } else if map.len() < 10_000 {
            let bt = std::backtrace::Backtrace::force_capture().to_string();
            let ours: Vec<&str> = bt
                .lines()
                .filter(|l| !l.trim_start().starts_with("at "))
                .map(|l| l.split_once(": ").map_or(l, |x| x.1))
                .filter(|l| {
                    ![
                        "core::", "alloc::", "std::", "memory::", "__rust", "<alloc::",
                    ]
                    .iter()
                    .any(|p| l.starts_with(p))
                })
                .take(
                    std::env::var("MEM_TRACE_DEPTH")
                        .ok()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(6),
                )
                .collect();
            map.insert(ptr as usize, ours.join(" < "));
        }
    }
    IN_TRACE.with(|t| t.set(false));
}

fn print_traces() {
    let Ok(mut map) = TRACES.lock() else { return };
    let Some(map) = map.take() else { return };
    let mut count: std::collections::HashMap<String, usize> = Default::default();
    for place in map.into_values() {
        *count.entry(place).or_default() += 1;
    }
    for (place, n) in count {
        println!("live {n}x: {place}");
    }
}

fn note(size: usize, sign: i64) {
    LIVE.fetch_add(sign * size as i64, Ordering::Relaxed);
    FOOTPRINT.fetch_add(sign * footprint(size), Ordering::Relaxed);
    BY_SIZE[size.min(EXACT)].fetch_add(sign, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size(), 1);
            trace(p, layout.size(), true);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size(), 1);
            trace(p, layout.size(), true);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        note(layout.size(), -1);
        trace(ptr, layout.size(), false);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(layout.size(), -1);
            trace(ptr, layout.size(), false);
            note(new_size, 1);
            trace(p, new_size, true);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Snapshot {
    live: i64,
    footprint: i64,
    by_size: Vec<i64>,
}

fn snapshot() -> Snapshot {
    Snapshot {
        live: LIVE.load(Ordering::Relaxed),
        footprint: FOOTPRINT.load(Ordering::Relaxed),
        by_size: BY_SIZE.iter().map(|c| c.load(Ordering::Relaxed)).collect(),
    }
}

/// A WebSocket handshake by hand over a blocking socket: nothing of it stays on the heap.
fn open_socket(port: u16, token: &str) -> std::net::TcpStream {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let req = format!(
        "GET /ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).expect("write");
    let mut got = [0u8; 1024];
    let mut n = 0;
    while !got[..n].windows(4).any(|w| w == b"\r\n\r\n") {
        let k = s.read(&mut got[n..]).expect("read");
        assert!(k > 0, "closed during the handshake");
        n += k;
    }
    assert!(got.starts_with(b"HTTP/1.1 101"), "not upgraded");
    s
}

async fn register(http: &reqwest::Client, base: &str, i: usize) -> (i64, String) {
    let name = format!("mem{}_{i}", std::process::id());
    let body: serde_json::Value = http
        .post(format!("{base}/api/regChat"))
        .form(&[("username", name.as_str()), ("password", "secret123")])
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let id = body["data"]["id"].as_i64().expect("id");
    let token = body["data"]["token"].as_str().expect("token").to_string();
    (id, token)
}

/// Opens one socket for each user (on a thread: the client blocks) and waits until every one
/// is published in the registry.
async fn connect_all(app: &Application, users: Vec<(i64, String)>) -> Vec<std::net::TcpStream> {
    let port = app.port();
    let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
    let socks = tokio::task::spawn_blocking(move || {
        let mut out = Vec::with_capacity(users.len());
        for (_, token) in &users {
            out.push(open_socket(port, token));
        }
        out
    })
    .await
    .expect("clients");
    for id in ids {
        let mut tries = 0;
        while !app.state().registry.is_online(UserId(id)) {
            tries += 1;
            assert!(tries < 500, "user {id} never came online");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    socks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_holds_little_heap() {
    const WARM: usize = 20;
    const N: usize = 200;
    let dir = tempfile::tempdir().expect("tempdir");
    let options = Options {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_path_buf()),
        max_conns_per_ip: Some(100_000),
        signup_ip_limit: Some(1_000_000),
        ..Options::default()
    };
    let app = Application::start(Config::resolve(options).expect("config"), Clock::default())
        .await
        .expect("start");
    let base = format!("http://127.0.0.1:{}", app.port());
    let http = reqwest::Client::new();
    let mut users = Vec::new();
    for i in 0..WARM + N {
        users.push(register(&http, &base, i).await);
    }
    let measured = users.split_off(WARM);
    let _warm = connect_all(&app, users).await;
    // Let the warm sockets' first pings and every start-up task settle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = snapshot();
    if let Some(n) = std::env::var("MEM_TRACE_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        TRACE_SIZE.store(n, Ordering::Relaxed);
    }
    let socks = connect_all(&app, measured).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = snapshot();
    TRACE_SIZE.store(-1, Ordering::Relaxed);
    print_traces();

    let per = |d: i64| d as f64 / N as f64;
    let live = per(after.live - before.live);
    let foot = per(after.footprint - before.footprint);
    println!("heap per idle connection: {live:.0} B requested, {foot:.0} B with malloc's headers");
    println!("size (B) | allocations per connection | bytes per connection");
    let mut rows: Vec<(usize, f64)> = (0..=EXACT)
        .map(|s| (s, per(after.by_size[s] - before.by_size[s])))
        .filter(|&(_, n)| n.abs() >= 0.5)
        .collect();
    rows.sort_by(|a, b| (b.0 as f64 * b.1).total_cmp(&(a.0 as f64 * a.1)));
    let mut listed = 0.0;
    for (size, n) in rows {
        let label = if size == EXACT {
            ">=16K".to_string()
        } else {
            size.to_string()
        };
        println!("{label} | {n:.2} | {:.0}", size as f64 * n);
        listed += size as f64 * n;
    }
    println!(
        "rest (made less than once per connection: tables that grow by doubling) | | {:.0}",
        live - listed
    );
    assert!(
        foot <= BUDGET as f64,
        "an idle connection holds {foot:.0} B of heap (budget {BUDGET} B)"
    );
    drop(socks);
    app.shutdown().await;
}

/// Heap per idle connection, with malloc's headers, that this build must stay within. RSS per
/// connection (S3) adds the kernel-facing parts (tokio's registration slab, allocator slack).
const BUDGET: usize = 7 * 1024;
