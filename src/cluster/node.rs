//! A node's liveness and its part of the directory: the heartbeat, writing which users have
//! sockets here, reaping nodes whose heartbeat expired, and leaving cleanly.

use chatd_actors::remote::{Arrival, NodeId, Presence};
use chatd_actors::Registry;
use chatd_schema::UserId;
use redis::AsyncCommands;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

use super::bus::Event;
use super::streams;
use super::{Cluster, Scope};

/// A node whose heartbeat is older than this is gone.
const TTL_SECS: u64 = 10;
/// How often the heartbeat is refreshed.
const BEAT: Duration = Duration::from_secs(3);

impl Cluster {
    pub(super) fn node_key(&self, node: &str) -> String {
        self.key(&format!("node:{node}"))
    }

    pub(super) fn dir_key(&self, node: &str) -> String {
        self.key(&format!("dir:{node}"))
    }

    pub(super) fn nodes_key(&self) -> String {
        self.key("nodes")
    }
}

/// Refreshes this node's heartbeat. When the key had gone (the first beat, or Redis lost it) or a
/// directory write failed, the directory set is written whole and the other nodes re-read it.
pub(super) async fn beat(c: &Cluster, registry: &Registry) {
    let mut conn = c.conn.clone();
    let prev: redis::RedisResult<Option<String>> = redis::cmd("SET")
        .arg(c.node_key(&c.node))
        .arg(1)
        .arg("EX")
        .arg(TTL_SECS)
        .arg("GET")
        .query_async(&mut conn)
        .await;
    c.note(&prev);
    let Ok(prev) = prev else { return };
    let _: redis::RedisResult<()> = conn.sadd(c.nodes_key(), &*c.node).await;
    if prev.is_none() || c.dir_dirty.swap(false, Ordering::AcqRel) {
        let users = registry.online_ids();
        let key = c.dir_key(&c.node);
        let mut pipe = redis::pipe();
        pipe.atomic().del(&key).ignore();
        if !users.is_empty() {
            pipe.sadd(&key, users.iter().map(|u| u.0).collect::<Vec<i64>>())
                .ignore();
        }
        pipe.publish(c.bus(), Event::Reload(c.node.clone()).encode())
            .ignore();
        let r: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
        c.note(&r);
        if r.is_err() {
            c.dir_dirty.store(true, Ordering::Release);
            return;
        }
        // Arrivals whose own announcement failed are in the set now.
        confirm_when_known(c, registry, registry.arrivals_waiting()).await;
    }
}

/// Waits until every node has applied the directory changes published so far (a barrier), then
/// confirms `arrivals`: their backlogs are learned now, so a message another node routed
/// before it knew of the user is counted there, and their positions may move. If the barrier
/// cannot be published, the next heartbeat rewrites the set and tries again.
async fn confirm_when_known(c: &Cluster, registry: &Registry, arrivals: Vec<(UserId, Arrival)>) {
    if arrivals.is_empty() {
        return;
    }
    if !c.invalidate(Scope::Nothing).await {
        c.dir_dirty.store(true, Ordering::Release);
        return;
    }
    registry.confirm_arrivals(arrivals, (c.backlog_since)());
}

/// Every [`BEAT`]: the heartbeat, then a look for nodes whose heartbeat expired.
pub(super) async fn heartbeat(c: Arc<Cluster>, registry: Registry) {
    let mut every = tokio::time::interval(BEAT);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        beat(&c, &registry).await;
        reap_dead(&c).await;
    }
}

/// Writes this node's directory set as users come and go, in order, a batch at a time, then
/// confirms the batch's arrivals once every node has heard of them.
pub(super) async fn presence(
    c: Arc<Cluster>,
    registry: Registry,
    mut rx: mpsc::UnboundedReceiver<Presence>,
) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 512).await > 0 {
        let key = c.dir_key(&c.node);
        let mut pipe = redis::pipe();
        let mut arrivals = Vec::new();
        for Presence { user, arrival } in batch.drain(..) {
            let here = arrival.is_some();
            if here {
                pipe.sadd(&key, user.0).ignore();
            } else {
                pipe.srem(&key, user.0).ignore();
            }
            let e = Event::Presence {
                node: c.node.clone(),
                user,
                here,
            };
            pipe.publish(c.bus(), e.encode()).ignore();
            arrivals.extend(arrival.map(|a| (user, a)));
        }
        let mut conn = c.conn.clone();
        let r: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
        c.note(&r);
        match r {
            Ok(()) => confirm_when_known(&c, &registry, arrivals).await,
            Err(e) => {
                // The next good heartbeat writes the set whole, has every node re-read it and
                // confirms the arrivals still waiting.
                tracing::warn!(error = %e, "directory write failed (Redis)");
                c.dir_dirty.store(true, Ordering::Release);
            }
        }
    }
}

/// Reaps every node in the set whose heartbeat expired; one survivor does each (a lock key).
async fn reap_dead(c: &Cluster) {
    let mut conn = c.conn.clone();
    let nodes: Vec<String> = match conn.smembers(c.nodes_key()).await {
        Ok(n) => n,
        Err(_) => return,
    };
    for node in nodes.into_iter().filter(|n| **n != *c.node) {
        let alive: redis::RedisResult<bool> = conn.exists(c.node_key(&node)).await;
        if !matches!(alive, Ok(false)) {
            continue;
        }
        let lock: redis::RedisResult<Option<String>> = redis::cmd("SET")
            .arg(c.key(&format!("reap:{node}")))
            .arg(&*c.node)
            .arg("NX")
            .arg("EX")
            .arg(60)
            .query_async(&mut conn)
            .await;
        if matches!(lock, Ok(Some(_))) {
            reap(c, Arc::from(node)).await;
        }
    }
}

/// Takes over a dead node: claims what its stream still held (its users' sockets died with it,
/// so what those entries carried is above their delivered positions and reaches them from
/// history wherever they reconnect), then drops its directory and tells every node.
async fn reap(c: &Cluster, dead: NodeId) {
    let claimed = streams::claim(c, &dead).await;
    let mut conn = c.conn.clone();
    let mut pipe = redis::pipe();
    pipe.del(c.dir_key(&dead))
        .ignore()
        .del(c.stream_key(&dead))
        .ignore()
        .srem(c.nodes_key(), &*dead)
        .ignore()
        .publish(c.bus(), Event::Gone(dead.clone()).encode())
        .ignore();
    let r: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
    c.note(&r);
    c.directory().drop_node(&dead);
    tracing::warn!(node = %dead, claimed, "a node's heartbeat expired: reaped it");
}

/// Leaves the service: others forget this node's users at once.
pub(super) async fn leave(c: &Cluster) {
    let mut conn = c.conn.clone();
    let mut pipe = redis::pipe();
    pipe.del(c.node_key(&c.node))
        .ignore()
        .del(c.dir_key(&c.node))
        .ignore()
        .del(c.stream_key(&c.node))
        .ignore()
        .srem(c.nodes_key(), &*c.node)
        .ignore()
        .publish(c.bus(), Event::Gone(c.node.clone()).encode())
        .ignore();
    let r: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
    if let Err(e) = r {
        tracing::warn!(error = %e, "leaving the cluster failed (Redis): others reap this node");
    }
}
