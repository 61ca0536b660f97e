//! Several nodes as one service over Redis (SPEC §7, issue 20). Present when Redis is
//! configured; every node sharing a PostgreSQL database and a Redis prefix is one service.
//!
//! - **Node identity and liveness** (`node.rs`): an id generated at start; a heartbeat key
//!   (`node:<id>`, 10 s TTL, refreshed every 3 s) and the set of nodes (`nodes`); a clean leave
//!   on SIGTERM. A node whose key has expired is reaped by one survivor.
//! - **Directory** (`node.rs`, `bus.rs`): which nodes hold sockets of which users: a set per
//!   node (`dir:<id>`) written by that node as its registry publishes and retires users, and a
//!   copy in every node's memory ([`chatd_actors::remote::Directory`]) kept by the bus channel.
//! - **Delivery between nodes** (`streams.rs`): what a user elsewhere needs is appended to that
//!   node's Redis Stream (`stream:<id>`, bounded `MAXLEN`), one entry per node per batch with
//!   that node's recipients; each node reads its own stream through a consumer group and
//!   acknowledges an entry once it is written to the sockets here. Sends never wait on Redis.
//! - **Coherent caches** (`bus.rs`): a write another node may have cached (membership, friends,
//!   blacklist, names, a group's status) is announced on the bus, and the change's answer waits
//!   until every subscribed node has acknowledged it (at most [`ACK_WAIT`]).
//!
//! Losing a node loses nothing accepted: history is the only copy, and a message that did not
//! reach a socket stays above its recipient's delivered position (issue 21), so it reaches them
//! on whichever node they reconnect to. Losing Redis loses nothing either: delivery between
//! nodes pauses (queued in memory, bounded) and resumes; delivery on one node goes on.

mod bus;
mod node;
mod streams;

use chatd_actors::remote::{NodeId, Queues, Remote};
use chatd_actors::Registry;
use chatd_schema::{GroupId, Store};
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// The longest a change waits for other nodes to acknowledge its invalidation.
pub const ACK_WAIT: Duration = Duration::from_secs(2);
/// Deliveries for other nodes held while Redis does not take them.
const QUEUE: usize = 65_536;

/// What another node must forget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Cached send checks (friendships, blacklists, users, groups).
    Facts,
    /// The same, and the group's member list.
    Group(GroupId),
    /// Nothing: a barrier. Acknowledged once a node has applied every directory change
    /// published before it.
    Nothing,
}

/// Invalidations waiting for acknowledgements: how many came, how many are needed (known once
/// the publish answered), and whom to tell.
#[derive(Default)]
struct Pending {
    got: usize,
    need: Option<usize>,
    done: Option<oneshot::Sender<()>>,
}

impl Pending {
    fn settle(&mut self) {
        if self.need.is_some_and(|n| self.got >= n) {
            if let Some(done) = self.done.take() {
                let _ = done.send(());
            }
        }
    }
}

pub struct Cluster {
    pub node: NodeId,
    prefix: String,
    client: redis::Client,
    conn: ConnectionManager,
    remote: Arc<Remote>,
    /// True while this node's bus subscription is up, so it hears other nodes' changes: its
    /// caches may be trusted only then.
    subscribed: AtomicBool,
    /// True while the last Redis call succeeded (readiness).
    redis_up: AtomicBool,
    /// The directory set in Redis may miss changes (a failed write, a Redis restart): the next
    /// heartbeat writes it whole.
    dir_dirty: AtomicBool,
    /// The bus was lost since positions were last learned ([`Registry::forget_positions`]).
    lost: AtomicBool,
    /// The oldest message time an offline backlog holds now (the backlog's age limit).
    backlog_since: Box<dyn Fn() -> i64 + Send + Sync>,
    next_id: AtomicU64,
    pending: Mutex<HashMap<u64, Pending>>,
}

impl Cluster {
    /// The remote side for the realtime core, before the registry exists.
    pub fn remote() -> (Arc<Remote>, Queues) {
        Remote::new(QUEUE)
    }

