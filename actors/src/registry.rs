//! The registry: the route table of this node — user id → the user's [`UserActor`] and the
//! socket list it published ([`Online`]), group id → its [`GroupActor`] — and the one actor,
//! [`RegistryActor`], that changes it. It spawns user actors on a user's first socket and group
//! actors on a group's first use, and retires both.
//!
//! The hot path never passes through the actor: a delivery reads the table ([`Routes`]) under a
//! read lock and writes into the sockets' outboxes itself (the fast lane). Only the actor takes
//! the write lock. A `RwLock` rather than `arc-swap`: every connect and disconnect changes the
//! table, and swapping in a copy of a 19,000-entry map per change costs O(users) where the write
//! lock costs O(1); reads far outnumber writes but are short, so the lock is rarely contended.

use kameo::error::SendError;
use kameo::prelude::*;
use std::sync::Arc;

use chatd_schema::{GroupId, Store, UserId};
use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::delivery::Delivery;
use crate::error::ActorsError;
use crate::group::{FanoutConfig, GroupActor, GroupRef};
use crate::online::{Online, SocketHandle};
use crate::opening::OpeningGuard;
use crate::positions::{self, OfflineConfig, Report, UserPositions, FLUSH_EVERY};
use crate::presence::PresenceConfig;
use crate::remote::{Arrival, Remote};
use crate::socket::{Conn, Upgraded};
use crate::user::{
    AddSocket, BacklogKnown, Close, ReplaySlot, TakeReplaySlot, UserActor, UserSeed,
};

/// How long a replay waits for the caller's sockets still opening. A socket is taken within
/// milliseconds, tens of them in a connect storm; past this the replay goes on without it.
const OPENING_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub use crate::routes::Routes;

/// The actor that owns the route table's changes.
pub struct RegistryActor {
    routes: Arc<Routes>,
    store: Store,
    delivery: Delivery,
    fanout: FanoutConfig,
    /// Threads free to write split passes, shared by every group.
    budget: Arc<Semaphore>,
    /// The handle user actors get (set when the actor starts).
    me: Option<Registry>,
}

impl Actor for RegistryActor {
    type Args = Self;
    type Error = kameo::error::Infallible;

    async fn on_start(mut args: Self::Args, me: ActorRef<Self>) -> Result<Self, Self::Error> {
        args.me = Some(Registry {
            routes: args.routes.clone(),
            store: args.store.clone(),
            actor: me,
        });
        Ok(args)
    }
}

/// The actor of `user`, spawned if the user has none here.
struct Connect(UserId, Arc<UserSeed>);

impl Message<Connect> for RegistryActor {
    type Reply = Option<ActorRef<UserActor>>;

    async fn handle(
        &mut self,
        Connect(user, seed): Connect,
        _: &mut Context<Self, Self::Reply>,
    ) -> Self::Reply {
        if let Some(a) = self.routes.user_actor(user) {
            return Some(a);
        }
        let registry = self.me.clone()?;
        let actor = UserActor::spawn_with_mailbox(
            UserActor::new(user, seed, registry),
            kameo::mailbox::bounded(16),
        );
        self.routes.actors_mut().insert(user, actor.clone());
        Some(actor)
    }
}

/// A user actor's socket list, as deliveries are to see it.
struct Publish(UserId, ActorId, Online);

impl Message<Publish> for RegistryActor {
    type Reply = ();

    async fn handle(&mut self, Publish(user, from, online): Publish, _: &mut Context<Self, ()>) {
        // Only the user's current actor speaks for the user.
        if self.routes.user_actor(user).is_none_or(|a| a.id() != from) {
            return;
        }
        let mut users = self.routes.users_mut();
        if online.is_empty() {
            let was = users.remove(&user).is_some();
            drop(users);
            if was {
                self.delivery.left(user);
            }
        } else {
            if !users.contains_key(&user) {
                // Before the flusher can see the new sockets: their pushes must not move
                // positions until every node knows the user is here.
                self.delivery.arrived(user, online.positions());
            }
            users.insert(user, online);
        }
    }
}

/// The user actor `from` stops: it and the sockets it published leave the table.
struct RetireUser(UserId, ActorId);

impl Message<RetireUser> for RegistryActor {
    type Reply = ();

    async fn handle(&mut self, RetireUser(user, from): RetireUser, _: &mut Context<Self, ()>) {
        let mut actors = self.routes.actors_mut();
        if actors.get(&user).is_some_and(|a| a.id() == from) {
            actors.remove(&user);
            drop(actors);
            if self.routes.users_mut().remove(&user).is_some() {
                self.delivery.left(user);
            }
        }
    }
}

