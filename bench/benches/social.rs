//! Issue 19's reads, through the real code: a presence change for a user with 1,000 friends of
//! whom 100 are online (the friends query, 1,000 online checks, 100 frames written to in-memory
//! sockets attached through the registry), and a page of the conversation list for a user in
//! 1,000 conversations (one statement). Embedded SQLite in a temporary directory; PostgreSQL too
//! when `CHATD_BENCH_PG_URL` names an empty database.

mod support;

use chatd_actors::clock::Clock;
use chatd_actors::group::FanoutConfig;
use chatd_actors::online::{SocketControl, SocketHandle};
use chatd_actors::outbox::Outbox;
use chatd_actors::presence::{self, PresenceConfig};
use chatd_actors::registry::Registry;
use chatd_actors::socket::next_conn_id;
use chatd_actors::wire::frames::Dialect;
use chatd_actors::{Delivery, OfflineConfig};
use chatd_schema::models::{NewMessage, NewUser};
use chatd_schema::{ListCursor, Store, UserId};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

const FRIENDS: i64 = 1_000;
const ONLINE: i64 = 100;

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    panic!("{what}: {e}")
}

fn user(i: i64) -> NewUser {
    NewUser {
        nickname: format!("Bench {i}"),
        userset: "{}".into(),
        invite_confirm: 0,
        ..NewUser::plain(format!("bench-user-{i}"), format!("bench{i}"), 0)
    }
}

fn message(from: UserId, to: UserId) -> NewMessage {
    NewMessage {
        uuid: format!("bench-msg-{}-{}", from.0, to.0),
        conv_key: chatd_schema::conv::single(from, to),
        chat_type: "single".into(),
        msg_type: "text".into(),
        from_id: from,
        to_id: to.0,
        from_name: String::new(),
        from_avatar: String::new(),
        to_name: String::new(),
        to_avatar: String::new(),
        data: "hello".into(),
        options: "{}".into(),
        extra: None,
        client_msg_id: None,
        create_time: 1_763_880_000_000,
        audience: Vec::new(),
        private: false,
    }
}

/// One user with 1,000 friends, each of whom sent them one message; the first 100 friends online.
struct World {
    me: UserId,
    store: Store,
    delivery: Delivery,
    sockets: Vec<Arc<std::sync::atomic::AtomicU64>>,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new(url: Option<String>) -> World {
        let dir = tempfile::tempdir().unwrap_or_else(|e| fail("tempdir", e));
        let url = url.unwrap_or_else(|| dir.path().join("social.db").to_string_lossy().into());
        let store = Store::connect(&url)
            .await
            .unwrap_or_else(|e| fail("store", e));
        let mut ids = Vec::new();
        for i in 0..=FRIENDS {
            let u = store
                .create_user(&user(i))
                .await
                .unwrap_or_else(|e| fail("user", e));
            ids.push(u.id);
        }
        let me = ids[0];
        let mut messages = Vec::new();
        for &f in &ids[1..] {
            store
                .befriend(me, "", f, "", 0)
                .await
                .unwrap_or_else(|e| fail("befriend", e));
            messages.push(message(f, me));
        }
        for chunk in messages.chunks(256) {
            store
                .insert_messages(chunk)
                .await
                .unwrap_or_else(|e| fail("messages", e));
        }
        let (registry, delivery) = Registry::start_local(
            store.clone(),
            OfflineConfig {
                cap: 1000,
                max_age_ms: i64::MAX / 2,
            },
            Clock::default(),
            FanoutConfig {
                backlog: 1024,
                threads: 1,
                split_min: 2048,
            },
        );
        let mut sockets = Vec::new();
        for &f in &ids[1..=ONLINE as usize] {
            let sock = support::MemSocket::default();
            sockets.push(sock.written.clone());
            let handle = SocketHandle {
                conn_id: next_conn_id(),
                sid: format!("s{f}").into(),
                dialect: Dialect::Rich,
                presence: true,
                outbox: Arc::new(Outbox::new(sock, 64)),
                control: Arc::new(SocketControl::default()),
            };
            registry.attach_bare(f, handle).await;
        }
        World {
            me,
            store,
            delivery,
            sockets,
            _dir: dir,
        }
    }

    /// Announces user 1's arrival `iters` times; each is done when every online friend has it.
    async fn presence(&self, iters: u64) -> Duration {
        let cfg = PresenceConfig {
            debounce: Duration::ZERO,
        };
        let start = std::time::Instant::now();
        for _ in 0..iters {
            let before: Vec<u64> = self
                .sockets
                .iter()
                .map(|s| s.load(Ordering::Acquire))
                .collect();
            presence::arrived(&self.delivery, self.me, cfg).await;
            for (s, b) in self.sockets.iter().zip(before) {
                if s.load(Ordering::Acquire) <= b {
                    fail("presence", "an online friend was not told");
                }
            }
        }
        start.elapsed()
    }
}

fn social(c: &mut Criterion) {
    let rt = support::runtime();
    let mut backends = vec![("sqlite", None)];
    if let Ok(url) = std::env::var("CHATD_BENCH_PG_URL") {
        backends.push(("postgres", Some(url)));
    }
    for (name, url) in backends {
        let world = rt.block_on(World::new(url));
        let mut g = c.benchmark_group(format!("social_{name}"));
        g.sample_size(20);
        g.bench_function("presence_change_1000_friends_100_online", |b| {
            b.iter_custom(|iters| rt.block_on(world.presence(iters)))
        });
        for limit in [20i64, 100] {
            g.bench_function(BenchmarkId::new("conversations_of_1000", limit), |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let start = std::time::Instant::now();
                        for _ in 0..iters {
                            let page = world
                                .store
                                .conversations(world.me, &ListCursor::first(), limit)
                                .await
                                .unwrap_or_else(|e| fail("conversations", e));
                            if page.len() as i64 != limit || page[0].unread != 1 {
                                fail("conversations", "a short page");
                            }
                        }
                        start.elapsed()
                    })
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, social);
criterion_main!(benches);
