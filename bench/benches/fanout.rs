//! Group fan-out through the real actors: the writer's stored message goes to the group's actor, which
//! writes one shared frame to each of N members' outboxes (over in-memory sockets that take every
//! write, attached through the registry exactly as WebSocket connections are). One iteration ends
//! when every socket has the message. The kernel's share of a real socket write is not in it. Throughput is in deliveries, so a flat line across N means linear cost.
//! `cargo test` runs N = 10 and 1,000 once; `cargo bench` sweeps 10 … 100,000.

mod support;

use chatd_actors::clock::Clock;
use chatd_actors::group::{FanoutConfig, FanoutItem, GroupRef};
use chatd_actors::online::{SocketControl, SocketHandle};
use chatd_actors::outbox::Outbox;
use chatd_actors::registry::Registry;
use chatd_actors::socket::next_conn_id;
use chatd_actors::wire::frames::Dialect;
use chatd_actors::wire::push::Push;
use chatd_actors::OfflineConfig;
use chatd_schema::{Store, UserId};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One group of `n` online members, each with one socket.
struct World {
    group: GroupRef,
    /// Each socket, with the bytes one message is in its dialect.
    sockets: Vec<(Arc<AtomicU64>, u64)>,
    out: Arc<Push>,
    sender: UserId,
    _dir: tempfile::TempDir,
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    panic!("{what}: {e}")
}

impl World {
    async fn new(n: i64) -> World {
        let dir = tempfile::tempdir().unwrap_or_else(|e| fail("tempdir", e));
        let path = dir.path().join("bench.db");
        let store = Store::connect(&path.to_string_lossy())
            .await
            .unwrap_or_else(|e| fail("store", e));
        let members: Vec<UserId> = (1..=n).map(UserId).collect();
        let sender = UserId(n + 1);
        let group = store
            .create_group("bench-group", sender, "bench", "", &members, 0)
            .await
            .unwrap_or_else(|e| fail("group", e));
        let clock = Clock::default();
        let offline = OfflineConfig {
            cap: 1000,
            max_age_ms: 86_400_000,
        };
        let (registry, _delivery) = Registry::start_local(
            store,
            offline,
            clock,
            FanoutConfig {
                backlog: 1024,
                threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
                split_min: 2048,
            },
        );
        let message = support::group_message(100);
        let out = Arc::new(Push::message(&message, 0));
        let mut sockets = Vec::with_capacity(members.len());
        for &uid in &members {
            let sock = support::MemSocket::default();
            let written = sock.written.clone();
            let dialect = if uid.0 % 2 == 0 {
                Dialect::Rich
            } else {
                Dialect::Compact
            };
            let handle = SocketHandle {
                conn_id: next_conn_id(),
                sid: format!("s{uid}").into(),
                dialect,
                presence: false,
                outbox: Arc::new(Outbox::new(sock, 64)),
                control: Arc::new(SocketControl::default()),
            };
            registry.attach_bare(uid, handle).await;
            sockets.push((written, out.wire(dialect).len() as u64));
        }
        World {
            group: registry
                .group(group.id)
                .await
                .unwrap_or_else(|e| fail("group actor", e)),
            sockets,
            out,
            sender,
            _dir: dir,
        }
    }

    /// Fans out `iters` messages one at a time; each is done when every socket has it.
    async fn run(&mut self, iters: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            let want: Vec<u64> = self
                .sockets
                .iter()
                .map(|(s, len)| s.load(Ordering::Acquire) + len)
                .collect();
            let item = FanoutItem {
                out: self.out.clone(),
                sender: self.sender,
                sender_sid: None,
                exclude: Vec::new(),
                also: Vec::new(),
            };
            self.group.fan_out(vec![item]).await;
            // The actor writes every socket in one go: wait for it, then check each.
            for ((sock, _), want) in self.sockets.iter().zip(want) {
                while sock.load(Ordering::Acquire) < want {
                    tokio::task::yield_now().await;
                }
            }
        }
        start.elapsed()
    }
}

fn fanout(c: &mut Criterion) {
    let rt = support::runtime();
    let sizes: &[i64] = if support::benching() {
        &[10, 1_000, 10_000, 100_000]
    } else {
        &[10, 1_000]
    };
    let mut g = c.benchmark_group("group_fanout");
    g.sample_size(10);
    for &n in sizes {
        let mut world = rt.block_on(World::new(n));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter_custom(|iters| rt.block_on(world.run(iters)))
        });
    }
    g.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
