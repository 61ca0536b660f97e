//! The Registry: user id → `UserActor`. It spawns an actor on a user's first connection and
//! forgets it when the actor retires. It is never on the per-recipient path of a group fan-out.

use kameo::actor::ActorId;
use kameo::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::clock::Clock;
use crate::offline::OfflineQueue;
use crate::user::{Attach, CloseSessions, Detach, Shutdown, SocketHandle, UserActor};

#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    users: RwLock<HashMap<i64, ActorRef<UserActor>>>,
    offline: OfflineQueue,
    clock: Clock,
    mailbox: usize,
    next_conn: AtomicU64,
}

impl Registry {
    /// `mailbox` bounds every user actor's mailbox.
    pub fn new(offline: OfflineQueue, clock: Clock, mailbox: usize) -> Registry {
        Registry {
            inner: Arc::new(Inner {
                users: RwLock::new(HashMap::new()),
                offline,
                clock,
                mailbox: mailbox.max(1),
                next_conn: AtomicU64::new(1),
            }),
        }
    }

    pub fn offline(&self) -> &OfflineQueue {
        &self.inner.offline
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    pub fn next_conn_id(&self) -> u64 {
        self.inner.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    pub fn get(&self, user_id: i64) -> Option<ActorRef<UserActor>> {
        let map = self.inner.users.read().unwrap_or_else(|p| p.into_inner());
        map.get(&user_id).cloned()
    }

    pub fn is_online(&self, user_id: i64) -> bool {
        self.get(user_id).is_some()
    }

    /// Number of users with a local actor.
    pub fn online_users(&self) -> usize {
        self.inner
            .users
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    fn get_or_spawn(&self, user_id: i64) -> ActorRef<UserActor> {
        let mut map = self.inner.users.write().unwrap_or_else(|p| p.into_inner());
        map.entry(user_id)
            .or_insert_with(|| {
                UserActor::spawn_with_mailbox(
                    UserActor::new(user_id, self.clone()),
                    kameo::mailbox::bounded(self.inner.mailbox),
                )
            })
            .clone()
    }

    /// Removes the entry for `user_id` if it is still the actor `id` (a retiring actor must
    /// not remove its successor).
    pub(crate) fn forget(&self, user_id: i64, id: ActorId) {
        let mut map = self.inner.users.write().unwrap_or_else(|p| p.into_inner());
        if map.get(&user_id).map(|a| a.id()) == Some(id) {
            map.remove(&user_id);
        }
    }

    /// Registers a socket with the user's actor, spawning one when needed.
    pub async fn attach(&self, user_id: i64, handle: SocketHandle) {
        loop {
            let actor = self.get_or_spawn(user_id);
            match actor.ask(Attach(handle.clone())).await {
                Ok(true) => return,
                // Closing or already gone: drop the stale entry and spawn a fresh actor.
                _ => self.forget(user_id, actor.id()),
            }
        }
    }

    /// Unregisters a socket; returns once the actor has processed it, so nothing more will be
    /// queued to that socket afterwards.
    pub async fn detach(&self, user_id: i64, conn_id: u64) {
        if let Some(actor) = self.get(user_id) {
            let _ = actor.ask(Detach { conn_id }).await;
        }
    }

    /// Closes the sockets of revoked sessions.
    pub async fn close_sessions(&self, user_id: i64, sids: Vec<String>) {
        if sids.is_empty() {
            return;
        }
        if let Some(actor) = self.get(user_id) {
            let _ = actor.tell(CloseSessions(sids)).send().await;
        }
    }

    /// Asks every user actor to close its sockets with 1001.
    pub async fn shutdown(&self) {
        let actors: Vec<ActorRef<UserActor>> = self
            .inner
            .users
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for a in actors {
            let _ = a.tell(Shutdown).send().await;
        }
    }
}
