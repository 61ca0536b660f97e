//! `UserActor`: one per connected user, spawned by the registry on the user's first socket and
//! stopped after the last one closes. It owns:
//!
//! - the user's sockets ([`Socket`]): it runs them itself — its [`Actor::next`] awaits the
//!   sockets beside the mailbox, so there is no task per socket — and every change of the socket
//!   set (a new socket, one that ends) passes through it and is published into the registry's
//!   route table, which deliveries read (the fast lane: a fan-out writes straight into the
//!   published outboxes, no actor in between);
//! - closing sockets on request: revoked sessions (logout, password change: 1008), shutdown (1001);
//! - the user's delivered positions ([`UserPositions`]): it learns the user's backlog when the
//!   first socket connects, and writes the positions when a socket ends (a socket that ends with
//!   messages unwritten keeps the position below them, so they stay in the backlog);
//! - the per-user replay slot: offline replays of one user run one at a time, so two at once
//!   can never push a message twice or move a position past one unsent.
//!
//! Per-user live state the next features need (last seen, typing, read positions) belongs here,
//! beside the sockets.

use chatd_schema::UserId;
use kameo::error::Infallible;
use kameo::mailbox::{MailboxReceiver, Signal};
use kameo::prelude::*;
use std::future::{poll_fn, Future};
use std::sync::Arc;
use std::task::Poll;
use tokio::sync::{watch, Mutex};

use crate::delivery::Delivery;
use crate::online::{Online, SocketHandle};
use crate::positions::{self, Report, Taken, UserPositions};
use crate::registry::Registry;
use crate::socket::{Conn, Event, Inbound, Socket, SocketConfig, Upgraded};

/// What the server gives every user actor: how sockets behave, who handles client frames, the
/// delivery (and through it the store, for positions), and the shutdown flag.
pub struct UserSeed {
    pub cfg: SocketConfig,
    pub inbound: Arc<dyn Inbound>,
    pub delivery: Delivery,
    pub shutdown: watch::Receiver<bool>,
}

pub struct UserActor {
    user_id: UserId,
    sockets: Vec<Socket>,
    seed: Arc<UserSeed>,
    registry: Registry,
    /// Held by the replay in progress (see [`ReplaySlot`]).
    replay: Arc<Mutex<()>>,
    positions: Arc<UserPositions>,
    /// The backlog at connect time has been asked for.
    loaded: bool,
    /// Which socket is polled first next time, so a busy socket cannot starve the others.
    turn: usize,
}

impl UserActor {
    pub(crate) fn new(user_id: UserId, seed: Arc<UserSeed>, registry: Registry) -> UserActor {
        UserActor {
            user_id,
            sockets: Vec::with_capacity(1),
            seed,
            registry,
            replay: Arc::default(),
            positions: Arc::default(),
            loaded: false,
            turn: 0,
        }
    }

    fn online(&self) -> Online {
        Online::from_handles(
            self.sockets.iter().map(|s| s.handle.clone()),
            self.positions.clone(),
        )
    }

    /// Learns which conversations have a backlog (live pushes there must not move positions
    /// until it is sent). Asked after the first socket is published, so every message stored
    /// later reaches the socket live; one stored earlier is counted in the backlog. The query
    /// runs beside the actor (a connect storm does not wait on it); until it answers, no
    /// position moves.
    fn load_backlog(&mut self, me: ActorRef<Self>) {
        if self.loaded {
            return;
        }
        self.loaded = true;
        let d = &self.seed.delivery;
        if d.remote().is_some() {
            // Several nodes: learned once every node knows the user is here
            // (`UserPositions::confirm`, from the cluster module, which then tells this actor).
            return;
        }
        let since = d.clock().now_ms() - d.offline().max_age_ms;
        let (store, user, positions) = (d.store().clone(), self.user_id, self.positions.clone());
        tokio::spawn(async move {
            positions.learn(&store, user, since).await;
            let _ = me.tell(BacklogKnown).await;
        });
    }

