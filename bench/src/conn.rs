//! The load generator's WebSocket connections: opened from many 127.0.0.x source addresses (one
//! address's ephemeral ports would cap a run near 28k connections), and the receiving loop that
//! turns frames into a [`Track`].

use anyhow::{bail, Context, Result};
use futures_util::FutureExt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{watch, Notify};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use crate::stats::{parse_frame, Seen, Track};
use crate::wsframe::{self, Upgrade};

/// The publisher's socket, spoken through tungstenite (it only sends a few frames a millisecond).
pub type Ws = WebSocketStream<TcpStream>;

/// Microseconds on the wall clock: one clock for the sender and every receiver, in this process
/// and in the others of a sliced run ([`crate::slices`]) on the same machine. (A step of the
/// system clock during a run would show in its latencies; the machines here only slew it.)
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// The `i`th of `sources` loopback source addresses: 127.0.0.2, 127.0.0.3, …
pub fn source(i: usize, sources: usize) -> IpAddr {
    let k = (i % sources.max(1)) as u8;
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2u8.saturating_add(k)))
}

/// An upgraded connection.
pub struct Conn {
    pub tcp: TcpStream,
    /// What the server sent after its upgrade answer, in the same read.
    pub rest: Vec<u8>,
}

impl Conn {
    pub async fn into_ws(self) -> Ws {
        // Small buffers: the publisher sends a few hundred bytes at a time.
        let cfg = WebSocketConfig::default()
            .read_buffer_size(16 * 1024)
            .write_buffer_size(4 * 1024);
        WebSocketStream::from_partially_read(self.tcp, self.rest, Role::Client, Some(cfg)).await
    }
}

/// Opens `ws://{server}{path}` from `src`.
pub async fn connect(server: SocketAddr, path: &str, src: IpAddr) -> Result<Conn> {
    let sock = TcpSocket::new_v4()?;
    sock.bind(SocketAddr::new(src, 0))
        .with_context(|| format!("binding {src}"))?;
    let mut tcp = sock.connect(server).await.context("connecting")?;
    tcp.set_nodelay(true)?;
    tcp.write_all(wsframe::upgrade_request(&server.to_string(), path).as_bytes())
        .await
        .context("upgrading")?;
    let mut buf = Vec::with_capacity(1024);
    loop {
        if tcp.read_buf(&mut buf).await.context("upgrading")? == 0 {
            bail!("the server closed the connection during the upgrade");
        }
        match wsframe::upgrade_response(&buf) {
            Upgrade::Partial if buf.len() > 16 * 1024 => bail!("upgrade answer too long"),
            Upgrade::Partial => {}
            Upgrade::Accepted(head) => {
                buf.drain(..head);
                // 19k idle clients must fit beside the server: keep no buffer while idle.
                buf.shrink_to_fit();
                return Ok(Conn { tcp, rest: buf });
            }
            Upgrade::Refused(status) => bail!("upgrade refused: {status}"),
        }
    }
}

/// Shared by a run's receivers and its publisher.
pub struct Progress {
    /// First deliveries per message; a message is complete when its count reaches `receivers`.
    pub counts: Vec<AtomicU32>,
    pub warmups: Vec<AtomicU32>,
    pub receivers: u32,
    pub completed: AtomicU64,
    pub last_delivery_us: AtomicU64,
    pub notify: Notify,
}

impl Progress {
    pub fn new(messages: u32, warmups: u32, receivers: u32) -> Progress {
        Progress {
            counts: (0..messages).map(|_| AtomicU32::new(0)).collect(),
            warmups: (0..warmups).map(|_| AtomicU32::new(0)).collect(),
            receivers,
            completed: AtomicU64::new(0),
            last_delivery_us: AtomicU64::new(0),
            notify: Notify::new(),
        }
    }
}

/// Reads frames until `stop`, recording every load-generator message. Every frame of one read is
/// taken at once, with one clock reading: they arrived together.
pub async fn receive(
    conn: Conn,
    progress: Arc<Progress>,
    messages: u32,
    mut stop: watch::Receiver<bool>,
) -> Track {
    let Conn {
        mut tcp,
        rest: mut buf,
    } = conn;
    let mut track = Track::new(messages);
    // A message split over several frames, gathered (the servers measured do not split them).
    let mut parts: Vec<u8> = Vec::new();
    'read: loop {
        let now = now_us();
        let mut at = 0;
        loop {
            let frame = match wsframe::next_frame(&buf[at..]) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    eprintln!("receiver: {e}");
                    break 'read;
                }
            };
            let payload = &buf[at + frame.payload.start..at + frame.payload.end];
            match frame.opcode {
                wsframe::PING => {
                    if tcp.write_all(&wsframe::pong(payload)).await.is_err() {
                        break 'read;
                    }
                }
                wsframe::CLOSE => break 'read,
                _ if frame.fin && parts.is_empty() => seen(payload, now, &mut track, &progress),
                _ => {
                    parts.extend_from_slice(payload);
                    if frame.fin {
                        seen(&parts, now, &mut track, &progress);
                        parts.clear();
                    }
                }
            }
            at += frame.payload.end;
        }
        buf.drain(..at);
        tokio::select! {
            r = tcp.readable() => if r.is_err() { break },
            _ = stop.changed() => break,
        }
        // Reserved only once the socket has something: an idle connection holds no buffer.
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(16 * 1024);
        }
        // Through tokio's `poll_read`, not `try_read_buf`: after a short read (the socket is
        // drained) it forgets the readiness, so a message costs one `read`, not a second one
        // that says `WouldBlock`. Not ready (a stale readiness) comes back as `None`.
        match tcp.read_buf(&mut buf).now_or_never() {
            Some(Ok(0)) | Some(Err(_)) => break,
            Some(Ok(_)) | None => {}
        }
    }
    let _ = tcp.write_all(&wsframe::CLOSE_FRAME).await;
    track
}

/// [`receive`] through tokio-tungstenite: what an outside client written with it measures (it
/// answers pings itself).
pub async fn receive_tungstenite(
    conn: Conn,
    progress: Arc<Progress>,
    messages: u32,
    mut stop: watch::Receiver<bool>,
) -> Track {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let mut ws = conn.into_ws().await;
    let mut track = Track::new(messages);
    loop {
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) => seen(t.as_bytes(), now_us(), &mut track, &progress),
                Some(Ok(Message::Binary(b))) => seen(&b, now_us(), &mut track, &progress),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            _ = stop.changed() => break,
        }
    }
    let _ = ws.close(None).await;
    track
}

fn seen(payload: &[u8], now: u64, track: &mut Track, progress: &Progress) {
    match parse_frame(payload) {
        Seen::Message { seq, sent_us } => {
            if track.record(seq, now.saturating_sub(sent_us)) {
                progress.last_delivery_us.fetch_max(now, Ordering::Relaxed);
                if let Some(c) = progress.counts.get(seq as usize) {
                    if c.fetch_add(1, Ordering::AcqRel) + 1 == progress.receivers {
                        progress.completed.fetch_add(1, Ordering::AcqRel);
                        progress.notify.notify_one();
                    }
                }
            }
        }
        Seen::Warmup(k) => {
            if let Some(c) = progress.warmups.get(k as usize) {
                c.fetch_add(1, Ordering::AcqRel);
                progress.notify.notify_one();
            }
        }
        Seen::Other => {}
    }
}
