//! The Registry: user id → the user's socket list ([`Online`]), present while the user has a
//! socket here. Deliveries look a user up and push through the list directly (one read lock).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::clock::Clock;
use crate::offline::OfflineQueue;
use crate::user::{Online, SocketHandle};

#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    /// A user is here while at least one of their sockets is attached. Attach and detach take
    /// the write lock, deliveries the read lock: a push never lands on a detached socket.
    users: RwLock<HashMap<i64, Online>>,
    offline: OfflineQueue,
    clock: Clock,
    next_conn: AtomicU64,
}

impl Registry {
    pub fn new(offline: OfflineQueue, clock: Clock) -> Registry {
        Registry {
            inner: Arc::new(Inner {
                users: RwLock::new(HashMap::new()),
                offline,
                clock,
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

    /// Runs `f` on the user's socket list, if the user has a socket here.
    pub fn with_online<R>(&self, user_id: i64, f: impl FnOnce(&Online) -> R) -> Option<R> {
        let map = self.inner.users.read().unwrap_or_else(|p| p.into_inner());
        map.get(&user_id).map(f)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<i64, Online>> {
        self.inner.users.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<i64, Online>> {
        self.inner.users.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_online(&self, user_id: i64) -> bool {
        self.read().contains_key(&user_id)
    }

    /// Number of users with a socket here.
    pub fn online_users(&self) -> usize {
        self.read().len()
    }

    /// Registers a socket.
    pub fn attach(&self, user_id: i64, handle: SocketHandle) {
        self.write().entry(user_id).or_default().add(handle);
    }

    /// Unregisters a socket; once this returns nothing more is queued to it.
    pub fn detach(&self, user_id: i64, conn_id: u64) {
        let mut map = self.write();
        if map.get_mut(&user_id).is_some_and(|o| o.remove(conn_id)) {
            map.remove(&user_id);
        }
    }

    /// Closes the sockets of revoked sessions (1008).
    pub fn close_sessions(&self, user_id: i64, sids: Vec<String>) {
        if let Some(o) = self.read().get(&user_id) {
            o.close(1008, |s| sids.iter().any(|sid| **sid == *s.sid));
        }
    }

    /// Closes every socket with 1001 (server going away).
    pub fn shutdown(&self) {
        for o in self.read().values() {
            o.close(1001, |_| true);
        }
    }
}