/// A socket handle with no user actor behind it (benches and tests of the fan-out, which have
/// no client frames to read).
struct AttachBare(UserId, SocketHandle);

impl Message<AttachBare> for RegistryActor {
    type Reply = ();

    async fn handle(&mut self, AttachBare(user, handle): AttachBare, _: &mut Context<Self, ()>) {
        let mut users = self.routes.users_mut();
        let handles = users.get(&user).map(|o| o.handles()).unwrap_or_default();
        let positions = users
            .get(&user)
            .map(|o| o.positions().clone())
            .unwrap_or_default();
        let online = Online::from_handles(handles.into_iter().chain([handle]), positions);
        users.insert(user, online);
    }
}

struct SpawnGroup(GroupId);

impl Message<SpawnGroup> for RegistryActor {
    type Reply = GroupRef;

    async fn handle(
        &mut self,
        SpawnGroup(id): SpawnGroup,
        _: &mut Context<Self, GroupRef>,
    ) -> GroupRef {
        // Asked for by several callers at once: the first spawns, the rest find it.
        if let Some(g) = self.routes.live_group(id) {
            return g;
        }
        let g = GroupActor::spawn_ref(
            id,
            self.store.clone(),
            self.delivery.clone(),
            self.fanout,
            self.budget.clone(),
        );
        self.routes.groups_mut().insert(id, g.clone());
        g
    }
}

struct RetireGroup(GroupId);

impl Message<RetireGroup> for RegistryActor {
    type Reply = Option<GroupRef>;

    async fn handle(
        &mut self,
        RetireGroup(id): RetireGroup,
        _: &mut Context<Self, Option<GroupRef>>,
    ) -> Option<GroupRef> {
        self.routes.groups_mut().remove(&id)
    }
}

/// The handle everyone holds: the table to read, and the actor to ask for changes.
#[derive(Clone)]
pub struct Registry {
    routes: Arc<Routes>,
    store: Store,
    actor: ActorRef<RegistryActor>,
}

impl Registry {
    /// Starts the registry actor over `routes` (the table `delivery` reads).
    pub fn spawn(
        routes: Arc<Routes>,
        store: Store,
        delivery: Delivery,
        fanout: FanoutConfig,
    ) -> Registry {
        let fanout = FanoutConfig {
            backlog: fanout.backlog.max(1),
            threads: fanout.threads.max(1),
            split_min: fanout.split_min.max(1),
        };
        let actor = RegistryActor::spawn(RegistryActor {
            routes: routes.clone(),
            store: store.clone(),
            delivery,
            fanout,
            budget: Arc::new(Semaphore::new(fanout.threads)),
            me: None,
        });
        Registry {
            routes,
            store,
            actor,
        }
    }

    /// One node's realtime core over `store`: the route table, delivery to it, the registry
    /// actor, and the task that writes connected users' delivered positions every
    /// [`FLUSH_EVERY`].
    pub fn start_local(
        store: Store,
        offline: OfflineConfig,
        clock: Clock,
        fanout: FanoutConfig,
    ) -> (Registry, Delivery) {
        Self::start(
            store,
            offline,
            clock,
            fanout,
            None,
            PresenceConfig::default(),
        )
    }

