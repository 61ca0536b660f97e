//! Issue 19, items 1 and 5: the conversation list (newest first, last message, unread counts that
//! drop on every device of the reader, paging by cursor, one statement on the indexes) and mute.
//! Two users with two devices each and a group of three; both backends.

use crate::faults::group_over_the_api;
use crate::groups::gsend;
use crate::helpers::*;
use crate::on_both;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

on_both!(
    the_list_is_newest_first_with_unread_counts_every_device_sees,
    the_list_pages_by_cursor_and_shows_a_revoked_message_as_revoked,
    mute_flags_a_conversation_and_tells_the_other_devices,
    the_list_is_one_statement_on_the_indexes,
);

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let (s, body) = app
        .get(&format!("/api/chat/conversations{query}"), Some(token))
        .await;
    ok_data(s, &body)
}

/// The row of `chat`/`id` in a list answer.
fn row<'a>(page: &'a Value, chat: &str, id: i64) -> &'a Value {
    page["list"]
        .as_array()
        .and_then(|l| l.iter().find(|r| r["chatType"] == chat && r["id"] == id))
        .unwrap_or_else(|| panic!("no {chat} {id} in {page}"))
}

async fn the_list_is_newest_first_with_unread_counts_every_device_sees(b: Backend) {
    let app = TestApp::spawn(b).await;
    let x = app.register("cvx").await;
    let y = app.register("cvy").await;
    let z = app.register("cvz").await;
    let x2 = app.login(&x).await;
    let gid = group_over_the_api(&app, &x, &[y.clone(), z.clone()]).await;

    for i in 0..3 {
        let (s, body) = app.send(&y, &x, &format!("hi {i}")).await;
        ok_data(s, &body);
    }
    let (s, body) = app.send(&x, &y, "mine").await;
    ok_data(s, &body);
    let (s, body) = gsend(&app, &z, gid, "to the group").await;
    let group_seq = ok_data(s, &body)["seq"].as_i64().unwrap_or(0);

    // The group spoke last, so it comes first; the single chat has y's three unread (x's own
    // message is not unread to x).
    let page = list(&app, &x.token, "").await;
    let rows = page["list"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2, "{page}");
    assert_eq!(
        (rows[0]["chatType"].clone(), rows[0]["id"].clone()),
        (json!("group"), json!(gid))
    );
    assert_eq!(
        (rows[1]["chatType"].clone(), rows[1]["id"].clone()),
        (json!("single"), json!(y.id))
    );
    let single = &rows[1];
    assert_eq!(single["unread"], 3, "{single}");
    assert_eq!(single["last_seq"], 4);
    assert_eq!(single["last_message"]["data"], "mine");
    assert_eq!(single["muted"], false);
    assert!(
        single["name"].as_str().is_some_and(|n| !n.is_empty()),
        "{single}"
    );
    let group = &rows[0];
    assert_eq!(group["last_message"]["data"], "to the group");
    assert_eq!(group["last_seq"], group_seq);
    assert!(group["unread"].as_i64().unwrap_or(0) >= 1, "{group}");
    assert_eq!(page["next_cursor"], Value::Null);

    // The peer sees the same chat from their side: x's one message is unread there.
    let theirs = list(&app, &y.token, "").await;
    assert_eq!(row(&theirs, "single", x.id)["unread"], 1);

    // Device 1 reads up to 2: both devices' lists drop to 1; device 2 is told at once.
    let mut xw2 = app.ws(&x2).await;
    app.wait_online(&x).await;
    let (s, body) = app
        .post(
            "/api/chat/read",
            Some(&x.token),
            &[
                ("chatType", "single"),
                ("id", &y.id.to_string()),
                ("seq", "2"),
            ],
        )
        .await;
    ok_data(s, &body);
    let mut told = false;
    while let Some(v) = xw2.try_recv(Duration::from_millis(1000)).await {
        if v["type"] == "readSync" {
            told = true;
            break;
        }
    }
    assert!(told, "the other device got readSync");
    for token in [&x.token, &x2] {
        let page = list(&app, token, "").await;
        let single = row(&page, "single", y.id);
        assert_eq!(
            (single["unread"].clone(), single["read_seq"].clone()),
            (json!(1), json!(2))
        );
    }
    // Reading the group clears it.
    let (s, body) = app
        .post(
            "/api/chat/read",
            Some(&x2),
            &[
                ("chatType", "group"),
                ("id", &gid.to_string()),
                ("seq", &group_seq.to_string()),
            ],
        )
        .await;
    ok_data(s, &body);
    assert_eq!(
        row(&list(&app, &x.token, "").await, "group", gid)["unread"],
        0
    );

    // A user in nothing has an empty list; bad input is refused.
    let lone = app.register("cvl").await;
    assert_eq!(list(&app, &lone.token, "").await["list"], json!([]));
    for q in ["?limit=0", "?limit=101", "?cursor=nope", "?limit=x"] {
        let (s, body) = app
            .get(&format!("/api/chat/conversations{q}"), Some(&x.token))
            .await;
        assert!(s.is_client_error(), "{q}: {s} {body}");
    }
    let (s, body) = app.get("/api/chat/conversations", None).await;
    fail(s, &body, StatusCode::UNAUTHORIZED);
}