    pub fn new(
        url: &str,
        prefix: &str,
        conn: ConnectionManager,
        remote: Arc<Remote>,
        backlog_since: Box<dyn Fn() -> i64 + Send + Sync>,
    ) -> anyhow::Result<Arc<Cluster>> {
        let node: NodeId = Arc::from(uuid::Uuid::new_v4().simple().to_string());
        Ok(Arc::new(Cluster {
            node,
            prefix: prefix.to_string(),
            client: redis::Client::open(url)?,
            conn,
            remote,
            subscribed: AtomicBool::new(false),
            redis_up: AtomicBool::new(true),
            dir_dirty: AtomicBool::new(true),
            lost: AtomicBool::new(false),
            backlog_since,
            next_id: AtomicU64::new(1),
            pending: Mutex::new(HashMap::new()),
        }))
    }

    /// Joins the service (heartbeat, stream, directory) and starts the tasks that keep it.
    pub async fn start(
        self: &Arc<Cluster>,
        queues: Queues,
        registry: Registry,
        store: Store,
        delivery: chatd_actors::Delivery,
    ) {
        self.beat(&registry).await;
        streams::create_group(self).await;
        tokio::spawn(node::heartbeat(self.clone(), registry.clone()));
        tokio::spawn(node::presence(
            self.clone(),
            registry.clone(),
            queues.presence,
        ));
        tokio::spawn(bus::subscribe(self.clone(), registry, store));
        tokio::spawn(streams::pump(self.clone(), queues.deliveries));
        tokio::spawn(streams::read(self.clone(), delivery));
        tracing::info!(node = %self.node, "joined the cluster");
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    fn bus(&self) -> String {
        self.key("bus")
    }

    /// Whether this node hears other nodes' changes now (its caches are coherent).
    pub fn coherent(&self) -> bool {
        self.subscribed.load(Ordering::Acquire)
    }

    /// Whether Redis answered the last call.
    pub fn redis_up(&self) -> bool {
        self.redis_up.load(Ordering::Acquire)
    }

    fn note<T>(&self, r: &redis::RedisResult<T>) {
        self.redis_up.store(r.is_ok(), Ordering::Release);
        if r.is_err() {
            crate::metrics::redis_error("cluster");
        }
    }

    pub fn directory(&self) -> &chatd_actors::remote::Directory {
        &self.remote.directory
    }

    /// Tells every node to forget `scope` and waits until each has (or [`ACK_WAIT`] passed).
    /// Without Redis nobody can be told: the other nodes, cut off too, distrust their caches
    /// until they hear the bus again (and then forget everything). False when it could not be
    /// published.
    pub async fn invalidate(&self, scope: Scope) -> bool {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (done, acked) = oneshot::channel();
        self.lock_pending().insert(
            id,
            Pending {
                done: Some(done),
                ..Pending::default()
            },
        );
        let msg = bus::Event::Invalidate {
            from: self.node.clone(),
            id,
            scope,
        }
        .encode();
        let mut conn = self.conn.clone();
        let sent: redis::RedisResult<usize> = redis::cmd("PUBLISH")
            .arg(self.bus())
            .arg(msg)
            .query_async(&mut conn)
            .await;
        self.note(&sent);
        match sent {
            // Every subscriber acknowledges, this node included when it is subscribed.
            Ok(n) => {
                if let Some(p) = self.lock_pending().get_mut(&id) {
                    p.need = Some(n);
                    p.settle();
                }
                if tokio::time::timeout(ACK_WAIT, acked).await.is_err() {
                    tracing::warn!("a node did not acknowledge an invalidation in time");
                }
            }
            Err(ref e) => tracing::warn!(error = %e, "invalidation not published (Redis)"),
        }
        self.lock_pending().remove(&id);
        sent.is_ok()
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn acked(&self, id: u64) {
        if let Some(p) = self.lock_pending().get_mut(&id) {
            p.got += 1;
            p.settle();
        }
    }

    /// Refreshes the heartbeat (and rewrites the directory set when it may be stale).
    async fn beat(&self, registry: &Registry) {
        node::beat(self, registry).await;
    }

    /// Leaves the service (SIGTERM): others stop sending here at once rather than when the
    /// heartbeat expires.
    pub async fn leave(&self) {
        node::leave(self).await;
    }
}
