//! One WebSocket as its user's actor runs it ([`Socket`]): reads client frames and hands them to
//! the server's [`Inbound`] handler, writes their answers in frame order, finishes writes the
//! kernel could not take at once (deliveries write to the socket's [`Outbox`] themselves), pings
//! idle peers and closes silent ones. There is no task per socket: the user's actor polls its
//! sockets beside its mailbox ([`Socket::poll_event`]) and handles what comes
//! ([`Socket::on_event`]). The pongs it reads confirm the messages written before the pings
//! its outbox sent (`Outbox::confirm`; the heartbeat is such a ping too). When a socket ends, for whatever reason, it reports every message its client
//! did not confirm, so its user's delivered position stays below them: a socket never takes a
//! message down with it.

use chatd_schema::UserId;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesOrdered;
use futures_util::{FutureExt, Stream};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Interval};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::budget::SendBudget;
use crate::online::{SocketControl, SocketHandle};
use crate::outbox::Outbox;
use crate::positions::Taken;
use crate::wire;
use crate::wire::frames::{error, pong, ClientFrame, Dialect};
use crate::wire::reader::{with_scratch, FrameReader, Incoming, Limits, Read, ReadError};

/// Who is on the other end of a socket (decided at upgrade, from the token).
#[derive(Debug, Clone)]
pub struct Conn {
    pub user_id: UserId,
    pub sid: Arc<str>,
    /// The token's role (`user` or `visitor`).
    pub role: Arc<str>,
    pub dialect: Dialect,
    /// Presence frames wanted (`presence=1` on `/ws`, rich sockets).
    pub presence: bool,
    /// The client confirms what it processed with `ack` frames (`acks=1` on `/ws`); its pongs
    /// confirm nothing.
    pub acks: bool,
}

/// The answer to a client frame, once it is known.
pub type Later = Pin<Box<dyn Future<Output = Option<Utf8Bytes>> + Send + 'static>>;

/// Handles what clients send over WebSocket (implemented by the server: sending needs the rules
/// and the store). The returned future accepts the frame (checks, and its place in acceptance
/// order); it resolves to [`Later`], the frame to answer with, which the socket awaits while it
/// goes on reading: answers are written in the order the frames came.
pub trait Inbound: Send + Sync + 'static {
    fn handle<'a>(
        &'a self,
        conn: &'a Conn,
        frame: ClientFrame,
    ) -> Pin<Box<dyn Future<Output = Later> + Send + 'a>>;
}

/// An answer that is already known.
pub fn now(reply: Option<Utf8Bytes>) -> Later {
    Box::pin(std::future::ready(reply))
}

/// A number for each socket of this process, to tell a user's sockets apart.
pub fn next_conn_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Frames of one socket accepted but not yet answered; past this the socket stops reading.
const IN_FLIGHT: usize = 64;

/// How long a new socket holds back live messages of conversations with a backlog, waiting for
/// the client to fetch it (`chatGetmessageOffLine`, `GET /api/message`); after that they go out
/// anyway.
pub const HOLD_LIMIT: Duration = Duration::from_millis(500);

#[derive(Clone)]
pub struct SocketConfig {
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
    /// Messages the outgoing queue holds while the kernel's buffer is full; a socket that lets it
    /// fill is closed (1013).
    pub queue: usize,
    /// Bytes the outgoing queue holds before the socket is closed as too slow, whatever the
    /// message count: a reader that never reads pins at most this much.
    pub queue_bytes: usize,
    /// How long a closing socket keeps its connection to finish a partly written frame and
    /// write the close frame (a client that resumes reading then sees the code).
    pub close_grace: Duration,
    /// The shortest time between two confirmation pings of one socket: messages handed within
    /// it are confirmed together by the next.
    pub confirm_every: Duration,
    /// The per-user budget every frame a client sends draws from (text, binary and control
    /// alike); a refused text frame is answered with an error frame (rich) or dropped silently
    /// (compact, as seed 003 drops refused sends).
    pub budget: Arc<SendBudget>,
}

