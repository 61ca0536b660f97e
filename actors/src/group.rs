//! `GroupActor`: one per active group. It holds the member list in memory (loaded once, reloaded
//! after each membership change, in its own mailbox order, so a message accepted after a removal
//! never reaches the removed member) and fans each message out through [`Delivery`], writing it
//! into every member socket's outbox (straight into the kernel, never waiting): members with no
//! socket here, or whose socket cannot keep up, go to the offline queue in one write per batch.
//! The message arrives already rendered once per dialect, as ready WebSocket frames.

use chatd_schema::Store;
use kameo::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::delivery::{Delivery, OfflineBatch, Target};
use crate::outgoing::Outgoing;

pub struct GroupActor {
    group_id: i64,
    members: Vec<i64>,
    store: Store,
    delivery: Delivery,
}

impl GroupActor {
    async fn load(&mut self) {
        match self.store.active_member_ids(self.group_id).await {
            Ok(m) => self.members = m,
            Err(e) => tracing::error!(group = self.group_id, error = %e, "loading members failed"),
        }
    }
}

impl Actor for GroupActor {
    type Args = Self;
    type Error = kameo::error::Infallible;

    async fn on_start(mut args: Self::Args, _: ActorRef<Self>) -> Result<Self, Self::Error> {
        args.load().await;
        Ok(args)
    }
}

/// One stored group message to deliver.
pub struct FanoutItem {
    pub out: Arc<Outgoing>,
    pub sender: i64,
    /// The sender's session: its other devices get the message, this one does not.
    pub sender_sid: Option<Arc<str>>,
    /// Members who blacklisted the sender (any order; the fan-out sorts it once).
    pub exclude: Vec<i64>,
    /// Non-members who must get it too (a removed member told of the removal).
    pub also: Vec<i64>,
}

impl FanoutItem {
    /// Needs `exclude` sorted: it is asked once per member.
    fn reaches(&self, member: i64) -> bool {
        member != self.sender && self.exclude.binary_search(&member).is_err()
    }
}

/// Deliver stored group messages (one writer batch, in acceptance order) to the members. Each
/// member gets the batch as one push, so its socket takes it in one write.
pub struct Fanout {
    pub items: Vec<FanoutItem>,
}

impl Message<Fanout> for GroupActor {
    type Reply = ();

    async fn handle(&mut self, msg: Fanout, _: &mut Context<Self, Self::Reply>) {
        let mut items = msg.items;
        for i in &mut items {
            i.exclude.sort_unstable();
        }
        let all: Vec<Arc<Outgoing>> = items.iter().map(|i| i.out.clone()).collect();
        let mut batch = OfflineBatch::default();
        for &member in &self.members {
            // Most members get the whole batch, shared; only the rest get a list of their own.
            let some: Vec<Arc<Outgoing>>;
            let outs = if items.iter().all(|i| i.reaches(member)) {
                &all
            } else {
                some = items
                    .iter()
                    .filter(|i| i.reaches(member))
                    .map(|i| i.out.clone())
                    .collect();
                &some
            };
            if !outs.is_empty() {
                self.delivery
                    .route_one(&Target::recipient(member), outs, &mut batch);
            }
        }
        for item in &items {
            let mut extra: Vec<Target> = item
                .also
                .iter()
                .filter(|u| **u != item.sender)
                .map(|u| Target::recipient(*u))
                .collect();
            if item.sender > 0 {
                extra.push(Target::other_devices(item.sender, item.sender_sid.clone()));
            }
            self.delivery.route(&extra, &item.out, &mut batch);
        }
        if let Err(e) = self.delivery.flush(batch).await {
            tracing::error!(group = self.group_id, error = %e, "offline write of a group message failed");
        }
    }
}

/// Re-reads the member list (after a membership change in the store).
pub struct Reload;

impl Message<Reload> for GroupActor {
    type Reply = ();

    async fn handle(&mut self, _: Reload, _: &mut Context<Self, Self::Reply>) {
        self.load().await;
    }
}

/// The active members, in join order.
pub struct Members;

impl Message<Members> for GroupActor {
    type Reply = Vec<i64>;

    async fn handle(&mut self, _: Members, _: &mut Context<Self, Self::Reply>) -> Vec<i64> {
        self.members.clone()
    }
}

/// Group id → `GroupActor`, spawning on first use.
#[derive(Clone)]
pub struct Groups {
    map: Arc<RwLock<HashMap<i64, ActorRef<GroupActor>>>>,
    store: Store,
    delivery: Delivery,
    mailbox: usize,
}

impl Groups {
    pub fn new(store: Store, delivery: Delivery, mailbox: usize) -> Groups {
        Groups {
            map: Arc::new(RwLock::new(HashMap::new())),
            store,
            delivery,
            mailbox: mailbox.max(1),
        }
    }

    pub fn get(&self, group_id: i64) -> ActorRef<GroupActor> {
        if let Some(a) = self
            .map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&group_id)
            .filter(|a| a.is_alive())
        {
            return a.clone();
        }
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = map.get(&group_id).filter(|a| a.is_alive()) {
            return a.clone();
        }
        let actor = GroupActor::spawn_with_mailbox(
            GroupActor {
                group_id,
                members: Vec::new(),
                store: self.store.clone(),
                delivery: self.delivery.clone(),
            },
            kameo::mailbox::bounded(self.mailbox),
        );
        map.insert(group_id, actor.clone());
        actor
    }

    /// Reloads the member list of a group's actor (if it has one).
    pub async fn reload(&self, group_id: i64) {
        let actor = self.get(group_id);
        let _ = actor.ask(Reload).await;
    }

    /// Retires a dissolved group's actor once its queued fan-outs are done.
    pub async fn retire(&self, group_id: i64) {
        let actor = self
            .map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&group_id);
        if let Some(a) = actor {
            let _ = a.stop_gracefully().await;
        }
    }
}
