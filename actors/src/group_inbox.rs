//! What the rest of the server holds of a group's actor: [`GroupRef`], the handle, and the inbox
//! it shares with the actor — stored messages, membership changes ([`Membership`]), reloads and
//! barriers, in the order they were handed over. The actor itself is in `group.rs`.

use chatd_schema::models::Group;
use chatd_schema::{NewMember, StoreError, UserId};
use kameo::prelude::*;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{oneshot, Notify};

use crate::backlog::FanoutItem;
use crate::error::ActorsError;
use crate::group::{GroupActor, Run};

/// A membership change, executed by the group's actor in order with its messages: the store
/// write and the in-memory member list change in one step, once every message accepted before
/// the change is out and before any accepted after it goes out.
#[derive(Debug, Clone)]
pub enum Membership {
    /// Adds or re-adds a member row with its status (1 active, 2 waiting for the owner).
    Upsert(NewMember),
    /// Makes a waiting member active; false when no such member was waiting.
    Activate(UserId),
    /// Deletes a member's row (removal, leaving, a declined request); false when there was none.
    Remove(UserId),
    /// Marks the group dissolved: nobody receives its messages any more.
    Dissolve(Box<Group>),
}

/// What the actor is asked to do, in order.
pub(crate) enum Job {
    /// Stored messages (one writer batch, in acceptance order).
    Items(Vec<FanoutItem>),
    /// Re-read the member list once every earlier message is out; answered when done.
    Reload(oneshot::Sender<()>),
    /// Answered once every earlier message is out.
    Settle(oneshot::Sender<()>),
    /// Change the membership once every earlier message is out; answered with the store's answer.
    Change(Membership, i64, oneshot::Sender<Result<bool, StoreError>>),
}

#[derive(Default)]
pub(crate) struct Inbox {
    pub(crate) jobs: VecDeque<Job>,
    /// Messages in `jobs`: what the writer's back-pressure counts.
    pub(crate) queued: usize,
    /// The actor has been told to run (a [`Run`] is in its mailbox or running), so a new job
    /// needs no other.
    pub(crate) scheduled: bool,
}

/// Shared by the actor and every [`GroupRef`].
pub(crate) struct Shared {
    pub(crate) inbox: Mutex<Inbox>,
    /// Tells a writer waiting for room that the actor took messages in.
    pub(crate) room: Notify,
    /// Most messages queued or in the backlog before the writer waits.
    pub(crate) limit: usize,
}

impl Inbox {
    /// The first job's messages, if the first job is messages (never past a reload).
    pub(crate) fn take_items(&mut self) -> Option<Vec<FanoutItem>> {
        match self.jobs.pop_front()? {
            Job::Items(items) => {
                self.queued -= items.len();
                Some(items)
            }
            other => {
                self.jobs.push_front(other);
                None
            }
        }
    }
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A group's actor and its inbox: what the writer and the group handlers hold.
#[derive(Clone, Reply)]
pub struct GroupRef {
    pub(crate) actor: ActorRef<GroupActor>,
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for GroupRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupRef")
            .field("actor", &self.actor.id())
            .finish()
    }
}

impl GroupRef {
    pub(crate) fn is_alive(&self) -> bool {
        self.actor.is_alive()
    }

    /// Stops the actor once its queued fan-outs are done.
    pub(crate) async fn stop(&self) {
        // The stop queues behind the `Run` that any waiting job has scheduled (or behind the
        // one running), and a run returns only once its inbox is empty.
        let _ = self.actor.stop_gracefully().await;
    }

    /// Same group actor.
    pub fn same(&self, other: &GroupRef) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Queues `job`, waking the actor if it is idle; false when the actor has stopped.
    fn enqueue(&self, inbox: &mut Inbox, job: Job) -> bool {
        inbox.jobs.push_back(job);
        if inbox.scheduled {
            return true;
        }
        inbox.scheduled = true;
        // At most one `Run` is ever in the mailbox, so a live actor always has room for it.
        if self.actor.tell(Run).try_send().is_err() {
            inbox.scheduled = false;
            inbox.jobs.clear();
            inbox.queued = 0;
            return false;
        }
        true
    }

    /// Hands stored messages (in acceptance order) to the group's fan-out. Waits only while the
    /// group is more than its limit of messages behind, so the writer slows down to the pace
    /// the members are written at instead of queueing without bound.
    pub async fn fan_out(&self, items: Vec<FanoutItem>) {
        if items.is_empty() {
            return;
        }
        loop {
            let room = self.shared.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            {
                let mut inbox = self.shared.lock();
                if inbox.queued < self.shared.limit {
                    inbox.queued += items.len();
                    if !self.enqueue(&mut inbox, Job::Items(items)) {
                        tracing::error!(
                            "a group actor stopped before fanning out a stored message"
                        );
                    }
                    return;
                }
            }
            room.await;
        }
    }

    /// Changes the membership once every message handed over before is out; messages handed
    /// over after this call see the new membership. Answers with the store's answer (false: the
    /// row to activate or remove was not there).
    pub fn change(
        &self,
        change: Membership,
        now: i64,
    ) -> impl Future<Output = Result<bool, ActorsError>> + Send + 'static {
        let (done, changed) = oneshot::channel();
        let queued = {
            let mut inbox = self.shared.lock();
            self.enqueue(&mut inbox, Job::Change(change, now, done))
        };
        async move {
            if !queued {
                return Err(ActorsError::GroupGone);
            }
            changed
                .await
                .map_err(|_| ActorsError::GroupGone)?
                .map_err(ActorsError::from)
        }
    }

    /// Returns once every message handed over before is out.
    pub async fn settle(&self) {
        let (done, settled) = oneshot::channel();
        let queued = {
            let mut inbox = self.shared.lock();
            self.enqueue(&mut inbox, Job::Settle(done))
        };
        if queued {
            let _ = settled.await;
        }
    }

    /// Re-reads the member list once every message handed over before is out.
    pub fn reload(&self) -> impl Future<Output = ()> + Send + 'static {
        let (done, reloaded) = oneshot::channel();
        let queued = {
            let mut inbox = self.shared.lock();
            self.enqueue(&mut inbox, Job::Reload(done))
        };
        async move {
            if queued {
                let _ = reloaded.await;
            }
        }
    }
}

/// How groups fan out.
#[derive(Debug, Clone, Copy)]
pub struct FanoutConfig {
    /// Most messages a group may be behind before the writer waits for it.
    pub backlog: usize,
    /// Most threads writing split passes over very large groups at any time, all groups
    /// together (so also the most one pass is split over).
    pub threads: usize,
    /// Fewest members one thread of a split pass writes to (2,048 in the server: below that, a
    /// thread's start and the threads' contention on the registry cost more than they save).
    pub split_min: usize,
}
