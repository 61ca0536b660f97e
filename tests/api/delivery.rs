//! SPEC §3 single chat and §7 delivery: every device, both dialects, the rules, idempotency,
//! size limits, and a client that stops reading.

use crate::helpers::*;
use crate::on_both;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

on_both!(
    two_devices_and_other_sessions_receive,
    websocket_sends_in_both_dialects,
    stranger_blacklist_and_chatset_rules,
    repeated_client_msg_id_delivers_once,
    oversize_and_invalid_sends_are_refused,
    slow_reader_is_disconnected_and_loses_nothing,
);

async fn two_devices_and_other_sessions_receive(b: Backend) {
    let app = TestApp::spawn(b).await;
    let alice = app.register("ali").await;
    let bob = app.register("bob").await;
    app.befriend(&alice, &bob).await;
    let bob_phone = app.login(&bob).await;
    let mut bob_ws1 = app.ws(&bob.token).await;
    let mut bob_ws2 = app.ws_compact(&bob_phone).await;
    let mut alice_here = app.ws(&alice.token).await;
    let alice_tablet_token = app.login(&alice).await;
    let mut alice_tablet = app.ws(&alice_tablet_token).await;
    app.wait_online(&bob).await;
    app.wait_online(&alice).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let (s, body) = app.send(&alice, &bob, "hello bob").await;
    let msg = ok_data(s, &body);
    assert_eq!(msg["from_id"], alice.id);
    assert_eq!(msg["to_id"], bob.id);
    assert_eq!(msg["chatType"], "single");
    assert_eq!(msg["data"], "hello bob");
    assert_eq!(msg["seq"], 1);
    assert_eq!(msg["isremove"], 0);
    assert!(msg["create_time"].as_i64().is_some());
    assert!(msg["id"].as_str().is_some_and(|s| s.len() == 36));

    // Both of bob's devices, each in its own dialect.
    let rich = bob_ws1.recv().await;
    assert_eq!(rich["type"], "singleChat");
    assert_eq!(rich["data"], msg);
    assert!(rich["timestamp"].as_i64().is_some());
    let compact = bob_ws2.recv().await;
    assert_eq!(
        compact,
        json!({"type": "unicast", "senderId": alice.id.to_string(), "receiverId": bob.id.to_string(),
               "content": "hello bob", "timestamp": msg["create_time"]})
    );
    // Alice's other session gets it; the session that sent it (REST, same token) does not.
    assert_eq!(alice_tablet.recv().await["data"]["id"], msg["id"]);
    alice_here.expect_silence(300).await;
    bob_ws1.expect_silence(100).await;
}

async fn websocket_sends_in_both_dialects(b: Backend) {
    let app = TestApp::spawn(b).await;
    let rich_user = app.register("rch").await;
    let compact_user = app.register("cpt").await;
    app.befriend(&rich_user, &compact_user).await;
    let mut r = app.ws(&rich_user.token).await;
    let mut c = app.ws_compact(&compact_user.token).await;
    app.wait_online(&rich_user).await;
    app.wait_online(&compact_user).await;

    r.send_json(json!({"type": "ping"})).await;
    assert_eq!(r.recv().await, json!({"type": "pong"}));
    c.send_json(json!({"type": "ping"})).await;
    assert_eq!(c.recv().await, json!({"type": "pong"}));

    // Rich client sends a unicast frame: gets an ack with the stored message.
    r.send_json(json!({"type": "unicast", "receiverId": compact_user.id, "content": "hi c", "client_msg_id": "r1"})).await;
    let ack = r.recv().await;
    assert_eq!(ack["type"], "ack");
    assert_eq!(ack["client_msg_id"], "r1");
    assert_eq!(ack["data"]["data"], "hi c");
    let got = c.recv().await;
    assert_eq!(got["type"], "unicast");
    assert_eq!(got["senderId"], rich_user.id.to_string());
    assert_eq!(got["content"], "hi c");

    // Compact client answers with string ids: no ack, the rich client gets singleChat.
    c.send_json(
        json!({"type": "unicast", "receiverId": rich_user.id.to_string(), "content": "hi r"}),
    )
    .await;
    let got = r.recv().await;
    assert_eq!(got["type"], "singleChat");
    assert_eq!(got["data"]["from_id"], compact_user.id);
    assert_eq!(got["data"]["data"], "hi r");
    assert_eq!(got["data"]["seq"], 2);
    c.expect_silence(300).await;

    // Malformed frames: rich gets an error frame, compact nothing.
    r.send_json(json!({"type": "unicast", "content": "x"}))
        .await;
    assert_eq!(r.recv().await["type"], "error");
    c.send_json(json!({"type": "bogus"})).await;
    c.expect_silence(300).await;
}

