//! Issue 19, item 2: read positions and receipts. Two users with two devices each (and a compact
//! socket), a group of three; REST and the rich WebSocket frame; both backends.

use crate::faults::group_over_the_api;
use crate::groups::gsend;
use crate::helpers::*;
use crate::on_both;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

on_both!(
    reading_moves_forward_syncs_devices_and_tells_the_peer,
    group_reads_are_counted_on_request_not_pushed,
    a_blocked_peer_gets_no_receipt,
);

async fn read(app: &TestApp, token: &str, chat: &str, id: i64, seq: i64) -> (StatusCode, Value) {
    app.post(
        "/api/chat/read",
        Some(token),
        &[
            ("chatType", chat),
            ("id", &id.to_string()),
            ("seq", &seq.to_string()),
        ],
    )
    .await
}

/// The next frame of `kind` within a second, skipping anything else (message frames).
async fn next_of(ws: &mut Ws, kind: &str) -> Option<Value> {
    while let Some(v) = ws.try_recv(Duration::from_millis(1000)).await {
        if v["type"] == kind {
            return Some(v);
        }
    }
    None
}

/// Asserts no frame of `kind` arrives within 300 ms.
async fn none_of(ws: &mut Ws, kind: &str, who: &str) {
    while let Some(v) = ws.try_recv(Duration::from_millis(300)).await {
        assert_ne!(v["type"], kind, "{who} got {v}");
    }
}

async fn reading_moves_forward_syncs_devices_and_tells_the_peer(b: Backend) {
    let app = TestApp::spawn(b).await;
    let x = app.register("rdx").await;
    let y = app.register("rdy").await;
    app.befriend(&x, &y).await;
    let x2 = app.login(&x).await;
    let y2 = app.login(&y).await;
    let mut xw1 = app.ws(&x.token).await;
    let mut xw2 = app.ws(&x2).await;
    let mut xc = app.ws_compact(&x2).await;
    let mut yw1 = app.ws(&y.token).await;
    let mut yw2 = app.ws(&y2).await;
    app.wait_online(&x).await;
    app.wait_online(&y).await;
    let mut seqs = Vec::new();
    for i in 0..3 {
        let (s, body) = app.send(&y, &x, &format!("r{i}")).await;
        seqs.push(ok_data(s, &body)["seq"].as_i64().unwrap_or(0));
    }
    assert_eq!(seqs, [1, 2, 3]);

    // Device 1 reads up to 2 over REST: device 2 is told, device 1 is not; so is the peer.
    let (s, body) = read(&app, &x.token, "single", y.id, 2).await;
    assert_eq!(ok_data(s, &body)["read_seq"], 2);
    let sync = next_of(&mut xw2, "readSync")
        .await
        .expect("readSync on x's other device");
    assert_eq!(
        sync,
        json!({"type": "readSync", "chatType": "single", "id": y.id, "seq": 2})
    );
    let expected = json!({"type": "receipt", "chatType": "single", "id": x.id, "seq": 2,
        "user_id": x.id});
    for (ws, who) in [(&mut yw1, "y1"), (&mut yw2, "y2")] {
        assert_eq!(
            next_of(ws, "receipt").await,
            Some(expected.clone()),
            "{who}"
        );
    }
    none_of(&mut xw1, "readSync", "the reading device").await;
    // Compact clients are never sent frame types seed 003 does not know.
    while let Some(v) = xc.try_recv(Duration::from_millis(300)).await {
        assert!(
            v["type"] != "readSync" && v["type"] != "receipt",
            "compact got {v}"
        );
    }

    // Never back: nothing moves, nobody is told.
    let (s, body) = read(&app, &x.token, "single", y.id, 1).await;
    assert_eq!(ok_data(s, &body)["read_seq"], 2);
    none_of(&mut xw2, "readSync", "x2 after a read back").await;
    none_of(&mut yw1, "receipt", "y1 after a read back").await;

    // The rich frame from device 2, past the end: capped at the last message.
    xw2.send_json(json!({"type": "read", "chatType": "single", "id": y.id, "seq": 99}))
        .await;
    let sync = next_of(&mut xw1, "readSync")
        .await
        .expect("readSync on device 1");
    assert_eq!(sync["seq"], 3);
    assert_eq!(
        next_of(&mut yw1, "receipt").await.map(|r| r["seq"].clone()),
        Some(json!(3))
    );

    // The peer asks: x has read 3, y (who sent them) has read nothing.
    let (s, body) = app
        .get(
            &format!("/api/chat/receipts?chatType=single&id={}&seq=3", x.id),
            Some(&y.token),
        )
        .await;
    let r = ok_data(s, &body);
    assert_eq!(
        (r["count"].clone(), r["users"].clone()),
        (json!(1), json!([x.id]))
    );

    // Bad input changes nothing.
    let (s, body) = read(&app, &x.token, "single", y.id, 0).await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = read(&app, &x.token, "channel", y.id, 1).await;
    assert!(s.is_client_error(), "{s} {body}");
}

async fn group_reads_are_counted_on_request_not_pushed(b: Backend) {
    let app = TestApp::spawn(b).await;
    let owner = app.register("rgo").await;
    let a = app.register("rga").await;
    let m = app.register("rgm").await;
    let outsider = app.register("rgx").await;
    let gid = group_over_the_api(&app, &owner, &[a.clone(), m.clone()]).await;
    let mut owner_ws = app.ws(&owner.token).await;
    app.wait_online(&owner).await;
    let (s, body) = gsend(&app, &owner, gid, "read me").await;
    let seq = ok_data(s, &body)["seq"].as_i64().unwrap_or(0);

    let (s, body) = read(&app, &a.token, "group", gid, seq).await;
    assert_eq!(ok_data(s, &body)["read_seq"], seq);
    // No frame per member for a group read.
    none_of(&mut owner_ws, "receipt", "the group's owner").await;

    let (s, body) = app
        .get(
            &format!("/api/chat/receipts?chatType=group&id={gid}&seq={seq}"),
            Some(&owner.token),
        )
        .await;
    let r = ok_data(s, &body);
    assert_eq!(r["count"], 1);
    assert_eq!(r["members"], 3);
    assert_eq!(r["users"], json!([a.id]));

    // Not a member: neither reads nor asks.
    let (s, body) = read(&app, &outsider.token, "group", gid, seq).await;
    fail(s, &body, StatusCode::FORBIDDEN);
    let (s, body) = app
        .get(
            &format!("/api/chat/receipts?chatType=group&id={gid}&seq={seq}"),
            Some(&outsider.token),
        )
        .await;
    fail(s, &body, StatusCode::FORBIDDEN);
}

async fn a_blocked_peer_gets_no_receipt(b: Backend) {
    let app = TestApp::spawn(b).await;
    let x = app.register("rbx").await;
    let y = app.register("rby").await;
    app.befriend(&x, &y).await;
    let (s, body) = app.send(&x, &y, "before the block").await;
    let seq = ok_data(s, &body)["seq"].as_i64().unwrap_or(0);
    let mut xw = app.ws(&x.token).await;
    app.wait_online(&x).await;
    // y blocks x, then reads x's message: x is not told.
    app.blacklist(&y, &x).await;
    let (s, body) = read(&app, &y.token, "single", x.id, seq).await;
    assert_eq!(ok_data(s, &body)["read_seq"], seq);
    none_of(&mut xw, "receipt", "the blocked sender").await;
}
