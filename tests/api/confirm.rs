//! Delivered means the client has it (SPEC §9.26–27): a message leaves the offline queue only
//! when the client confirmed it (its pong to a ping sent after the message, or its ack), never
//! because the kernel took the write; the embedded store refuses no send for its own
//! housekeeping, and a full disk is a clear refusal, not a lost message.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

on_both!(
    a_reconnecting_client_gets_its_backlog_before_anything_newer,
    a_compact_client_gets_its_backlog_and_what_was_held_once_in_order,
    a_client_that_never_fetches_its_backlog_still_gets_live_messages,
    a_client_that_drops_loses_nothing_the_kernel_took,
    a_client_that_never_answers_pings_gets_everything_again,
    an_acking_client_gets_again_only_what_it_did_not_ack,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_refuses_no_send_under_load() {
    the_store_refuses_no_send_under_load(Backend::Embedded).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_clearly_and_recovers() {
    full_disk(Backend::Embedded).await
}

/// A WebSocket client over a bare TCP socket: the upgrade by hand, then frames read as they
/// come. It answers no ping (tungstenite would), and its receive buffer can be made small.
struct RawWs {
    tcp: TcpStream,
    held: Vec<u8>,
}

impl RawWs {
    async fn connect(app: &TestApp, path: &str, recv_buffer: Option<u32>) -> RawWs {
        let addr = app.base.trim_start_matches("http://").to_string();
        let socket = TcpSocket::new_v4().unwrap();
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).unwrap();
        }
        let mut tcp = socket.connect(addr.parse().unwrap()).await.unwrap();
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        tcp.write_all(req.as_bytes()).await.unwrap();
        let mut held = Vec::new();
        let mut buf = [0u8; 4096];
        let end = loop {
            let n = tcp.read(&mut buf).await.unwrap();
            assert!(n > 0, "the server closed during the upgrade");
            held.extend_from_slice(&buf[..n]);
            if let Some(at) = held.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = String::from_utf8_lossy(&held[..end]).to_string();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        held.drain(..end);
        RawWs { tcp, held }
    }

    /// The next frame (opcode, payload), or `None` once `wait` passed or the stream ended.
    async fn frame(&mut self, wait: Duration) -> Option<(u8, Vec<u8>)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(f) = self.parse() {
                return Some(f);
            }
            let mut buf = [0u8; 65536];
            let n = tokio::time::timeout_at(deadline, self.tcp.read(&mut buf))
                .await
                .ok()?
                .ok()?;
            if n == 0 {
                return None;
            }
            self.held.extend_from_slice(&buf[..n]);
        }
    }

    /// One whole frame from what is held (server frames are unmasked).
    fn parse(&mut self) -> Option<(u8, Vec<u8>)> {
        let h = &self.held;
        if h.len() < 2 {
            return None;
        }
        let (len, at) = match h[1] & 0x7f {
            126 if h.len() >= 4 => (u16::from_be_bytes([h[2], h[3]]) as usize, 4),
            127 if h.len() >= 10 => (u64::from_be_bytes(h[2..10].try_into().ok()?) as usize, 10),
            126 | 127 => return None,
            n => (n as usize, 2),
        };
        if h.len() < at + len {
            return None;
        }
        let opcode = h[0] & 0x0f;
        let payload = h[at..at + len].to_vec();
        self.held.drain(..at + len);
        Some((opcode, payload))
    }

    /// Reads text frames (ignoring pings, answering none) until `n` arrived or `wait` passed
    /// without one; returns them parsed.
    async fn texts(&mut self, n: usize, wait: Duration) -> Vec<Value> {
        let mut got = Vec::new();
        while got.len() < n {
            match self.frame(wait).await {
                Some((1, payload)) => got.push(serde_json::from_slice(&payload).unwrap()),
                Some((8, _)) | None => break,
                Some(_) => {}
            }
        }
        got
    }

    /// Ends the connection with a reset (no close frame), as a phone losing its network does.
    // A zero linger time sends the reset at once: the drop does not block.
    #[allow(deprecated)]
    fn reset(self) {
        let _ = self.tcp.set_linger(Some(Duration::ZERO));
        drop(self.tcp);
    }
}

