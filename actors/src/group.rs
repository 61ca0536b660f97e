//! `GroupActor`: one per active group. It holds the member list in memory (loaded once, reloaded
//! after each membership change, in order with the messages, so a message accepted after a
//! removal never reaches the removed member) and fans each message out through [`Delivery`],
//! writing it into every member socket's outbox (straight into the kernel, never waiting):
//! members with no socket here, or whose socket cannot keep up, go to the offline queue in one
//! write per pass. Messages arrive already rendered once per dialect, as ready WebSocket frames.
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

use chatd_schema::Store;
use kameo::prelude::*;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify, Semaphore};

pub use crate::backlog::FanoutItem;
use crate::backlog::{deliver_split, Backlog};
use crate::delivery::{Delivery, OfflineBatch, Target};

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

/// What the actor is asked to do, in order.
enum Job {
    /// Stored messages (one writer batch, in acceptance order).
    Items(Vec<FanoutItem>),
    /// Re-read the member list once every earlier message is out; answered when done.
    Reload(oneshot::Sender<()>),
}

#[derive(Default)]
struct Inbox {
    jobs: VecDeque<Job>,
    /// Messages in `jobs`: what the writer's back-pressure counts.
    queued: usize,
    /// The actor has been told to run (a [`Run`] is in its mailbox or running), so a new job
    /// needs no other.
    scheduled: bool,
}

/// Shared by the actor and every [`GroupRef`].
struct Shared {
    inbox: Mutex<Inbox>,
    /// Tells a writer waiting for room that the actor took messages in.
    room: Notify,
    /// Most messages queued or in the backlog before the writer waits.
    limit: usize,
}