    /// What a socket must hold back until the user's backlog is handed over: everything while
    /// the backlog is not known, then the conversations behind.
    fn hold(&self, socket: &SocketHandle) {
        let held = match self.positions.behind_now() {
            None => {
                socket.outbox.hold_all();
                return;
            }
            Some(behind) => socket.outbox.hold_only(&behind),
        };
        if held.is_err() {
            socket.control.close(1013);
        }
    }

    /// Writes the user's due positions, folding in sockets that just ended.
    fn write_positions(&self, ended: Vec<Taken>) -> impl Future<Output = ()> + Send + 'static {
        let report = Report {
            user: self.user_id,
            positions: self.positions.clone(),
            open: self
                .sockets
                .iter()
                .map(|s| s.handle.outbox.take_positions())
                .collect(),
            closed: ended,
        };
        let store = self.seed.delivery.store().clone();
        async move {
            let user = report.user;
            if let Err(e) = positions::flush(&store, vec![report]).await {
                tracing::warn!(user = %user, error = %e, "writing delivered positions failed");
            }
        }
    }

    /// Publishes the current socket list; once this returns, deliveries see exactly it.
    async fn publish(&mut self, me: &ActorRef<Self>) {
        self.registry
            .publish(self.user_id, me.id(), self.online())
            .await;
    }

    /// Ends socket `conn_id`: unpublished first (so nothing more is pushed to it), then what it
    /// held goes back to delivery. The last socket's end retires the actor.
    async fn end_socket(&mut self, conn_id: u64, code: Option<u16>, ctx: &mut Context<Self, ()>) {
        let Some(i) = self.sockets.iter().position(|s| s.conn_id() == conn_id) else {
            return;
        };
        let socket = self.sockets.swap_remove(i);
        let me = ctx.actor_ref().clone();
        self.publish(&me).await;
        let ended = socket.end(code, &self.seed.cfg);
        self.write_positions(vec![ended]).await;
        if self.sockets.is_empty() {
            self.registry.retire_user(self.user_id, me.id()).await;
            ctx.stop();
        }
    }
}

impl Actor for UserActor {
    type Args = Self;
    type Error = Infallible;

    async fn on_start(args: Self::Args, _: ActorRef<Self>) -> Result<Self, Self::Error> {
        Ok(args)
    }

    /// Normally the last socket has ended by now. Were the actor stopped with sockets left (a
    /// bug made a handler panic), they are unpublished and closed, and the positions written no
    /// further than what they wrote, so no delivery lands in a socket nobody runs.
    async fn on_stop(
        &mut self,
        me: WeakActorRef<Self>,
        _: ActorStopReason,
    ) -> Result<(), Self::Error> {
        if self.sockets.is_empty() {
            return Ok(());
        }
        // Boxed: this future is part of every user actor's task, idle or not, for its whole
        // life; inline, a registry request and a store write would make every task larger.
        let registry = self.registry.clone();
        let (user, id) = (self.user_id, me.id());
        Box::pin(async move { registry.retire_user(user, id).await }).await;
        let ended = std::mem::take(&mut self.sockets)
            .into_iter()
            .map(|socket| socket.end(Some(1011), &self.seed.cfg))
            .collect();
        Box::pin(self.write_positions(ended)).await;
        Ok(())
    }

    /// The mailbox, and beside it every socket: a socket's event becomes a [`SocketEvent`]
    /// message handled like any other, so the actor's state is touched by one handler at a time.
    async fn next(
        &mut self,
        me: WeakActorRef<Self>,
        mailbox: &mut MailboxReceiver<Self>,
    ) -> Result<Option<Signal<Self>>, Self::Error> {
        self.turn = self.turn.wrapping_add(1);
        let (turn, sockets) = (self.turn, &mut self.sockets);
        let event = poll_fn(|cx| {
            let n = sockets.len();
            for k in 0..n {
                let s = &mut sockets[(turn + k) % n];
                if let Poll::Ready(ev) = s.poll_event(cx) {
                    return Poll::Ready((s.conn_id(), ev));
                }
            }
            Poll::Pending
        });
        tokio::select! {
            biased;
            signal = mailbox.recv() => Ok(signal),
            (conn_id, event) = event => {
                let Some(actor_ref) = me.upgrade() else {
                    return Ok(None);
                };
                Ok(Some(Signal::Message {
                    message: Box::new(SocketEvent(conn_id, event)),
                    actor_ref,
                    reply: None,
                    sent_within_actor: true,
                    message_name: "SocketEvent",
                }))
            }
        }
    }
}

