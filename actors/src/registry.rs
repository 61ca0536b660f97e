//! The registry: the route table of this node — user id → the user's sockets ([`Online`]), group
//! id → its [`GroupActor`] — and the one actor, [`RegistryActor`], that changes it. It spawns
//! group actors on first use and retires them, and attaches and detaches sockets.
//!
//! The hot path never passes through the actor: a delivery reads the table ([`Routes`]) under a
//! read lock and writes into the sockets' outboxes itself (the fast lane). Only the actor takes
//! the write lock. A `RwLock` rather than `arc-swap`: every connect and disconnect changes the
//! table, and swapping in a copy of a 19,000-entry map per change costs O(users) where the write
//! lock costs O(1); reads far outnumber writes but are short, so the lock is rarely contended.

use kameo::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chatd_schema::Store;
use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::delivery::{Delivery, LocalBroker};
use crate::error::ActorsError;
use crate::group::{FanoutConfig, GroupActor, GroupRef};
use crate::offline::OfflineQueue;
use crate::user::{Online, SocketHandle};

/// The route table. Read by anyone holding it; written only by [`RegistryActor`].
#[derive(Default)]
pub struct Routes {
    /// A user is here while at least one of their sockets is attached. A push never lands on a
    /// detached socket: detach takes the write lock, deliveries hold the read lock.
    users: RwLock<HashMap<i64, Online>>,
    groups: RwLock<HashMap<i64, GroupRef>>,
}

impl Routes {
    fn users(&self) -> RwLockReadGuard<'_, HashMap<i64, Online>> {
        self.users.read().unwrap_or_else(|p| p.into_inner())
    }

    fn users_mut(&self) -> RwLockWriteGuard<'_, HashMap<i64, Online>> {
        self.users.write().unwrap_or_else(|p| p.into_inner())
    }

    fn live_group(&self, group_id: i64) -> Option<GroupRef> {
        self.groups
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&group_id)
            .filter(|g| g.is_alive())
            .cloned()
    }

    fn groups_mut(&self) -> RwLockWriteGuard<'_, HashMap<i64, GroupRef>> {
        self.groups.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the user's socket list, if the user has a socket here.
    pub fn with_online<R>(&self, user_id: i64, f: impl FnOnce(&Online) -> R) -> Option<R> {
        self.users().get(&user_id).map(f)
    }

    pub fn is_online(&self, user_id: i64) -> bool {
        self.users().contains_key(&user_id)
    }

    /// Number of users with a socket here.
    pub fn online_users(&self) -> usize {
        self.users().len()
    }
}

/// The actor that owns the route table's changes.
pub struct RegistryActor {
    routes: Arc<Routes>,
    store: Store,
    delivery: Delivery,
    fanout: FanoutConfig,
    /// Threads free to write split passes, shared by every group.
    budget: Arc<Semaphore>,
}

impl Actor for RegistryActor {
    type Args = Self;
    type Error = kameo::error::Infallible;

    async fn on_start(args: Self::Args, _: ActorRef<Self>) -> Result<Self, Self::Error> {
        Ok(args)
    }
}

struct Attach(i64, SocketHandle);

impl Message<Attach> for RegistryActor {
    type Reply = ();

    async fn handle(&mut self, Attach(user, handle): Attach, _: &mut Context<Self, ()>) {
        self.routes.users_mut().entry(user).or_default().add(handle);
    }
}

struct Detach(i64, u64);

impl Message<Detach> for RegistryActor {
    type Reply = ();

    async fn handle(&mut self, Detach(user, conn): Detach, _: &mut Context<Self, ()>) {
        let mut users = self.routes.users_mut();
        if users.get_mut(&user).is_some_and(|o| o.remove(conn)) {
            users.remove(&user);
        }
    }
}

struct SpawnGroup(i64);

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

struct RetireGroup(i64);

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
            store,
            delivery,
            fanout,
            budget: Arc::new(Semaphore::new(fanout.threads)),
        });
        Registry { routes, actor }
    }

    /// One node's realtime core over `store`: the route table, delivery to it (users who are not
    /// here go to `offline`), and the registry actor.
    pub fn start_local(
        store: Store,
        offline: OfflineQueue,
        clock: Clock,
        fanout: FanoutConfig,
    ) -> (Registry, Delivery) {
        let routes = Arc::new(Routes::default());
        let delivery = Delivery::new(routes.clone(), Arc::new(LocalBroker::new(offline)), clock);
        let registry = Registry::spawn(routes, store, delivery.clone(), fanout);
        (registry, delivery)
    }

    pub fn routes(&self) -> &Arc<Routes> {
        &self.routes
    }

    /// Registers a socket.
    pub async fn attach(&self, user_id: i64, handle: SocketHandle) {
        if let Err(e) = self.actor.ask(Attach(user_id, handle)).await {
            tracing::error!(user = user_id, error = %e, "the registry refused a socket");
        }
    }

    /// Unregisters a socket; once this returns nothing more is pushed to it.
    pub async fn detach(&self, user_id: i64, conn_id: u64) {
        if let Err(e) = self.actor.ask(Detach(user_id, conn_id)).await {
            tracing::error!(user = user_id, error = %e, "the registry could not detach a socket");
        }
    }

    /// The group's actor, spawned on first use (it reads the member list when it starts).
    pub async fn group(&self, group_id: i64) -> Result<GroupRef, ActorsError> {
        if let Some(g) = self.routes.live_group(group_id) {
            return Ok(g);
        }
        // The registry lives as long as the server; only a bug can stop it.
        self.actor
            .ask(SpawnGroup(group_id))
            .await
            .map_err(|_| ActorsError::RegistryGone)
    }

    /// Retires a dissolved group's actor once its queued fan-outs are done.
    pub async fn retire_group(&self, group_id: i64) {
        if let Ok(Some(g)) = self.actor.ask(RetireGroup(group_id)).await {
            g.stop().await;
        }
    }

    pub fn with_online<R>(&self, user_id: i64, f: impl FnOnce(&Online) -> R) -> Option<R> {
        self.routes.with_online(user_id, f)
    }

    pub fn is_online(&self, user_id: i64) -> bool {
        self.routes.is_online(user_id)
    }

    pub fn online_users(&self) -> usize {
        self.routes.online_users()
    }

    /// Closes the sockets of revoked sessions (1008).
    pub fn close_sessions(&self, user_id: i64, sids: Vec<String>) {
        self.routes.with_online(user_id, |o| {
            o.close(1008, |s| sids.iter().any(|sid| **sid == *s.sid))
        });
    }

    /// Closes every socket with 1001 (server going away).
    pub fn shutdown(&self) {
        for o in self.routes.users().values() {
            o.close(1001, |_| true);
        }
    }
}
