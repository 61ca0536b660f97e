//! The per-connection task: reads client frames and hands them to the server's [`Inbound`]
//! handler, writes their answers, finishes writes the kernel could not take at once (deliveries
//! write to the socket's [`Outbox`] themselves), pings idle peers and closes silent ones. When it
//! ends, for whatever reason, every message not known to be written goes to the user's offline
//! queue: a socket never takes a message down with it.

use bytes::Bytes;
use futures_util::stream::FuturesOrdered;
use futures_util::{SinkExt, StreamExt};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::budget::SendBudget;
use crate::delivery::Delivery;
use crate::outbox::Outbox;
use crate::registry::Registry;
use crate::user::{SocketControl, SocketHandle};
use crate::wire;
use crate::wire::frames::{error, pong, ClientFrame, Dialect};

/// Who is on the other end of a socket (decided at upgrade, from the token).
#[derive(Debug, Clone)]
pub struct Conn {
    pub user_id: i64,
    pub sid: Arc<str>,
    /// The token's role (`user` or `visitor`).
    pub role: Arc<str>,
    pub dialect: Dialect,
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
    /// The per-user budget every frame a client sends draws from (text, binary and control
    /// alike); a refused text frame is answered with an error frame (rich) or dropped silently
    /// (compact, as seed 003 drops refused sends).
    pub budget: Arc<SendBudget>,
}

/// What tungstenite reads from and writes to: reads come from the socket; what tungstenite writes
/// itself (its automatic pong and close replies) joins the outbox, in order with everything else.
struct Duplex {
    outbox: Arc<Outbox>,
}

impl AsyncRead for Duplex {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let sock = self.outbox.socket();
        loop {
            ready!(sock.poll_read_ready(cx))?;
            match sock.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Duplex {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // tungstenite hands over whole frames only: its buffer holds complete frames and this
        // takes all of it.
        match self.outbox.push_control(Bytes::copy_from_slice(buf)) {
            Ok(()) => Poll::Ready(Ok(buf.len())),
            Err(_) => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The outbox writes as soon as it can; nothing is held here.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The socket as the server got it from the upgrade: the connection's outbox (over the raw
/// socket, `Outbox::new(stream, SocketConfig::queue)`), and what the client sent after its
/// handshake that the HTTP server had already read.
pub struct Upgraded {
    pub outbox: Arc<Outbox>,
    pub read_ahead: Vec<u8>,
    pub ws: WebSocketConfig,
}

/// Runs one socket until it closes. Returns after the socket is detached and its leftovers spilled.
pub async fn serve(
    up: Upgraded,
    conn: Conn,
    cfg: SocketConfig,
    registry: Registry,
    delivery: Delivery,
    inbound: Arc<dyn Inbound>,
    mut shutdown: watch::Receiver<bool>,
) {
    let conn_id = next_conn_id();
    let outbox = up.outbox;
    let mut ws = WebSocketStream::from_partially_read(
        Duplex {
            outbox: outbox.clone(),
        },
        up.read_ahead,
        Role::Server,
        Some(up.ws),
    )
    .await;
    let control = Arc::new(SocketControl::default());
    registry
        .attach(
            conn.user_id,
            SocketHandle {
                conn_id,
                sid: conn.sid.clone(),
                dialect: conn.dialect,
                outbox: outbox.clone(),
                control: control.clone(),
            },
        )
        .await;

    let mut answers: FuturesOrdered<Later> = FuturesOrdered::new();
    let mut last_seen = Instant::now();
    let mut ping = tokio::time::interval_at(Instant::now() + cfg.ping_interval, cfg.ping_interval);
    let write_timeout = cfg.idle_timeout;
    let budget = cfg.budget.clone();

    // Shutdown flips the flag, then closes every attached socket through its control; a socket
    // that attached after that sweep sees the flag here. So the loop never polls the shared watch.
    if *shutdown.borrow_and_update() {
        control.close(1001);
    }
    // One waiter for the whole life of the socket: re-polling it is cheap, re-creating it on
    // every wake-up cost a registration and a removal under the Notify's lock.
    let closed = control.closed();
    tokio::pin!(closed);

    // Deliveries do not pass through here (they write to the outbox themselves); this task wakes
    // for its client's frames, their answers, the heartbeat, and a write the kernel could not
    // take at once.
    let close_code: Option<u16> = loop {
        tokio::select! {
            biased;
            code = &mut closed => break Some(code),
            _ = outbox.stalled() => {
                tokio::select! {
                    biased;
                    r = tokio::time::timeout(write_timeout, outbox.flush()) => {
                        if !matches!(r, Ok(Ok(()))) {
                            break None;
                        }
                    }
                    // The client stopped reading and the queue filled.
                    code = &mut closed => break Some(code),
                }
            }
            Some(reply) = answers.next(), if !answers.is_empty() => {
                // Refused only while closing: the close request is already on its way.
                if let Some(reply) = reply {
                    let _ = outbox.push_control(wire::text_frame(&reply));
                }
            }
            // While the queue is full the client is not read either, so its answers cannot pile up.
            msg = ws.next(), if answers.len() < IN_FLIGHT && !outbox.is_full() => {
                match msg {
                    Some(Ok(Message::Text(text))) => {
                        last_seen = Instant::now();
                        let frame = ClientFrame::parse(text.as_str());
                        let answer = if !budget.take(conn.user_id) {
                            now(match conn.dialect {
                                Dialect::Rich => Some(error(frame.client_msg_id(), "too many frames; slow down")),
                                Dialect::Compact => None,
                            })
                        } else {
                            match frame {
                                ClientFrame::Ping => now(Some(pong())),
                                frame => inbound.handle(&conn, frame).await,
                            }
                        };
                        answers.push_back(answer);
                    }
                    Some(Ok(Message::Ping(_))) | Some(Ok(Message::Pong(_))) => {
                        last_seen = Instant::now();
                        // tungstenite holds the automatic pong until a flush hands it over; past
                        // the budget it waits for the next write instead.
                        if budget.take(conn.user_id) {
                            let _ = ws.flush().await;
                        }
                    }
                    Some(Ok(Message::Binary(_))) | Some(Ok(Message::Frame(_))) => {
                        // Nothing reads binary frames, but they cost the server to receive.
                        last_seen = Instant::now();
                        let _ = budget.take(conn.user_id);
                    }
                    Some(Ok(Message::Close(_))) => {
                        // Hands over tungstenite's close reply.
                        let _ = ws.flush().await;
                        break None;
                    }
                    Some(Err(_)) | None => break None,
                }
            }
            _ = ping.tick() => {
                if last_seen.elapsed() >= cfg.idle_timeout {
                    break Some(1000);
                }
                let _ = outbox.push_control(wire::ping());
            }
        }
    };

    // After detach the registry hands out no more pushes for this socket, and after close the
    // outbox takes none: what it returns is final.
    registry.detach(conn.user_id, conn_id).await;
    let payloads: Vec<(i64, Arc<str>)> = outbox
        .close()
        .into_iter()
        .map(|p| (conn.user_id, p))
        .collect();
    if let Err(e) = delivery.spill(payloads).await {
        tracing::error!(user = conn.user_id, error = %e, "spilling a closed socket's queue failed");
    }
    drop(ws);
    outbox
        .finish(close_code.map(wire::close), Duration::from_secs(1))
        .await;
}
