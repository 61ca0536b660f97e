//! Group fan-out at size: a 2,000-member group where every online member receives each message
//! of a burst exactly once and in order, and offline members find them in their queues; and a
//! member that stops reading loses nothing while the others get everything.

use crate::helpers::*;
use crate::on_both;
use chatd::auth::Role;
use chatd::config::Options;
use chatd_schema::models::NewUser;
use futures_util::StreamExt;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

on_both!(
    two_thousand_member_burst,
    two_thousand_member_burst_split,
    slow_member_loses_nothing,
    slow_member_loses_nothing_split
);

/// Passes split over three threads (runs of at least 500 members), as a group of 4,096 or
/// more is by default on two cores.
fn split(o: &mut Options) {
    o.fanout_threads = Some(3);
    o.fanout_split_min = Some(500);
}

async fn two_thousand_member_burst(b: Backend) {
    burst_to_two_thousand(b, |_| {}).await;
}

async fn two_thousand_member_burst_split(b: Backend) {
    burst_to_two_thousand(b, split).await;
}

async fn slow_member_loses_nothing(b: Backend) {
    slow_member(b, |_| {}).await;
}

/// Each of the three members in a run of its own, on its own thread.
async fn slow_member_loses_nothing_split(b: Backend) {
    slow_member(b, |o| {
        o.fanout_threads = Some(3);
        o.fanout_split_min = Some(1);
    })
    .await;
}

/// Users made through the Store (hashing 2,000 passwords would dominate the test), with a
/// session and token each.
async fn bulk_users(app: &TestApp, n: usize) -> Vec<(UserId, String)> {
    let st = app.state();
    let now = app.clock.now_ms();
    let tag = unique("b");
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let u = st
            .store
            .create_user(&NewUser {
                password: "-".into(),
                ..NewUser::plain(uuid::Uuid::new_v4().to_string(), format!("{tag}_{i}"), now)
            })
            .await
            .unwrap();
        let sid = uuid::Uuid::new_v4().simple().to_string();
        st.sessions
            .create(&sid, u.id, "user", now, 3600)
            .await
            .unwrap();
        out.push((u.id, st.tokens.mint(u.id, Role::User, &sid, now).unwrap()));
    }
    out
}

async fn burst_to_two_thousand(b: Backend, tweak: fn(&mut Options)) {
    let app = TestApp::spawn_with(b, tweak).await;
    let owner = app.register("bgo").await;
    let users = bulk_users(&app, 1999).await;
    let mut ids = vec![UserId(owner.id)];
    ids.extend(users.iter().map(|(id, _)| *id));
    let now = app.clock.now_ms();
    let g = app
        .state()
        .store
        .create_group(
            &uuid::Uuid::new_v4().to_string(),
            UserId(owner.id),
            "big",
            "",
            &ids,
            now,
        )
        .await
        .unwrap();
    let (online, offline) = users.split_at(1000);
    let mut sockets = Vec::with_capacity(online.len());
    for (_, token) in online {
        sockets.push(app.ws_compact(token).await);
    }
    for _ in 0..500 {
        if app.state().registry.online_users() >= online.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.state().registry.online_users(), online.len());

    const BURST: usize = 20;
    let mut sent = Vec::new();
    for i in 0..BURST {
        let (s, body) = app
            .post(
                "/api/chat/socket/sendmessage",
                Some(&owner.token),
                &[
                    ("sendto_id", &g.id.to_string()),
                    ("chatType", "group"),
                    ("type", "text"),
                    ("data", &format!("burst {i}")),
                ],
            )
            .await;
        sent.push(ok_data(s, &body)["data"].as_str().unwrap().to_string());
    }
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut got = Vec::new();
                while got.len() < BURST + 1 {
                    match tokio::time::timeout(Duration::from_secs(60), ws.stream.next()).await {
                        Ok(Some(Ok(Message::Text(t)))) => {
                            let v: Value = serde_json::from_str(t.as_str()).unwrap();
                            if v["type"] == "multicast" && v.get("messageType").is_none() {
                                got.push(v["content"].as_str().unwrap().to_string());
                            }
                        }
                        Ok(Some(Ok(_))) => continue,
                        _ => break,
                    }
                    if got.len() == BURST {
                        // Anything more within a moment would be a duplicate.
                        if let Ok(Some(Ok(Message::Text(t)))) =
                            tokio::time::timeout(Duration::from_millis(200), ws.stream.next()).await
                        {
                            got.push(t.to_string());
                        }
                        break;
                    }
                }
                got
            })
        })
        .collect();
    for r in readers {
        assert_eq!(r.await.unwrap(), sent, "every message once, in order");
    }
    let st = app.state();
    for (id, _) in offline {
        let queued = st.store.backlog(*id, 0, 100_000).await.unwrap();
        let datas: Vec<String> = queued.into_iter().map(|q| q.data).collect();
        assert_eq!(datas, sent, "offline member {id}");
    }
}

async fn slow_member(b: Backend, tweak: fn(&mut Options)) {
    let app = TestApp::spawn_with(b, |o| {
        o.socket_queue = Some(8);
        tweak(o);
    })
    .await;
    let owner = app.register("slo").await;
    let users = bulk_users(&app, 2).await;
    let (fast_id, fast_token) = users[0].clone();
    let (slow_id, slow_token) = users[1].clone();
    let g = app
        .state()
        .store
        .create_group(
            &uuid::Uuid::new_v4().to_string(),
            UserId(owner.id),
            "s",
            "",
            &[UserId(owner.id), fast_id, slow_id],
            app.clock.now_ms(),
        )
        .await
        .unwrap();
    let mut fast = app.ws(&fast_token).await;
    let mut slow = app.ws(&slow_token).await;
    for _ in 0..200 {
        if app.state().registry.online_users() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(v) = fast.try_recv(Duration::from_secs(10)).await {
            got.push(v["data"]["id"].as_str().unwrap_or_default().to_string());
        }
        got
    });
    let payload = "p".repeat(60_000);
    let mut sent = Vec::new();
    let mut slow_closed_at = None;
    for i in 0..400 {
        let (s, body) = app
            .post(
                "/api/chat/socket/sendmessage",
                Some(&owner.token),
                &[
                    ("sendto_id", &g.id.to_string()),
                    ("chatType", "group"),
                    ("type", "text"),
                    ("data", &format!("{i}{payload}")),
                ],
            )
            .await;
        sent.push(ok_data(s, &body)["id"].as_str().unwrap().to_string());
        if slow_closed_at.is_none() && !app.state().registry.is_online(slow_id) {
            slow_closed_at = Some(i);
        }
        if slow_closed_at.is_some_and(|at| i >= at + 5) {
            break;
        }
    }
    assert!(
        slow_closed_at.is_some(),
        "the member that stopped reading was never disconnected"
    );
    // The fast member got everything, in order.
    assert_eq!(reader.await.unwrap(), sent);
    // The slow one: what reached its buffer plus its offline queue covers everything.
    let mut have: HashSet<String> = HashSet::new();
    while let Some(v) = slow.try_recv(Duration::from_secs(2)).await {
        have.insert(v["data"]["id"].as_str().unwrap_or_default().to_string());
    }
    for q in app
        .state()
        .store
        .backlog(slow_id, 0, 100_000)
        .await
        .unwrap()
    {
        have.insert(q.uuid);
    }
    let lost: Vec<&String> = sent.iter().filter(|id| !have.contains(*id)).collect();
    assert!(lost.is_empty(), "{} of {} lost", lost.len(), sent.len());
}
