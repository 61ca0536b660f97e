//! Issue 19, item 3: typing indicators relayed to the peer or the group's connected members,
//! rate limited, never to blockers, never to compact clients, never to the typist's own devices.

use crate::faults::group_over_the_api;
use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};
use std::time::Duration;

on_both!(
    typing_reaches_the_peer_once_per_three_seconds,
    typing_in_a_group_skips_blockers
);

/// The typing frames `ws` gets within `ms` of quiet.
async fn typing_frames(ws: &mut Ws, ms: u64) -> Vec<Value> {
    let mut got = Vec::new();
    while let Some(v) = ws.try_recv(Duration::from_millis(ms)).await {
        if v["type"] == "typing" {
            got.push(v);
        }
    }
    got
}

async fn typing_reaches_the_peer_once_per_three_seconds(b: Backend) {
    let app = TestApp::spawn(b).await;
    let x = app.register("tyx").await;
    let y = app.register("tyy").await;
    app.befriend(&x, &y).await;
    let x2 = app.login(&x).await;
    let y2 = app.login(&y).await;
    let mut xw1 = app.ws(&x.token).await;
    let mut xw2 = app.ws(&x2).await;
    let mut yw1 = app.ws(&y.token).await;
    let mut yw2 = app.ws(&y2).await;
    let mut yc = app.ws_compact(&y2).await;
    app.wait_online(&y).await;

    let frame = json!({"type": "typing", "chatType": "single", "id": y.id});
    xw1.send_json(frame.clone()).await;
    // A second one at once is dropped (one relay per 3 s per sender and conversation).
    xw1.send_json(frame.clone()).await;
    let expected = json!({"type": "typing", "chatType": "single", "id": x.id, "user_id": x.id});
    for (ws, who) in [(&mut yw1, "y1"), (&mut yw2, "y2")] {
        assert_eq!(
            typing_frames(ws, 500).await,
            vec![expected.clone()],
            "{who}"
        );
    }
    assert!(
        typing_frames(&mut yc, 300).await.is_empty(),
        "compact got typing"
    );
    assert!(
        typing_frames(&mut xw2, 300).await.is_empty(),
        "the typist's own device"
    );
    // Never stored: nothing of it in y's history with x.
    let (s, body) = app
        .get(
            &format!("/api/chat/history?chatType=single&id={}", x.id),
            Some(&y.token),
        )
        .await;
    assert_eq!(ok_data(s, &body)["list"], json!([]));

    // After the window, it is relayed again.
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    xw1.send_json(frame).await;
    assert_eq!(typing_frames(&mut yw1, 500).await, vec![expected]);
}

async fn typing_in_a_group_skips_blockers(b: Backend) {
    let app = TestApp::spawn(b).await;
    let owner = app.register("tgo").await;
    let a = app.register("tga").await;
    let blocker = app.register("tgb").await;
    let gid = group_over_the_api(&app, &owner, &[a.clone(), blocker.clone()]).await;
    app.blacklist(&blocker, &owner).await;
    let mut ow = app.ws(&owner.token).await;
    let owner2 = app.login(&owner).await;
    let mut ow2 = app.ws(&owner2).await;
    let mut aw = app.ws(&a.token).await;
    let mut bw = app.ws(&blocker.token).await;
    for u in [&owner, &a, &blocker] {
        app.wait_online(u).await;
    }
    ow.send_json(json!({"type": "typing", "chatType": "group", "id": gid}))
        .await;
    assert_eq!(
        typing_frames(&mut aw, 500).await,
        vec![json!({"type": "typing", "chatType": "group", "id": gid, "user_id": owner.id})]
    );
    assert!(
        typing_frames(&mut bw, 300).await.is_empty(),
        "a blocker got typing"
    );
    assert!(
        typing_frames(&mut ow2, 300).await.is_empty(),
        "the typist's own device"
    );
    // A non-member's typing is refused with an error frame.
    let outsider = app.register("tgx").await;
    let mut xw = app.ws(&outsider.token).await;
    xw.send_json(json!({"type": "typing", "chatType": "group", "id": gid}))
        .await;
    assert_eq!(xw.recv().await["type"], "error");
    assert!(typing_frames(&mut aw, 300).await.is_empty());
}
