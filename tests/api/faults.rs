//! Fault tests with the real `chatd` binary as a child process: what the server acknowledged
//! survives it being stopped mid-stream.

use crate::helpers::*;
use crate::on_both;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

on_both!(sigterm_mid_stream_loses_no_acknowledged_group_message);

/// Issue 21 (D2): SIGTERM while a member streams group messages to members who are offline.
/// Shutdown lets the writer and the group's fan-out finish before the process exits, so after a
/// restart every message the sender got an ack for is in every offline member's queue, once.
async fn sigterm_mid_stream_loses_no_acknowledged_group_message(b: Backend) {
    let mut app = TestApp::spawn_process(b).await;
    let owner = app.register("sto").await;
    let mut members = Vec::new();
    for _ in 0..8 {
        members.push(app.register("stm").await);
    }
    let gid = group_over_the_api(&app, &owner, &members).await;
    let pid = app.process.as_ref().and_then(|p| p.id()).expect("pid");

    let mut ws = app.ws(&owner.token).await;
    const WINDOW: usize = 16;
    const STOP_AFTER: usize = 150;
    let frame = |i: usize| {
        json!({"type": "multicast", "groupId": gid, "content": format!("m{i}"),
               "client_msg_id": format!("c{i}")})
    };
    let mut next = 0;
    for _ in 0..WINDOW {
        ws.send_json(frame(next)).await;
        next += 1;
    }
    let mut acked: Vec<String> = Vec::new();
    let mut signalled = false;
    // Until the server closes the socket (1001) or stops answering.
    while let Some(v) = ws.try_recv(Duration::from_secs(5)).await {
        if v["type"] != "ack" {
            continue;
        }
        acked.push(v["data"]["data"].as_str().unwrap().to_string());
        if acked.len() == STOP_AFTER && !signalled {
            signalled = true;
            std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .unwrap();
        }
        // The socket may already be closing; a refused send ends the stream.
        if ws.try_send_json(frame(next)).await.is_err() {
            break;
        }
        next += 1;
    }
    assert!(
        signalled,
        "only {} acks before the stream ended",
        acked.len()
    );
    assert!(app.sigterm().await, "chatd exits cleanly after SIGTERM");
    app.start_process().await;

    for m in &members {
        let (s, body) = app
            .get(
                &format!("/api/message?access_token={}&drop=false", m.token),
                None,
            )
            .await;
        // The compact API answers the array itself.
        assert_eq!(s, reqwest::StatusCode::OK);
        let queued: Vec<String> = body
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["messages"].as_array().cloned().unwrap_or_default())
            .filter_map(|f: Value| f["content"].as_str().map(str::to_string))
            .filter(|c| {
                c.strip_prefix('m')
                    .is_some_and(|n| n.parse::<u32>().is_ok())
            })
            .collect();
        let unique: HashSet<&String> = queued.iter().collect();
        assert_eq!(unique.len(), queued.len(), "a message queued twice");
        let missing: Vec<&String> = acked.iter().filter(|a| !unique.contains(a)).collect();
        assert!(
            missing.is_empty(),
            "{} of {} acknowledged messages missing from a queue: {:?}",
            missing.len(),
            acked.len(),
            &missing[..missing.len().min(10)]
        );
    }
}

/// A group of `owner` and `members` made as a client app would (no store access: the server is
/// another process): members accept friends without confirmation, the owner applies, then
/// creates the group from the friendship rows.
async fn group_over_the_api(app: &TestApp, owner: &User, members: &[User]) -> i64 {
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