/// Connects a normal client for `user`, asks for the offline queue and reads what it gets
/// until a second passes with nothing: the `data` texts, in arrival order.
async fn replayed(app: &TestApp, user: &User) -> Vec<String> {
    let mut ws = app.ws(&user.token).await;
    app.wait_online(user).await;
    let (s, body) = app
        .post("/api/chat/chatGetmessageOffLine", Some(&user.token), &[])
        .await;
    ok_data(s, &body);
    let mut got = Vec::new();
    while let Some(v) = ws.try_recv(Duration::from_secs(1)).await {
        if let Some(t) = v["data"]["data"].as_str() {
            got.push(t.to_string());
        }
    }
    got
}

/// A rich socket with a 128 KiB receive buffer takes 300 acknowledged group messages (64 KiB of
/// them fit in no buffer: most sit in the kernel's buffers, written but never read), then
/// resets. Everything is in its offline queue after it reconnects, in order.
async fn a_client_that_drops_loses_nothing_the_kernel_took(b: Backend) {
    let app = TestApp::spawn_with(b, |o| o.ws_frames_per_sec = Some(100_000)).await;
    let owner = app.register("kbo").await;
    let member = app.register("kbm").await;
    let gid = crate::faults::group_over_the_api(&app, &owner, std::slice::from_ref(&member)).await;
    let raw = RawWs::connect(
        &app,
        &format!("/ws?token={}", member.token),
        Some(128 * 1024),
    )
    .await;
    app.wait_online(&member).await;
    let payload = "k".repeat(2000);
    let mut sent = Vec::new();
    for i in 0..300 {
        let text = format!("kb{i}:{payload}");
        let (s, body) = crate::groups::gsend(&app, &owner, gid, &text).await;
        ok_data(s, &body);
        sent.push(text);
    }
    raw.reset();
    app.wait_offline(&member).await;
    let got: Vec<String> = replayed(&app, &member)
        .await
        .into_iter()
        .filter(|t| t.starts_with("kb"))
        .collect();
    assert_eq!(
        got.len(),
        sent.len(),
        "every acknowledged message came again"
    );
    assert_eq!(got, sent, "in order");
}

/// A client that reads everything but never answers a ping has confirmed nothing: all of it
/// comes again from its queue.
async fn a_client_that_never_answers_pings_gets_everything_again(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a = app.register("npa").await;
    let z = app.register("npz").await;
    app.befriend(&a, &z).await;
    let mut raw = RawWs::connect(&app, &format!("/ws?token={}", z.token), None).await;
    app.wait_online(&z).await;
    let mut sent = Vec::new();
    for i in 0..20 {
        let text = format!("np{i}");
        let (s, body) = app.send(&a, &z, &text).await;
        ok_data(s, &body);
        sent.push(text);
    }
    let live = raw.texts(20, Duration::from_secs(5)).await;
    assert_eq!(live.len(), 20, "it read them all");
    // Pings came and went unanswered meanwhile (the heartbeat's among them).
    tokio::time::sleep(Duration::from_millis(300)).await;
    raw.reset();
    app.wait_offline(&z).await;
    let got = replayed(&app, &z).await;
    assert_eq!(
        got, sent,
        "nothing was confirmed, so everything comes again, in order"
    );
}

/// A socket opened with `acks=1` confirms by acks only (its pongs, which tungstenite sends,
/// confirm nothing): after it acks half and drops, exactly the other half comes again.
async fn an_acking_client_gets_again_only_what_it_did_not_ack(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a = app.register("aka").await;
    let z = app.register("akz").await;
    app.befriend(&a, &z).await;
    let mut ws = app.ws_url(&format!("/ws?token={}&acks=1", z.token)).await;
    app.wait_online(&z).await;
    let mut seqs = Vec::new();
    for i in 0..10 {
        let (s, body) = app.send(&a, &z, &format!("ak{i}")).await;
        ok_data(s, &body);
        let f = ws.recv().await;
        assert_eq!(f["data"]["data"], format!("ak{i}"));
        seqs.push(f["data"]["seq"].as_i64().unwrap());
    }
    // Reading on answers the server's pings; they must not count.
    ws.expect_silence(400).await;
    ws.send_json(json!({"type": "ack", "chatType": "single", "id": a.id, "seq": seqs[4]}))
        .await;
    ws.expect_silence(400).await;
    ws.close().await;
    app.wait_offline(&z).await;
    let got = replayed(&app, &z).await;
    let want: Vec<String> = (5..10).map(|i| format!("ak{i}")).collect();
    assert_eq!(got, want);
}

