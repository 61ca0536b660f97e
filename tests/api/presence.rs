//! Issue 19, item 4: presence. Friends (both ways, neither blocking) who are online are told
//! when a user comes online and, after the debounce, goes offline; a quick reconnect is no
//! change; `GET /api/chat/presence` agrees; strangers, blocked users and hidden users see
//! nothing. Two users with two devices each; both backends, and across nodes.

use crate::helpers::*;
use crate::on_both;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

on_both!(
    friends_online_hear_of_arrivals_and_debounced_leaves,
    strangers_blocked_and_hidden_users_see_nothing,
);

/// The debounce in these tests (the default is 10 s).
const DEBOUNCE_MS: u64 = 400;

async fn spawn(b: Backend) -> TestApp {
    TestApp::spawn_with(b, |o| o.presence_debounce_ms = Some(DEBOUNCE_MS)).await
}

/// A rich socket that asks for presence frames.
async fn watch(app: &TestApp, token: &str) -> Ws {
    app.ws_url(&format!("/ws?token={token}&presence=1")).await
}

/// The presence frames `ws` gets within `ms` of quiet.
async fn presence_frames(ws: &mut Ws, ms: u64) -> Vec<Value> {
    let mut got = Vec::new();
    while let Some(v) = ws.try_recv(Duration::from_millis(ms)).await {
        if v["type"] == "presence" {
            got.push(v);
        }
    }
    got
}

async fn ask(app: &TestApp, token: &str, ids: &[i64]) -> Vec<Value> {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    let (s, body) = app
        .get(
            &format!("/api/chat/presence?ids={}", list.join(",")),
            Some(token),
        )
        .await;
    ok_data(s, &body)["list"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn friends_online_hear_of_arrivals_and_debounced_leaves(b: Backend) {
    let app = spawn(b).await;
    let x = app.register("prx").await;
    let y = app.register("pry").await;
    app.befriend(&x, &y).await;
    let x2 = app.login(&x).await;
    let y2 = app.login(&y).await;
    let mut yw1 = watch(&app, &y.token).await;
    let mut yw2 = watch(&app, &y2).await;
    let mut yc = app.ws_compact(&y2).await;
    // A rich socket that did not ask: existing clients get nothing they never asked for.
    let mut y_plain = app.ws(&y2).await;
    app.wait_online(&y).await;
    presence_frames(&mut yw1, 200).await;
    presence_frames(&mut yw2, 50).await;

    // Never connected: offline, never seen.
    assert_eq!(
        ask(&app, &y.token, &[x.id]).await,
        vec![json!({"user_id": x.id, "online": false, "last_seen": null})]
    );

    // x's first device: both of y's rich sessions are told once; compact ones never.
    let xw1 = app.ws(&x.token).await;
    let online = json!({"type": "presence", "user_id": x.id, "online": true, "last_seen": null});
    for (ws, who) in [(&mut yw1, "y1"), (&mut yw2, "y2")] {
        assert_eq!(
            presence_frames(ws, 500).await,
            vec![online.clone()],
            "{who}"
        );
    }
    assert!(
        presence_frames(&mut yc, 100).await.is_empty(),
        "compact got presence"
    );
    assert!(
        presence_frames(&mut y_plain, 100).await.is_empty(),
        "a socket that did not ask"
    );
    assert_eq!(ask(&app, &y2, &[x.id]).await[0]["online"], true);

    // A second device, and the first leaving while it stays: no change.
    let xw2 = app.ws(&x2).await;
    xw1.close().await;
    assert!(presence_frames(&mut yw1, DEBOUNCE_MS + 400)
        .await
        .is_empty());

    // The last device leaves and comes back within the debounce: no flap.
    xw2.close().await;
    app.wait_offline(&x).await;
    let xw3 = app.ws(&x2).await;
    assert!(presence_frames(&mut yw1, DEBOUNCE_MS + 400)
        .await
        .is_empty());
    assert_eq!(ask(&app, &y.token, &[x.id]).await[0]["online"], true);

    // Gone for good: after the debounce, offline with the time the last socket closed.
    let before = app.clock.now_ms();
    xw3.close().await;
    let frames = presence_frames(&mut yw2, DEBOUNCE_MS + 600).await;
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert_eq!(
        (frames[0]["user_id"].clone(), frames[0]["online"].clone()),
        (json!(x.id), json!(false))
    );
    let last_seen = frames[0]["last_seen"].as_i64().unwrap_or(0);
    assert!(
        last_seen >= before,
        "last_seen {last_seen} before the close at {before}"
    );
    assert_eq!(presence_frames(&mut yw1, 200).await.len(), 1, "y1 too");
    assert_eq!(
        ask(&app, &y.token, &[x.id]).await,
        vec![json!({"user_id": x.id, "online": false, "last_seen": last_seen})]
    );

    // Back after the debounce: online again.
    let _xw4 = app.ws(&x.token).await;
    assert_eq!(presence_frames(&mut yw1, 500).await, vec![online]);
}

async fn strangers_blocked_and_hidden_users_see_nothing(b: Backend) {
    let app = spawn(b).await;
    let x = app.register("phx").await;
    let f = app.register("phf").await;
    let blocker = app.register("phb").await;
    let stranger = app.register("phs").await;
    app.befriend(&x, &f).await;
    app.befriend(&x, &blocker).await;
    app.blacklist(&blocker, &x).await;
    let mut fw = watch(&app, &f.token).await;
    let mut bw = watch(&app, &blocker.token).await;
    let mut sw = watch(&app, &stranger.token).await;
    app.wait_online(&f).await;
    app.wait_online(&blocker).await;
    app.wait_online(&stranger).await;
    presence_frames(&mut fw, 200).await;

    let xw = app.ws(&x.token).await;
    assert_eq!(presence_frames(&mut fw, 500).await.len(), 1, "the friend");
    assert!(
        presence_frames(&mut bw, 100).await.is_empty(),
        "the blocker"
    );
    assert!(
        presence_frames(&mut sw, 100).await.is_empty(),
        "the stranger"
    );
    let unknown = vec![json!({"user_id": x.id, "online": null, "last_seen": null})];
    assert_eq!(ask(&app, &blocker.token, &[x.id]).await, unknown);
    assert_eq!(ask(&app, &stranger.token, &[x.id]).await, unknown);
    // Nor the other way: x does not see the blocker.
    assert_eq!(
        ask(&app, &x.token, &[blocker.id]).await[0]["online"],
        Value::Null
    );

    // x hides presence: no frames, unknown to friends too.
    app.set_userset(&x, r#"{"chatset":{"visitor":0,"user":0},"presence":0}"#)
        .await;
    xw.close().await;
    assert!(
        presence_frames(&mut fw, DEBOUNCE_MS + 500).await.is_empty(),
        "hidden leave"
    );
    let _xw = app.ws(&x.token).await;
    assert!(
        presence_frames(&mut fw, 500).await.is_empty(),
        "hidden arrival"
    );
    assert_eq!(ask(&app, &f.token, &[x.id]).await, unknown);

    // Bad lists are refused.
    for q in ["", "?ids=", "?ids=0", "?ids=a,b"] {
        let (s, body) = app
            .get(&format!("/api/chat/presence{q}"), Some(&f.token))
            .await;
        fail(s, &body, StatusCode::BAD_REQUEST);
    }
    let many: Vec<String> = (1..=201).map(|i| i.to_string()).collect();
    let (s, body) = app
        .get(
            &format!("/api/chat/presence?ids={}", many.join(",")),
            Some(&f.token),
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
}