async fn the_list_pages_by_cursor_and_shows_a_revoked_message_as_revoked(b: Backend) {
    let app = TestApp::spawn(b).await;
    let x = app.register("cpx").await;
    let mut peers = Vec::new();
    for i in 0..5 {
        let p = app.register(&format!("cp{i}")).await;
        app.befriend(&x, &p).await;
        let (s, body) = app.send(&p, &x, &format!("from {i}")).await;
        ok_data(s, &body);
        peers.push(p);
    }
    // Pages of two, newest first, each conversation once.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_string();
    for _ in 0..5 {
        let page = list(&app, &x.token, &query).await;
        for r in page["list"].as_array().cloned().unwrap_or_default() {
            seen.push(r["id"].as_i64().unwrap_or(0));
        }
        match page["next_cursor"].as_str() {
            Some(c) => query = format!("?limit=2&cursor={c}"),
            None => break,
        }
    }
    let newest_first: Vec<i64> = peers.iter().rev().map(|p| p.id).collect();
    assert_eq!(seen, newest_first);

    // The oldest chat speaks again and comes to the top.
    let (s, body) = app.send(&peers[0], &x, "again").await;
    let again = ok_data(s, &body);
    let page = list(&app, &x.token, "?limit=1").await;
    assert_eq!(page["list"][0]["id"], peers[0].id);

    // Its sender revokes it: the list shows no content of it.
    let now = app.clock.now_ms().to_string();
    let (s, body) = app
        .post(
            "/api/chat/revokeMessage",
            Some(&peers[0].token),
            &[
                ("id", again["id"].as_str().unwrap_or("")),
                ("chatType", "single"),
                ("to_id", &x.id.to_string()),
                ("create_time", &now),
            ],
        )
        .await;
    ok_data(s, &body);
    let page = list(&app, &x.token, "?limit=1").await;
    let last = &page["list"][0]["last_message"];
    assert_ne!(last["data"], "again", "{last}");
    let revoked = last["isremove"] == 1 || last["actionType"] == "revoke";
    assert!(revoked, "the last message shows the revoke: {last}");
}

