//! The load generator: drives chatd (users and a group made through its REST API) or one of the
//! peer servers (`--peer`: `?access_token=<uid>&groups=<g>`) with compact `multicast` frames, and
//! reports deliveries/s, latency, lost/duplicated/reordered deliveries, connect time and server RSS
//! as one JSON line and a table. See BENCHMARKS.md for the scenarios.

use anyhow::{bail, Context, Result};
use chatd_bench::conn::{connect, now_us, receive, receive_tungstenite, source, Conn, Progress};
use chatd_bench::report::{cpu_s, print_table, rss_kib, Report};
use chatd_bench::setup::{drain_backlogs, world, Account, CREATE_MEMBERS};
use chatd_bench::slices::{slice_of, SliceResult, SyncDir};
use chatd_bench::stats::{gather, payload, percentile, totals, warmup, Track};
use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser, Debug)]
#[command(about = "Load generator for chatd and its peers")]
struct Args {
    /// Server address (set-up and the publisher's socket go here).
    #[arg(long, default_value = "127.0.0.1:7001")]
    server: SocketAddr,
    /// Other nodes of the same chatd service (repeatable): connection `i` goes to the `i`th of
    /// `server` and these, in turn, so a group's members are spread over every node.
    #[arg(long = "node")]
    nodes: Vec<SocketAddr>,
    /// Speak to a peer server (uid tokens, membership in the query) instead of chatd.
    #[arg(long)]
    peer: bool,
    /// Name for the report (defaults to chatd or peer).
    #[arg(long)]
    label: Option<String>,
    /// The server's process id, to report its resident memory.
    #[arg(long)]
    pid: Option<u32>,
    /// Keep chatd accounts (and the group) here and reuse them on the next run.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Source addresses 127.0.0.2… the connections are spread over.
    #[arg(long, default_value_t = 8)]
    sources: usize,
    /// Connections opened at once.
    #[arg(long, default_value_t = 128)]
    connect_concurrency: usize,
    /// Concurrent REST calls while setting up.
    #[arg(long, default_value_t = 4)]
    setup_concurrency: usize,
    /// Worker threads of the load generator.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Fan-out: connect only the first N members (the publisher among them); the others stay
    /// offline, so the server keeps their messages for later (S2 with 90 % offline members).
    #[arg(long)]
    online: Option<usize>,
    /// Fan-out: receivers read through tokio-tungstenite (a `WebSocketStream` each, one clock
    /// reading per message), as an outside client app written with it would, instead of the
    /// load generator's own frame splitter.
    #[arg(long)]
    tungstenite: bool,
    /// Fan-out against chatd: once connected, every member fetches and drops its offline queue
    /// (`GET /api/message`), as client apps do, so the server moves and writes their delivered
    /// positions during the run (without it they stand still).
    #[arg(long)]
    drain: bool,
    /// Fan-out over several processes: the group's receivers are split into this many slices,
    /// one process each (`--slice 1..=S`), and one more process publishes (`--slice 0`); see
    /// `chatd_bench::slices`. Needs `--sync`, `--rate` and a state file made beforehand (`setup`).
    #[arg(long)]
    slices: Option<usize>,
    /// Which slice this process is (0: the publisher, which also merges the report).
    #[arg(long, default_value_t = 0)]
    slice: usize,
    /// The directory a sliced run's processes meet in (a fresh one per run).
    #[arg(long)]
    sync: Option<PathBuf>,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand, Debug, Clone)]
