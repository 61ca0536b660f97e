//! Fault tests with the real `chatd` binary as a child process: what the server acknowledged
//! survives it being stopped mid-stream, gracefully (SIGTERM) or not (kill -9).

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

on_both!(
    sigterm_at_several_points_loses_no_acknowledged_group_message,
    kill_9_mid_stream_loses_no_acknowledged_group_message,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_loses_nothing_and_holds_nothing_up() {
    redis_outage(Backend::PgRedis).await
}

/// How the stream's server process is stopped.
#[derive(Clone, Copy)]
enum Stop {
    Term,
    Kill,
}

/// Streams group messages `"{tag}{i}"` (`i` < `total`) from `owner` over WebSocket, 16 in flight,
/// and stops the server as `stop` says once `stop_after` are acknowledged; goes on sending until
/// the socket ends. Returns what was acknowledged.
async fn stream_and_stop(
    app: &mut TestApp,
    owner: &User,
    gid: i64,
    tag: &str,
    stop_after: usize,
    total: usize,
    stop: Stop,
) -> Vec<String> {
    let pid = app.process.as_ref().and_then(|p| p.id()).expect("pid");
    let mut ws = app.ws(&owner.token).await;
    const WINDOW: usize = 16;
    let frame = |i: usize| {
        json!({"type": "multicast", "groupId": gid, "content": format!("{tag}{i}"),
               "client_msg_id": format!("{tag}c{i}")})
    };
    let mut next = 0;
    for _ in 0..WINDOW {
        ws.send_json(frame(next)).await;
        next += 1;
    }
    let mut acked: Vec<String> = Vec::new();
    let mut stopped = false;
    // Until the server closes the socket (1001) or dies.
    while let Some(v) = ws.try_recv(Duration::from_secs(5)).await {
        if v["type"] != "ack" {
            continue;
        }
        acked.push(v["data"]["data"].as_str().unwrap().to_string());
        if acked.len() == stop_after && !stopped {
            stopped = true;
            let signal = match stop {
                Stop::Term => "-TERM",
                Stop::Kill => "-KILL",
            };
            std::process::Command::new("kill")
                .args([signal, &pid.to_string()])
                .status()
                .unwrap();
        }
        if next < total {
            // The socket may already be closing; a refused send ends the stream.
            if ws.try_send_json(frame(next)).await.is_err() {
                break;
            }
            next += 1;
        }
    }
    assert!(stopped, "only {} acks before the stream ended", acked.len());
    acked
}

/// `from` sends `messages` texts `<tag><i>` to `to` through `send_via` (REST, one at a time)
/// while `to` connects to `connect_to` `closes` times, each socket reading for `stay`, then
/// closing and reading up to the server's close (whatever it wrote before is counted). Returns
/// the acknowledged texts and those received live.
pub(crate) async fn stream_while_reconnecting(
    send_via: &TestApp,
    connect_to: &TestApp,
    (from, to): (&User, &User),
    (tag, messages): (&str, usize),
    (closes, stay): (usize, Duration),
) -> (Vec<String>, HashSet<String>) {
    let sender = async {
        let mut acked = Vec::new();
        for i in 0..messages {
            let text = format!("{tag}{i}");
            let (s, _) = send_via.send(from, to, &text).await;
            if s.is_success() {
                acked.push(text);
            }
        }
        acked
    };
    let arrivals = async {
        let mut live = HashSet::new();
        for _ in 0..closes {
            let mut ws = connect_to.ws(&to.token).await;
            let until = tokio::time::Instant::now() + stay;
            while let Ok(Some(v)) =
                tokio::time::timeout_at(until, ws.try_recv(Duration::from_secs(5))).await
            {
                live.extend(v["data"]["data"].as_str().map(str::to_string));
            }
            let _ = ws.stream.close(None).await;
            while let Some(v) = ws.try_recv(Duration::from_secs(2)).await {
                live.extend(v["data"]["data"].as_str().map(str::to_string));
            }
        }
        live
    };
    tokio::join!(sender, arrivals)
}

/// `user`'s offline queue (compact pull, nothing dropped): the contents starting with `tag`.
pub(crate) async fn queued(app: &TestApp, user: &User, tag: &str) -> Vec<String> {
    app.queue_frames(user)
        .await
        .into_iter()
        .filter_map(|f: Value| f["content"].as_str().map(str::to_string))
        .filter(|c| c.starts_with(tag))
        .collect()
}

/// Asserts `queue` holds nothing twice and, with `live`, every one of `acked`.
pub(crate) fn assert_complete(
    who: &str,
    acked: &[String],
    queue: &[String],
    live: &HashSet<String>,
) {
    let unique: HashSet<&String> = queue.iter().collect();
    assert_eq!(unique.len(), queue.len(), "{who}: a message queued twice");
    let missing: Vec<&String> = acked
        .iter()
        .filter(|a| !unique.contains(a) && !live.contains(*a))
        .collect();
    assert!(
        missing.is_empty(),
        "{who}: {} of {} acknowledged messages missing: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(10)]
    );
}

/// Issue 21 (D2): SIGTERM at several points of a stream of group messages to members who are
/// offline. After each restart every message the sender got an ack for, in every round so far,
/// is in every offline member's queue, once.
async fn sigterm_at_several_points_loses_no_acknowledged_group_message(b: Backend) {
    let mut app = TestApp::spawn_process(b).await;
    let owner = app.register("sto").await;
    let mut members = Vec::new();
    for _ in 0..6 {
        members.push(app.register("stm").await);
    }
    let gid = group_over_the_api(&app, &owner, &members).await;
    let mut acked = Vec::new();
    for (round, stop_after) in [5usize, 60, 200].into_iter().enumerate() {
        let tag = format!("r{round}m");
        acked.extend(
            stream_and_stop(&mut app, &owner, gid, &tag, stop_after, 100_000, Stop::Term).await,
        );
        assert!(app.sigterm().await, "chatd exits cleanly after SIGTERM");
        app.start_process().await;
        for m in &members {
            let queue = queued(&app, m, "r").await;
            assert_complete(&format!("round {round}"), &acked, &queue, &HashSet::new());
        }
    }
}

/// Issue 21 (D1): kill -9 during a 1,000-message group stream, half the members online and half
/// offline. After a restart every acknowledged message is in each offline member's queue, and
/// each online member has it live or in its queue; none is twice in a queue.
async fn kill_9_mid_stream_loses_no_acknowledged_group_message(b: Backend) {
    let mut app = TestApp::spawn_process(b).await;
    let owner = app.register("k9o").await;
    let mut members = Vec::new();
    for _ in 0..8 {
        members.push(app.register("k9m").await);
    }
    let gid = group_over_the_api(&app, &owner, &members).await;
    let (online, offline) = members.split_at(4);
    let mut readers = Vec::new();
    for m in online {
        readers.push(live_reader(&app, m).await);
    }
    let stop_after = somewhere_in(300..700);
    let acked = stream_and_stop(&mut app, &owner, gid, "k", stop_after, 1000, Stop::Kill).await;
    app.wait_killed().await;
    let mut lives = Vec::new();
    for r in readers {
        lives.push(r.await.unwrap());
    }
    app.start_process().await;
    for m in offline {
        let queue = queued(&app, m, "k").await;
        assert_complete("offline member", &acked, &queue, &HashSet::new());
    }
    for (m, live) in online.iter().zip(&lives) {
        let queue = queued(&app, m, "k").await;
        assert_complete("online member", &acked, &queue, live);
    }
}

/// Connects `m` to `app`, catches it up (the group's notices, so live delivery moves positions)
/// and reads what arrives live until 10 s of quiet or the socket ends; the task's answer is the
/// contents it got.
pub(crate) async fn live_reader(
    app: &TestApp,
    m: &User,
) -> tokio::task::JoinHandle<HashSet<String>> {
    let mut ws = app.ws(&m.token).await;
    // At once, as a client app does: the server waits for a socket still opening.
    let (s, body) = app
        .post("/api/chat/chatGetmessageOffLine", Some(&m.token), &[])
        .await;
    ok_data(s, &body);
    tokio::spawn(async move {
        let mut live = HashSet::new();
        while let Some(v) = ws.try_recv(Duration::from_secs(10)).await {
            if let Some(c) = v["data"]["data"].as_str() {
                live.insert(c.to_string());
            }
        }
        live
    })
}

/// A point in `range` that changes from run to run (where a fault test strikes).
pub(crate) fn somewhere_in(range: std::ops::Range<usize>) -> usize {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as usize)
        .unwrap_or(0);
    range.start + nanos % (range.end - range.start).max(1)
}

