//! The realtime core's side of other nodes (issue 20): which users have sockets on which other
//! node (the [`Directory`], a copy of the cluster's kept by the server's `cluster` module), and
//! the queue of deliveries bound for them ([`Remote`]). Delivery never waits on another node or
//! on Redis: it puts what a user elsewhere needs into the queue and goes on; the server's cluster
//! module drains it into each node's Redis Stream, in order.
//!
//! A group pass collects what it forwards ([`Forwards`]) and hands it over once, so a message to
//! a large group makes one queue item per node that holds members, with that node's recipients.
//! What arrives from another node is written to the sockets here only
//! ([`crate::Delivery::deliver_forwarded`]): it is never forwarded again.

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc;

use chatd_schema::UserId;

use crate::delivery::Target;
use crate::positions::{Pos, UserPositions};
use crate::wire::frames::Dialect;
use crate::wire::push::Push;

/// A node's id (generated at start).
pub type NodeId = Arc<str>;

/// Deliveries for one other node: each target with the pushes it gets, in order.
pub type Batch = Vec<(Target, Vec<Arc<Push>>)>;

/// Deliveries for users with sockets on `node`.
#[derive(Debug)]
pub struct Outgoing {
    pub node: NodeId,
    pub batch: Batch,
}

/// The receiving ends of what the core asks of the cluster module.
pub struct Queues {
    /// Deliveries for other nodes, bounded.
    pub deliveries: mpsc::Receiver<Outgoing>,
    /// Users' first sockets here opening and last ones closing. Never dropped: one item per
    /// connect or disconnect, in order.
    pub presence: mpsc::UnboundedReceiver<Presence>,
}

/// A user's first socket here opened (with their arrival to confirm once every node knows), or
/// their last one closed (`arrival` is `None`).
pub struct Presence {
    pub user: UserId,
    pub arrival: Option<Arrival>,
}

/// Positions waiting for every node to hear of an arrival ([`UserPositions::await_peers`]).
pub struct Arrival {
    pub positions: Arc<UserPositions>,
    pub epoch: u64,
}

/// Which other nodes hold sockets of which users. Most users are on one node at most.
#[derive(Default)]
pub struct Directory {
    users: RwLock<HashMap<UserId, SmallVec<[NodeId; 1]>>>,
}

impl Directory {
    pub fn nodes_of(&self, user: UserId) -> SmallVec<[NodeId; 1]> {
        self.users
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&user)
            .cloned()
            .unwrap_or_default()
    }

    /// Notes that `user` has (or no longer has) sockets on `node`.
    pub fn set(&self, node: &NodeId, user: UserId, here: bool) {
        let mut users = self.users.write().unwrap_or_else(|p| p.into_inner());
        if here {
            let nodes = users.entry(user).or_default();
            if !nodes.contains(node) {
                nodes.push(node.clone());
            }
        } else if let Some(nodes) = users.get_mut(&user) {
            nodes.retain(|n| n != node);
            if nodes.is_empty() {
                users.remove(&user);
            }
        }
    }

    /// Replaces everything known of `node` by `present` (a fresh read of its directory set).
    pub fn replace_node(&self, node: &NodeId, present: &[UserId]) {
        let mut users = self.users.write().unwrap_or_else(|p| p.into_inner());
        users.retain(|_, nodes| {
            nodes.retain(|n| n != node);
            !nodes.is_empty()
        });
        for &user in present {
            users.entry(user).or_default().push(node.clone());
        }
    }

    /// Forgets `node` (it left or died).
    pub fn drop_node(&self, node: &NodeId) {
        self.replace_node(node, &[]);
    }

    /// Users known to be elsewhere.
    pub fn len(&self) -> usize {
        self.users.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The directory and the queue to the cluster module. Present only when Redis is configured.
pub struct Remote {
    pub directory: Directory,
    out: mpsc::Sender<Outgoing>,
    presence: mpsc::UnboundedSender<Presence>,
    /// Items refused because the queue was full (Redis far behind or away for long).
    dropped: AtomicU64,
}

impl Remote {
    /// The remote side and the receiving end of its queue, which holds up to `cap` items.
    pub fn new(cap: usize) -> (Arc<Remote>, Queues) {
        let (out, deliveries) = mpsc::channel(cap.max(1));
        let (presence, presence_rx) = mpsc::unbounded_channel();
        let remote = Remote {
            directory: Directory::default(),
            out,
            presence,
            dropped: AtomicU64::new(0),
        };
        let queues = Queues {
            deliveries,
            presence: presence_rx,
        };
        (Arc::new(remote), queues)
    }

    pub(crate) fn presence(&self, p: Presence) {
        // Fails only once the cluster module is gone (shutdown): nobody to tell.
        let _ = self.presence.send(p);
    }

    /// Queues `item`; never waits. A full queue drops it: what it carried is in history, so a
    /// recipient gets it by pull, replay or `sync` instead of live.
    pub fn send(&self, item: Outgoing) {
        if self.out.try_send(item).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    dropped = n,
                    "cluster queue full: live delivery to other nodes dropped"
                );
            }
        }
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// What one pass forwards, per node; handed to the queue once ([`crate::Delivery::forward`]).
#[derive(Default)]
pub struct Forwards {
    per_node: HashMap<NodeId, Batch>,
    /// Messages written to sockets here, and for recipients connected nowhere, this pass (one
    /// count per recipient and message, added to the metrics once per pass).
    pub(crate) live: u64,
    pub(crate) offline: u64,
}