enum Mode {
    /// One group; one member publishes, every other member receives.
    Fanout {
        #[arg(long, default_value_t = 1000)]
        members: usize,
        /// Messages to publish.
        #[arg(long, default_value_t = 10_000)]
        messages: u32,
        /// At most this many messages not yet delivered to every receiver (when no --rate).
        #[arg(long, default_value_t = 16)]
        window: u64,
        /// Messages per second instead of a window.
        #[arg(long)]
        rate: Option<f64>,
        /// Payload bytes.
        #[arg(long, default_value_t = 100)]
        payload: usize,
        /// Give up when nothing is delivered for this long (seconds).
        #[arg(long, default_value_t = 10)]
        stall: u64,
    },
    /// Only make the accounts (and the group of all of them) and keep them in `--state`; a
    /// set-up that was cut short goes on from the state file.
    Setup {
        #[arg(long, default_value_t = 1000)]
        members: usize,
        /// Accounts only, no group (for `idle`).
        #[arg(long)]
        no_group: bool,
        /// Members the group is created with (at most the server's 10,000); the owner invites
        /// the others one by one.
        #[arg(long, default_value_t = CREATE_MEMBERS)]
        create_members: usize,
    },
    /// Idle authenticated connections, for memory per connection.
    Idle {
        #[arg(long, default_value_t = 10_000)]
        conns: usize,
        /// Seconds to hold them before measuring.
        #[arg(long, default_value_t = 3)]
        hold: u64,
    },
}

fn bar(len: u64, msg: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>18} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
    {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_message(msg.to_string());
    b
}

/// Opens one connection per path, `concurrency` at a time; returns them in order and the
/// connect times in µs. Each path comes with the member's index in the whole group, which picks
/// its node and source address, so a group's slices spread over the nodes as one process would.
async fn open_all(args: &Args, paths: Vec<(usize, String)>) -> Result<(Vec<Conn>, Vec<u32>, f64)> {
    open_each(args, paths, |c| c).await
}

/// [`open_all`], handing each connection to `opened` as soon as it is up: a client that takes
/// minutes to open all its sockets must read the first ones meanwhile (the server closes a socket
/// that answers no ping within its idle timeout).
async fn open_each<T>(
    args: &Args,
    paths: Vec<(usize, String)>,
    opened: impl Fn(Conn) -> T,
) -> Result<(Vec<T>, Vec<u32>, f64)> {
    let b = bar(paths.len() as u64, "connecting");
    let started = Instant::now();
    let servers: Vec<SocketAddr> = std::iter::once(args.server)
        .chain(args.nodes.iter().copied())
        .collect();
    let servers = &servers;
    let opened = &opened;
    let sources = args.sources;
    let results: Vec<Result<(T, u32)>> = futures_util::stream::iter(paths)
        .map(|(i, p)| {
            let b = b.clone();
            async move {
                let t = Instant::now();
                let server = servers[i % servers.len()];
                let ws = connect(server, &p, source(i, sources)).await?;
                let took = t.elapsed().as_micros() as u32;
                b.inc(1);
                Ok((opened(ws), took))
            }
        })
        .buffered(args.connect_concurrency.max(1))
        .collect()
        .await;
    b.finish_and_clear();
    let total_s = started.elapsed().as_secs_f64();
    let mut socks = Vec::with_capacity(results.len());
    let mut times = Vec::with_capacity(results.len());
    for r in results {
        let (ws, t) = r?;
        socks.push(ws);
        times.push(t);
    }
    times.sort_unstable();
    Ok((socks, times, total_s))
}

/// Every path with its index.
fn numbered(paths: Vec<String>) -> Vec<(usize, String)> {
    paths.into_iter().enumerate().collect()
}

/// Connection paths, the group id and the accounts (none for a peer) for `n` members (the
/// first publishes).
async fn members(
    args: &Args,
    n: usize,
    group: bool,
) -> Result<(Vec<String>, String, Vec<Account>)> {
    if args.peer {
        let paths = (1..=n)
            .map(|uid| format!("/ws?access_token={uid}&groups=1"))
            .collect();
        return Ok((paths, "1".into(), Vec::new()));
    }
    let b = bar(n as u64, "setting up");
    let w = world(
        &format!("http://{}", args.server),
        n,
        group,
        CREATE_MEMBERS,
        args.state.as_deref(),
        args.setup_concurrency,
        &b,
    )
    .await?;
    b.finish_and_clear();
    let paths = w
        .users
        .iter()
        .map(|u| format!("/ws?access_token={}", u.token))
        .collect();
    let group = w.group.map(|g| g.to_string()).unwrap_or_default();
    Ok((paths, group, w.users))
}