/// 2,400 sends at full speed, 32 at a time, with messages large enough that the log passes the
/// checkpointer's restart threshold several times: not one is refused.
async fn the_store_refuses_no_send_under_load(b: Backend) {
    let app = TestApp::spawn_with(b, |o| o.ws_frames_per_sec = Some(100_000)).await;
    let z = app.register("ldz").await;
    let mut senders = Vec::new();
    for _ in 0..8 {
        let s = app.register("lds").await;
        app.befriend(&s, &z).await;
        senders.push(s);
    }
    let payload = "l".repeat(12_000);
    let refused = std::sync::atomic::AtomicUsize::new(0);
    let sent = std::sync::atomic::AtomicUsize::new(0);
    let one = |worker: usize| {
        let (app, senders, z, payload, refused, sent) =
            (&app, &senders, &z, &payload, &refused, &sent);
        async move {
            for i in 0..75 {
                let from = &senders[(worker + i) % senders.len()];
                let (s, body) = app.send(from, z, &format!("{worker}:{i}:{payload}")).await;
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if !s.is_success() {
                    refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    eprintln!("refused: {s} {body}");
                }
            }
        }
    };
    futures_util::future::join_all((0..32).map(one)).await;
    assert_eq!(sent.into_inner(), 2400);
    assert_eq!(refused.into_inner(), 0, "sends refused under load");
}

/// The data directory on a small file system of the test's own (tmpfs, so root is needed):
/// once the disk is full a send is refused with 507 and a reason saying so (REST and WebSocket),
/// `/readyz` answers 503; when space returns, sends and readiness come back without a restart.
/// Nothing acknowledged is lost.
async fn full_disk(b: Backend) {
    if !nix_root() {
        eprintln!("skipped: mounting a small file system needs root");
        return;
    }
    let mount = tempfile::tempdir().unwrap();
    let path = mount.path().to_path_buf();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=12m", "tmpfs"])
        .arg(&path)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "mounting a tmpfs as root failed");
    let unmount = Unmount(path.clone());
    let app = TestApp::spawn_with(b, |o| {
        o.data_dir = Some(path.clone());
        o.ws_frames_per_sec = Some(100_000);
    })
    .await;
    let a = app.register("fda").await;
    let z = app.register("fdz").await;
    app.befriend(&a, &z).await;
    let (s, _) = app.get("/readyz", None).await;
    assert_eq!(s, reqwest::StatusCode::OK);
    // Fill the volume.
    let filler = path.join("filler");
    {
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while std::io::Write::write_all(&mut f, &chunk).is_ok() {}
        let _ = f.sync_all();
    }
    let mut acked = Vec::new();
    let mut refusal = None;
    for i in 0..3000 {
        let text = format!("fd{i}:{}", "f".repeat(4000));
        let (s, body) = app.send(&a, &z, &text).await;
        if s.is_success() {
            acked.push(text);
            continue;
        }
        refusal = Some((s, body));
        break;
    }
    let (s, body) = refusal.expect("a full disk never refused a send");
    assert_eq!(s.as_u16(), 507, "{body}");
    assert!(
        body["data"]
            .as_str()
            .unwrap_or_default()
            .contains("storage is full"),
        "{body}"
    );
    let (s, body) = app.get("/readyz", None).await;
    assert_eq!(s.as_u16(), 503, "{body}");
    assert_eq!(body["reason"], "storage full");
    // Over WebSocket: an error frame with the code.
    let mut ws = app.ws(&a.token).await;
    ws.send_json(
        json!({"type": "unicast", "receiverId": z.id, "content": "fdws",
                        "client_msg_id": "fdws"}),
    )
    .await;
    let f = ws.recv().await;
    assert_eq!(f["type"], "error", "{f}");
    assert_eq!(f["code"], 507, "{f}");
    // Space comes back: no restart needed.
    std::fs::remove_file(&filler).unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if app.get("/readyz", None).await.0.is_success() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "/readyz never came back");
    let (s, body) = app.send(&a, &z, "fd after").await;
    ok_data(s, &body);
    acked.push("fd after".into());
    let queue: Vec<String> = crate::faults::queued(&app, &z, "fd").await;
    crate::faults::assert_complete("full disk", &acked, &queue, &HashSet::new());
    drop(ws);
    drop(app);
    drop(unmount);
}