/// A group of `owner` and `members` made as a client app would (no store access: the server is
/// another process): members accept friends without confirmation, the owner applies, then
/// creates the group from the friendship rows.
pub(crate) async fn group_over_the_api(app: &TestApp, owner: &User, members: &[User]) -> i64 {
    let mut rows = Vec::new();
    for m in members {
        rows.push(app.befriend_over_api(owner, m).await.to_string());
    }
    let (s, body) = app
        .post_json(
            "/api/chat/group/create",
            Some(&owner.token),
            json!({"userIds": rows}),
        )
        .await;
    ok_data(s, &body)["id"].as_i64().unwrap()
}

/// A Redis server of the test's own, so it can be stopped and restarted: empty (no
/// persistence), or with its data (an append-only file written at every command).
pub(crate) struct OwnRedis {
    port: u16,
    child: Option<std::process::Child>,
    /// The data directory when persistent.
    dir: Option<tempfile::TempDir>,
}

impl OwnRedis {
    pub(crate) fn start() -> OwnRedis {
        Self::start_with(false)
    }

    pub(crate) fn start_with(persistent: bool) -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = persistent.then(|| tempfile::tempdir().expect("tempdir"));
        let mut r = OwnRedis {
            port,
            child: None,
            dir,
        };
        r.restart();
        r
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub(crate) fn restart(&mut self) {
        let mut cmd = std::process::Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"]);
        match &self.dir {
            Some(d) => cmd
                .args([
                    "--save",
                    "",
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                ])
                .arg("--dir")
                .arg(d.path()),
            None => cmd.args(["--save", "", "--appendonly", "no"]),
        };
        let child = cmd
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed by scripts/test.sh");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start");
    }

    pub(crate) fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Issue 21 (D3, D4): Redis is stopped for 8 s and comes back empty while a member sends to a