fn frame(group: &str, content: &str) -> Message {
    Message::Text(
        serde_json::json!({"type": "multicast", "groupId": group, "content": content})
            .to_string()
            .into(),
    )
}

#[allow(clippy::too_many_arguments)]
async fn fanout(
    args: &Args,
    n: usize,
    messages: u32,
    window: u64,
    rate: Option<f64>,
    size: usize,
    stall: Duration,
) -> Result<Report> {
    if n < 2 {
        bail!("a fan-out needs at least 2 members");
    }
    let (mut paths, group, accounts) = members(args, n, true).await?;
    if let Some(online) = args.online {
        paths.truncate(online.max(2));
    }
    let (mut socks, connect_us, connect_s) = open_all(args, numbered(paths)).await?;
    if args.drain && !args.peer {
        let online = accounts.len().min(socks.len());
        let b = bar(online as u64, "draining queues");
        drain_backlogs(
            &format!("http://{}", args.server),
            &accounts[..online],
            args.connect_concurrency,
        )
        .await?;
        b.finish_and_clear();
    }
    let publisher = socks.remove(0).into_ws().await;
    let receivers = socks.len() as u32;
    let progress = Arc::new(Progress::new(messages, WARMUPS, receivers));
    let (stop_tx, stop_rx) = watch::channel(false);
    let tasks: Vec<_> = socks
        .into_iter()
        .map(|c| spawn_receiver(args, c, &progress, messages, &stop_rx))
        .collect();
    let (mut tx, mut rx) = publisher.split();
    // The publisher's own socket is read too (pings, other devices' echoes).
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });

    // Warm up until one message reaches every receiver: every socket is registered.
    let mut ready = false;
    for k in 0..WARMUPS {
        tx.send(frame(&group, &warmup(k))).await?;
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until {
            if progress.warmups[k as usize].load(Ordering::Acquire) >= receivers {
                ready = true;
                break;
            }
            let _ =
                tokio::time::timeout(Duration::from_millis(50), progress.notify.notified()).await;
        }
        if ready {
            break;
        }
    }
    if !ready {
        bail!("no warm-up message reached all {receivers} receivers");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let b = bar(u64::from(messages), "publishing");
    let server_pid = args.pid.map(|p| p.to_string());
    let cpu0 = (server_pid.as_deref().and_then(cpu_s), cpu_s("self"));
    let first_send = now_us();
    let mut last_progress = (0u64, Instant::now());
    let started = Instant::now();
    let mut stalled = false;
    'send: for seq in 0..messages {
        match rate {
            Some(r) => {
                let due = started + Duration::from_secs_f64(f64::from(seq) / r);
                tokio::time::sleep_until(due.into()).await;
            }
            None => loop {
                let done = progress.completed.load(Ordering::Acquire);
                if u64::from(seq) < done + window {
                    break;
                }
                if done != last_progress.0 {
                    last_progress = (done, Instant::now());
                } else if last_progress.1.elapsed() > stall {
                    stalled = true;
                    break 'send;
                }
                let _ =
                    tokio::time::timeout(Duration::from_millis(100), progress.notify.notified())
                        .await;
            },
        }
        tx.send(frame(&group, &payload(seq, now_us(), size)))
            .await?;
        b.set_position(progress.completed.load(Ordering::Relaxed));
    }
    // Wait for the tail (or a stall).
    let mut last = (progress.completed.load(Ordering::Acquire), Instant::now());
    while !stalled && progress.completed.load(Ordering::Acquire) < u64::from(messages) {
        let done = progress.completed.load(Ordering::Acquire);
        b.set_position(done);
        if done != last.0 {
            last = (done, Instant::now());
        } else if last.1.elapsed() > stall {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), progress.notify.notified()).await;
    }
    b.finish_and_clear();
    let sent_s = started.elapsed().as_secs_f64();
    let spent = |before: Option<f64>, now: Option<f64>| Some(now? - before?);
    let publish_server_cpu_s = spent(cpu0.0, server_pid.as_deref().and_then(cpu_s));
    let publish_loadgen_cpu_s = spent(cpu0.1, cpu_s("self"));
    let rss = args.pid.and_then(rss_kib);
    let _ = stop_tx.send(true);
    let mut tracks = Vec::with_capacity(tasks.len());
    for t in tasks {
        tracks.push(t.await.context("receiver")?);
    }
    let _ = tx.close().await;
    drain.abort();
    let span_us = progress
        .last_delivery_us
        .load(Ordering::Acquire)
        .saturating_sub(first_send)
        .max(1);
    let t = totals(tracks, messages);
    Ok(Report {
        server: label(args),
        mode: "fanout".into(),
        members: n,
        messages,
        window: rate.is_none().then_some(window),
        rate,
        payload: size,
        deliveries_per_sec: t.delivered as f64 / (span_us as f64 / 1e6),
        totals: t,
        publish_s: sent_s,
        connect_s,
        connect_p50_ms: f64::from(percentile(&connect_us, 50.0)) / 1000.0,
        connect_p99_ms: f64::from(percentile(&connect_us, 99.0)) / 1000.0,
        rss_kib: rss,
        rss_per_conn_kib: None,
        publish_server_cpu_s,
        publish_loadgen_cpu_s,
    })
}

