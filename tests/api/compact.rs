//! SPEC §5 compact API: `/api/group`, `/api/request`, `/notification`, and both dialects in one
//! conversation.

use crate::helpers::*;
use crate::on_both;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both!(
    compact_groups_and_requests,
    notifications,
    rich_and_compact_interoperate
);

pub(crate) async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut rb = app
        .http
        .request(method, app.url(&format!("{path}{sep}access_token={token}")));
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn compact_groups_and_requests(b: Backend) {
    use reqwest::Method;
    let app = TestApp::spawn(b).await;
    let mgr = app.register("cgm").await;
    let u = app.register("cgu").await;
    let x = app.register("cgx").await;
    let (s, gid) = call(
        &app,
        Method::POST,
        "/api/group",
        &mgr.token,
        Some(json!({"name": "team"})),
    )
    .await;
    assert_eq!(s, 200);
    let gid = gid.as_str().expect("a string id").to_string();
    let (s, g) = call(
        &app,
        Method::GET,
        &format!("/api/group/{gid}"),
        &mgr.token,
        None,
    )
    .await;
    assert_eq!(
        (s, g.clone()),
        (
            StatusCode::OK,
            json!({"id": gid, "name": "team", "managerId": mgr.id.to_string(), "usersId": [mgr.id.to_string()]})
        )
    );
    let (s, _) = call(
        &app,
        Method::GET,
        &format!("/api/group/{gid}"),
        &u.token,
        None,
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = call(
        &app,
        Method::POST,
        "/api/group",
        &mgr.token,
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = call(&app, Method::GET, "/api/group", "bad-token", None).await;
    assert_eq!(s, 401);
    // Invitations: only members invite; the invitee is notified and accepts.
    let (s, _) = call(
        &app,
        Method::POST,
        "/api/request",
        &x.token,
        Some(json!({"groupId": gid, "userId": u.id.to_string()})),
    )
    .await;
    assert_eq!(s, 403);
    let mut uws = app.ws_compact(&u.token).await;
    app.wait_online(&u).await;
    let (s, r) = call(
        &app,
        Method::POST,
        "/api/request",
        &mgr.token,
        Some(json!({"groupId": gid, "userId": u.id})),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let note = uws.recv().await;
    assert_eq!(note["type"], "NOTIFICATION");
    assert_eq!(note["notificationType"], "groupInvitation");
    assert_eq!(note["content"]["groupId"], gid.as_str());
    let (s, list) = call(&app, Method::GET, "/api/request", &u.token, None).await;
    assert_eq!(s, 200);
    let rid = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        list[0],
        json!({"id": rid, "groupName": "team", "groupId": gid, "userId": u.id.to_string(), "invitedBy": mgr.id.to_string()})
    );
    let (s, _) = call(
        &app,
        Method::PUT,
        &format!("/api/request/{rid}"),
        &x.token,
        None,
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = call(
        &app,
        Method::PUT,
        &format!("/api/request/{rid}"),
        &u.token,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, ids) = call(
        &app,
        Method::GET,
        "/api/group?detailed=false",
        &u.token,
        None,
    )
    .await;
    assert_eq!((s, ids), (StatusCode::OK, json!([gid])));
    let (s, _) = call(
        &app,
        Method::POST,
        "/api/request",
        &mgr.token,
        Some(json!({"groupId": gid, "userId": u.id})),
    )
    .await;
    assert_eq!(s, 403, "already in the group");
    // Decline.
    let (_, _) = call(
        &app,
        Method::POST,
        "/api/request",
        &u.token,
        Some(json!({"groupId": gid, "userId": x.id})),
    )
    .await;
    let (_, list) = call(&app, Method::GET, "/api/request", &x.token, None).await;
    let rid2 = list[0]["id"].as_str().unwrap().to_string();
    let (s, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/request/{rid2}"),
        &u.token,
        None,
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/request/{rid2}"),
        &x.token,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (_, list) = call(&app, Method::GET, "/api/request", &x.token, None).await;
    assert_eq!(list, json!([]));
    // Rename: manager only.
    let (s, _) = call(
        &app,
        Method::PUT,
        &format!("/api/group/{gid}"),
        &u.token,
        Some(json!({"name": "mine"})),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = call(
        &app,
        Method::PUT,
        &format!("/api/group/{gid}"),
        &mgr.token,
        Some(json!({"name": "team2"})),
    )
    .await;
    assert_eq!(s, 200);
    let (_, all) = call(&app, Method::GET, "/api/group", &u.token, None).await;
    assert_eq!(all[0]["name"], "team2");
    // Removing: manager only; leaving; the manager leaving dissolves.
    let (s, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/group/{gid}?userId={}", mgr.id),
        &u.token,
        None,
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/group/{gid}?userId={}", u.id),
        &mgr.token,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/group/{gid}"),
        &u.token,
        None,
    )
    .await;
    assert_eq!(s, 403, "no longer a member");
    let (s, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/group/{gid}"),
        &mgr.token,
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call(
        &app,
        Method::GET,
        &format!("/api/group/{gid}"),
        &mgr.token,
        None,
    )
    .await;
    assert_eq!(s, 404);
}

async fn notifications(b: Backend) {
    // Disabled without a key.
    let off = TestApp::spawn(b).await;
    let resp = off
        .http
        .post(off.url("/notification?to=1"))
        .header("X-Api-Key", "x")
        .json(&json!({"notificationType": "t", "content": "c"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    let app = TestApp::spawn_with(b, |o| o.notification_key = Some("s3cret".into())).await;
    let from = app.register("nfr").await;
    let on = app.register("non").await;
    let compact_on = app.register("ncp").await;
    let offline = app.register("nof").await;
    let blocker = app.register("nbl").await;
    let mut on_ws = app.ws(&on.token).await;
    let mut c_ws = app.ws_compact(&compact_on.token).await;
    let mut b_ws = app.ws(&blocker.token).await;
    for u in [&on, &compact_on, &blocker] {
        app.wait_online(u).await;
    }
    let post = |q: String, key: Option<&'static str>, body: Value| {
        let app = &app;
        async move {
            let mut rb = app
                .http
                .post(app.url(&format!("/notification?{q}")))
                .json(&body);
            if let Some(k) = key {
                rb = rb.header("X-Api-Key", k);
            }
            rb.send().await.unwrap().status()
        }
    };
    let body = json!({"notificationType": "order", "content": {"n": 1}});
    assert_eq!(post(format!("to={}", on.id), None, body.clone()).await, 403);
    assert_eq!(
        post(format!("to={}", on.id), Some("wrong"), body.clone()).await,
        403
    );
    assert_eq!(
        post("type=broadcast".into(), Some("s3cret"), body.clone()).await,
        403,
        "broadcast needs from"
    );
    assert_eq!(
        post(
            format!("to={}&type=shout", on.id),
            Some("s3cret"),
            body.clone()
        )
        .await,
        403
    );
    // unicast, to an online rich user and an offline one (not queued).
    assert_eq!(
        post(format!("to={}", on.id), Some("s3cret"), body.clone()).await,
        200
    );
    assert_eq!(
        on_ws.recv().await,
        json!({"type": "NOTIFICATION", "notificationType": "order", "content": {"n": 1}})
    );
    assert_eq!(
        post(format!("to={}", offline.id), Some("s3cret"), body.clone()).await,
        200
    );
    let (_, queued) = app
        .get(
            &format!("/api/message?access_token={}", offline.token),
            None,
        )
        .await;
    assert_eq!(queued, json!([]));
    // multicast to a group, skipping who blacklisted `from`.
    let now = app.clock.now_ms();
    let g = app
        .state()
        .store
        .create_group(
            "n-g",
            UserId(from.id),
            "g",
            "",
            &[from.id, on.id, compact_on.id, blocker.id].map(UserId),
            now,
        )
        .await
        .unwrap();
    app.befriend(&blocker, &from).await;
    app.state()
        .store
        .set_blacklisted(UserId(blocker.id), UserId(from.id), true, now)
        .await
        .unwrap();
    assert_eq!(
        post(
            format!("type=multicast&to={}&from={}", g.id, from.id),
            Some("s3cret"),
            body.clone()
        )
        .await,
        200
    );
    assert_eq!(on_ws.recv().await["type"], "NOTIFICATION");
    assert_eq!(c_ws.recv().await["notificationType"], "order");
    b_ws.expect_silence(300).await;
    // broadcast to the friends of `from`.
    app.befriend(&from, &on).await;
    assert_eq!(
        post(
            format!("type=broadcast&from={}", from.id),
            Some("s3cret"),
            json!({"notificationType": "hi", "content": "x"})
        )
        .await,
        200
    );
    assert_eq!(on_ws.recv().await["notificationType"], "hi");
    c_ws.expect_silence(200).await;
    b_ws.expect_silence(100).await;
}

async fn rich_and_compact_interoperate(b: Backend) {
    let app = TestApp::spawn(b).await;
    let r = app.register("iro").await;
    let c = app.register("ico").await;
    app.befriend(&r, &c).await;
    let now = app.clock.now_ms();
    let g = app
        .state()
        .store
        .create_group(
            "i-g",
            UserId(r.id),
            "mix",
            "",
            &[UserId(r.id), UserId(c.id)],
            now,
        )
        .await
        .unwrap();
    let mut rws = app.ws(&r.token).await;
    let mut cws = app.ws_compact(&c.token).await;
    app.wait_online(&r).await;
    app.wait_online(&c).await;
    rws.send_json(json!({"type": "unicast", "receiverId": c.id, "content": "r->c"}))
        .await;
    rws.recv().await; // ack
    assert_eq!(cws.recv().await["content"], "r->c");
    cws.send_json(json!({"type": "unicast", "receiverId": r.id.to_string(), "content": "c->r"}))
        .await;
    assert_eq!(rws.recv().await["data"]["data"], "c->r");
    rws.send_json(json!({"type": "multicast", "groupId": g.id, "content": "r->g"}))
        .await;
    rws.recv().await; // ack
    let f = cws.recv().await;
    assert_eq!(
        (
            f["type"].clone(),
            f["groupId"].clone(),
            f["content"].clone()
        ),
        (json!("multicast"), json!(g.id.to_string()), json!("r->g"))
    );
    cws.send_json(json!({"type": "multicast", "groupId": g.id.to_string(), "content": "c->g"}))
        .await;
    let f = rws.recv().await;
    assert_eq!(
        (f["data"]["chatType"].clone(), f["data"]["data"].clone()),
        (json!("group"), json!("c->g"))
    );
    // A non-text message reaches the compact client with messageType.
    let (s, body) = app
        .post(
            "/api/chat/socket/sendmessage",
            Some(&r.token),
            &[
                ("sendto_id", &c.id.to_string()),
                ("chatType", "single"),
                ("type", "image"),
                ("data", "/u/1.png"),
            ],
        )
        .await;
    ok_data(s, &body);
    let f = cws.recv().await;
    assert_eq!(
        (f["messageType"].clone(), f["content"].clone()),
        (json!("image"), json!("/u/1.png"))
    );
}