/// The socket as the server got it from the upgrade: the connection's outbox (over the raw
/// socket, `Outbox::new(stream, SocketConfig::queue)`), and what the client sent after its
/// handshake that the HTTP server had already read. `guard` lives exactly as long as the socket
/// (the server keeps its per-address connection place and its shutdown tracker token in it).
pub struct Upgraded {
    pub outbox: Arc<Outbox>,
    pub read_ahead: Vec<u8>,
    /// The frame and message size limits of what the client sends.
    pub limits: Limits,
    pub guard: Box<dyn Send + Sync>,
}

/// What woke a socket.
pub enum Event {
    /// Asked to close (revoked session, shutdown, too slow) with this code.
    Closed(u16),
    /// The kernel refused a write: the queue must be written out as the socket allows.
    Stalled,
    /// The stalled queue was written out (true) or could not be in time (false).
    Flushed(bool),
    /// The next answer, in frame order, is known.
    Answer(Option<Utf8Bytes>),
    /// The client sent something (`None`: the stream ended).
    Frame(Option<Result<Incoming, ReadError>>),
    /// The heartbeat.
    Tick,
    /// The time a new socket holds live messages back for its backlog is over.
    HoldOver,
}

/// One socket's state, owned by its user's actor.
pub struct Socket {
    pub(crate) handle: SocketHandle,
    conn: Conn,
    reader: FrameReader,
    /// The client has ended its stream.
    eof: bool,
    /// Answers not yet known, in frame order; `None` (no allocation) when there are none.
    answers: Option<FuturesOrdered<Later>>,
    last_seen: Instant,
    ping: Interval,
    /// The end of the hold on live messages, while the socket holds any.
    hold_over: Option<Pin<Box<tokio::time::Sleep>>>,
    flushing: Option<BoxFuture<'static, bool>>,
    _guard: Box<dyn Send + Sync>,
}

impl Socket {
    /// Takes over an upgraded connection.
    pub fn open(up: Upgraded, conn: Conn, cfg: &SocketConfig) -> Socket {
        let outbox = up.outbox;
        outbox.confirm_every(cfg.confirm_every);
        if conn.acks {
            outbox.opt_in_acks();
        }
        let control = Arc::new(SocketControl::default());
        crate::metrics::socket_opened(conn.dialect);
        tracing::debug!(user = conn.user_id.0, dialect = ?conn.dialect, presence = conn.presence, "socket opened");
        let handle = SocketHandle {
            conn_id: next_conn_id(),
            sid: conn.sid.clone(),
            dialect: conn.dialect,
            presence: conn.presence,
            outbox: outbox.clone(),
            control: control.clone(),
        };
        Socket {
            handle,
            conn,
            reader: FrameReader::new(up.limits, up.read_ahead),
            eof: false,
            answers: None,
            last_seen: Instant::now(),
            ping: tokio::time::interval_at(Instant::now() + cfg.ping_interval, cfg.ping_interval),
            hold_over: None,
            flushing: None,
            _guard: up.guard,
        }
    }

    pub fn conn_id(&self) -> u64 {
        self.handle.conn_id
    }

