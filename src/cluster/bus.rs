//! The bus: one Redis pub/sub channel every node subscribes to. It carries directory changes
//! (a user's first socket on a node, their last one gone, a node gone, a node's set rewritten)
//! and cache invalidations with their acknowledgements.
//!
//! Pub/sub loses what is published while a subscriber is cut off, so a node that (re)subscribes
//! re-reads every node's directory set and forgets every cache; until it has, its caches are not
//! trusted ([`Cluster::coherent`]: group sends read the store).

use chatd_actors::remote::NodeId;
use chatd_actors::Registry;
use chatd_schema::{GroupId, Store, UserId};
use futures_util::StreamExt;
use redis::AsyncCommands;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::{Cluster, Scope};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Event {
    Presence {
        node: NodeId,
        user: UserId,
        here: bool,
    },
    /// A node left or was reaped.
    Gone(NodeId),
    /// A node rewrote its directory set: re-read it.
    Reload(NodeId),
    /// A node dropped live deliveries (its queue was full): positions must be learned again.
    Lost(NodeId),
    Invalidate {
        from: NodeId,
        id: u64,
        scope: Scope,
    },
    Ack {
        to: NodeId,
        id: u64,
    },
}

impl Event {
    pub(super) fn encode(&self) -> String {
        match self {
            Event::Presence { node, user, here } => {
                format!("{} {node} {}", if *here { '+' } else { '-' }, user.0)
            }
            Event::Gone(node) => format!("x {node}"),
            Event::Reload(node) => format!("r {node}"),
            Event::Lost(node) => format!("l {node}"),
            Event::Invalidate { from, id, scope } => match scope {
                Scope::Facts => format!("i {from} {id} *"),
                Scope::Group(g) => format!("i {from} {id} {}", g.0),
                Scope::Nothing => format!("i {from} {id} -"),
            },
            Event::Ack { to, id } => format!("a {to} {id}"),
        }
    }

    pub(super) fn decode(s: &str) -> Option<Event> {
        let mut it = s.split(' ');
        let kind = it.next()?;
        let node: NodeId = Arc::from(it.next()?);
        let e = match kind {
            "+" | "-" => Event::Presence {
                node,
                user: UserId(it.next()?.parse().ok()?),
                here: kind == "+",
            },
            "x" => Event::Gone(node),
            "r" => Event::Reload(node),
            "l" => Event::Lost(node),
            "i" => {
                let id = it.next()?.parse().ok()?;
                let scope = match it.next()? {
                    "*" => Scope::Facts,
                    "-" => Scope::Nothing,
                    g => Scope::Group(GroupId(g.parse().ok()?)),
                };
                Event::Invalidate {
                    from: node,
                    id,
                    scope,
                }
            }
            "a" => Event::Ack {
                to: node,
                id: it.next()?.parse().ok()?,
            },
            _ => return None,
        };
        Some(e)
    }
}

/// Subscribes to the bus and handles it, resubscribing after any loss.
pub(super) async fn subscribe(c: Arc<Cluster>, registry: Registry, store: Store) {
    loop {
        match c.client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if pubsub.subscribe(c.bus()).await.is_ok() {
                    // Anything published while cut off is lost: start from the sets and forget
                    // every cache, then trust them again.
                    reload_directory(&c).await;
                    store.invalidate();
                    registry.reload_groups();
                    c.subscribed.store(true, Ordering::Release);
                    if c.lost.swap(false, Ordering::AcqRel) {
                        // Deliveries from other nodes may have been lost meanwhile: learn again
                        // who is behind where before positions move on.
                        let (registry, since) = (registry.clone(), (c.backlog_since)());
                        tokio::spawn(async move { registry.recheck_backlogs(since).await });
                    }
                    let mut messages = pubsub.into_on_message();
                    while let Some(msg) = messages.next().await {
                        let Ok(text) = msg.get_payload::<String>() else {
                            continue;
                        };
                        if let Some(e) = Event::decode(&text) {
                            handle(&c, &registry, &store, e).await;
                        }
                    }
                    c.subscribed.store(false, Ordering::Release);
                    lose(&c, &registry);
                    tracing::warn!("lost the cluster bus (Redis); resubscribing");
                }
            }
            Err(e) => tracing::debug!(error = %e, "cluster bus: Redis unreachable"),
        }
        c.subscribed.store(false, Ordering::Release);
        lose(&c, &registry);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Cut off from Redis: deliveries from other nodes (their stream entries) may be lost, so no