/// group over WebSocket and REST and others log in. No ack waits a second (a login, which hashes
/// a password, is timed apart and does not wait on Redis), every acknowledged message is in each
/// offline member's queue, and every session still works.
async fn redis_outage(b: Backend) {
    let mut redis = OwnRedis::start();
    let url = redis.url();
    let app = TestApp::spawn_process_with(b, |o| o.redis_url = Some(url)).await;
    let owner = app.register("ro").await;
    let mut members = Vec::new();
    for _ in 0..3 {
        members.push(app.register("rm").await);
    }
    let gid = group_over_the_api(&app, &owner, &members).await;
    let mut ws = app.ws(&owner.token).await;
    let mut acked = Vec::new();
    let mut worst = Duration::ZERO;
    let mut worst_login = Duration::ZERO;
    let started = std::time::Instant::now();
    let mut i = 0;
    let mut phase = 0;
    while started.elapsed() < Duration::from_secs(11) {
        // Redis goes away after 1 s and comes back, empty, 8 s later.
        if phase == 0 && started.elapsed() > Duration::from_secs(1) {
            redis.kill();
            phase = 1;
        }
        if phase == 1 && started.elapsed() > Duration::from_secs(9) {
            redis.restart();
            phase = 2;
        }
        let sent = std::time::Instant::now();
        let content = format!("o{i}");
        if i % 10 == 9 {
            // Every tenth over REST, and a login beside it.
            let (s, body) = app
                .post(
                    "/api/chat/socket/sendmessage",
                    Some(&owner.token),
                    &[
                        ("sendto_id", &gid.to_string()),
                        ("chatType", "group"),
                        ("type", "text"),
                        ("data", &content),
                    ],
                )
                .await;
            ok_data(s, &body);
            worst = worst.max(sent.elapsed());
            // A login beside it: its rate limits count in Redis, or in the store while Redis
            // does not answer. It hashes a password, so it is timed on its own.
            let at = std::time::Instant::now();
            let _ = app.login(&members[0]).await;
            worst_login = worst_login.max(at.elapsed());
        } else {
            ws.send_json(
                json!({"type": "multicast", "groupId": gid, "content": content,
                                "client_msg_id": format!("oc{i}")}),
            )
            .await;
            loop {
                let v = ws.recv().await;
                if v["type"] == "ack" {
                    break;
                }
            }
            worst = worst.max(sent.elapsed());
        }
        acked.push(content);
        i += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(phase == 2, "the outage never ended");
    assert!(
        worst < Duration::from_secs(1),
        "an ack waited {worst:?} during the outage"
    );
    // Before the fix a login waited ~9.5 s on the unreachable Redis.
    assert!(
        worst_login < Duration::from_secs(4),
        "a login waited {worst_login:?} during the outage"
    );
    for m in &members {
        let queue = queued(&app, m, "o").await;
        assert_complete("offline member", &acked, &queue, &HashSet::new());
    }
    // Sessions are in the database: the owner's token still works after Redis came back empty.
    let (s, _) = app
        .post("/api/chat/chatGetmessageOffLine", Some(&owner.token), &[])
        .await;
    assert_eq!(s, reqwest::StatusCode::OK);
}