// (group_over_the_api makes the owner friends with each member.)
async fn mute_flags_a_conversation_and_tells_the_other_devices(b: Backend) {
    let app = TestApp::spawn(b).await;
    let x = app.register("cmx").await;
    let y = app.register("cmy").await;
    let z = app.register("cmz").await;
    let outsider = app.register("cmo").await;
    let gid = group_over_the_api(&app, &x, &[y.clone(), z.clone()]).await;
    let x2 = app.login(&x).await;
    let mut xw1 = app.ws(&x.token).await;
    let mut xw2 = app.ws(&x2).await;
    app.wait_online(&x).await;
    let mute = |token: String, chat: &'static str, id: i64, muted: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/api/chat/mute",
                Some(&token),
                &[
                    ("chatType", chat),
                    ("id", &id.to_string()),
                    ("muted", muted),
                ],
            )
            .await
        }
    };
    let (s, body) = mute(x.token.clone(), "group", gid, "true").await;
    assert_eq!(
        ok_data(s, &body),
        json!({"chatType": "group", "id": gid, "muted": true})
    );
    let mut sync = None;
    while let Some(v) = xw2.try_recv(Duration::from_millis(1000)).await {
        if v["type"] == "muteSync" {
            sync = Some(v);
            break;
        }
    }
    assert_eq!(
        sync,
        Some(json!({"type": "muteSync", "chatType": "group", "id": gid, "muted": true}))
    );
    while let Some(v) = xw1.try_recv(Duration::from_millis(300)).await {
        assert_ne!(v["type"], "muteSync", "the muting device is not told");
    }
    // Muted still counts unread.
    let (s, body) = gsend(&app, &y, gid, "while muted").await;
    ok_data(s, &body);
    let page = list(&app, &x2, "").await;
    let g = row(&page, "group", gid);
    assert_eq!(g["muted"], true);
    assert!(g["unread"].as_i64().unwrap_or(0) >= 1, "{g}");

    // A single chat with no message yet can be muted; it is listed once it has one.
    let (s, body) = mute(x.token.clone(), "single", y.id, "1").await;
    ok_data(s, &body);
    assert!(list(&app, &x.token, "").await["list"]
        .as_array()
        .is_some_and(|l| l.iter().all(|r| r["chatType"] != "single")));
    let (s, body) = app.send(&y, &x, "hello").await;
    ok_data(s, &body);
    let page = list(&app, &x.token, "").await;
    let single = row(&page, "single", y.id);
    assert_eq!(
        (single["muted"].clone(), single["unread"].clone()),
        (json!(true), json!(1))
    );
    // Unmute; y's own view is untouched.
    let (s, body) = mute(x.token.clone(), "single", y.id, "false").await;
    ok_data(s, &body);
    assert_eq!(
        row(&list(&app, &x.token, "").await, "single", y.id)["muted"],
        false
    );
    assert_eq!(
        row(&list(&app, &y.token, "").await, "single", x.id)["muted"],
        false
    );

    // Not a member, no such user, bad values: refused, nothing changes.
    let (s, body) = mute(outsider.token.clone(), "group", gid, "true").await;
    fail(s, &body, StatusCode::FORBIDDEN);
    let (s, body) = mute(x.token.clone(), "single", 987_654_321, "true").await;
    fail(s, &body, StatusCode::NOT_FOUND);
    let (s, body) = mute(x.token.clone(), "group", gid, "maybe").await;
    assert!(s.is_client_error(), "{s} {body}");
    let (s, body) = app
        .post(
            "/api/chat/mute",
            Some(&x.token),
            &[("chatType", "group"), ("id", &gid.to_string())],
        )
        .await;
    assert!(s.is_client_error(), "{s} {body}");
    assert_eq!(
        row(&list(&app, &x.token, "").await, "group", gid)["muted"],
        true
    );
}

async fn the_list_is_one_statement_on_the_indexes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let x = app.register("cqx").await;
    let y = app.register("cqy").await;
    app.befriend(&x, &y).await;
    let (s, body) = app.send(&y, &x, "q").await;
    ok_data(s, &body);
    let plan = app
        .state()
        .store
        .conversations_plan(chatd_schema::UserId(x.id))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let text = plan.join("\n");
    println!("the conversation list's plan:\n{text}");
    assert!(!plan.is_empty());
    if b == Backend::Embedded {
        // SQLite plans by rules, not table sizes: every step on messages, positions and
        // friendships is an index search, never a scan of the table.
        for line in &plan {
            let scan = line.starts_with("SCAN ")
                && [
                    "messages",
                    "conv_positions",
                    "friendships",
                    "message_audience",
                ]
                .iter()
                .any(|t| line.contains(t));
            assert!(!scan, "a full scan in the list's plan:\n{text}");
        }
    }
}