async fn stranger_blacklist_and_chatset_rules(b: Backend) {
    let app = TestApp::spawn(b).await;
    let x = app.register("xx").await;
    let y = app.register("yy").await;
    let mut yws = app.ws(&y.token).await;
    let mut xws = app.ws(&x.token).await;
    let mut xc = app.ws_compact(&app.login(&x).await).await;
    app.wait_online(&y).await;

    // Strangers: REST 400 with a reason, rich WS error frame, compact silent; nothing delivered.
    let (s, body) = app.send(&x, &y, "hi").await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    xws.send_json(
        json!({"type": "unicast", "receiverId": y.id, "content": "hi", "client_msg_id": "e1"}),
    )
    .await;
    let e = xws.recv().await;
    assert_eq!(e["type"], "error");
    assert_eq!(e["client_msg_id"], "e1");
    xc.send_json(json!({"type": "unicast", "receiverId": y.id.to_string(), "content": "hi"}))
        .await;
    xc.expect_silence(300).await;
    yws.expect_silence(200).await;

    // chatset.user = 1: one message until y replies.
    let (s, body) = app
        .post(
            "/api/chat/userset",
            Some(&y.token),
            &[("userset", r#"{"chatset":{"visitor":0,"user":1}}"#)],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = app.send(&x, &y, "first").await;
    ok_data(s, &body);
    assert_eq!(yws.recv().await["data"]["data"], "first");
    let (s, body) = app.send(&x, &y, "second").await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    // y answers (y's chatset does not matter for x... x's does: let x allow free chat).
    let (s, body) = app
        .post(
            "/api/chat/userset",
            Some(&x.token),
            &[("userset", r#"{"chatset":{"visitor":0,"user":2}}"#)],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = app.send(&y, &x, "reply").await;
    ok_data(s, &body);
    let (s, body) = app.send(&x, &y, "now we talk").await;
    ok_data(s, &body);

    // Friends, then y blacklists x: refused again; unblacklisting restores.
    app.befriend(&x, &y).await;
    app.state()
        .store
        .set_blacklisted(UserId(y.id), UserId(x.id), true, 0)
        .await
        .unwrap();
    let (s, body) = app.send(&x, &y, "blocked?").await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    app.state()
        .store
        .set_blacklisted(UserId(y.id), UserId(x.id), false, 0)
        .await
        .unwrap();
    let (s, body) = app.send(&x, &y, "unblocked").await;
    ok_data(s, &body);

    // Unknown recipient 404, self 400.
    let (s, body) = app
        .post(
            "/api/chat/socket/sendmessage",
            Some(&x.token),
            &[
                ("sendto_id", "99999999"),
                ("chatType", "single"),
                ("type", "text"),
                ("data", "x"),
            ],
        )
        .await;
    fail(s, &body, StatusCode::NOT_FOUND);
    let (s, body) = app.send(&x, &x, "me").await;
    fail(s, &body, StatusCode::BAD_REQUEST);
}

async fn repeated_client_msg_id_delivers_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a = app.register("ida").await;
    let z = app.register("idz").await;
    app.befriend(&a, &z).await;
    let mut zws = app.ws(&z.token).await;
    app.wait_online(&z).await;
    let form = [
        ("sendto_id", z.id.to_string()),
        ("chatType", "single".into()),
        ("type", "text".into()),
        ("data", "once".into()),
        ("client_msg_id", "cid-1".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s1, b1) = app
        .post("/api/chat/socket/sendmessage", Some(&a.token), &form)
        .await;
    let (s2, b2) = app
        .post("/api/chat/socket/sendmessage", Some(&a.token), &form)
        .await;
    let first = ok_data(s1, &b1);
    assert_eq!(ok_data(s2, &b2), first);
    assert_eq!(first["client_msg_id"], "cid-1");
    assert_eq!(zws.recv().await["data"]["id"], first["id"]);
    zws.expect_silence(400).await;
    // Over WebSocket too: the ack carries the first message.
    let mut aws = app.ws(&a.token).await;
    app.wait_online(&a).await;
    aws.send_json(json!({"type": "unicast", "receiverId": z.id, "content": "other", "client_msg_id": "cid-1"})).await;
    assert_eq!(aws.recv().await["data"]["id"], first["id"]);
    zws.expect_silence(300).await;
    let (s, body) = app
        .get(
            &format!("/api/chat/history?chatType=single&id={}", z.id),
            Some(&a.token),
        )
        .await;
    assert_eq!(ok_data(s, &body)["list"].as_array().map(Vec::len), Some(1));
}

async fn oversize_and_invalid_sends_are_refused(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a = app.register("big").await;
    let z = app.register("bgz").await;
    app.befriend(&a, &z).await;
    let big = "x".repeat(65_537);
    let (s, body) = app.send(&a, &z, &big).await;
    fail(s, &body, StatusCode::PAYLOAD_TOO_LARGE);
    let exact = "y".repeat(65_536);
    let (s, body) = app.send(&a, &z, &exact).await;
    ok_data(s, &body);
    let (s, body) = app
        .post(
            "/api/chat/socket/sendmessage",
            Some(&a.token),
            &[
                ("sendto_id", &z.id.to_string()),
                ("chatType", "room"),
                ("type", "text"),
                ("data", "x"),
            ],
        )
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = app
        .post(
            "/api/chat/socket/sendmessage",
            Some(&a.token),
            &[("chatType", "single"), ("type", "text"), ("data", "x")],
        )
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = app
        .post(
            "/api/chat/socket/sendmessage",
            Some(&a.token),
            &[
                ("sendto_id", &z.id.to_string()),
                ("chatType", "single"),
                ("type", "text"),
                ("data", "x"),
                ("options", "[1]"),
            ],
        )
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    // options as JSON text comes back as an object.
    let (s, body) = app
        .post(
            "/api/chat/socket/sendmessage",
            Some(&a.token),
            &[
                ("sendto_id", &z.id.to_string()),
                ("chatType", "single"),
                ("type", "image"),
                ("data", "u.png"),
                ("options", r#"{"w":3}"#),
            ],
        )
        .await;
    assert_eq!(ok_data(s, &body)["options"], json!({"w": 3}));
    // No such group: 404 (non-members of a real group get 403, see groups.rs).
    let (s, body) = app
        .post(
            "/api/chat/socket/sendmessage",
            Some(&a.token),
            &[
                ("sendto_id", "99999999"),
                ("chatType", "group"),
                ("type", "text"),
                ("data", "x"),
            ],
        )
        .await;
    fail(s, &body, StatusCode::NOT_FOUND);
}

async fn slow_reader_is_disconnected_and_loses_nothing(b: Backend) {
    let app = TestApp::spawn_with(b, |o| o.socket_queue = Some(8)).await;
    let a = app.register("fast").await;
    let z = app.register("slow").await;
    app.befriend(&a, &z).await;
    let mut zws = app.ws(&z.token).await;
    app.wait_online(&z).await;
    // z stops reading. Large messages fill the kernel buffers, then the socket queue.
    let payload = "p".repeat(60_000);
    let mut sent: Vec<String> = Vec::new();
    for i in 0..2000 {
        let (s, body) = app.send(&a, &z, &format!("{i}:{payload}")).await;
        sent.push(
            ok_data(s, &body)["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        if !app.state().registry.is_online(UserId(z.id)) {
            break;
        }
    }
    assert!(
        !app.state().registry.is_online(UserId(z.id)),
        "the slow socket was never closed"
    );
    // Send a few more while z is offline.
    for i in 0..3 {
        let (s, body) = app.send(&a, &z, &format!("after {i}")).await;
        sent.push(
            ok_data(s, &body)["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    // What the client had buffered, then the connection ends.
    let mut got: HashSet<String> = HashSet::new();
    while let Some(v) = zws.try_recv(Duration::from_secs(2)).await {
        if let Some(id) = v["data"]["id"].as_str() {
            got.insert(id.to_string());
        }
    }
    // Everything else is in the offline queue (peek with drop=false, compact pull).
    let token = app.login(&z).await;
    let (s, body) = app
        .get(
            &format!("/api/message?drop=false&access_token={token}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let queued: Vec<Value> = body
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["messages"].as_array().cloned().unwrap_or_default())
        .collect();
    let queued_contents: HashSet<String> = queued
        .iter()
        .filter_map(|m| m["content"].as_str())
        .map(|c| c.split(':').next().unwrap_or(c).to_string())
        .collect();
    let missing: Vec<usize> = (0..sent.len())
        .filter(|&i| {
            let id = &sent[i];
            let key = if i + 3 >= sent.len() {
                format!("after {}", i + 3 - sent.len())
            } else {
                i.to_string()
            };
            !got.contains(id) && !queued_contents.contains(&key)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "lost messages {missing:?} of {}",
        sent.len()
    );
}