    /// The next thing to handle, in priority order: a close request, a stalled write (while one
    /// is being written out, nothing else), an answer, a client frame (not while the socket has
    /// many answers pending or a full queue: a client that does not read is not read either),
    /// the heartbeat.
    pub fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        if let Poll::Ready(code) = self.handle.control.poll_closed(cx) {
            return Poll::Ready(Event::Closed(code));
        }
        if let Some(flush) = &mut self.flushing {
            return flush.as_mut().poll(cx).map(Event::Flushed);
        }
        if self.handle.outbox.poll_stalled(cx).is_ready() {
            return Poll::Ready(Event::Stalled);
        }
        if let Some(over) = &mut self.hold_over {
            if over.as_mut().poll(cx).is_ready() {
                self.hold_over = None;
                return Poll::Ready(Event::HoldOver);
            }
        }
        if let Some(answers) = &mut self.answers {
            if let Poll::Ready(next) = Pin::new(&mut *answers).poll_next(cx) {
                if answers.is_empty() {
                    self.answers = None;
                }
                if let Some(reply) = next {
                    return Poll::Ready(Event::Answer(reply));
                }
            }
        }
        let in_flight = self.answers.as_ref().map_or(0, |a| a.len());
        if in_flight < IN_FLIGHT && !self.handle.outbox.is_full() {
            if let Poll::Ready(frame) = self.poll_read(cx) {
                return Poll::Ready(Event::Frame(frame));
            }
        }
        self.ping.poll_tick(cx).map(|_| Event::Tick)
    }

    /// Handles one event. `Some(code)` when the socket is done (`code`: the close frame to send).
    pub async fn on_event(
        &mut self,
        event: Event,
        cfg: &SocketConfig,
        inbound: &dyn Inbound,
    ) -> Option<Option<u16>> {
        let outbox = &self.handle.outbox;
        match event {
            Event::Closed(code) => return Some(Some(code)),
            Event::Stalled => {
                let outbox = outbox.clone();
                let limit = cfg.idle_timeout;
                self.flushing = Some(
                    async move {
                        matches!(
                            tokio::time::timeout(limit, outbox.flush()).await,
                            Ok(Ok(()))
                        )
                    }
                    .boxed(),
                );
            }
            Event::Flushed(ok) => {
                self.flushing = None;
                if !ok {
                    return Some(None);
                }
            }
            Event::Answer(reply) => {
                // Refused only while closing: the close request is already on its way.
                if let Some(reply) = reply {
                    let _ = outbox.push_control(wire::text_frame(&reply));
                }
            }
            Event::Frame(msg) => return self.on_frame(msg, cfg, inbound).await,
            Event::Tick => {
                if self.last_seen.elapsed() >= cfg.idle_timeout {
                    return Some(Some(1000));
                }
                // The heartbeat is a confirmation ping; one still unanswered is heartbeat enough.
                let _ = outbox.push_ping();
            }
            Event::HoldOver => {
                if outbox.release(&[], true).is_err() {
                    return Some(Some(1013));
                }
            }
        }
        None
    }

    /// Starts the clock on the hold of live messages (see [`HOLD_LIMIT`]), or stops it when
    /// nothing is held any more.
    pub(crate) fn holding(&mut self) {
        match (self.hold_over.is_some(), self.handle.outbox.holding()) {
            (false, true) => self.hold_over = Some(Box::pin(tokio::time::sleep(HOLD_LIMIT))),
            (true, false) => self.hold_over = None,
            _ => {}
        }
    }

    /// The next message from the client: decoded from what is held, else read into the
    /// thread's scratch space. `None` when the client ended its stream.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Incoming, ReadError>>> {
        match self.reader.next_held() {
            Ok(Some(m)) => return Poll::Ready(Some(Ok(m))),
            Ok(None) => {}
            Err(e) => return Poll::Ready(Some(Err(e))),
        }
        if self.eof {
            return Poll::Ready(None);
        }
        let sock = self.handle.outbox.socket();
        loop {
            if let Err(e) = ready!(sock.poll_read_ready(cx)) {
                tracing::debug!(error = %e, "socket read failed");
                return Poll::Ready(None);
            }
            let got = with_scratch(|buf| match sock.try_read(buf) {
                Ok(0) => Some(None),
                Ok(n) => match self.reader.take_in(&buf[..n]) {
                    Ok(Read::Message(m)) => Some(Some(Ok(m))),
                    Ok(Read::More) => None,
                    Err(e) => Some(Some(Err(e))),
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
                Err(e) => {
                    tracing::debug!(error = %e, "socket read failed");
                    Some(None)
                }
            });
            match got {
                Some(None) => {
                    self.eof = true;
                    return Poll::Ready(None);
                }
                Some(m) => return Poll::Ready(m),
                None => continue,
            }
        }
    }

    /// Handles what the client sent; `Some(code)` when the socket is done (`code`: the close
    /// frame to end with, if any).
    async fn on_frame(
        &mut self,
        msg: Option<Result<Incoming, ReadError>>,
        cfg: &SocketConfig,
        inbound: &dyn Inbound,
    ) -> Option<Option<u16>> {
        let user = self.conn.user_id;
        match msg {
            Some(Ok(Incoming::Text(text))) => {
                self.last_seen = Instant::now();
                crate::metrics::frame_in(self.conn.dialect);
                let frame = ClientFrame::parse(text.as_str());
                let answer = if !cfg.budget.take(user) {
                    now(match self.conn.dialect {
                        Dialect::Rich => {
                            Some(error(frame.client_msg_id(), "too many frames; slow down"))
                        }
                        Dialect::Compact => None,
                    })
                } else {
                    match frame {
                        ClientFrame::Ping => now(Some(pong())),
                        ClientFrame::Ack { group, id, seq } => {
                            self.on_ack(group, id, seq);
                            return None;
                        }
                        frame => inbound.handle(&self.conn, frame).await,
                    }
                };
                self.answers
                    .get_or_insert_with(FuturesOrdered::new)
                    .push_back(answer);
            }
            Some(Ok(Incoming::Ping(payload))) => {
                self.last_seen = Instant::now();
                // Past the budget a ping goes unanswered.
                if cfg.budget.take(user) {
                    let _ = self.handle.outbox.push_control(wire::pong(&payload));
                }
            }
            Some(Ok(Incoming::Pong(payload))) => {
                self.last_seen = Instant::now();
                let _ = cfg.budget.take(user);
                // Messages handed since get the next ping (with a message, or the flusher's).
                let _ = self.handle.outbox.confirm(&payload);
            }
            Some(Ok(Incoming::Binary(_))) => {
                // Nothing reads binary frames, but they cost the server to receive.
                self.last_seen = Instant::now();
                let _ = cfg.budget.take(user);
            }
            Some(Ok(Incoming::Close(got))) => {
                let reply = wire::close_reply(got.as_ref().map(|(c, r)| (*c, r.as_str())));
                let _ = self.handle.outbox.push_close_reply(reply);
                return Some(None);
            }
            Some(Err(e)) => {
                tracing::debug!(user = user.0, error = %e, "client frame refused");
                return Some(Some(e.close_code()));
            }
            None => return Some(None),
        }
        None
    }

    /// An `ack`: confirms what this socket was sent in that conversation up to `seq` (for a
    /// socket that opted in; otherwise its pongs confirm, and the frame changes nothing).
    fn on_ack(&self, group: bool, id: i64, seq: i64) {
        let conv = if group {
            chatd_schema::conv::group(chatd_schema::GroupId(id))
        } else {
            chatd_schema::conv::single(self.conn.user_id, UserId(id))
        };
        self.handle.outbox.ack(&conv, seq);
    }

    /// After the socket is unpublished (no push reaches it any more): stops its outbox, reports
    /// what it was handed and what its client never confirmed (for its user's positions), then
    /// writes the close frame off the actor.
    pub fn end(self, code: Option<u16>, cfg: &SocketConfig) -> Taken {
        crate::metrics::socket_closed(self.handle.dialect, code);
        tracing::debug!(user = self.conn.user_id.0, dialect = ?self.handle.dialect, code = ?code, "socket closed");
        let outbox = self.handle.outbox.clone();
        let taken = outbox.close();
        // The guard (connection place, shutdown token) goes with the last write.
        let grace = cfg.close_grace;
        let Socket { _guard, .. } = self;
        tokio::spawn(async move {
            outbox.finish(code.map(wire::close), grace).await;
            drop(_guard);
        });
        taken
    }
}