impl Forwards {
    pub(crate) fn add(&mut self, node: NodeId, target: &Target, outs: &[Arc<Push>]) {
        self.per_node
            .entry(node)
            .or_default()
            .push((target.clone(), outs.to_vec()));
    }

    pub(crate) fn merge(&mut self, other: Forwards) {
        self.live += other.live;
        self.offline += other.offline;
        for (node, mut batch) in other.per_node {
            self.per_node.entry(node).or_default().append(&mut batch);
        }
    }

    pub(crate) fn into_items(self) -> impl Iterator<Item = Outgoing> {
        self.per_node
            .into_iter()
            .map(|(node, batch)| Outgoing { node, batch })
    }

    pub fn is_empty(&self) -> bool {
        self.per_node.is_empty()
    }

    /// Messages handed to other nodes (per recipient and message).
    pub(crate) fn per_node_len(&self) -> u64 {
        self.per_node
            .values()
            .flat_map(|b| b.iter().map(|(_, outs)| outs.len() as u64))
            .sum()
    }
}

/// A stream entry's body: the pushes once each, then who gets which (by index, in order).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    p: Vec<WirePush>,
    d: Vec<(UserId, Option<String>, Vec<u32>)>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct WirePush {
    /// The rich frame.
    r: String,
    /// The compact frame (absent when it is the same as the rich one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    c: Option<String>,
    /// A chat message (counts toward queue caps), not a notice.
    m: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<String>,
    #[serde(default)]
    s: i64,
    /// A presence frame ([`Push::presence`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    p: bool,
}

impl Entry {
    /// Encodes a batch, each push once however many targets share it.
    pub fn encode(batch: &Batch) -> Entry {
        let mut index: HashMap<*const Push, u32> = HashMap::new();
        let mut p = Vec::new();
        let mut d = Vec::with_capacity(batch.len());
        for (target, outs) in batch {
            let ids = outs
                .iter()
                .map(|out| {
                    *index.entry(Arc::as_ptr(out)).or_insert_with(|| {
                        p.push(WirePush::of(out));
                        (p.len() - 1) as u32
                    })
                })
                .collect();
            d.push((
                target.user_id,
                target.exclude_sid.as_deref().map(str::to_string),
                ids,
            ));
        }
        Entry { p, d }
    }

    /// The batch again: pushes shared by several targets are one `Arc`.
    pub fn decode(self) -> Batch {
        let pushes: Vec<Arc<Push>> = self.p.into_iter().map(|w| Arc::new(w.push())).collect();
        self.d
            .into_iter()
            .map(|(user_id, sid, ids)| {
                let outs = ids
                    .iter()
                    .filter_map(|&i| pushes.get(i as usize).cloned())
                    .collect();
                let target = Target {
                    user_id,
                    exclude_sid: sid.map(Arc::from),
                };
                (target, outs)
            })
            .collect()
    }
}

impl WirePush {
    fn of(out: &Push) -> WirePush {
        let rich = out.text(Dialect::Rich).as_str();
        let compact = if out.reaches(Dialect::Compact) {
            out.text(Dialect::Compact).as_str()
        } else {
            ""
        };
        WirePush {
            r: rich.to_string(),
            c: (compact != rich).then(|| compact.to_string()),
            m: out.payload.is_some(),
            k: out.pos.as_ref().map(|p| p.conv.to_string()),
            s: out.pos.as_ref().map_or(0, |p| p.seq),
            p: out.is_presence(),
        }
    }

