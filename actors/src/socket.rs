//! The per-connection loop: one task per socket that writes queued frames (feeding many, flushing
//! once), reads client frames and hands them to the server's [`Inbound`] handler, pings idle
//! peers and closes silent ones. When it ends, for whatever reason, everything still queued for
//! it goes to the user's offline queue: a socket never takes a message down with it.

use futures_util::stream::FuturesOrdered;
use futures_util::{SinkExt, StreamExt};
use governor::{Quota, RateLimiter};
use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::frames::{error, pong, ClientFrame, Dialect};
use crate::registry::Registry;
use crate::user::{Frame, SocketControl, SocketHandle};

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

/// Frames of one socket accepted but not yet answered; past this the socket stops reading.
const IN_FLIGHT: usize = 64;

#[derive(Debug, Clone, Copy)]
pub struct SocketConfig {
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
    /// Capacity of the outgoing queue; a socket that lets it fill is closed (1013).
    pub queue: usize,
    /// Frames a client may send per second (bursts of twice that); the excess is refused
    /// (rich: an error frame; compact: dropped silently, as seed 003 drops refused sends).
    pub max_frames_per_sec: u32,
}

/// Deliveries handled in a row before reads, answers and pings get a turn.
const FAIR_TURN: usize = 8;

/// Most frames written before one flush.
const COALESCE: usize = 64;

type Sink<S> = futures_util::stream::SplitSink<WebSocketStream<S>, Message>;

async fn write_frames<S>(sink: &mut Sink<S>, frames: &[Frame], dialect: Dialect) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    for text in frames.iter().flat_map(|f| f.texts(dialect)) {
        if sink.feed(Message::Text(text.clone())).await.is_err() {
            return false;
        }
    }
    sink.flush().await.is_ok()
}

/// Runs one socket until it closes. Returns after the socket is detached and its leftovers spilled.
pub async fn serve<S>(
    ws: WebSocketStream<S>,
    conn: Conn,
    cfg: SocketConfig,
    registry: Registry,
    inbound: Arc<dyn Inbound>,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let conn_id = registry.next_conn_id();
    let (tx, mut rx) = mpsc::channel(cfg.queue.max(1));
    let control = Arc::new(SocketControl::default());
    registry.attach(
        conn.user_id,
        SocketHandle {
            conn_id,
            sid: conn.sid.clone(),
            dialect: conn.dialect,
            tx,
            control: control.clone(),
        },
    );

    let (mut sink, mut stream) = ws.split();
    let mut answers: FuturesOrdered<Later> = FuturesOrdered::new();
    let mut unsent: Vec<Frame> = Vec::new();
    let mut last_seen = Instant::now();
    let mut ping = tokio::time::interval_at(Instant::now() + cfg.ping_interval, cfg.ping_interval);
    let write_timeout = cfg.idle_timeout;
    let rate = NonZeroU32::new(cfg.max_frames_per_sec.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
    let limiter = RateLimiter::direct(Quota::per_second(rate).allow_burst(burst));

    // Shutdown flips the flag, then closes every attached socket through its control; a socket
    // that attached after that sweep sees the flag here. So the loop never polls the shared watch.
    if *shutdown.borrow_and_update() {
        control.close(1001);
    }
    // One waiter for the whole life of the socket: re-polling it is cheap, re-creating it on
    // every wake-up cost a registration and a removal under the Notify's lock.
    let closed = control.closed();
    tokio::pin!(closed);

    // Branches are tried in order, queued frames before reads, so a wake-up for a delivery does
    // not also poll the read half (a lock, a 2 KiB buffer fill, a readiness check). After
    // FAIR_TURN deliveries in a row the other branches get a turn, so a socket that is sent to
    // without pause still reads its client's frames and pings.
    let mut streak = 0usize;
    let close_code: Option<u16> = loop {
        tokio::select! {
            biased;
            code = &mut closed => break Some(code),
            frame = rx.recv(), if streak < FAIR_TURN => {
                streak += 1;
                let Some(frame) = frame else { break Some(1000) };
                let mut batch = vec![frame];
                // Under load, let the fan-outs queued behind this wake-up land first: one
                // write then carries several messages (with nothing else to run, this returns
                // at once).
                tokio::task::yield_now().await;
                while batch.len() < COALESCE {
                    match rx.try_recv() {
                        Ok(f) => batch.push(f),
                        Err(_) => break,
                    }
                }
                tokio::select! {
                    // The write nearly always completes on its first poll: try it first.
                    biased;
                    r = tokio::time::timeout(write_timeout, write_frames(&mut sink, &batch, conn.dialect)) => {
                        if !matches!(r, Ok(true)) {
                            unsent.extend(batch);
                            break None;
                        }
                    }
                    code = &mut closed => {
                        // The client stopped reading and the queue filled: what was being
                        // written may not have arrived, so it is spilled too.
                        unsent.extend(batch);
                        break Some(code);
                    }
                }
            }
            Some(reply) = answers.next(), if !answers.is_empty() => {
                streak = 0;
                if let Some(reply) = reply {
                    let one = [Frame::Raw(reply)];
                    let w = write_frames(&mut sink, &one, conn.dialect);
                    if !matches!(tokio::time::timeout(write_timeout, w).await, Ok(true)) {
                        break None;
                    }
                }
            }
            msg = stream.next(), if answers.len() < IN_FLIGHT => {
                streak = 0;
                match msg {
                    Some(Ok(Message::Text(text))) => {
                        last_seen = Instant::now();
                        let answer = if limiter.check().is_err() {
                            now(match conn.dialect {
                                Dialect::Rich => Some(error(None, "too many frames; slow down")),
                                Dialect::Compact => None,
                            })
                        } else {
                            match ClientFrame::parse(text.as_str()) {
                                ClientFrame::Ping => now(Some(pong())),
                                frame => inbound.handle(&conn, frame).await,
                            }
                        };
                        answers.push_back(answer);
                    }
                    Some(Ok(Message::Ping(_))) | Some(Ok(Message::Pong(_))) => {
                        last_seen = Instant::now();
                        // tungstenite queues the automatic pong; a flush sends it.
                        let _ = tokio::time::timeout(write_timeout, sink.flush()).await;
                    }
                    Some(Ok(Message::Binary(_))) | Some(Ok(Message::Frame(_))) => last_seen = Instant::now(),
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break None,
                }
            }
            _ = ping.tick() => {
                streak = 0;
                if last_seen.elapsed() >= cfg.idle_timeout {
                    break Some(1000);
                }
                let p = sink.send(Message::Ping(Default::default()));
                if !matches!(tokio::time::timeout(write_timeout, p).await, Ok(Ok(()))) {
                    break None;
                }
            }
            // Nothing else was ready: deliveries resume.
            _ = std::future::ready(()), if streak >= FAIR_TURN => streak = 0,
        }
    };

    // After detach the registry holds no sender for this socket, so the queue is final.
    registry.detach(conn.user_id, conn_id);
    rx.close();
    while let Ok(f) = rx.try_recv() {
        unsent.push(f);
    }
    let payloads: Vec<(i64, Arc<str>)> = unsent
        .iter()
        .flat_map(|f| f.payloads())
        .map(|p| (conn.user_id, p.clone()))
        .collect();
    if !payloads.is_empty() {
        let now = registry.clock().now_ms();
        if let Err(e) = registry.offline().push(&payloads, now).await {
            tracing::error!(user = conn.user_id, error = %e, "spilling a closed socket's queue failed");
        }
    }
    if let Some(code) = close_code {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::from_static(""),
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            sink.send(Message::Close(Some(frame))),
        )
        .await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
}