/// How long a sliced run's processes wait for each other to connect and warm up (100,000 sockets
/// over six processes take minutes to open).
const SLICE_WAIT: Duration = Duration::from_secs(1200);
const WARMUPS: u32 = 50;

/// Reads `conn` on a task of its own until `stop`.
fn spawn_receiver(
    args: &Args,
    conn: Conn,
    progress: &Arc<Progress>,
    messages: u32,
    stop: &watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Track> {
    let (p, stop) = (progress.clone(), stop.clone());
    if args.tungstenite {
        tokio::spawn(receive_tungstenite(conn, p, messages, stop))
    } else {
        tokio::spawn(receive(conn, p, messages, stop))
    }
}

/// A receiving slice of a sliced fan-out (`--slice K`, K ≥ 1): connects its share of the members,
/// says when a warm-up has reached all of them, counts the run's messages until all arrived or
/// nothing came for `stall`, and leaves its counts for the publisher.
async fn slice_receive(
    args: &Args,
    sync: &SyncDir,
    slices: usize,
    n: usize,
    messages: u32,
    stall: Duration,
) -> Result<()> {
    let k = args.slice;
    let (paths, _, _) = members(args, n, true).await?;
    let mine: Vec<(usize, String)> = numbered(paths)
        .into_iter()
        .filter(|(i, _)| slice_of(*i, slices) == k)
        .collect();
    let receivers = mine.len() as u32;
    let progress = Arc::new(Progress::new(messages, WARMUPS, receivers));
    let (stop_tx, stop_rx) = watch::channel(false);
    // Each socket is read from the moment it is open: opening 16,000 takes minutes here.
    let (tasks, connect_us, connect_s) = open_each(args, mine, |c| {
        spawn_receiver(args, c, &progress, messages, &stop_rx)
    })
    .await?;
    sync.put(&format!("connected.{k}"), connect_s.to_string().as_bytes())?;
    let until = Instant::now() + SLICE_WAIT;
    while !progress
        .warmups
        .iter()
        .any(|c| c.load(Ordering::Acquire) >= receivers)
    {
        if Instant::now() > until {
            bail!("slice {k}: no warm-up reached all {receivers} receivers");
        }
        let _ = tokio::time::timeout(Duration::from_millis(50), progress.notify.notified()).await;
    }
    sync.put(&format!("ready.{k}"), b"")?;
    sync.wait_for("published", SLICE_WAIT).await?;
    let cpu0 = cpu_s("self");
    // Until every message reached every receiver here, or nothing new came for `stall`.
    let mut last = (0u64, Instant::now());
    while progress.completed.load(Ordering::Acquire) < u64::from(messages) {
        let at = progress.last_delivery_us.load(Ordering::Acquire);
        if at != last.0 {
            last = (at, Instant::now());
        } else if last.1.elapsed() > stall {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), progress.notify.notified()).await;
    }
    let cpu = cpu_s("self").zip(cpu0).map(|(b, a)| b - a);
    let _ = stop_tx.send(true);
    let mut tracks = Vec::with_capacity(tasks.len());
    for t in tasks {
        tracks.push(t.await.context("receiver")?);
    }
    let (totals, latencies) = gather(tracks, messages);
    eprintln!(
        "slice {k}: {} receivers, {} of {} delivered, {} duplicated, {} reordered",
        receivers, totals.delivered, totals.expected, totals.duplicated, totals.reordered
    );
    let r = SliceResult {
        slice: k,
        receivers,
        totals,
        last_delivery_us: progress.last_delivery_us.load(Ordering::Acquire),
        cpu_s: cpu,
        connect_us,
    };
    sync.put_result(&r, &latencies)
}