/// Something happened on one of the user's sockets.
struct SocketEvent(u64, Event);

impl Message<SocketEvent> for UserActor {
    type Reply = ();

    async fn handle(
        &mut self,
        SocketEvent(conn_id, event): SocketEvent,
        ctx: &mut Context<Self, ()>,
    ) {
        let Some(socket) = self.sockets.iter_mut().find(|s| s.conn_id() == conn_id) else {
            return;
        };
        let seed = self.seed.clone();
        if let Some(code) = socket.on_event(event, &seed.cfg, &*seed.inbound).await {
            self.end_socket(conn_id, code, ctx).await;
        }
    }
}

/// A new socket of this user (from the upgrade).
pub struct AddSocket(pub Upgraded, pub Conn);

impl Message<AddSocket> for UserActor {
    type Reply = ();

    async fn handle(&mut self, AddSocket(up, conn): AddSocket, ctx: &mut Context<Self, ()>) {
        let mut socket = Socket::open(up, conn, &self.seed.cfg);
        // Before it is published: no live message overtakes the user's backlog on it.
        self.hold(&socket.handle);
        socket.holding();
        // Shutdown flips the flag, then closes every published socket; a socket that came after
        // that sweep sees the flag here.
        if *self.seed.shutdown.borrow() {
            socket.handle.control.close(1001);
        }
        self.sockets.push(socket);
        let me = ctx.actor_ref().clone();
        self.publish(&me).await;
        self.load_backlog(me);
    }
}

/// The user's backlog was learned (`UserPositions::learn` or `confirm`): the sockets hold back
/// only the conversations behind now.
pub struct BacklogKnown;

impl Message<BacklogKnown> for UserActor {
    type Reply = ();

    async fn handle(&mut self, _: BacklogKnown, _: &mut Context<Self, ()>) {
        if self.positions.behind_now().is_none() {
            return;
        }
        let holding: Vec<usize> = (0..self.sockets.len())
            .filter(|&i| self.sockets[i].handle.outbox.holding())
            .collect();
        for i in holding {
            self.hold(&self.sockets[i].handle);
            self.sockets[i].holding();
        }
    }
}

/// Close the sockets of the given sessions (all of them when `sids` is `None`) with `code`.
pub struct Close {
    pub code: u16,
    pub sids: Option<Vec<String>>,
}

impl Message<Close> for UserActor {
    type Reply = ();

    async fn handle(&mut self, Close { code, sids }: Close, _: &mut Context<Self, ()>) {
        for s in &self.sockets {
            let pick = match &sids {
                Some(sids) => sids.iter().any(|sid| **sid == *s.handle.sid),
                None => true,
            };
            if pick {
                s.handle.control.close(code);
            }
        }
    }
}

/// The user's sockets for an offline replay, and the slot that makes replays of one user run
/// one at a time: the replay holds `lock` while it reads, pushes and moves `positions`.
#[derive(Reply)]
pub struct ReplaySlot {
    pub sockets: Vec<SocketHandle>,
    pub lock: Arc<Mutex<()>>,
    pub positions: Arc<UserPositions>,
}

pub struct TakeReplaySlot;

impl Message<TakeReplaySlot> for UserActor {
    type Reply = ReplaySlot;

    async fn handle(&mut self, _: TakeReplaySlot, _: &mut Context<Self, ReplaySlot>) -> ReplaySlot {
        // The replay runs outside the actor: it waits for room in the outboxes, which the actor
        // itself writes out.
        ReplaySlot {
            sockets: self.sockets.iter().map(|s| s.handle.clone()).collect(),
            lock: self.replay.clone(),
            positions: self.positions.clone(),
        }
    }
}

#[cfg(test)]
#[path = "user_tests.rs"]
mod tests;
