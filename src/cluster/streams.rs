//! Delivery between nodes over Redis Streams: each node reads its own stream (`stream:<id>`)
//! through the consumer group [`GROUP`] and acknowledges an entry once it has written it to the
//! sockets here; the pump appends what users on other nodes need, one entry per node per batch.
//!
//! Ordering: the pump takes the core's queue in order and appends in order, so everything one
//! node sends one user arrives in the order it was sent. While Redis does not take a batch, the
//! pump retries it (later ones wait behind it, in the bounded queue); sends never wait.

use chatd_actors::remote::{Batch, Entry, NodeId, Outgoing};
use chatd_actors::Delivery;
use redis::streams::{StreamAutoClaimOptions, StreamMaxlen, StreamReadOptions, StreamReadReply};
use redis::AsyncCommands;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

use super::bus::Event;
use super::Cluster;

pub(super) const GROUP: &str = "chatd";
/// Entries a node's stream keeps at most (about): a node that stops reading for long loses the
/// oldest live deliveries, which its users then get from history.
const MAXLEN: usize = 100_000;
/// Queue items the pump takes per round.
const ROUND: usize = 256;

impl Cluster {
    pub(super) fn stream_key(&self, node: &str) -> String {
        self.key(&format!("stream:{node}"))
    }
}

/// Creates this node's stream and its consumer group, reading from the start (entries appended
/// before the group existed are read too).
pub(super) async fn create_group(c: &Cluster) {
    let mut conn = c.conn.clone();
    let r: redis::RedisResult<()> = conn
        .xgroup_create_mkstream(c.stream_key(&c.node), GROUP, "0")
        .await;
    if let Err(e) = r {
        if e.code() != Some("BUSYGROUP") {
            tracing::warn!(error = %e, "creating this node's stream failed (Redis)");
        }
    }
}

/// Appends what the core queued for other nodes: per round, one entry per node.
pub(super) async fn pump(c: Arc<Cluster>, mut rx: mpsc::Receiver<Outgoing>) {
    let mut items = Vec::with_capacity(ROUND);
    let mut reported = 0;
    while rx.recv_many(&mut items, ROUND).await > 0 {
        report_drops(&c, &mut reported).await;
        let mut per_node: Vec<(NodeId, Batch)> = Vec::new();
        for Outgoing { node, mut batch } in items.drain(..) {
            match per_node.iter_mut().find(|(n, _)| *n == node) {
                Some((_, b)) => b.append(&mut batch),
                None => per_node.push((node, batch)),
            }
        }
        let mut pipe = redis::pipe();
        for (node, batch) in &per_node {
            let body = serde_json::to_string(&Entry::encode(batch)).unwrap_or_default();
            pipe.xadd_maxlen(
                c.stream_key(node),
                StreamMaxlen::Approx(MAXLEN),
                "*",
                &[("d", body)],
            )
            .ignore();
        }
        let mut wait = Duration::from_millis(50);
        loop {
            let mut conn = c.conn.clone();
            let r: redis::RedisResult<()> = pipe.query_async(&mut conn).await;
            c.note(&r);
            match r {
                Ok(()) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "appending to other nodes' streams failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(1));
                }
            }
        }
    }
}

/// The queue was full and live deliveries were dropped: every node learns its users' backlogs
/// again before their positions move on (a dropped message is above its recipients' positions
/// and must stay below what later ones move them to).
async fn report_drops(c: &Cluster, reported: &mut u64) {
    let dropped = c.remote.dropped();
    if dropped == *reported {
        return;
    }
    let mut conn = c.conn.clone();
    let r: redis::RedisResult<()> = conn
        .publish(c.bus(), Event::Lost(c.node.clone()).encode())
        .await;
    c.note(&r);
    if r.is_ok() {
        *reported = dropped;
    }
}

/// Reads this node's stream until the process ends: writes each entry to the sockets here, then
/// acknowledges it. Reconnects by itself (and recreates the stream if Redis lost it).
pub(super) async fn read(c: Arc<Cluster>, delivery: Delivery) {
    let key = c.stream_key(&c.node);
    let opts = StreamReadOptions::default()
        .group(GROUP, &*c.node)
        .count(128)
        .block(1000);
    let config =
        redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(5)));
    loop {
        let mut conn = match c
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(conn) => conn,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        loop {
            let reply: redis::RedisResult<Option<StreamReadReply>> =
                conn.xread_options(&[&key], &[">"], &opts).await;
            match reply {
                Ok(Some(reply)) => {
                    let mut ids = Vec::new();
                    for entry in reply.keys.into_iter().flat_map(|k| k.ids) {
                        if let Some(batch) = decode(&entry) {
                            delivery.deliver_forwarded(batch);
                        }
                        ids.push(entry.id);
                    }
                    if !ids.is_empty() {
                        let r: redis::RedisResult<usize> = conn.xack(&key, GROUP, &ids).await;
                        c.note(&r);
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    if e.code() == Some("NOGROUP") {
                        create_group(&c).await;
                    } else {
                        tracing::debug!(error = %e, "reading this node's stream failed");
                    }
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn decode(entry: &redis::streams::StreamId) -> Option<Batch> {
    let body: String = entry.get("d")?;
    match serde_json::from_str::<Entry>(&body) {
        Ok(e) => Some(e.decode()),
        Err(e) => {
            tracing::warn!(error = %e, id = %entry.id, "an unreadable stream entry");
            None
        }
    }
}

/// Claims and acknowledges what a dead node had read but not acknowledged; returns how many
/// entries that was. (What it never read goes with its stream.)
pub(super) async fn claim(c: &Cluster, dead: &str) -> usize {
    let key = c.stream_key(dead);
    let mut conn = c.conn.clone();
    let mut claimed = 0;
    let mut start = "0-0".to_string();
    loop {
        let r: redis::RedisResult<redis::streams::StreamAutoClaimReply> = conn
            .xautoclaim_options(
                &key,
                GROUP,
                &*c.node,
                0,
                &start,
                StreamAutoClaimOptions::default().count(1000),
            )
            .await;
        let Ok(reply) = r else { break };
        let ids: Vec<String> = reply.claimed.into_iter().map(|e| e.id).collect();
        claimed += ids.len();
        if !ids.is_empty() {
            let _: redis::RedisResult<usize> = conn.xack(&key, GROUP, &ids).await;
        }
        if reply.next_stream_id == "0-0" {
            break;
        }
        start = reply.next_stream_id;
    }
    claimed
}