fn nix_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Unmounts the test's file system when dropped.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Per conversation `seq` ascends across a reconnect: messages sent after the socket opened but
/// before the client fetched its backlog come after the backlog, once each.
async fn a_reconnecting_client_gets_its_backlog_before_anything_newer(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (z, mut ws) = backlog_then_live(&app, "or", false).await;
    let (s, body) = app
        .post("/api/chat/chatGetmessageOffLine", Some(&z.token), &[])
        .await;
    ok_data(s, &body);
    let mut seqs = Vec::new();
    while let Some(v) = ws.try_recv(Duration::from_secs(1)).await {
        if v["data"]["data"]
            .as_str()
            .is_some_and(|t| t.starts_with("or"))
        {
            seqs.push(v["data"]["seq"].as_i64().unwrap());
        }
    }
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
}

/// A friend sends a new user `<tag>0`..`<tag>4` while the user is away, then `<tag>5`..`<tag>7`
/// once the user's socket (compact or rich) is open and before it fetched anything. Returns the
/// user and the socket.
async fn backlog_then_live(app: &TestApp, tag: &str, compact: bool) -> (User, Ws) {
    let a = app.register(&format!("{tag}a")).await;
    let z = app.register(&format!("{tag}z")).await;
    app.befriend(&a, &z).await;
    for i in 0..5 {
        let (s, body) = app.send(&a, &z, &format!("{tag}{i}")).await;
        ok_data(s, &body);
    }
    let ws = if compact {
        app.ws_compact(&z.token).await
    } else {
        app.ws(&z.token).await
    };
    app.wait_online(&z).await;
    for i in 5..8 {
        let (s, body) = app.send(&a, &z, &format!("{tag}{i}")).await;
        ok_data(s, &body);
    }
    (z, ws)
}

/// A client that never asks for its backlog still gets live messages, half a second late at
/// most.
async fn a_client_that_never_fetches_its_backlog_still_gets_live_messages(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a = app.register("nfa").await;
    let z = app.register("nfz").await;
    app.befriend(&a, &z).await;
    let (s, body) = app.send(&a, &z, "nf away").await;
    ok_data(s, &body);
    let mut ws = app.ws(&z.token).await;
    app.wait_online(&z).await;
    let (s, body) = app.send(&a, &z, "nf live").await;
    ok_data(s, &body);
    let f = ws
        .try_recv(Duration::from_secs(10))
        .await
        .expect("the live message came");
    assert_eq!(f["data"]["data"], "nf live");
}

/// The compact family: a socket holds live messages back while its user has a backlog; the
/// dropping pull answers the backlog, messages held meanwhile included (they were stored before
/// it read), in order, and the socket does not get them again.
async fn a_compact_client_gets_its_backlog_and_what_was_held_once_in_order(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (z, mut ws) = backlog_then_live(&app, "oc", true).await;
    let (s, body) = app
        .get(&format!("/api/message?access_token={}", z.token), None)
        .await;
    assert_eq!(s, reqwest::StatusCode::OK, "{body}");
    let pulled: Vec<String> = body
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["messages"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f["content"].as_str().map(str::to_string))
        .collect();
    let want: Vec<String> = (0..8).map(|i| format!("oc{i}")).collect();
    assert_eq!(pulled, want);
    ws.expect_silence(1000).await;
}
