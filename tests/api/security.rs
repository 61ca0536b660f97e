//! Issue 17's attacker review, one test per finding (SPEC §1, §9.16–25): each drives the real
//! server as an attacker would and checks what must hold.

use crate::compact::call;
use crate::files::{tiny_png, upload};
use crate::groups::{gsend, make_group_id, make_visitor};
use crate::helpers::*;
use crate::on_both;
use crate::visitors::{device, sign, visitor_call};
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

on_both!(
    visitor_tokens_are_denied_by_default,
    blocks_survive_unfriending,
    compact_invitations_obey_the_group,
    login_limit_holds_under_concurrency,
    signups_are_limited_and_expired_sessions_purged,
    slow_bodies_and_connections_per_address,
    video_screenshots_fetch_nothing_private,
    production_refuses_short_secrets,
    clients_cannot_send_system_notices,
    rest_and_websocket_share_one_send_budget,
    uploads_are_served_inert,
    forwarded_for_only_from_trusted_proxies,
    losing_redis_logs_nobody_out,
);

/// Row 1: a visitor token opens only what the spec opens to visitors.
async fn visitor_tokens_are_denied_by_default(b: Backend) {
    let app = TestApp::spawn(b).await;
    let u = app.register("vdu").await;
    let (_, vt) = make_visitor(&app).await;
    let uid = u.id.to_string();
    let users_only: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/api/chat/searchUser", vec![("keyword", "vdu")]),
        (
            "/api/chat/userset",
            vec![("userset", r#"{"chatset":{"user":2}}"#)],
        ),
        ("/api/chat/getUserSetInfo", vec![("userid", &uid)]),
        ("/api/chat/applyfriend", vec![("friend_id", &uid)]),
        ("/api/chat/group/create", vec![("userIds", "1")]),
        (
            "/api/chat/getVideoScreenshot",
            vec![("videoUrl", "/public/uploads/a.mp4")],
        ),
        (
            "/api/chat/setPassword",
            vec![
                ("oldpassword", "x"),
                ("newpassword", "secret9"),
                ("checknewpassword", "secret9"),
            ],
        ),
        ("/api/chat/deletegoodfriend/1", vec![]),
        ("/api/chat/setblackgoodfriend/1", vec![]),
    ];
    for (path, form) in users_only {
        let (s, body) = app.post(path, Some(&vt), &form).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    let history = format!("/api/chat/history?chatType=single&id={uid}");
    for path in [
        "/api/chat/goodfriendlist/1",
        "/api/chat/listapplyfriend/1",
        "/api/chat/sync?since=0",
        &history,
    ] {
        let (s, body) = app.get(path, Some(&vt)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    // What the spec opens to visitors stays open.
    let (s, body) = app
        .post(
            "/api/chat/updateUserinfo",
            Some(&vt),
            &[("fieldname", "nickname"), ("fieldValue", "guest")],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = app
        .post("/api/chat/chatGetmessageOffLine", Some(&vt), &[])
        .await;
    // Open to visitors: refused here only for want of a socket (400), not for the role.
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, _) = call(
        &app,
        Method::POST,
        "/api/group",
        &vt,
        Some(json!({"name": "g"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = app.post("/api/chat/logout", Some(&vt), &[]).await;
    ok_data(s, &body);
}

/// Row 2: unfriending never lifts the other side's block (§9.17).
async fn blocks_survive_unfriending(b: Backend) {
    let app = TestApp::spawn(b).await;
    let victim = app.register("bsv").await;
    let blocked = app.register("bsb").await;
    let owner = app.register("bso").await;
    app.befriend(&victim, &blocked).await;
    app.befriend(&owner, &victim).await;
    app.befriend(&owner, &blocked).await;
    let gid = make_group_id(&app, &owner, &[&victim, &blocked]).await;
    // The victim lets anyone write (so only the block can stop a stranger) and blocks.
    app.set_userset(&victim, r#"{"chatset":{"visitor":2,"user":2}}"#)
        .await;
    let black = format!("/api/chat/setblackgoodfriend/{}", blocked.id);
    let (s, body) = app.post(&black, Some(&victim.token), &[]).await;
    ok_data(s, &body);
    // The blocked user unfriends the victim; doing it again is refused.
    let del = format!("/api/chat/deletegoodfriend/{}", victim.id);
    let (s, body) = app.post(&del, Some(&blocked.token), &[]).await;
    ok_data(s, &body);
    let (s, body) = app.post(&del, Some(&blocked.token), &[]).await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    // The block row lists nowhere...
    let (s, body) = app
        .post(
            &format!("/api/chat/ismygoodfriend/{}", blocked.id),
            Some(&victim.token),
            &[],
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    let (_, body) = app
        .get("/api/chat/goodfriendlist/1", Some(&victim.token))
        .await;
    assert_eq!(body["data"]["count"], 1, "only the owner is listed: {body}");
    // ...and still blocks, single and group.
    let (s, body) = app.send(&blocked, &victim, "let me in").await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    let mut ws = app.ws(&victim.token).await;
    app.wait_online(&victim).await;
    ok_data_of(gsend(&app, &blocked, gid, "from the blocked").await);
    ok_data_of(gsend(&app, &owner, gid, "from the owner").await);
    let got = ws.recv().await;
    assert_eq!(got["data"]["data"], "from the owner", "{got}");
    ws.expect_silence(300).await;
    // Lifting the block removes the row; then the victim's chatset decides.
    let (s, body) = app.post(&black, Some(&victim.token), &[]).await;
    ok_data(s, &body);
    let (s, body) = app.send(&blocked, &victim, "hello again").await;
    ok_data(s, &body);
}

fn ok_data_of((s, body): (StatusCode, Value)) -> Value {
    ok_data(s, &body)
}

async fn put(app: &TestApp, path: &str, token: &str) -> StatusCode {
    call(app, Method::PUT, path, token, None).await.0
}

/// Row 3: accepting a compact invitation is a rich invite by the same inviter (§9.18).
async fn compact_invitations_obey_the_group(b: Backend) {
    let app = TestApp::spawn(b).await;
    let owner = app.register("cio").await;
    let member = app.register("cim").await;
    let invitee = app.register("cii").await;
    let late = app.register("cil").await;
    app.befriend(&owner, &member).await;
    let gid = make_group_id(&app, &owner, &[&member]).await;
    let set = |v: &'static str| {
        let app = &app;
        let token = owner.token.clone();
        async move {
            let (s, body) = app
                .post(
                    "/api/chat/groupAddUserSet",
                    Some(&token),
                    &[("group_id", &gid.to_string()), ("addGroupSet", v)],
                )
                .await;
            ok_data(s, &body);
        }
    };
    let invite = |who: &User| {
        let app = &app;
        let token = member.token.clone();
        let uid = who.id.to_string();
        async move {
            let (s, r) = call(
                app,
                Method::POST,
                "/api/request",
                &token,
                Some(json!({"groupId": gid.to_string(), "userId": uid})),
            )
            .await;
            assert_eq!(s, StatusCode::OK, "{r}");
            r["id"].as_str().unwrap().to_string()
        }
    };
    // Setting 1, invited by a member who is not the owner: pending until the owner approves.
    set("1").await;
    let rid = invite(&invitee).await;
    assert_eq!(
        put(&app, &format!("/api/request/{rid}"), &invitee.token).await,
        StatusCode::OK
    );
    let (s, _) = gsend(&app, &invitee, gid, "am I in?").await;
    assert_ne!(s, StatusCode::OK, "a pending member cannot post");
    let (s, body) = app
        .post(
            "/api/chat/groupAgreeOrNo",
            Some(&owner.token),
            &[
                ("group_id", &gid.to_string()),
                ("user_id", &invitee.id.to_string()),
                ("type", "agree"),
            ],
        )
        .await;
    ok_data(s, &body);
    ok_data_of(gsend(&app, &invitee, gid, "now I am").await);
    // Setting 2: a visitor is refused (403) and may still accept after logging in.
    set("2").await;
    let (vid, vt) = make_visitor(&app).await;
    let visitor = User {
        id: vid,
        uuid: String::new(),
        username: String::new(),
        token: vt.clone(),
    };
    let rid = invite(&visitor).await;
    assert_eq!(
        put(&app, &format!("/api/request/{rid}"), &vt).await,
        StatusCode::FORBIDDEN
    );
    let (_, pending) = call(&app, Method::GET, "/api/request", &vt, None).await;
    assert_eq!(pending.as_array().map(Vec::len), Some(1), "{pending}");
    // Setting 0, but the inviter has left: refused and declined.
    set("0").await;
    let rid = invite(&late).await;
    let (s, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/group/{gid}"),
        &member.token,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        put(&app, &format!("/api/request/{rid}"), &late.token).await,
        StatusCode::FORBIDDEN
    );
    let (_, pending) = call(&app, Method::GET, "/api/request", &late.token, None).await;
    assert_eq!(pending, json!([]), "the stale invitation is declined");
    let (s, _) = gsend(&app, &late, gid, "sneaking in").await;
    assert_ne!(s, StatusCode::OK);
}

/// Row 4: 40 concurrent wrong passwords check exactly the limit (10) and refuse the rest (§9.19).
async fn login_limit_holds_under_concurrency(b: Backend) {
    let app = TestApp::spawn(b).await;
    let u = app.register("llc").await;
    let form = [("username", u.username.as_str()), ("password", "wrongpass")];
    let tries = (0..40).map(|_| app.post("/api/loginChat", None, &form));
    let answers = futures_util::future::join_all(tries).await;
    let checked = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::BAD_REQUEST)
        .count();
    let limited = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, limited), (10, 30));
    // The window is full: even the right password waits.
    let (s, _) = app
        .post(
            "/api/loginChat",
            None,
            &[("username", &u.username), ("password", "secret123")],
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

/// The `sid` claim of a token.
fn sid_of(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["sid"].as_str().unwrap().to_string()
}

/// Row 5: sign-ups per address per hour (§9.20), and expired sessions do not stay.
async fn signups_are_limited_and_expired_sessions_purged(b: Backend) {
    let mut app = TestApp::spawn_with(b, |o| {
        o.signup_ip_limit = Some(3);
        o.token_ttl = Some(60);
    })
    .await;
    let first = app.register("sla").await;
    app.register("slb").await;
    // A refused sign-up (name taken) does not count.
    let (s, _) = app
        .post(
            "/api/regChat",
            None,
            &[("username", &first.username), ("password", "secret123")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    app.register("slc").await;
    let (s, body) = app
        .post(
            "/api/regChat",
            None,
            &[("username", &unique("sld")), ("password", "secret123")],
        )
        .await;
    fail(s, &body, StatusCode::TOO_MANY_REQUESTS);
    // A new visitor is a new account too; logging in is not.
    let dev = device();
    let ts = app.clock.now_ms().to_string();
    let (s, body) = visitor_call(
        &app,
        "/api/visitorRegister",
        Some(&sign(&dev, &ts)),
        json!({"deviceId": dev, "timestamp": ts}),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    app.login(&first).await;
    // Sessions past their expiry are deleted at start (and hourly), on both backends: sessions
    // are rows in the store of record.
    let sid = sid_of(&first.token);
    app.clock.advance(120_000);
    app.restart().await;
    let row = app.state().store.session(&sid, 0).await.unwrap();
    assert!(row.is_none(), "the expired session row is gone");
}

/// SPEC §9.20 and issue 21 (D4): sessions are records, not cache. Everything the server keeps in
/// Redis under its prefix is wiped (as a Redis restart without persistence would): every token
/// still works, and logging out still ends the session.
async fn losing_redis_logs_nobody_out(b: Backend) {
    let app = TestApp::spawn(b).await;
    let u = app.register("lrl").await;
    let uid = u.id.to_string();
    let form = [("userid", uid.as_str())];
    let me = || app.post("/api/chat/getUserSetInfo", Some(&u.token), &form);
    let (s, body) = me().await;
    ok_data(s, &body);
    if let Some(prefix) = app.options.redis_prefix.clone() {
        let client = redis::Client::open(
            std::env::var("CHATD_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        )
        .unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut c)
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL")
                .arg(&keys)
                .query_async(&mut c)
                .await
                .unwrap();
        }
    }
    let (s, body) = me().await;
    ok_data(s, &body);
    let (s, body) = app.post("/api/chat/logout", Some(&u.token), &[]).await;
    ok_data(s, &body);
    let (s, _) = me().await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// Reads until EOF or `wait`; returns what came and whether the peer closed.
async fn read_until_close(s: &mut TcpStream, wait: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into(), false),
        }
    }
}

/// Row 6: a body that does not arrive gets 408 and the connection is closed (§9.21); one address
/// holds at most CHAT_MAX_CONNS_PER_IP connections.
async fn slow_bodies_and_connections_per_address(b: Backend) {
    let app = TestApp::spawn_with(b, |o| {
        o.body_timeout = Some(1);
        o.max_conns_per_ip = Some(4);
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(
        b"POST /api/loginChat HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nu",
    )
    .await
    .unwrap();
    let (answer, closed) = read_until_close(&mut slow, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(closed, "the connection is closed after the 408");
    // The same on an endpoint that authenticates first, even without a token.
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(
        b"POST /api/chat/socket/sendmessage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{",
    )
    .await
    .unwrap();
    let (answer, closed) = read_until_close(&mut slow, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 408") && closed, "{answer}");
    // Four connections are held; a fifth is closed at once.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut c = TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let n = c.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(c);
    }
    let mut fifth = TcpStream::connect(&addr).await.unwrap();
    let _ = fifth
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let (answer, closed) = read_until_close(&mut fifth, Duration::from_secs(5)).await;
    assert!(closed && answer.is_empty(), "{answer}");
    // One closes: its place is free again.
    held.pop();
    let mut ok = false;
    for _ in 0..50 {
        let mut c = TcpStream::connect(&addr).await.unwrap();
        let _ = c
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await;
        let mut buf = [0u8; 64];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(2), c.read(&mut buf)).await {
            if String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200") {
                ok = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "a freed place is given again");
    // WebSockets hold their place for as long as they are open, not just until the upgrade.
    drop(held);
    let token = raw_register(&addr, &unique("wsc")).await;
    let url = format!("{}/ws?token={token}", app.ws_base);
    let mut sockets = Vec::new();
    for _ in 0..50 {
        if sockets.len() == 4 {
            break;
        }
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok((ws, _)) => sockets.push(ws),
            // A place of the closed connections may not be free yet.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(sockets.len(), 4);
    assert!(
        tokio_tungstenite::connect_async(url.as_str())
            .await
            .is_err(),
        "a fifth connection while four sockets are open"
    );
    drop(sockets.pop());
    let mut reopened = false;
    for _ in 0..50 {
        if tokio_tungstenite::connect_async(url.as_str()).await.is_ok() {
            reopened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reopened, "a closed socket's place is given again");
}

/// Registers over a connection of its own that closes after the answer (so it holds no place
/// under the per-address cap); returns the token.
async fn raw_register(addr: &str, username: &str) -> String {
    let body = format!("username={username}&password=secret123");
    let request = format!(
        "POST /api/regChat HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    // Places of connections the test just closed are freed when the server sees them close.
    for _ in 0..100 {
        let mut c = TcpStream::connect(addr).await.unwrap();
        let _ = c.write_all(request.as_bytes()).await;
        let (answer, _) = read_until_close(&mut c, Duration::from_secs(10)).await;
        if let Some((_, json)) = answer.split_once("\r\n\r\n") {
            let v: Value = serde_json::from_str(json).unwrap_or_else(|_| panic!("{answer}"));
            return v["data"]["token"].as_str().unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no place for a connection");
}

/// Row 7: screenshots of allowed hosts never reach private addresses; visitors may not run
/// ffmpeg; what is not a video never reaches ffmpeg.
async fn video_screenshots_fetch_nothing_private(b: Backend) {
    let app = TestApp::spawn_with(b, |o| {
        o.video_hosts = Some("localhost,metadata.internal".into())
    })
    .await;
    let u = app.register("vsp").await;
    let port = app.base.rsplit(':').next().unwrap().to_string();
    for url in [
        // An allowed name that resolves to loopback: our own server.
        format!("http://localhost:{port}/healthz"),
        "http://metadata.internal/latest/".to_string(),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        format!("http://127.0.0.1:{port}/healthz"),
    ] {
        let (s, body) = app
            .post(
                "/api/chat/getVideoScreenshot",
                Some(&u.token),
                &[("videoUrl", &url)],
            )
            .await;
        fail(s, &body, StatusCode::BAD_REQUEST);
    }
    // An upload that is an image, not a video: 415 before ffmpeg.
    let png = tiny_png(1, 1);
    let (s, body) = upload(&app, &u.token, "v", "fake.mp4", png).await;
    let url = ok_data(s, &body)["url"].as_str().unwrap().to_string();
    let (s, body) = app
        .post(
            "/api/chat/getVideoScreenshot",
            Some(&u.token),
            &[("videoUrl", &url)],
        )
        .await;
    fail(s, &body, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// Row 8: production mode refuses empty and short secrets (§9.23): the real binary exits.
async fn production_refuses_short_secrets(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let long = "k".repeat(32);
    for (name, value) in [
        ("CHAT_JWT_SECRET", ""),
        ("CHAT_JWT_SECRET", "short"),
        ("CHAT_NOTIFICATION_KEY", "short"),
    ] {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatd"));
        cmd.env_clear()
            .env("CHAT_ENV", "production")
            .env("CHAT_LISTEN", "127.0.0.1:0")
            .env("CHAT_DATA_DIR", dir.path())
            .env("CHAT_JWT_SECRET", &long)
            .env("CHAT_VISITOR_SALT", &long)
            .env("CHAT_VISITOR_APP_SECRET", &long)
            .env(name, value)
            .kill_on_drop(true);
        if b == Backend::PgRedis {
            cmd.env("DATABASE_URL", fresh_pg_database().await);
        }
        let out = tokio::time::timeout(Duration::from_secs(30), cmd.output())
            .await
            .expect("the server refuses before it serves")
            .unwrap();
        assert!(!out.status.success(), "{name}={value:?} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(name), "{err}");
    }
}

/// Rows 9: a client cannot send a systemNotice, so every client message counts for chatset 1.
async fn clients_cannot_send_system_notices(b: Backend) {
    let app = TestApp::spawn(b).await;
    let x = app.register("csx").await;
    let y = app.register("csy").await;
    app.set_userset(&y, r#"{"chatset":{"visitor":0,"user":1}}"#)
        .await;
    let notice = |data: &'static str| {
        let (app, x, y) = (&app, &x, &y);
        async move {
            app.post(
                "/api/chat/socket/sendmessage",
                Some(&x.token),
                &[
                    ("sendto_id", &y.id.to_string()),
                    ("chatType", "single"),
                    ("type", "systemNotice"),
                    ("data", data),
                ],
            )
            .await
        }
    };
    let (s, body) = notice("I am the server").await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    ok_data_of(app.send(&x, &y, "one message").await);
    let (s, body) = notice("and another").await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    let (s, body) = app.send(&x, &y, "a second one").await;
    fail(s, &body, StatusCode::BAD_REQUEST);
}

/// Row 10: REST sends and every WebSocket frame (binary too) draw from one budget per user.
async fn rest_and_websocket_share_one_send_budget(b: Backend) {
    let app = TestApp::spawn_with(b, |o| o.ws_frames_per_sec = Some(1)).await;
    let x = app.register("rbx").await;
    let y = app.register("rby").await;
    app.befriend(&x, &y).await;
    // A burst of twice the rate, then 429.
    ok_data_of(app.send(&x, &y, "1").await);
    ok_data_of(app.send(&x, &y, "2").await);
    let (s, body) = app.send(&x, &y, "3").await;
    fail(s, &body, StatusCode::TOO_MANY_REQUESTS);
    // The socket of the same user finds the budget spent.
    let mut ws = app.ws(&x.token).await;
    app.wait_online(&x).await;
    let frame =
        json!({"type": "unicast", "receiverId": y.id, "content": "4", "client_msg_id": "c4"});
    ws.send_json(frame).await;
    let answer = ws.recv().await;
    assert_eq!(
        (answer["type"].as_str(), answer["client_msg_id"].as_str()),
        (Some("error"), Some("c4")),
        "{answer}"
    );
    // Once refilled, binary frames spend it as well.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for _ in 0..2 {
        ws.stream
            .send(Message::Binary(vec![0u8; 16].into()))
            .await
            .unwrap();
    }
    ws.send_json(
        json!({"type": "unicast", "receiverId": y.id, "content": "5", "client_msg_id": "c5"}),
    )
    .await;
    let answer = ws.recv().await;
    assert_eq!(answer["type"], "error", "{answer}");
    let _ = ws.stream.next().await;
}

/// Row 11: uploads never run as pages on our origin; PDFs download.
async fn uploads_are_served_inert(b: Backend) {
    let app = TestApp::spawn(b).await;
    let u = app.register("usi").await;
    let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec();
    let (s, body) = upload(&app, &u.token, "docs", "a.pdf", pdf).await;
    let url = ok_data(s, &body)["url"].as_str().unwrap().to_string();
    let resp = app.http.get(&url).send().await.unwrap();
    let h = resp.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert_eq!(h["content-disposition"], "attachment");
    let png = tiny_png(1, 1);
    let (s, body) = upload(&app, &u.token, "imgs", "a.png", png).await;
    let url = ok_data(s, &body)["url"].as_str().unwrap().to_string();
    let resp = app.http.get(&url).send().await.unwrap();
    let h = resp.headers();
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("sandbox"));
    assert!(h.get("content-disposition").is_none(), "images show inline");
    let resp = app
        .http
        .get(app.url("/public/uploads/imgs/none.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert!(resp.headers().contains_key("content-security-policy"));
}

async fn failed_login(app: &TestApp, forwarded_for: &str) -> StatusCode {
    app.http
        .post(app.url("/api/loginChat"))
        .header("x-forwarded-for", forwarded_for)
        .form(&[
            ("username", unique("nobody").as_str()),
            ("password", "wrongpass"),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

/// Row 12: per-address limits see the client behind a trusted proxy, and a forged header from
/// anyone else changes nothing.
async fn forwarded_for_only_from_trusted_proxies(b: Backend) {
    let behind = TestApp::spawn_with(b, |o| {
        o.trusted_proxies = Some("127.0.0.1/32".into());
        o.login_ip_limit = Some(2);
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            failed_login(&behind, "1.2.3.4").await,
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(
        failed_login(&behind, "1.2.3.4").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy has its own count; a forged left part is ignored.
    assert_eq!(
        failed_login(&behind, "1.2.3.4, 5.6.7.8").await,
        StatusCode::BAD_REQUEST
    );
    let direct = TestApp::spawn_with(b, |o| o.login_ip_limit = Some(2)).await;
    for xff in ["1.1.1.1", "2.2.2.2"] {
        assert_eq!(failed_login(&direct, xff).await, StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        failed_login(&direct, "3.3.3.3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}
