//! Delivery: the one place that routes a push to users' sockets here. A user with sockets here
//! gets it written to each socket's outbox (never waits). A user with none needs nothing: the
//! message is in history, above their delivered position, so it is in their offline backlog
//! already (see [`crate::positions`]). A socket that cannot keep up is closed with 1013; what it
//! never wrote stays above its user's position too.
//!
//! Other nodes plug in here (issue 20): a user may also have sockets on other nodes. With Redis
//! configured, [`Remote`]'s directory says which; what they need is queued for those nodes
//! (never waited for) and written there by their own `Delivery` ([`Delivery::deliver_forwarded`]).

use chatd_schema::{Store, UserId};
use std::sync::Arc;

use crate::clock::Clock;
use crate::positions::{OfflineConfig, UserPositions};
use crate::presence::Change;
use crate::registry::Routes;
use crate::remote::{Arrival, Batch, Forwards, Presence, Remote};
use crate::wire::push::Push;

/// One user a push is for.
#[derive(Debug, Clone)]
pub struct Target {
    pub user_id: UserId,
    /// Skip this session's sockets (the sender's own device).
    pub exclude_sid: Option<Arc<str>>,
}

impl Target {
    pub fn recipient(user_id: UserId) -> Target {
        Target {
            user_id,
            exclude_sid: None,
        }
    }

    pub fn other_devices(user_id: UserId, sid: Option<Arc<str>>) -> Target {
        Target {
            user_id,
            exclude_sid: sid,
        }
    }
}

#[derive(Clone)]
pub struct Delivery {
    routes: Arc<Routes>,
    store: Store,
    clock: Clock,
    offline: OfflineConfig,
    /// Other nodes, when there are any (Redis configured).
    remote: Option<Arc<Remote>>,
    /// This node's presence task ([`crate::presence`]), told of every table change.
    presence: Option<tokio::sync::mpsc::UnboundedSender<Change>>,
}

impl Delivery {
    pub fn new(
        routes: Arc<Routes>,
        store: Store,
        clock: Clock,
        offline: OfflineConfig,
    ) -> Delivery {
        Delivery {
            routes,
            store,
            clock,
            offline,
            remote: None,
            presence: None,
        }
    }

    /// The same delivery, telling `presence` of users arriving and leaving.
    pub(crate) fn with_presence(
        mut self,
        presence: tokio::sync::mpsc::UnboundedSender<Change>,
    ) -> Delivery {
        self.presence = Some(presence);
        self
    }

    /// Whether `user` has a socket open on another node (as far as this node has heard).
    pub fn online_elsewhere(&self, user: UserId) -> bool {
        self.remote
            .as_ref()
            .is_some_and(|r| !r.directory.nodes_of(user).is_empty())
    }

    /// Whether `user` has a socket open here or on another node.
    pub fn online_anywhere(&self, user: UserId) -> bool {
        self.routes.is_online(user) || self.online_elsewhere(user)
    }

    /// Whether `user` may want a presence frame: a socket here asked for them, or they are on
    /// another node (whose sockets' wishes this node does not know).
    pub fn wants_presence(&self, user: UserId) -> bool {
        self.routes
            .with_online(user, |o| o.wants_presence())
            .unwrap_or(false)
            || self.online_elsewhere(user)
    }

    fn tell_presence(&self, change: Change) {
        if let Some(p) = &self.presence {
            // Fails only once the task is gone (shutdown): nobody to tell.
            let _ = p.send(change);
        }
    }

    /// The same delivery, also reaching users on other nodes through `remote`.
    pub fn with_remote(mut self, remote: Arc<Remote>) -> Delivery {
        self.remote = Some(remote);
        self
    }

    pub fn remote(&self) -> Option<&Arc<Remote>> {
        self.remote.as_ref()
    }