/// The publisher of a sliced fan-out (`--slice 0`): waits for every slice to connect, warms up
/// until each says a warm-up reached all its sockets, publishes at `rate`, then merges the
/// slices' counts into the run's report.
#[allow(clippy::too_many_arguments)]
async fn slice_publish(
    args: &Args,
    sync: &SyncDir,
    slices: usize,
    n: usize,
    messages: u32,
    rate: f64,
    size: usize,
    stall: Duration,
) -> Result<Report> {
    let (paths, group, _) = members(args, n, true).await?;
    let first = paths.into_iter().next().context("no members")?;
    let (mut socks, _, _) = open_all(args, vec![(0, first)]).await?;
    let (mut tx, mut rx) = socks.remove(0).into_ws().await.split();
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
    sync.wait_all("connected", slices, SLICE_WAIT).await?;
    let mut k = 0;
    while !sync.all("ready", slices) {
        if k == WARMUPS {
            bail!("after {WARMUPS} warm-ups, not every slice was ready");
        }
        tx.send(frame(&group, &warmup(k))).await?;
        k += 1;
        for _ in 0..20 {
            if sync.all("ready", slices) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let b = bar(u64::from(messages), "publishing");
    let cpu0 = cpu_s("self");
    let first_send = now_us();
    sync.put("published", first_send.to_string().as_bytes())?;
    let started = Instant::now();
    for seq in 0..messages {
        let due = started + Duration::from_secs_f64(f64::from(seq) / rate);
        tokio::time::sleep_until(due.into()).await;
        tx.send(frame(&group, &payload(seq, now_us(), size)))
            .await?;
        b.set_position(u64::from(seq) + 1);
    }
    b.finish_and_clear();
    let publish_s = started.elapsed().as_secs_f64();
    let own_cpu = cpu_s("self").zip(cpu0).map(|(b, a)| b - a);
    // Each slice stops once it has everything, or after `stall` without a new delivery.
    sync.wait_all("result", slices, stall * 2 + Duration::from_secs(120))
        .await?;
    let _ = tx.close().await;
    drain.abort();
    let m = sync.merge(slices)?;
    let span_us = m.last_delivery_us.saturating_sub(first_send).max(1);
    Ok(Report {
        server: label(args),
        mode: "fanout".into(),
        members: n,
        messages,
        window: None,
        rate: Some(rate),
        payload: size,
        deliveries_per_sec: m.totals.delivered as f64 / (span_us as f64 / 1e6),
        totals: m.totals,
        publish_s,
        connect_s: (1..=slices)
            .filter_map(|k| sync.get(&format!("connected.{k}")).ok())
            .filter_map(|b| String::from_utf8_lossy(&b).parse::<f64>().ok())
            .fold(0.0, f64::max),
        connect_p50_ms: f64::from(percentile(&m.connect_us, 50.0)) / 1000.0,
        connect_p99_ms: f64::from(percentile(&m.connect_us, 99.0)) / 1000.0,
        rss_kib: None,
        rss_per_conn_kib: None,
        // The nodes are several processes: the script that started them reads their CPU.
        publish_server_cpu_s: None,
        publish_loadgen_cpu_s: own_cpu.map(|c| c + m.cpu_s),
    })
}

async fn idle(args: &Args, n: usize, hold: u64) -> Result<Report> {
    let (paths, _, _) = members(args, n, false).await?;
    let paths: Vec<String> = if args.peer {
        (1..=n)
            .map(|uid| format!("/ws?access_token={uid}"))
            .collect()
    } else {
        paths
    };
    let before = args.pid.and_then(rss_kib);
    let (socks, connect_us, connect_s) = open_all(args, numbered(paths)).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let progress = Arc::new(Progress::new(0, 0, 0));
    let tasks: Vec<_> = socks
        .into_iter()
        .map(|ws| tokio::spawn(receive(ws, progress.clone(), 0, stop_rx.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(hold)).await;
    let after = args.pid.and_then(rss_kib);
    let open = tasks.iter().filter(|t| !t.is_finished()).count();
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    if open != n {
        bail!("only {open} of {n} connections stayed open");
    }
    Ok(Report {
        server: label(args),
        mode: "idle".into(),
        members: n,
        messages: 0,
        window: None,
        rate: None,
        payload: 0,
        deliveries_per_sec: 0.0,
        totals: Default::default(),
        publish_s: 0.0,
        connect_s,
        connect_p50_ms: f64::from(percentile(&connect_us, 50.0)) / 1000.0,
        connect_p99_ms: f64::from(percentile(&connect_us, 99.0)) / 1000.0,
        rss_kib: after,
        rss_per_conn_kib: match (before, after) {
            (Some(b), Some(a)) => Some(a.saturating_sub(b) as f64 / n as f64),
            _ => None,
        },
        publish_server_cpu_s: None,
        publish_loadgen_cpu_s: None,
    })
}

fn label(args: &Args) -> String {
    args.label.clone().unwrap_or_else(|| {
        if args.peer {
            "peer".into()
        } else {
            "chatd".into()
        }
    })
}

fn main() -> Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    now_us();
    let report: Option<Report> = rt.block_on(async {
        match args.mode.clone() {
            Mode::Fanout {
                members,
                messages,
                rate,
                payload,
                stall,
                ..
            } if args.slices.is_some() => {
                let slices = args.slices.unwrap_or(1).max(1);
                let Some(dir) = args.sync.as_deref() else {
                    bail!("--slices needs --sync DIR");
                };
                let Some(rate) = rate else {
                    bail!(
                        "--slices needs --rate (the publisher cannot see the receivers' progress)"
                    );
                };
                if args.state.as_deref().is_none_or(|p| !p.exists()) {
                    bail!("--slices needs a state file made beforehand (the setup mode)");
                }
                let sync = SyncDir::open(dir)?;
                let stall = Duration::from_secs(stall);
                if args.slice == 0 {
                    slice_publish(
                        &args, &sync, slices, members, messages, rate, payload, stall,
                    )
                    .await
                    .map(Some)
                } else if args.slice <= slices {
                    slice_receive(&args, &sync, slices, members, messages, stall).await?;
                    Ok(None)
                } else {
                    bail!("--slice must be 0 (the publisher) to {slices}");
                }
            }
            Mode::Fanout {
                members,
                messages,
                window,
                rate,
                payload,
                stall,
            } => fanout(
                &args,
                members,
                messages,
                window,
                rate,
                payload,
                Duration::from_secs(stall),
            )
            .await
            .map(Some),
            Mode::Idle { conns, hold } => idle(&args, conns, hold).await.map(Some),
            Mode::Setup {
                members,
                no_group,
                create_members,
            } => {
                let b = bar(members as u64, "setting up");
                let w = world(
                    &format!("http://{}", args.server),
                    members,
                    !no_group,
                    create_members,
                    args.state.as_deref(),
                    args.setup_concurrency,
                    &b,
                )
                .await?;
                b.finish_and_clear();
                println!(
                    "{} accounts{}",
                    w.users.len(),
                    w.group.map(|g| format!(", group {g}")).unwrap_or_default()
                );
                Ok(None)
            }
        }
    })?;
    if let Some(report) = report {
        println!("{}", serde_json::to_string(&report)?);
        print_table(&report);
    }
    Ok(())
}
