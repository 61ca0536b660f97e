//! [`Online`]: the sockets of a connected user (one per device) as the hot path sees them, the
//! list the user's [`UserActor`](crate::user::UserActor) publishes into the registry's route
//! table. Pushes go straight into every socket's [`Outbox`] ([`Online::push`]), which writes them
//! to the kernel at once, so a fan-out costs one write per socket and wakes no task (the fast
//! lane: no actor in between). A socket whose queue is full is closed (1013); what it did not
//! write stays above its user's delivered position ([`crate::positions`]).

use crate::flag::Flag;
use smallvec::SmallVec;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use crate::outbox::{Outbox, Refused, WhenFull};
use crate::positions::UserPositions;
use crate::wire::frames::Dialect;
use crate::wire::push::Push;

/// Lets the actor (or a revocation) ask a socket task to close with a given code.
#[derive(Debug, Default)]
pub struct SocketControl {
    kill: Flag,
    code: AtomicU16,
}

impl SocketControl {
    pub fn close(&self, code: u16) {
        self.code.store(code, Ordering::Relaxed);
        // The flag stays raised if the actor is busy, so the request is never missed.
        self.kill.raise();
    }

    /// The close code, once a close was asked for.
    pub fn poll_closed(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<u16> {
        self.kill
            .poll_take(cx)
            .map(|()| self.code.load(Ordering::Relaxed))
    }

    pub async fn closed(&self) -> u16 {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }
}

/// The actor's handle on one socket.
#[derive(Debug, Clone)]
pub struct SocketHandle {
    pub conn_id: u64,
    /// The login session the socket was opened with ("other devices" are other sessions).
    pub sid: Arc<str>,
    pub dialect: Dialect,
    /// The client asked for presence frames (`presence=1` on `/ws`).
    pub presence: bool,
    pub outbox: Arc<Outbox>,
    pub control: Arc<SocketControl>,
}

/// The sockets of one online user, kept in the registry's map: changed under its write lock
/// (attach, detach), read under its read lock by every delivery. Almost every user has one
/// socket, held inline, so a delivery reads it from the map's own memory.
#[derive(Debug, Default)]
pub struct Online {
    sockets: SmallVec<[SocketHandle; 1]>,
    positions: Arc<UserPositions>,
}

impl Online {
    /// Sends `outs` (in order, one write) to every socket but those of session `exclude_sid`.
    /// Returns true when a socket could not take them (it is closed with 1013).
    pub fn push(&self, outs: &[Arc<Push>], exclude_sid: Option<&str>) -> bool {
        let mut overflowed = false;
        // Presence frames travel alone: a socket that did not ask for them skips the push.
        let presence = outs.iter().any(|o| o.is_presence());
        for s in &self.sockets {
            if exclude_sid == Some(&*s.sid) || (presence && !s.presence) {
                continue;
            }
            match s.outbox.push(outs, s.dialect, WhenFull::Close) {
                Ok(()) => {}
                Err(Refused::Full) => {
                    s.control.close(1013);
                    overflowed = true;
                }
                // The socket is closing (its detach is on the way); it noted what it refused.
                Err(Refused::Closed) => overflowed = true,
            }
        }
        overflowed
    }

    /// Starts loading what [`Online::push`] will touch (each socket's outbox) into the CPU's
    /// caches; see [`crate::prefetch`].
    pub(crate) fn prefetch(&self) {
        for s in &self.sockets {
            crate::prefetch::prefetch(&*s.outbox);
        }
    }

    /// The current sockets (offline replay pushes through them, waiting for room).
    pub fn handles(&self) -> Vec<SocketHandle> {
        self.sockets.to_vec()
    }

    pub(crate) fn from_handles(
        handles: impl Iterator<Item = SocketHandle>,
        positions: Arc<UserPositions>,
    ) -> Online {
        Online {
            sockets: handles.collect(),
            positions,
        }
    }

    /// The user's delivered positions (the flusher writes them).
    pub fn positions(&self) -> &Arc<UserPositions> {
        &self.positions
    }

    /// Whether a socket of the user asked for presence frames.
    pub fn wants_presence(&self) -> bool {
        self.sockets.iter().any(|s| s.presence)
    }

    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn add(&mut self, handle: SocketHandle) {
        self.sockets.push(handle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::net::UnixStream;

    fn socket(conn_id: u64, sid: &str, cap: usize) -> (SocketHandle, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        let handle = SocketHandle {
            conn_id,
            sid: sid.into(),
            dialect: Dialect::Compact,
            presence: false,
            outbox: Arc::new(Outbox::new(a, cap)),
            control: Arc::new(SocketControl::default()),
        };
        (handle, b)
    }

    fn big() -> [Arc<Push>; 1] {
        let m = serde_json::json!({"id": "x", "from_id": 1, "to_id": 2, "chatType": "single",
            "type": "text", "data": "x".repeat(64 * 1024), "create_time": 0});
        [Arc::new(Push::message(&m, 0))]
    }

    /// SPEC §7: a socket that cannot keep up is closed with 1013; the user's other devices keep
    /// receiving live.
    #[tokio::test]
    async fn a_socket_that_cannot_keep_up_is_closed_with_1013() {
        let (slow, _slow_peer) = socket(1, "phone", 2);
        let (fast, mut fast_peer) = socket(2, "tablet", 10_000);
        let slow_control = slow.control.clone();
        let mut online = Online::default();
        online.add(slow);
        online.add(fast);
        // The tablet reads everything; the phone reads nothing.
        let reader = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut buf = vec![0u8; 1 << 16];
            while fast_peer.read(&mut buf).await.is_ok_and(|n| n > 0) {}
        });
        let mut pushes = 0;
        while !online.push(&big(), None) {
            pushes += 1;
            assert!(pushes < 10_000, "the phone's queue never filled");
        }
        let code = tokio::time::timeout(Duration::from_secs(1), slow_control.closed()).await;
        assert_eq!(code.ok(), Some(1013));
        // Until the phone's actor detaches it, each push is refused by it.
        assert!(online.push(&big(), None));
        assert!(online.handles()[1]
            .outbox
            .push(&big(), Dialect::Compact, WhenFull::Close)
            .is_ok());
        reader.abort();
    }
}
