//! The load generator's WebSocket connections: opened from many 127.0.0.x source addresses (one
//! address's ephemeral ports would cap a run near 28k connections), and the receiving loop that
//! turns frames into a [`Track`].

use anyhow::{Context, Result};
use futures_util::StreamExt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{watch, Notify};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::stats::{parse_frame, Seen, Track};

pub type Ws = WebSocketStream<TcpStream>;

/// Microseconds since the load generator started (one clock for sender and receivers).
pub fn now_us() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// The `i`th of `sources` loopback source addresses: 127.0.0.2, 127.0.0.3, …
pub fn source(i: usize, sources: usize) -> IpAddr {
    let k = (i % sources.max(1)) as u8;
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2u8.saturating_add(k)))
}

/// Opens `ws://{server}{path}` from `src`.
pub async fn connect(server: SocketAddr, path: &str, src: IpAddr) -> Result<Ws> {
    let sock = TcpSocket::new_v4()?;
    sock.bind(SocketAddr::new(src, 0))
        .with_context(|| format!("binding {src}"))?;
    let tcp = sock.connect(server).await.context("connecting")?;
    tcp.set_nodelay(true)?;
    // Small buffers: 19k idle clients must fit beside the server.
    let cfg = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(4 * 1024);
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(format!("ws://{server}{path}"), tcp, Some(cfg))
            .await
            .context("upgrading")?;
    Ok(ws)
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

/// Reads frames until `stop`, recording every load-generator message.
pub async fn receive(
    mut ws: Ws,
    progress: Arc<Progress>,
    messages: u32,
    mut stop: watch::Receiver<bool>,
) -> Track {
    let mut track = Track::new(messages);
    loop {
        let msg = tokio::select! {
            m = ws.next() => m,
            _ = stop.changed() => break,
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(_)) => continue,
            _ => break,
        };
        match parse_frame(text.as_str()) {
            Seen::Message { seq, sent_us } => {
                let now = now_us();
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
    let _ = ws.close(None).await;
    track
}
