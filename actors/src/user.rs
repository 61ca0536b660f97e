//! `UserActor`: one per connected user. It owns the user's sockets (one per device), hands each
//! push to every socket's bounded queue, and spills to the offline queue whatever cannot be
//! delivered: a full socket queue closes that socket (1013) and queues the message; a push that
//! arrives when no socket is left is queued.

use kameo::prelude::*;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::frames::Dialect;
use crate::outgoing::Outgoing;
use crate::registry::Registry;

/// What a socket's outgoing queue carries.
#[derive(Debug, Clone)]
pub enum Frame {
    Push(Arc<Outgoing>),
    Raw(Utf8Bytes),
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

pub struct UserActor {
    user_id: i64,
    sockets: Vec<SocketHandle>,
    registry: Registry,
    /// Set when the last socket left: from then on pushes go to the offline queue and attaches
    /// are refused (the attacher spawns a fresh actor).
    closing: bool,
}

impl UserActor {
    pub fn new(user_id: i64, registry: Registry) -> Self {
        UserActor {
            user_id,
            sockets: Vec::new(),
            registry,
            closing: false,
        }
    }

    async fn spill(&self, payloads: Vec<Arc<str>>) {
        if payloads.is_empty() {
            return;
        }
        let items: Vec<(i64, Arc<str>)> = payloads.into_iter().map(|p| (self.user_id, p)).collect();
        let offline = self.registry.offline();
        if let Err(e) = offline.push(&items, self.registry.clock().now_ms()).await {
            tracing::error!(user = self.user_id, error = %e, "offline spill failed");
        }
    }
}

impl Actor for UserActor {
    type Args = Self;
    type Error = kameo::error::Infallible;

    async fn on_start(args: Self::Args, _: ActorRef<Self>) -> Result<Self, Self::Error> {
        Ok(args)
    }

    /// Pushes still in the mailbox when the actor stops are queued offline, never dropped.
    async fn on_undelivered(
        &mut self,
        _reason: ActorStopReason,
        undelivered: Vec<BoxMessage<Self>>,
    ) -> Result<(), Self::Error> {
        let mut payloads = Vec::new();
        for msg in undelivered {
            if let Ok(d) = msg.as_any().downcast::<Deliver>() {
                if d.queue_if_absent {
                    payloads.extend(d.out.payload.clone());
                }
            }
        }
        self.spill(payloads).await;
        Ok(())
    }
}

/// Adds a socket. Replies false when the actor is closing (the caller must spawn a new one).
pub struct Attach(pub SocketHandle);

impl Message<Attach> for UserActor {
    type Reply = bool;

    async fn handle(&mut self, msg: Attach, _: &mut Context<Self, Self::Reply>) -> bool {
        if self.closing {
            return false;
        }
        self.sockets.push(msg.0);
        true
    }
}

/// Removes a socket; the actor retires after its last one.
pub struct Detach {
    pub conn_id: u64,
}

impl Message<Detach> for UserActor {
    type Reply = ();

    async fn handle(&mut self, msg: Detach, ctx: &mut Context<Self, Self::Reply>) {
        self.sockets.retain(|s| s.conn_id != msg.conn_id);
        if self.sockets.is_empty() && !self.closing {
            self.closing = true;
            self.registry.forget(self.user_id, ctx.actor_ref().id());
            ctx.stop();
        }
    }
}

/// A push to every socket of the user except those of session `exclude_sid`.
pub struct Deliver {
    pub out: Arc<Outgoing>,
    pub exclude_sid: Option<Arc<str>>,
    /// Queue offline when no eligible socket exists (true for recipients; false for the
    /// sender's own other devices, whose message is already in history).
    pub queue_if_absent: bool,
}

impl Message<Deliver> for UserActor {
    type Reply = ();

    async fn handle(&mut self, msg: Deliver, _: &mut Context<Self, Self::Reply>) {
        let mut eligible = 0usize;
        let mut overflowed = false;
        self.sockets.retain(|s| {
            if msg.exclude_sid.as_deref() == Some(&*s.sid) {
                return true;
            }
            eligible += 1;
            match s.tx.try_send(Frame::Push(msg.out.clone())) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // A socket that cannot keep up is closed; what it had not been sent is
                    // spilled by its task, and this push is spilled here.
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
        let absent = eligible == 0 && msg.queue_if_absent;
        if overflowed || absent {
            self.spill(msg.out.payload.iter().cloned().collect()).await;
        }
    }
}

/// Closes every socket opened with one of the given sessions (logout, password change).
pub struct CloseSessions(pub Vec<String>);

impl Message<CloseSessions> for UserActor {
    type Reply = ();

    async fn handle(&mut self, msg: CloseSessions, _: &mut Context<Self, Self::Reply>) {
        for s in &self.sockets {
            if msg.0.iter().any(|sid| **sid == *s.sid) {
                s.control.close(1008);
            }
        }
    }
}

/// The senders of every socket (offline replay writes through them with back-pressure).
pub struct Sockets;

impl Message<Sockets> for UserActor {
    type Reply = Vec<SocketHandle>;

    async fn handle(&mut self, _: Sockets, _: &mut Context<Self, Self::Reply>) -> Self::Reply {
        self.sockets.clone()
    }
}

/// Closes every socket with 1001 (server going away).
pub struct Shutdown;

impl Message<Shutdown> for UserActor {
    type Reply = ();

    async fn handle(&mut self, _: Shutdown, _: &mut Context<Self, Self::Reply>) {
        for s in &self.sockets {
            s.control.close(1001);
        }
    }
}
