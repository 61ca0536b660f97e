//! A connected user: [`Online`], the user's sockets (one per device), kept in the registry.
//! Pushes go straight into every socket's bounded queue ([`Online::push`]), so a fan-out costs one
//! queue send per socket and no task wake-up besides the socket's own. What cannot be delivered
//! goes to the offline queue: a full socket queue closes that socket (1013) and queues the
//! message; a push for a user with no socket left is queued.
//!
//! This was a `UserActor` per user (DESIGN.md); once pushes stopped passing through it, all it
//! did was serialize attach and detach, which the registry's lock does, for a task and a mailbox
//! less per connected user.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::frames::Dialect;
use crate::outgoing::Outgoing;

/// What a socket's outgoing queue carries.
#[derive(Debug, Clone)]
pub enum Frame {
    Push(Arc<Outgoing>),
    /// Several messages of one fan-out batch, written with one flush.
    Batch(Pushes),
    Raw(Utf8Bytes),
}

/// Messages handed on together (one writer batch of a conversation), shared by all recipients.
pub type Pushes = Arc<[Arc<Outgoing>]>;

impl Frame {
    pub fn of(outs: &Pushes) -> Frame {
        match &**outs {
            [one] => Frame::Push(one.clone()),
            _ => Frame::Batch(outs.clone()),
        }
    }

    fn outs(&self) -> &[Arc<Outgoing>] {
        match self {
            Frame::Push(out) => std::slice::from_ref(out),
            Frame::Batch(outs) => outs,
            Frame::Raw(_) => &[],
        }
    }

    /// The text frames this carries, in order, as `dialect` renders them.
    pub fn texts(&self, dialect: Dialect) -> impl Iterator<Item = &Utf8Bytes> {
        let raw = match self {
            Frame::Raw(b) => Some(b),
            _ => None,
        };
        raw.into_iter()
            .chain(self.outs().iter().map(move |o| o.bytes(dialect)))
    }

    /// What the offline queue keeps of this frame.
    pub fn payloads(&self) -> impl Iterator<Item = &Arc<str>> {
        self.outs().iter().filter_map(|o| o.payload.as_ref())
    }
}

/// Lets the actor (or a revocation) ask a socket task to close with a given code.
#[derive(Debug, Default)]
pub struct SocketControl {
    kill: Notify,
    code: AtomicU16,
}

impl SocketControl {
    pub fn close(&self, code: u16) {
        self.code.store(code, Ordering::Relaxed);
        // notify_one stores a permit if the task is busy, so the request is never missed.
        self.kill.notify_one();
    }

    pub async fn closed(&self) -> u16 {
        self.kill.notified().await;
        self.code.load(Ordering::Relaxed)
    }
}

/// The actor's handle on one socket.
#[derive(Debug, Clone)]
pub struct SocketHandle {
    pub conn_id: u64,
    /// The login session the socket was opened with ("other devices" are other sessions).
    pub sid: Arc<str>,
    pub dialect: Dialect,
    pub tx: mpsc::Sender<Frame>,
    pub control: Arc<SocketControl>,
}

/// The sockets of one online user: changed by the registry (attach, detach), read by every
/// delivery.
#[derive(Debug, Default)]
pub struct Online {
    inner: Mutex<OnlineInner>,
}

#[derive(Debug, Default)]
struct OnlineInner {
    sockets: Vec<SocketHandle>,
}

impl Online {
    fn lock(&self) -> MutexGuard<'_, OnlineInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `outs` (one frame) on every socket but those of session `exclude_sid`. Returns true
    /// when the caller must queue the payloads offline: a socket could not take them (it is
    /// closed with 1013 and spills what it held), or no eligible socket exists and
    /// `queue_if_absent`.
    pub fn push(&self, outs: &Pushes, exclude_sid: Option<&str>, queue_if_absent: bool) -> bool {
        let mut inner = self.lock();
        let mut eligible = 0usize;
        let mut overflowed = false;
        inner.sockets.retain(|s| {
            if exclude_sid == Some(&*s.sid) {
                return true;
            }
            eligible += 1;
            match s.tx.try_send(Frame::of(outs)) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    s.control.close(1013);
                    overflowed = true;
                    false
                }
                // The task has ended; its Detach is on the way and it spilled what it held.
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    overflowed = true;
                    false
                }
            }
        });
        overflowed || (eligible == 0 && queue_if_absent)
    }

    /// The current sockets (offline replay writes through them with back-pressure).
    pub fn handles(&self) -> Vec<SocketHandle> {
        self.lock().sockets.clone()
    }

    pub(crate) fn add(&self, handle: SocketHandle) {
        self.lock().sockets.push(handle);
    }

    /// Removes a socket; true when none is left.
    pub(crate) fn remove(&self, conn_id: u64) -> bool {
        let mut inner = self.lock();
        inner.sockets.retain(|s| s.conn_id != conn_id);
        inner.sockets.is_empty()
    }

    /// Asks the sockets `pick` selects to close with `code`.
    pub(crate) fn close(&self, code: u16, pick: impl Fn(&SocketHandle) -> bool) {
        for s in self.lock().sockets.iter().filter(|s| pick(s)) {
            s.control.close(code);
        }
    }
}
