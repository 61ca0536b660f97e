//! `GroupActor`: one per active group. It holds the member list in memory (loaded once, reloaded
//! after each membership change, in order with the messages, so a message accepted after a
//! removal never reaches the removed member) and fans each message out through [`Delivery`],
//! writing it into every member socket's outbox (straight into the kernel, never waiting).
//! Members with no socket here cost nothing: the message is in history, above their delivered
//! position, which is their offline backlog. Messages arrive already rendered once per dialect, as ready WebSocket frames.
//!
//! A large group's fan-out lets other tasks run every millisecond or so, so one 10,000-member
//! message does not hold a worker for tens of milliseconds. Messages stored
//! meanwhile join the same pass: the members not reached yet get the old and the new ones in one
//! write, and the members already passed get the new ones on the next pass. When the server
//! falls behind it thus makes fewer, larger writes (as uWebSockets does when its loop is late),
//! and each member still gets every message once, in acceptance order.
//!
//! A very large group's pass is split instead: its members are cut into runs of at least
//! [`FanoutConfig::split_min`], written at the same time by several threads off the workers (the
//! actor only waits for them), as uWebSockets cannot. The threads come from one budget for the
//! whole server, so many large groups at once do not start more threads than there are cores.
//! Messages stored meanwhile wait for the next pass, where every member gets them in one write.
//! Who is due which messages is the `backlog` module's business.

use chatd_schema::models::Group;
use chatd_schema::{GroupId, UserId};
use chatd_schema::{Store, StoreError};
use kameo::prelude::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};

pub use crate::backlog::FanoutItem;
use crate::backlog::{deliver_split, Backlog};
use crate::delivery::{Delivery, Target};
pub use crate::group_inbox::{FanoutConfig, GroupRef, Membership};
use crate::group_inbox::{Inbox, Job, Shared};
use crate::remote::Forwards;

/// How long a fan-out writes before other tasks get a turn.
#[cfg(not(test))]
const SLICE: Duration = Duration::from_millis(1);
/// Every chunk in tests, so that messages join passes part-way, whatever the machine's speed.
#[cfg(test)]
const SLICE: Duration = Duration::ZERO;
/// Members written between two looks at the clock.
const CHUNK: usize = 32;
/// Members a thread of a split pass takes at a time (fewer when `split_min` is smaller): about a
/// millisecond of writes to real sockets.
const RUN: usize = 256;

pub struct GroupActor {
    group_id: GroupId,
    members: Vec<UserId>,
    store: Store,
    delivery: Delivery,
    shared: Arc<Shared>,
    backlog: Backlog,
    /// Most threads one pass is split over.
    threads: usize,
    /// Fewest members per thread of a split pass.
    split_min: usize,
    /// Threads free to write split passes, shared by every group: `threads` in all.
    budget: Arc<Semaphore>,
}

impl GroupActor {
    /// Spawns the actor of group `group_id` (it reads its member list when it starts). Only the
    /// registry calls this: one actor per group.
    pub(crate) fn spawn_ref(
        group_id: GroupId,
        store: Store,
        delivery: Delivery,
        cfg: FanoutConfig,
        budget: Arc<Semaphore>,
    ) -> GroupRef {
        let shared = Arc::new(Shared {
            inbox: Mutex::new(Inbox::default()),
            room: Notify::new(),
            limit: cfg.backlog.max(1),
        });
        // The mailbox only ever holds one `Run` (and a stop): the inbox is the queue.
        let actor = GroupActor::spawn_with_mailbox(
            GroupActor {
                group_id,
                members: Vec::new(),
                store,
                delivery,
                shared: shared.clone(),
                backlog: Backlog::default(),
                threads: cfg.threads.max(1),
                split_min: cfg.split_min.max(1),
                budget,
            },
            kameo::mailbox::bounded(4),
        );
        GroupRef { actor, shared }
    }

    async fn load(&mut self) {
        match self.store.active_member_ids(self.group_id).await {
            Ok(m) => self.members = m,
            Err(e) => tracing::error!(group = %self.group_id, error = %e, "loading members failed"),
        }
        self.backlog.reset(self.members.len());
    }

    /// Writes `change` to the store and, when it took, to the member list. Runs only while every
    /// member is up to date, so the backlog can start over for the new list.
    async fn apply(&mut self, change: Membership, now: i64) -> Result<bool, StoreError> {
        let g = self.group_id;
        let changed = match &change {
            Membership::Upsert(m) => self.store.upsert_member(g, m, now).await.map(|()| true),
            Membership::Activate(user) => self.store.activate_member(g, *user, now).await,
            Membership::Remove(user) => self.store.remove_member(g, *user).await,
            Membership::Dissolve(group) => {
                let dissolved = Group {
                    status: 0,
                    ..(**group).clone()
                };
                self.store
                    .update_group(&dissolved, now)
                    .await
                    .map(|()| true)
            }
        }?;
        if changed {
            match change {
                Membership::Upsert(m) if m.status == 1 => self.add_member(m.user_id),
                Membership::Upsert(m) => self.members.retain(|u| *u != m.user_id),
                Membership::Activate(user) => self.add_member(user),
                Membership::Remove(user) => self.members.retain(|u| *u != user),
                Membership::Dissolve(_) => self.members.clear(),
            }
            self.backlog.reset(self.members.len());
        }
        Ok(changed)
    }