    pub fn routes(&self) -> &Routes {
        &self.routes
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn offline(&self) -> OfflineConfig {
        self.offline
    }

    /// Routes `out` to each target.
    pub fn route(&self, targets: &[Target], out: &Arc<Push>) {
        let mut fw = Forwards::default();
        for t in targets {
            self.route_into(t, std::slice::from_ref(out), &mut fw);
        }
        self.forward(fw);
    }

    /// Routes several messages (in order) to one target, as one push.
    pub fn route_one(&self, t: &Target, outs: &[Arc<Push>]) {
        let mut fw = Forwards::default();
        self.route_into(t, outs, &mut fw);
        self.forward(fw);
    }

    /// Writes `outs` to the target's sockets here, and notes in `fw` the other nodes that hold
    /// sockets of the target (a pass collects them and forwards once, [`Delivery::forward`]).
    pub(crate) fn route_into(&self, t: &Target, outs: &[Arc<Push>], fw: &mut Forwards) {
        let here = self
            .routes
            .with_online(t.user_id, |o| o.push(outs, t.exclude_sid.as_deref()))
            .is_some();
        self.route_elsewhere(t, here, outs, fw);
    }

    /// What [`Delivery::route_into`] does once the target's sockets here (if any: `here`) were
    /// written: notes the other nodes holding sockets of the target, and counts the delivery.
    /// A pass writes a run of members under one look at the route table, then calls this for
    /// each with the table released.
    pub(crate) fn route_elsewhere(
        &self,
        t: &Target,
        here: bool,
        outs: &[Arc<Push>],
        fw: &mut Forwards,
    ) {
        let mut elsewhere = false;
        if let Some(remote) = &self.remote {
            for node in remote.directory.nodes_of(t.user_id) {
                fw.add(node, t, outs);
                elsewhere = true;
            }
        }
        let n = outs.len() as u64;
        if here {
            fw.live += n;
        } else if !elsewhere && outs.iter().any(|o| o.pos.is_some()) {
            // Stored messages only: a signal (typing) for someone offline is simply not sent.
            fw.offline += n;
        }
    }

    /// Queues what `fw` collected for other nodes: one item per node.
    pub(crate) fn forward(&self, fw: Forwards) {
        let remote_n: u64 = if fw.is_empty() { 0 } else { fw.per_node_len() };
        crate::metrics::routed(fw.live, remote_n, fw.offline);
        if let Some(remote) = &self.remote {
            if !fw.is_empty() {
                for item in fw.into_items() {
                    remote.send(item);
                }
            }
        }
    }

    /// Writes what another node forwarded to the sockets here (never forwards it again).
    /// Targets with no socket here any more need nothing: the messages are in history.
    pub fn deliver_forwarded(&self, batch: Batch) {
        let mut live = 0;
        for (t, outs) in batch {
            if self
                .routes
                .with_online(t.user_id, |o| o.push(&outs, t.exclude_sid.as_deref()))
                .is_some()
            {
                live += outs.len() as u64;
            }
        }
        crate::metrics::routed(live, 0, 0);
    }

    /// Tells the cluster that `user`'s first socket here opened: until every node knows, their
    /// positions stand still ([`UserPositions::await_peers`]).
    pub(crate) fn arrived(&self, user: UserId, positions: &Arc<UserPositions>) {
        self.tell_presence(Change::Arrived(user));
        if let Some(remote) = &self.remote {
            let epoch = positions.await_peers();
            remote.presence(Presence {
                user,
                arrival: Some(Arrival {
                    positions: positions.clone(),
                    epoch,
                }),
            });
        }
    }

    /// Tells the cluster that `user`'s last socket here closed.
    pub(crate) fn left(&self, user: UserId) {
        self.tell_presence(Change::Left(user));
        if let Some(remote) = &self.remote {
            remote.presence(Presence {
                user,
                arrival: None,
            });
        }
    }

    /// Routes one push.
    pub fn send(&self, targets: &[Target], out: Push) {
        self.route(targets, &Arc::new(out));
    }
}
