//! `GroupActor`: one per active group. It holds the member list in memory (loaded once, reloaded
//! after each membership change, in its own mailbox order, so a message accepted after a removal
//! never reaches the removed member) and fans each message out to member actors with `try_send`
//! through [`Delivery`]: members without a local actor, or with a full mailbox, go to the offline
//! queue in one write per message. The message arrives already rendered once per dialect.

use chatd_schema::Store;
use kameo::prelude::*;
use std::collections::{HashMap, HashSet};
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

/// Deliver a stored group message to the members.
pub struct Fanout {
    pub out: Arc<Outgoing>,
    pub sender: i64,
    /// The sender's session: its other devices get the message, this one does not.
    pub sender_sid: Option<Arc<str>>,
    /// Members who blacklisted the sender.
    pub exclude: Vec<i64>,
    /// Non-members who must get it too (a removed member told of the removal).
    pub also: Vec<i64>,
}

impl Message<Fanout> for GroupActor {
    type Reply = ();

    async fn handle(&mut self, msg: Fanout, _: &mut Context<Self, Self::Reply>) {
        let skip: HashSet<i64> = msg.exclude.iter().copied().collect();
        let mut targets: Vec<Target> = self
            .members
            .iter()
            .filter(|m| **m != msg.sender && !skip.contains(m))
            .map(|m| Target::recipient(*m))
            .collect();
        targets.extend(
            msg.also
                .iter()
                .filter(|u| **u != msg.sender)
                .map(|u| Target::recipient(*u)),
        );
        if msg.sender > 0 {
            targets.push(Target::other_devices(msg.sender, msg.sender_sid.clone()));
        }
        let mut batch = OfflineBatch::default();
        self.delivery.route(&targets, &msg.out, &mut batch);
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