impl Inbox {
    /// The first job's messages, if the first job is messages (never past a reload).
    fn take_items(&mut self) -> Option<Vec<FanoutItem>> {
        match self.jobs.pop_front()? {
            Job::Items(items) => {
                self.queued -= items.len();
                Some(items)
            }
            reload => {
                self.jobs.push_front(reload);
                None
            }
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct GroupActor {
    group_id: i64,
    members: Vec<i64>,
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
    async fn load(&mut self) {
        match self.store.active_member_ids(self.group_id).await {
            Ok(m) => self.members = m,
            Err(e) => tracing::error!(group = self.group_id, error = %e, "loading members failed"),
        }
        self.backlog.reset(self.members.len());
    }

    /// Takes queued messages into the backlog, up to the next reload and while the backlog has
    /// room.
    fn absorb(&mut self, batch: &mut OfflineBatch) {
        let mut took = false;
        while self.backlog.len() < self.shared.limit {
            let Some(items) = self.shared.lock().take_items() else {
                break;
            };
            took = true;
            for item in items {
                self.route_extras(&item, batch);
                self.backlog.push(item);
            }
        }
        if took {
            self.shared.room.notify_waiters();
        }
    }

    /// Routes the copies that are not for members: the sender's other devices, and `also`.
    fn route_extras(&self, item: &FanoutItem, batch: &mut OfflineBatch) {
        let mut extra: Vec<Target> = item
            .also
            .iter()
            .filter(|u| **u != item.sender)
            .map(|u| Target::recipient(*u))
            .collect();
        if item.sender > 0 {
            extra.push(Target::other_devices(item.sender, item.sender_sid.clone()));
        }
        self.delivery.route(&extra, &item.out, batch);
    }

    /// One pass over the members, giving other tasks a turn every [`SLICE`]; messages that
    /// arrive meanwhile join it.
    async fn pass(&mut self, batch: &mut OfflineBatch) {
        let n = self.members.len();
        let mut k = 0;
        let mut since = Instant::now();
        while k < n {
            let stop = (k + CHUNK).min(n);
            self.backlog
                .part(&self.members, k..stop)
                .deliver(&self.delivery, batch);
            k = stop;
            if k < n && since.elapsed() >= SLICE {
                tokio::task::yield_now().await;
                self.absorb(batch);
                since = Instant::now();
            }
        }
    }

    /// How many threads this group's pass is worth splitting over, if more than one.
    fn split_threads(&self) -> Option<usize> {
        let threads = self.threads.min(self.members.len() / self.split_min);
        (threads > 1).then_some(threads)
    }

    /// One pass split over up to `most` threads off the workers, which stay free meanwhile. They
    /// come from the server-wide budget: one at least (waiting while other groups' passes hold
    /// them all), and as many more as are free now.
    async fn split_pass(&mut self, most: usize, batch: &mut OfflineBatch) {
        let Ok(mut permits) = self.budget.clone().acquire_owned().await else {
            // The budget is never closed; were it, the single-thread pass still delivers.
            return self.pass(batch).await;
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
            let spilled = deliver_split(&mut backlog, &members, run, threads, &delivery);
            drop(permits);
            (backlog, members, spilled)
        })
        .await;
        match done {
            Ok((backlog, members, spilled)) => {
                self.backlog = backlog;
                self.members = members;
                batch.append(spilled);
            }
            Err(e) => {
                // Only a bug gets here; who got what is unknown, so start over from the store.
                tracing::error!(group = self.group_id, error = %e, "a split fan-out failed");
                self.load().await;
            }
        }
    }

    async fn flush(&self, batch: &mut OfflineBatch) {
        if let Err(e) = self.delivery.flush(std::mem::take(batch)).await {
            tracing::error!(group = self.group_id, error = %e, "offline write of a group message failed");
        }
    }

    /// Works until nothing is queued and every member has every message.
    async fn run(&mut self) {
        let mut batch = OfflineBatch::default();
        loop {
            self.absorb(&mut batch);
            if self.backlog.len() > 0 {
                match self.split_threads() {
                    Some(threads) => self.split_pass(threads, &mut batch).await,
                    None => self.pass(&mut batch).await,
                }
                self.backlog.trim();
                self.flush(&mut batch).await;
                continue;
            }
            self.flush(&mut batch).await;
            // Every member is up to date, so a reload may run now.
            let done = {
                let mut inbox = self.shared.lock();
                match inbox.jobs.pop_front() {
                    None => {
                        inbox.scheduled = false;
                        return;
                    }
                    // Stored while the offline write ran: another round.
                    Some(Job::Items(items)) => {
                        inbox.jobs.push_front(Job::Items(items));
                        continue;
                    }
                    Some(Job::Reload(done)) => done,
                }
            };
            self.load().await;
            let _ = done.send(());
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
struct Run;

impl Message<Run> for GroupActor {
    type Reply = ();

    async fn handle(&mut self, _: Run, _: &mut Context<Self, Self::Reply>) {
        self.run().await;
    }
}

/// A group's actor and its inbox: what the writer and the group handlers hold.
#[derive(Clone)]
pub struct GroupRef {
    actor: ActorRef<GroupActor>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for GroupRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupRef")
            .field("actor", &self.actor.id())
            .finish()
    }
}

impl GroupRef {
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

/// Group id → its actor, spawning on first use.
#[derive(Clone)]
pub struct Groups {
    map: Arc<RwLock<HashMap<i64, GroupRef>>>,
    store: Store,
    delivery: Delivery,
    cfg: FanoutConfig,
    budget: Arc<Semaphore>,
}

impl Groups {
    pub fn new(store: Store, delivery: Delivery, cfg: FanoutConfig) -> Groups {
        let cfg = FanoutConfig {
            backlog: cfg.backlog.max(1),
            threads: cfg.threads.max(1),
            split_min: cfg.split_min.max(1),
        };
        Groups {
            map: Arc::new(RwLock::new(HashMap::new())),
            store,
            delivery,
            cfg,
            budget: Arc::new(Semaphore::new(cfg.threads)),
        }
    }

    pub fn get(&self, group_id: i64) -> GroupRef {
        if let Some(g) = self
            .map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&group_id)
            .filter(|g| g.actor.is_alive())
        {
            return g.clone();
        }
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if let Some(g) = map.get(&group_id).filter(|g| g.actor.is_alive()) {
            return g.clone();
        }
        let shared = Arc::new(Shared {
            inbox: Mutex::new(Inbox::default()),
            room: Notify::new(),
            limit: self.cfg.backlog,
        });
        // The mailbox only ever holds one `Run` (and a stop): the inbox is the queue.
        let actor = GroupActor::spawn_with_mailbox(
            GroupActor {
                group_id,
                members: Vec::new(),
                store: self.store.clone(),
                delivery: self.delivery.clone(),
                shared: shared.clone(),
                backlog: Backlog::default(),
                threads: self.cfg.threads,
                split_min: self.cfg.split_min,
                budget: self.budget.clone(),
            },
            kameo::mailbox::bounded(4),
        );
        let g = GroupRef { actor, shared };
        map.insert(group_id, g.clone());
        g
    }

    /// Reloads the member list of a group's actor (if it has one), after the messages handed to
    /// it before.
    pub async fn reload(&self, group_id: i64) {
        self.get(group_id).reload().await;
    }

    /// Retires a dissolved group's actor once its queued fan-outs are done.
    pub async fn retire(&self, group_id: i64) {
        let g = self
            .map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&group_id);
        if let Some(g) = g {
            // The stop queues behind the `Run` that any waiting job has scheduled (or behind the
            // one running), and a run returns only once its inbox is empty.
            let _ = g.actor.stop_gracefully().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn messages_joining_a_pass_reach_every_member_once_in_order() {
        group_of_300_gets_40_messages(1).await;
    }

    /// The same with each pass split over three threads taking runs of 64 members.
    #[tokio::test(flavor = "current_thread")]
    async fn split_passes_reach_every_member_once_in_order() {
        group_of_300_gets_40_messages(3).await;
    }

    /// A group of 300 over real socket pairs, fed one message at a time while its fan-out runs
    /// (so messages join passes part-way, or wait for the next split pass), with a removal in the
    /// middle: every member gets every message once, in order; the sender gets none; the removed
    /// member gets exactly those handed over before its removal. Read back with tungstenite as an
    /// independent client.
    async fn group_of_300_gets_40_messages(threads: usize) {
        use crate::clock::Clock;
        use crate::offline::{OfflineConfig, OfflineQueue};
        use crate::outbox::Outbox;
        use crate::registry::Registry;
        use crate::user::{SocketControl, SocketHandle};
        use crate::wire::frames::Dialect;
        use crate::wire::push::Push;
        use futures_util::StreamExt;
        use tokio::net::UnixStream;
        use tokio_tungstenite::tungstenite::protocol::Role;

        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&dir.path().join("g.db").to_string_lossy())
            .await
            .unwrap();
        let members: Vec<i64> = (1..=300).collect();
        let (sender, removed) = (1, 300);
        let g = store
            .create_group("g", sender, "g", "", &members, 0)
            .await
            .unwrap();
        let offline = OfflineQueue::Store {
            store: store.clone(),
            cfg: OfflineConfig {
                cap: 1000,
                max_age_ms: 86_400_000,
            },
        };
        let registry = Registry::new(offline, Clock::default());
        // A limit of 4 messages also makes the feeder wait for the fan-out now and then; with
        // `threads` > 1, passes split into runs of at least 64 members.
        let groups = Groups::new(
            store.clone(),
            Delivery::new(registry.clone()),
            FanoutConfig {
                backlog: 4,
                threads,
                split_min: 64,
            },
        );
        let mut peers = Vec::new();
        for &uid in &members {
            let (a, b) = UnixStream::pair().unwrap();
            registry.attach(
                uid,
                SocketHandle {
                    conn_id: registry.next_conn_id(),
                    sid: format!("s{uid}").into(),
                    dialect: Dialect::Compact,
                    outbox: Arc::new(Outbox::new(a, 10_000)),
                    control: Arc::new(SocketControl::default()),
                },
            );
            peers.push((uid, b));
        }
        let group = groups.get(g.id);
        let total = 40;
        for i in 0..total {
            let m = serde_json::json!({"id": i, "from_id": sender, "to_id": g.id,
                "chatType": "group", "type": "text", "data": format!("m{i}"), "create_time": 0});
            let it = FanoutItem {
                out: Arc::new(Push::message(&m, 0)),
                sender,
                // Sent from the sender's only device: it gets none back.
                sender_sid: Some("s1".into()),
                exclude: Vec::new(),
                also: Vec::new(),
            };
            group.fan_out(vec![it]).await;
            if i == 19 {
                assert!(store.remove_member(g.id, removed).await.unwrap());
                // Queued behind message 19, not awaited: later messages queue behind it.
                tokio::spawn(group.reload());
            }
            // Lets the actor write a chunk or two before the next message.
            tokio::task::yield_now().await;
        }
        // Answered once everything handed over before is out; then end every stream.
        group.reload().await;
        for (uid, _) in &peers {
            registry.with_online(*uid, |o| {
                for h in o.handles() {
                    h.outbox.socket().shutdown_write();
                }
            });
        }
        for (uid, peer) in peers {
            let mut ws =
                tokio_tungstenite::WebSocketStream::from_raw_socket(peer, Role::Client, None).await;
            let mut got = Vec::new();
            while let Some(Ok(m)) = ws.next().await {
                let v: serde_json::Value = serde_json::from_str(m.to_text().unwrap()).unwrap();
                got.push(v["content"].as_str().unwrap().to_string());
            }
            let want: Vec<String> = match uid {
                1 => vec![],
                300 => (0..20).map(|i| format!("m{i}")).collect(),
                _ => (0..total).map(|i| format!("m{i}")).collect(),
            };
            assert_eq!(got, want, "member {uid}");
        }
    }
}