    fn push(self) -> Push {
        let compact = self.c.as_deref().unwrap_or(&self.r);
        let pos = self.k.map(|k| Pos {
            conv: Arc::from(k),
            seq: self.s,
        });
        let push = Push::forwarded(&self.r, compact, self.m, pos);
        if self.p {
            push.as_presence()
        } else {
            push
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_entry_carries_each_push_once_and_gives_back_the_same_frames() {
        let m = json!({"id":"x","from_id":1,"to_id":2,"chatType":"single","type":"text",
                       "data":"hi","create_time":5});
        let a = Arc::new(Push::message(&m, 7).at(Arc::from("s:1:2"), 3));
        let b = Arc::new(Push::ephemeral(r#"{"type":"NOTIFICATION"}"#));
        let batch: Batch = vec![
            (Target::recipient(UserId(2)), vec![a.clone(), b.clone()]),
            (
                Target::other_devices(UserId(1), Some(Arc::from("sid"))),
                vec![a.clone()],
            ),
        ];
        let entry = Entry::encode(&batch);
        assert_eq!(entry.p.len(), 2, "each push once");
        let text = serde_json::to_string(&entry).unwrap_or_default();
        let back: Entry = serde_json::from_str(&text).unwrap_or(Entry {
            p: vec![],
            d: vec![],
        });
        let got = back.decode();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.user_id, UserId(2));
        assert_eq!(got[1].0.exclude_sid.as_deref(), Some("sid"));
        for d in [Dialect::Rich, Dialect::Compact] {
            assert_eq!(got[0].1[0].wire(d), a.wire(d));
            assert_eq!(got[0].1[1].wire(d), b.wire(d));
        }
        assert!(got[0].1[0].payload.is_some() && got[0].1[1].payload.is_none());
        let pos = got[0].1[0]
            .pos
            .as_ref()
            .map(|p| (p.conv.to_string(), p.seq));
        assert_eq!(pos, Some(("s:1:2".to_string(), 3)));
        assert!(Arc::ptr_eq(&got[0].1[0], &got[1].1[0]), "shared again");
    }

    #[test]
    fn a_presence_push_stays_one_on_another_node() {
        let p = Arc::new(Push::presence(r#"{"type":"presence"}"#));
        let r = Arc::new(Push::rich_only(r#"{"type":"receipt"}"#));
        let batch: Batch = vec![(Target::recipient(UserId(2)), vec![p, r])];
        let got = Entry::encode(&batch).decode();
        assert!(got[0].1[0].is_presence());
        assert!(!got[0].1[1].is_presence());
    }

    #[test]
    fn a_rich_only_push_stays_rich_only_on_another_node() {
        let r = Arc::new(Push::rich_only(r#"{"type":"receipt"}"#));
        let batch: Batch = vec![(Target::recipient(UserId(2)), vec![r.clone()])];
        let text = serde_json::to_string(&Entry::encode(&batch)).unwrap_or_default();
        let back: Entry = serde_json::from_str(&text).unwrap_or(Entry {
            p: vec![],
            d: vec![],
        });
        let got = back.decode();
        assert_eq!(got.len(), 1);
        assert!(got[0].1[0].reaches(Dialect::Rich));
        assert!(!got[0].1[0].reaches(Dialect::Compact));
        assert_eq!(got[0].1[0].wire(Dialect::Rich), r.wire(Dialect::Rich));
    }

    #[test]
    fn the_directory_follows_nodes() {
        let d = Directory::default();
        let (a, b): (NodeId, NodeId) = (Arc::from("a"), Arc::from("b"));
        d.set(&a, UserId(1), true);
        d.set(&b, UserId(1), true);
        d.set(&a, UserId(2), true);
        assert_eq!(d.nodes_of(UserId(1)).len(), 2);
        d.set(&a, UserId(1), false);
        assert_eq!(d.nodes_of(UserId(1)).as_slice(), std::slice::from_ref(&b));
        d.replace_node(&a, &[UserId(3)]);
        assert!(d.nodes_of(UserId(2)).is_empty());
        assert_eq!(d.nodes_of(UserId(3)).as_slice(), std::slice::from_ref(&a));
        d.drop_node(&b);
        assert!(d.nodes_of(UserId(1)).is_empty());
        assert_eq!(d.len(), 1);
    }
}