/// connected user's position moves until their backlog is learned again.
fn lose(c: &Cluster, registry: &Registry) {
    if !c.lost.swap(true, Ordering::AcqRel) {
        registry.forget_positions();
    }
}

async fn handle(c: &Arc<Cluster>, registry: &Registry, store: &Store, e: Event) {
    match e {
        Event::Presence { node, user, here } if node != c.node => {
            c.directory().set(&node, user, here);
        }
        Event::Gone(node) if node != c.node => c.directory().drop_node(&node),
        // Before the next event: a barrier acknowledged after it means the set was applied.
        Event::Reload(node) if node != c.node => reload_node(c, &node).await,
        Event::Lost(node) if node != c.node => {
            registry.forget_positions();
            let (registry, since) = (registry.clone(), (c.backlog_since)());
            tokio::spawn(async move { registry.recheck_backlogs(since).await });
        }
        Event::Invalidate { from, id, scope } => {
            if from != c.node && scope != Scope::Nothing {
                // Before the acknowledgement: a send checked after it reads the store, and a
                // message handed to the group's actor after it sees the new member list.
                store.invalidate();
                if let Scope::Group(g) = scope {
                    registry.reload_group(g);
                }
            }
            let c = c.clone();
            tokio::spawn(async move {
                let mut conn = c.conn.clone();
                let ack = Event::Ack { to: from, id }.encode();
                let r: redis::RedisResult<()> = conn.publish(c.bus(), ack).await;
                c.note(&r);
            });
        }
        Event::Ack { to, id } if to == c.node => c.acked(id),
        _ => {}
    }
}

/// Reads every other node's directory set.
async fn reload_directory(c: &Cluster) {
    let mut conn = c.conn.clone();
    let nodes: Vec<String> = match conn.smembers(c.nodes_key()).await {
        Ok(n) => n,
        Err(_) => return,
    };
    for node in nodes.into_iter().filter(|n| **n != *c.node) {
        reload_node(c, &Arc::from(node)).await;
    }
}

async fn reload_node(c: &Cluster, node: &NodeId) {
    let mut conn = c.conn.clone();
    let users: redis::RedisResult<Vec<i64>> = conn.smembers(c.dir_key(node)).await;
    c.note(&users);
    if let Ok(users) = users {
        let users: Vec<UserId> = users.into_iter().map(UserId).collect();
        c.directory().replace_node(node, &users);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_back_as_written() {
        let n: NodeId = Arc::from("abc");
        for e in [
            Event::Presence {
                node: n.clone(),
                user: UserId(7),
                here: true,
            },
            Event::Presence {
                node: n.clone(),
                user: UserId(7),
                here: false,
            },
            Event::Gone(n.clone()),
            Event::Reload(n.clone()),
            Event::Lost(n.clone()),
            Event::Invalidate {
                from: n.clone(),
                id: 3,
                scope: Scope::Facts,
            },
            Event::Invalidate {
                from: n.clone(),
                id: 4,
                scope: Scope::Group(GroupId(12)),
            },
            Event::Invalidate {
                from: n.clone(),
                id: 5,
                scope: Scope::Nothing,
            },
            Event::Ack {
                to: n.clone(),
                id: 4,
            },
        ] {
            assert_eq!(Event::decode(&e.encode()), Some(e));
        }
        assert_eq!(Event::decode("? a"), None);
        assert_eq!(Event::decode("+ a notanumber"), None);
    }
}
