//! [`Opening`]: sockets whose handshake is answered (the 101 is on its way to the client) but
//! that their user's actor has not taken yet. A client that asks for its offline queue the moment
//! its socket opens must find that socket: the replay waits for the user's opening sockets, a
//! short and bounded wait, instead of answering "connect first".
//!
//! It also bounds how many sockets may be opening at once ([`MAX_OPENING`]): an upgrade waits
//! for room before it answers. In a connect storm, answering every handshake at once let
//! thousands of sockets wait for their actors (4,800 of 10,000 opened 128 at a time), each
//! holding memory meanwhile, and told clients they were connected long before they were.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chatd_schema::UserId;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// At most this many sockets opening at once.
pub const MAX_OPENING: usize = 256;

/// Per user with a socket opening: how many, and what wakes whoever waits for them.
pub(crate) struct Opening {
    users: Mutex<HashMap<UserId, (u32, Arc<Notify>)>>,
    room: Arc<Semaphore>,
}

impl Default for Opening {
    fn default() -> Self {
        Opening {
            users: Mutex::default(),
            room: Arc::new(Semaphore::new(MAX_OPENING)),
        }
    }
}

impl Opening {
    fn lock(&self) -> MutexGuard<'_, HashMap<UserId, (u32, Arc<Notify>)>> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a socket of `user` as opening, once there is room (`None` if none came within
    /// `wait`).
    pub(crate) async fn start(
        self: &Arc<Self>,
        user: UserId,
        wait: Duration,
    ) -> Option<OpeningGuard> {
        let room = tokio::time::timeout(wait, self.room.clone().acquire_owned())
            .await
            .ok()?
            .ok()?;
        self.lock().entry(user).or_default().0 += 1;
        Some(OpeningGuard {
            table: self.clone(),
            user,
            _room: room,
        })
    }

    fn finish(&self, user: UserId) {
        let mut users = self.lock();
        let Some(entry) = users.get_mut(&user) else {
            return;
        };
        entry.0 -= 1;
        if entry.0 == 0 {
            if let Some((_, done)) = users.remove(&user) {
                done.notify_waiters();
            }
        }
    }

    /// Returns once none of the user's sockets is opening, or after `wait` at most.
    pub(crate) async fn settled(&self, user: UserId, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let Some(done) = self.lock().get(&user).map(|(_, n)| n.clone()) else {
                return;
            };
            let notified = done.notified();
            tokio::pin!(notified);
            // Registered before the second look, so a finish in between is not missed.
            notified.as_mut().enable();
            if !self.lock().contains_key(&user) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }
}

/// One socket opening; dropped once its user's actor has taken it (or it failed to open).
pub struct OpeningGuard {
    table: Arc<Opening>,
    user: UserId,
    _room: OwnedSemaphorePermit,
}

impl Drop for OpeningGuard {
    fn drop(&mut self) {
        self.table.finish(self.user);
    }
}

#[cfg(test)]
#[path = "opening_tests.rs"]
mod tests;
