//! Group fan-out through the real actors: the writer's `Fanout` goes to the group's actor, which
//! routes one shared push to each of N members' sockets (in-memory socket queues, attached through
//! the registry exactly as WebSocket connections are). One iteration ends when every socket queue
//! holds the message. Throughput is in deliveries, so a flat line across N means linear cost.
//! `cargo test` runs N = 10 and 1,000 once; `cargo bench` sweeps 10 … 100,000.

mod support;

use chatd_actors::clock::Clock;
use chatd_actors::delivery::Delivery;
use chatd_actors::frames::Dialect;
use chatd_actors::group::{Fanout, FanoutItem, GroupActor, Groups};
use chatd_actors::offline::{OfflineConfig, OfflineQueue};
use chatd_actors::outgoing::Outgoing;
use chatd_actors::registry::Registry;
use chatd_actors::user::{Frame, SocketControl, SocketHandle};
use chatd_schema::Store;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kameo::actor::ActorRef;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One group of `n` online members, each with one socket queue.
struct World {
    group: ActorRef<GroupActor>,
    sockets: Vec<mpsc::Receiver<Frame>>,
    out: Arc<Outgoing>,
    sender: i64,
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
        let members: Vec<i64> = (1..=n).collect();
        let sender = n + 1;
        let group = store
            .create_group("bench-group", sender, "bench", "", &members, 0)
            .await
            .unwrap_or_else(|e| fail("group", e));
        let clock = Clock::default();
        let offline = OfflineQueue::Store {
            store: store.clone(),
            cfg: OfflineConfig {
                cap: 1000,
                max_age_ms: 86_400_000,
            },
        };
        let registry = Registry::new(offline, clock);
        let delivery = Delivery::new(registry.clone());
        let groups = Groups::new(store, delivery, 1024);
        let mut sockets = Vec::with_capacity(members.len());
        for &uid in &members {
            let (tx, rx) = mpsc::channel(64);
            let handle = SocketHandle {
                conn_id: registry.next_conn_id(),
                sid: format!("s{uid}").into(),
                dialect: if uid % 2 == 0 {
                    Dialect::Rich
                } else {
                    Dialect::Compact
                },
                tx,
                control: Arc::new(SocketControl::default()),
            };
            registry.attach(uid, handle);
            sockets.push(rx);
        }
        let message = support::group_message(100);
        World {
            group: groups.get(group.id),
            sockets,
            out: Arc::new(Outgoing::message(&message, 0)),
            sender,
            _dir: dir,
        }
    }

    /// Fans out `iters` messages one at a time; each is done when every socket has it.
    async fn run(&mut self, iters: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            let item = FanoutItem {
                out: self.out.clone(),
                sender: self.sender,
                sender_sid: None,
                exclude: Vec::new(),
                also: Vec::new(),
            };
            let fanout = Fanout { items: vec![item] };
            if let Err(e) = self.group.tell(fanout).send().await {
                fail("fan-out", e);
            }
            for rx in &mut self.sockets {
                if rx.recv().await.is_none() {
                    fail("socket queue", "closed");
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