    /// [`Registry::start_local`], reaching users on other nodes through `remote` when given,
    /// and announcing presence as `presence` says ([`crate::presence`]).
    pub fn start(
        store: Store,
        offline: OfflineConfig,
        clock: Clock,
        fanout: FanoutConfig,
        remote: Option<Arc<Remote>>,
        presence: PresenceConfig,
    ) -> (Registry, Delivery) {
        let routes = Arc::new(Routes::default());
        let mut delivery = Delivery::new(routes.clone(), store.clone(), clock, offline);
        if let Some(remote) = remote {
            delivery = delivery.with_remote(remote);
        }
        let (changes, changes_rx) = tokio::sync::mpsc::unbounded_channel();
        delivery = delivery.with_presence(changes);
        crate::presence::spawn(delivery.clone(), changes_rx, presence);
        let registry = Registry::spawn(routes, store, delivery.clone(), fanout);
        let flusher = registry.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(FLUSH_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                flusher.flush_positions().await;
            }
        });
        (registry, delivery)
    }

    /// Writes every connected user's due delivered positions, in one transaction.
    pub async fn flush_positions(&self) {
        // Gathered under the table's read lock, taken after it.
        let users: Vec<(UserId, Arc<UserPositions>, Vec<SocketHandle>)> = self
            .routes
            .users()
            .iter()
            .map(|(user, online)| (*user, online.positions().clone(), online.handles()))
            .collect();
        // Messages handed just before a stream paused get their confirmation ping here (a
        // stream's own messages carry theirs); the pongs move positions by the next flush.
        let now = std::time::Instant::now();
        let reports = users
            .into_iter()
            .map(|(user, positions, handles)| Report {
                user,
                positions,
                open: handles
                    .iter()
                    .map(|h| {
                        h.outbox.ping_if_due(now);
                        h.outbox.take_positions()
                    })
                    .collect(),
                closed: Vec::new(),
            })
            .collect();
        let started = std::time::Instant::now();
        match positions::flush(&self.store, reports).await {
            Ok(0) => {}
            Ok(rows) => {
                crate::metrics::positions_flush(rows, started.elapsed().as_secs_f64());
            }
            Err(e) => tracing::warn!(error = %e, "writing delivered positions failed"),
        }
    }

    pub fn routes(&self) -> &Arc<Routes> {
        &self.routes
    }

    /// Hands a new socket to its user's actor (spawning the actor for the user's first socket).
    pub async fn connect(&self, up: Upgraded, conn: Conn, seed: Arc<UserSeed>) {
        let user = conn.user_id;
        let mut msg = AddSocket(up, conn);
        // An actor found just as its last socket ended stops without taking the socket, and
        // gives it back: the next attempt finds the registry without it and spawns a new one.
        for _ in 0..5 {
            let actor = match self.actor.ask(Connect(user, seed.clone())).await {
                Ok(Some(a)) => a,
                Ok(None) | Err(_) => break,
            };
            match actor.ask(msg).await {
                Ok(()) => return,
                Err(SendError::ActorNotRunning(back)) => msg = back,
                Err(e) => {
                    tracing::error!(user = %user, error = %e, "a user actor failed to take a socket");
                    return;
                }
            }
        }
        tracing::error!(user = %user, "no user actor took a socket; it is dropped");
    }

    /// Publishes `from`'s socket list for `user`; once this returns, deliveries see exactly it.
    pub(crate) async fn publish(&self, user: UserId, from: ActorId, online: Online) {
        if let Err(e) = self.actor.ask(Publish(user, from, online)).await {
            tracing::error!(user = %user, error = %e, "the registry could not publish a user's sockets");
        }
    }

    pub(crate) async fn retire_user(&self, user: UserId, from: ActorId) {
        let _ = self.actor.ask(RetireUser(user, from)).await;
    }

    /// Publishes a bare socket handle, with no user actor behind it: for benches and tests of
    /// the fan-out, whose sockets have no client to read.
    pub async fn attach_bare(&self, user_id: UserId, handle: SocketHandle) {
        let _ = self.actor.ask(AttachBare(user_id, handle)).await;
    }

    /// Counts a socket of `user` as opening until the guard is dropped: call it before the
    /// handshake's answer goes out, drop it once [`Self::connect`] has returned. Waits while
    /// [`crate::opening::MAX_OPENING`] sockets are opening; `None` if no room came within `wait`.
    pub async fn opening(&self, user: UserId, wait: std::time::Duration) -> Option<OpeningGuard> {
        self.routes.opening.start(user, wait).await
    }

    /// The user's sockets for an offline replay and the slot that serializes the user's
    /// replays; `None` when the user has no socket here. Waits (briefly) for the user's sockets
    /// still opening: a client may ask for its backlog the moment it reads its 101.
    pub async fn replay_slot(&self, user_id: UserId) -> Option<ReplaySlot> {
        self.routes.opening.settled(user_id, OPENING_WAIT).await;
        let actor = self.routes.user_actor(user_id)?;
        actor.ask(TakeReplaySlot).await.ok()
    }

    /// The group's actor, spawned on first use (it reads the member list when it starts).
    pub async fn group(&self, group_id: GroupId) -> Result<GroupRef, ActorsError> {
        if let Some(g) = self.routes.live_group(group_id) {
            return Ok(g);
        }
        // The registry lives as long as the server; only a bug can stop it.
        self.actor
            .ask(SpawnGroup(group_id))
            .await
            .map_err(|_| ActorsError::RegistryGone)
    }

    /// Returns once every group actor has fanned out everything handed to it before (shutdown).
    pub async fn settle_groups(&self) {
        let groups = self.routes.live_groups();
        futures_util::future::join_all(groups.iter().map(|g| g.settle())).await;
    }

    /// Retires a dissolved group's actor once its queued fan-outs are done.
    /// Every connected user's positions stop moving: deliveries from other nodes may have been
    /// lost (Redis went away), so what each user has been sent is not known any more.
    pub fn forget_positions(&self) {
        for online in self.routes.users().values() {
            online.positions().forget();
            for h in online.handles() {
                h.outbox.restart_positions();
            }
        }
    }

    /// Learns every connected user's backlog again (messages since `since`), after
    /// [`Registry::forget_positions`]: conversations with messages above the position stay
    /// behind until a replay; the others move again.
    pub async fn recheck_backlogs(&self, since: i64) {
        let users: Vec<(UserId, Arc<UserPositions>)> = self
            .routes
            .users()
            .iter()
            .map(|(u, o)| (*u, o.positions().clone()))
            .collect();
        for (user, positions) in users {
            positions.learn(&self.store, user, since).await;
        }
    }

    /// Connected users whose arrival here other nodes may not know of yet.
    pub fn arrivals_waiting(&self) -> Vec<(UserId, Arrival)> {
        self.routes
            .users()
            .iter()
            .filter_map(|(u, o)| {
                let positions = o.positions();
                positions.awaiting_peers().map(|epoch| {
                    (
                        *u,
                        Arrival {
                            positions: positions.clone(),
                            epoch,
                        },
                    )
                })
            })
            .collect()
    }

    /// Every node knows of these arrivals: learns each user's backlog (messages since `since`)
    /// and lets their positions move ([`UserPositions::confirm`]). Does not wait.
    pub fn confirm_arrivals(&self, arrivals: Vec<(UserId, Arrival)>, since: i64) {
        for (user, a) in arrivals {
            let (store, routes) = (self.store.clone(), self.routes.clone());
            tokio::spawn(async move {
                a.positions.confirm(&store, user, since, a.epoch).await;
                // Its sockets hold back only what is behind now.
                if let Some(actor) = routes.user_actor(user) {
                    let _ = actor.tell(BacklogKnown).await;
                }
            });
        }
    }

    /// Has the group's actor, if it has one here, re-read its member list after the messages
    /// handed to it so far (another node changed the membership). Does not wait for it: every
    /// message handed over later sees the new list.
    pub fn reload_group(&self, group_id: GroupId) {
        if let Some(g) = self.routes.live_group(group_id) {
            drop(g.reload());
        }
    }

    /// [`Registry::reload_group`] for every group with an actor here (after this node may have
    /// missed other nodes' changes).
    pub fn reload_groups(&self) {
        for g in self.routes.live_groups() {
            drop(g.reload());
        }
    }

    pub async fn retire_group(&self, group_id: GroupId) {
        if let Ok(Some(g)) = self.actor.ask(RetireGroup(group_id)).await {
            g.stop().await;
        }
    }

    pub fn with_online<R>(&self, user_id: UserId, f: impl FnOnce(&Online) -> R) -> Option<R> {
        self.routes.with_online(user_id, f)
    }

    pub fn is_online(&self, user_id: UserId) -> bool {
        self.routes.is_online(user_id)
    }

    pub fn online_ids(&self) -> Vec<UserId> {
        self.routes.online_ids()
    }

    pub fn online_users(&self) -> usize {
        self.routes.online_users()
    }

    /// Has the user's actor close the sockets of revoked sessions (1008).
    pub async fn close_sessions(&self, user_id: UserId, sids: Vec<String>) {
        if let Some(actor) = self.routes.user_actor(user_id) {
            let close = Close {
                code: 1008,
                sids: Some(sids),
            };
            let _ = actor.ask(close).await;
        }
    }

    /// Returns once every user actor has ended its sockets and written its positions (shutdown),
    /// then writes what any user still connected has due.
    pub async fn users_gone(&self) {
        while !self
            .routes
            .actors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
        {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.flush_positions().await;
    }

    /// Has every user actor close its sockets with 1001 (server going away).
    pub async fn shutdown(&self) {
        let actors: Vec<_> = self
            .routes
            .actors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for actor in actors {
            let _ = actor
                .tell(Close {
                    code: 1001,
                    sids: None,
                })
                .await;
        }
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