    fn add_member(&mut self, user: UserId) {
        if !self.members.contains(&user) {
            self.members.push(user);
        }
    }

    /// Takes queued messages into the backlog, up to the next reload or membership change and
    /// while the backlog has room.
    fn absorb(&mut self) {
        let mut took = false;
        while self.backlog.len() < self.shared.limit {
            let Some(items) = self.shared.lock().take_items() else {
                break;
            };
            took = true;
            for item in items {
                self.route_extras(&item);
                self.backlog.push(item);
            }
        }
        if took {
            self.shared.room.notify_waiters();
        }
    }

    /// Routes the copies that are not for members: the sender's other devices, and `also`.
    fn route_extras(&self, item: &FanoutItem) {
        let mut extra: Vec<Target> = item
            .also
            .iter()
            .filter(|u| **u != item.sender)
            .map(|u| Target::recipient(*u))
            .collect();
        // The sender's other devices get copies of stored messages, not of signals about the
        // sender (typing).
        if item.sender.is_user() && item.out.pos.is_some() {
            extra.push(Target::other_devices(item.sender, item.sender_sid.clone()));
        }
        self.delivery.route(&extra, &item.out);
    }

    /// One pass over the members, giving other tasks a turn every [`SLICE`]; messages that
    /// arrive meanwhile join it.
    async fn pass(&mut self) {
        let n = self.members.len();
        let mut k = 0;
        let mut since = Instant::now();
        let mut fw = Forwards::default();
        while k < n {
            let stop = (k + CHUNK).min(n);
            self.backlog
                .part(&self.members, k..stop)
                .deliver(&self.delivery, &mut fw);
            k = stop;
            if k < n && since.elapsed() >= SLICE {
                self.delivery.forward(std::mem::take(&mut fw));
                tokio::task::yield_now().await;
                self.absorb();
                since = Instant::now();
            }
        }
        self.delivery.forward(fw);
    }

    /// How many threads this group's pass is worth splitting over, if more than one.
    fn split_threads(&self) -> Option<usize> {
        let threads = self.threads.min(self.members.len() / self.split_min);
        (threads > 1).then_some(threads)
    }

    /// One pass split over up to `most` threads off the workers, which stay free meanwhile. They
    /// come from the server-wide budget: one at least (waiting while other groups' passes hold
    /// them all), and as many more as are free now.
    async fn split_pass(&mut self, most: usize) {
        let Ok(mut permits) = self.budget.clone().acquire_owned().await else {
            // The budget is never closed; were it, the single-thread pass still delivers.
            return self.pass().await;
        };
        for _ in 1..most {
            match self.budget.clone().try_acquire_owned() {
                Ok(more) => permits.merge(more),
                Err(_) => break,
            }
        }
        let threads = permits.num_permits();
        let run = self.split_min.min(RUN);
        let mut backlog = std::mem::take(&mut self.backlog);
        let members = std::mem::take(&mut self.members);
        let delivery = self.delivery.clone();
        let done = tokio::task::spawn_blocking(move || {
            deliver_split(&mut backlog, &members, run, threads, &delivery);
            drop(permits);
            (backlog, members)
        })
        .await;
        match done {
            Ok((backlog, members)) => {
                self.backlog = backlog;
                self.members = members;
            }
            Err(e) => {
                // Only a bug gets here; who got what is unknown, so start over from the store.
                tracing::error!(group = %self.group_id, error = %e, "a split fan-out failed");
                self.load().await;
            }
        }
    }

    /// Works until nothing is queued and every member has every message.
    async fn run(&mut self) {
        loop {
            self.absorb();
            if self.backlog.len() > 0 {
                let started = Instant::now();
                match self.split_threads() {
                    Some(threads) => self.split_pass(threads).await,
                    None => self.pass().await,
                }
                crate::metrics::fanout_pass(started.elapsed().as_secs_f64());
                self.backlog.trim();
                continue;
            }
            // Every member is up to date, so a reload or a change may run now.
            let job = {
                let mut inbox = self.shared.lock();
                match inbox.jobs.pop_front() {
                    None => {
                        inbox.scheduled = false;
                        return;
                    }
                    // Taken in after the last absorb: another round.
                    Some(Job::Items(items)) => {
                        inbox.jobs.push_front(Job::Items(items));
                        continue;
                    }
                    Some(job) => job,
                }
            };
            match job {
                Job::Reload(done) => {
                    self.load().await;
                    let _ = done.send(());
                }
                Job::Settle(done) => {
                    let _ = done.send(());
                }
                Job::Change(change, now, done) => {
                    let res = self.apply(change, now).await;
                    let _ = done.send(res);
                }
                Job::Items(_) => {}
            }
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

/// Tells the actor to work through its inbox.
pub(crate) struct Run;

impl Message<Run> for GroupActor {
    type Reply = ();

    async fn handle(&mut self, _: Run, _: &mut Context<Self, Self::Reply>) {
        self.run().await;
    }
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
