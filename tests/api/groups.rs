//! SPEC §4 groups and group messages.

use crate::helpers::*;
use crate::on_both;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

on_both!(
    create_list_info_and_owner_rules,
    group_messages_identity_blacklist_and_dialects,
    approval_flows_and_spoofed_inviter,
    removal_quit_and_dissolve,
    send_checks_follow_changes,
    burst_answers_in_order,
    burst_reaches_every_device_in_order,
    qr_codes_decode,
    membership_changes_interleave_with_messages,
);

/// Friendship row ids of `me` for the given friends (what group/create takes).
pub(crate) async fn friend_rows(app: &TestApp, me: &User, friends: &[&User]) -> Vec<String> {
    let mut ids = Vec::new();
    for f in friends {
        app.befriend(me, f).await;
        let (_, body) = app
            .post(
                &format!("/api/chat/ismygoodfriend/{}", f.id),
                Some(&me.token),
                &[],
            )
            .await;
        ids.push(body["data"]["id"].as_i64().unwrap().to_string());
    }
    ids
}

pub(crate) async fn make_group(app: &TestApp, owner: &User, members: &[&User]) -> Value {
    let rows = friend_rows(app, owner, members).await;
    let (s, body) = app
        .post_json(
            "/api/chat/group/create",
            Some(&owner.token),
            json!({"userIds": rows}),
        )
        .await;
    ok_data(s, &body)
}

/// A new group's id, for tests that need nothing else of the created group.
pub(crate) async fn make_group_id(app: &TestApp, owner: &User, members: &[&User]) -> i64 {
    let g = make_group(app, owner, members).await;
    g["id"].as_i64().unwrap()
}

async fn remove_member(app: &TestApp, owner: &User, gid: i64, who: &User) -> (StatusCode, Value) {
    app.post(
        "/api/chat/groupDeleteUser",
        Some(&owner.token),
        &[
            ("group_id", &gid.to_string()),
            ("user_id", &who.id.to_string()),
        ],
    )
    .await
}

pub(crate) async fn gsend(app: &TestApp, from: &User, gid: i64, data: &str) -> (StatusCode, Value) {
    app.post(
        "/api/chat/socket/sendmessage",
        Some(&from.token),
        &[
            ("sendto_id", &gid.to_string()),
            ("chatType", "group"),
            ("type", "text"),
            ("data", data),
        ],
    )
    .await
}

async fn create_list_info_and_owner_rules(b: Backend) {
    let app = TestApp::spawn(b).await;
    let owner = app.register("gow").await;
    let m1 = app.register("gm1").await;
    let m2 = app.register("gm2").await;
    let outsider = app.register("gou").await;
    let mut m1ws = app.ws(&m1.token).await;
    m1ws.skip_created = false;
    app.wait_online(&m1).await;
    // Someone else's friendship rows do not count.
    let rows = friend_rows(&app, &m1, &[&m2]).await;
    let (s, body) = app
        .post_json(
            "/api/chat/group/create",
            Some(&owner.token),
            json!({"userIds": rows}),
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    let g = make_group(&app, &owner, &[&m1, &m2]).await;
    let gid = g["id"].as_i64().unwrap();
    assert_eq!(g["user_id"], owner.id);
    assert_eq!(g["invite_confirm"], 0);
    assert_eq!(g["group_users"].as_array().unwrap().len(), 3);
    assert_eq!(g["group_users"][0]["user_id"], owner.id, "owner first");
    assert_eq!(
        g["name"],
        format!("{}、{}、{}", owner.username, m1.username, m2.username)
    );
    let created = m1ws.recv().await;
    assert_eq!(created["data"]["chatType"], "group");
    assert_eq!(created["data"]["type"], "systemNotice");
    assert_eq!(created["data"]["actionType"], "create");
    assert_eq!(created["data"]["group"]["id"], gid);

    let (s, body) = app.get("/api/chat/grouplist/1", Some(&m2.token)).await;
    let list = ok_data(s, &body);
    assert_eq!(list[0]["id"], gid);
    assert_eq!(list[0]["group_users"][0]["user_id"], m2.id);
    // Non-members may read the info.
    let (s, body) = app
        .get(&format!("/api/chat/groupinfo/{gid}"), Some(&outsider.token))
        .await;
    assert_eq!(
        ok_data(s, &body)["group_users"][1]["user"]["username"],
        m1.username.as_str()
    );
    let (s, body) = app
        .get("/api/chat/groupinfo/99999999", Some(&outsider.token))
        .await;
    fail(s, &body, StatusCode::NOT_FOUND);

    // Owner-only actions.
    let id = gid.to_string();
    for (path, form) in [
        (
            "/api/chat/groupUpdateName",
            vec![("id", id.as_str()), ("name", "new name")],
        ),
        (
            "/api/chat/groupremark",
            vec![("id", id.as_str()), ("remark", "hello all")],
        ),
        (
            "/api/chat/groupAddUserSet",
            vec![("group_id", id.as_str()), ("addGroupSet", "1")],
        ),
        (
            "/api/chat/groupDeleteUser",
            vec![
                ("group_id", id.as_str()),
                ("user_id", &*Box::leak(m2.id.to_string().into_boxed_str())),
            ],
        ),
    ] {
        let (s, body) = app.post(path, Some(&m1.token), &form).await;
        fail(s, &body, StatusCode::FORBIDDEN);
    }
    let (s, body) = app
        .post(
            "/api/chat/groupUpdateName",
            Some(&owner.token),
            &[("id", &id), ("name", "")],
        )
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = app
        .post(
            "/api/chat/groupUpdateName",
            Some(&owner.token),
            &[("id", &id), ("name", "Rustaceans")],
        )
        .await;
    ok_data(s, &body);
    let renamed = m1ws.recv().await;
    assert!(renamed["data"]["data"]
        .as_str()
        .unwrap()
        .contains("Rustaceans"));
    assert_eq!(renamed["data"]["group"]["name"], "Rustaceans");
    let (s, body) = app
        .post(
            "/api/chat/groupremark",
            Some(&owner.token),
            &[("id", &id), ("remark", "read the rules")],
        )
        .await;
    ok_data(s, &body);
    assert!(m1ws.recv().await["data"]["data"]
        .as_str()
        .unwrap()
        .contains("[Announcement] read the rules"));
    let (s, body) = app
        .post(
            "/api/chat/groupAddUserSet",
            Some(&owner.token),
            &[("group_id", &id), ("addGroupSet", "11")],
        )
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = app
        .post(
            "/api/chat/groupDeleteUser",
            Some(&owner.token),
            &[("group_id", &id), ("user_id", &owner.id.to_string())],
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    // Group nickname: members only, not announced.
    let (s, body) = app
        .post(
            "/api/chat/groupnickname",
            Some(&outsider.token),
            &[("id", &id), ("nickname", "x")],
        )
        .await;
    fail(s, &body, StatusCode::FORBIDDEN);
    let (s, body) = app
        .post(
            "/api/chat/groupnickname",
            Some(&m1.token),
            &[("id", &id), ("nickname", "Captain")],
        )
        .await;
    ok_data(s, &body);
    m1ws.expect_silence(200).await;
}

async fn group_messages_identity_blacklist_and_dialects(b: Backend) {
    let app = TestApp::spawn(b).await;
    let owner = app.register("gmo").await;
    let rich = app.register("gmr").await;
    let compact = app.register("gmc").await;
    let blocker = app.register("gmb").await;
    let gid = make_group_id(&app, &owner, &[&rich, &compact, &blocker]).await;
    let (s, body) = app
        .post(
            "/api/chat/groupnickname",
            Some(&owner.token),
            &[("id", &gid.to_string()), ("nickname", "Boss")],
        )
        .await;
    ok_data(s, &body);
    // blocker blacklists the owner.
    let (s, body) = app
        .post(
            &format!("/api/chat/setblackgoodfriend/{}", owner.id),
            Some(&blocker.token),
            &[],
        )
        .await;
    ok_data(s, &body);
    let mut rws = app.ws(&rich.token).await;
    let mut cws = app.ws_compact(&compact.token).await;
    let mut bws = app.ws(&blocker.token).await;
    let mut ows = app.ws(&owner.token).await;
    for u in [&rich, &compact, &blocker, &owner] {
        app.wait_online(u).await;
    }
    let (s, body) = gsend(&app, &owner, gid, "hello group").await;
    let msg = ok_data(s, &body);
    assert_eq!(msg["chatType"], "group");
    assert_eq!(msg["from_name"], "Boss");
    assert_eq!(msg["to_id"], gid);
    assert_eq!(msg["group"]["id"], gid);
    let got = rws.recv().await;
    assert_eq!(got["type"], "singleChat");
    assert_eq!(got["data"]["id"], msg["id"]);
    let c = cws.recv().await;
    assert_eq!(
        c,
        json!({"type": "multicast", "senderId": owner.id.to_string(), "groupId": gid.to_string(),
        "content": "hello group", "timestamp": msg["create_time"]})
    );
    bws.expect_silence(300).await;
    ows.expect_silence(100).await;
    // Over WebSocket: rich multicast with ack, compact multicast silent.
    rws.send_json(
        json!({"type": "multicast", "groupId": gid, "content": "from rich", "client_msg_id": "m1"}),
    )
    .await;
    let ack = rws.recv().await;
    assert_eq!(ack["type"], "ack");
    assert_eq!(ack["data"]["from_name"], rich.username.as_str());
    assert_eq!(cws.recv().await["content"], "from rich");
    assert_eq!(bws.recv().await["data"]["data"], "from rich");
    cws.send_json(
        json!({"type": "multicast", "groupId": gid.to_string(), "content": "from compact"}),
    )
    .await;
    assert_eq!(rws.recv().await["data"]["data"], "from compact");
    cws.expect_silence(200).await;
    // Non-members are refused.
    let outsider = app.register("gmx").await;
    let (s, body) = gsend(&app, &outsider, gid, "let me in").await;
    fail(s, &body, StatusCode::FORBIDDEN);
    // Group history shows the conversation in seq order.
    let (s, body) = app
        .get(
            &format!("/api/chat/history?chatType=group&id={gid}"),
            Some(&rich.token),
        )
        .await;
    let seqs: Vec<i64> = ok_data(s, &body)["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["seq"].as_i64())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] == w[1] + 1), "{seqs:?}");
    // Revoke in a group reaches the members.
    let (s, body) = app
        .post(
            "/api/chat/revokeMessage",
            Some(&owner.token),
            &[
                ("id", msg["id"].as_str().unwrap()),
                ("chatType", "group"),
                ("to_id", &gid.to_string()),
            ],
        )
        .await;
    assert_eq!(ok_data(s, &body)["actionType"], "revoke");
    assert_eq!(rws.recv().await["data"]["actionType"], "revoke");
}

async fn approval_flows_and_spoofed_inviter(b: Backend) {
    let app = TestApp::spawn(b).await;
    let owner = app.register("apo").await;
    let member = app.register("apm").await;
    let joiner = app.register("apj").await;
    let g = make_group(&app, &owner, &[&member]).await;
    let gid = g["id"].as_i64().unwrap().to_string();
    let (s, body) = app
        .post(
            "/api/chat/groupAddUserSet",
            Some(&owner.token),
            &[("group_id", &gid), ("addGroupSet", "1")],
        )
        .await;
    ok_data(s, &body);
    let mut ows = app.ws(&owner.token).await;
    app.wait_online(&owner).await;
    // Self-join claiming the owner invited: still needs approval.
    let (s, body) = app
        .post(
            "/api/chat/groupInviteUser",
            Some(&joiner.token),
            &[
                ("group_id", &gid),
                ("user_id", &joiner.id.to_string()),
                ("inviteuser_id", &owner.id.to_string()),
                ("addGroupDesc", "let me in"),
            ],
        )
        .await;
    assert_eq!(ok_data(s, &body), "waiting for owner approval");
    let req = ows.recv().await;
    assert_eq!(req["data"]["from_id"], 0);
    assert_eq!(req["data"]["redirect"]["user"]["id"], joiner.id);
    assert_eq!(req["data"]["redirect"]["group"]["id"].to_string(), gid);
    let (s, body) = app
        .post(
            "/api/chat/groupInviteUser",
            Some(&joiner.token),
            &[("group_id", &gid), ("user_id", &joiner.id.to_string())],
        )
        .await;
    assert_eq!(
        fail(s, &body, StatusCode::BAD_REQUEST),
        "waiting for owner approval"
    );
    let (s, body) = gsend(&app, &joiner, gid.parse().unwrap(), "early").await;
    fail(s, &body, StatusCode::FORBIDDEN);
    // Only the owner approves.
    let (s, body) = app
        .post(
            "/api/chat/groupAgreeOrNo",
            Some(&member.token),
            &[
                ("group_id", &gid),
                ("user_id", &joiner.id.to_string()),
                ("type", "agree"),
            ],
        )
        .await;
    fail(s, &body, StatusCode::FORBIDDEN);
    let (s, body) = app
        .post(
            "/api/chat/groupAgreeOrNo",
            Some(&owner.token),
            &[
                ("group_id", &gid),
                ("user_id", &joiner.id.to_string()),
                ("type", "agree"),
            ],
        )
        .await;
    ok_data(s, &body);
    assert!(ows.recv().await["data"]["data"]
        .as_str()
        .unwrap()
        .contains("joined"));
    let (s, body) = app
        .post(
            "/api/chat/groupInviteUser",
            Some(&owner.token),
            &[("group_id", &gid), ("user_id", &joiner.id.to_string())],
        )
        .await;
    assert_eq!(
        fail(s, &body, StatusCode::BAD_REQUEST),
        "already in the group"
    );
    let (s, body) = gsend(&app, &joiner, gid.parse().unwrap(), "now I'm in").await;
    ok_data(s, &body);
    // A member invites: pending; the owner says no; the applicant is told.
    let invitee = app.register("api").await;
    let mut iws = app.ws(&invitee.token).await;
    app.wait_online(&invitee).await;
    let (s, body) = app
        .post(
            "/api/chat/groupInviteUser",
            Some(&member.token),
            &[("group_id", &gid), ("user_id", &invitee.id.to_string())],
        )
        .await;
    assert_eq!(ok_data(s, &body), "waiting for owner approval");
    let (s, body) = app
        .post(
            "/api/chat/groupAgreeOrNo",
            Some(&owner.token),
            &[
                ("group_id", &gid),
                ("user_id", &invitee.id.to_string()),
                ("type", "no"),
            ],
        )
        .await;
    ok_data(s, &body);
    let told = iws.recv().await;
    assert_eq!(told["data"]["chatType"], "single");
    assert_eq!(told["data"]["type"], "systemNotice");
    let (s, body) = app
        .post(
            "/api/chat/groupAgreeOrNo",
            Some(&owner.token),
            &[
                ("group_id", &gid),
                ("user_id", &invitee.id.to_string()),
                ("type", "agree"),
            ],
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    // The owner invites: joined at once. An outsider cannot invite.
    let (s, body) = app
        .post(
            "/api/chat/groupInviteUser",
            Some(&owner.token),
            &[("group_id", &gid), ("user_id", &invitee.id.to_string())],
        )
        .await;
    assert_eq!(ok_data(s, &body), "joined");
    let stranger = app.register("aps").await;
    let other = app.register("apx").await;
    let (s, body) = app
        .post(
            "/api/chat/groupInviteUser",
            Some(&stranger.token),
            &[("group_id", &gid), ("user_id", &other.id.to_string())],
        )
        .await;
    fail(s, &body, StatusCode::FORBIDDEN);

    // Setting 2: a visitor must log in first, unless the owner invites.
    let (s, body) = app
        .post(
            "/api/chat/groupAddUserSet",
            Some(&owner.token),
            &[("group_id", &gid), ("addGroupSet", "2")],
        )
        .await;
    ok_data(s, &body);
    let visitor = make_visitor(&app).await;
    let (s, body) = app
        .post(
            "/api/chat/groupInviteUser",
            Some(&visitor.1),
            &[("group_id", &gid), ("user_id", &visitor.0.to_string())],
        )
        .await;
    fail(s, &body, StatusCode::FORBIDDEN);
    let (s, body) = app
        .post(
            "/api/chat/groupInviteUser",
            Some(&owner.token),
            &[("group_id", &gid), ("user_id", &visitor.0.to_string())],
        )
        .await;
    assert_eq!(ok_data(s, &body), "joined");
    // Setting 0: anyone joins.
    let (s, body) = app
        .post(
            "/api/chat/groupAddUserSet",
            Some(&owner.token),
            &[("group_id", &gid), ("addGroupSet", "0")],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = app
        .post(
            "/api/chat/groupInviteUser",
            Some(&other.token),
            &[("group_id", &gid), ("user_id", &other.id.to_string())],
        )
        .await;
    assert_eq!(ok_data(s, &body), "joined");
}

/// A visitor account (id, token) created through the visitor endpoint.
pub(crate) async fn make_visitor(app: &TestApp) -> (i64, String) {
    use sha2::{Digest, Sha256};
    let dev = uuid::Uuid::new_v4().to_string();
    let ts = app.clock.now_ms().to_string();
    let sign = hex::encode(Sha256::digest(
        format!("deviceId={dev}&salt=chatd-dev-salt&timestamp={ts}chatd-dev-app-secret").as_bytes(),
    ));
    let resp = app
        .http
        .post(app.url("/api/visitorRegister"))
        .header("X-Security-Sign", sign)
        .json(&json!({"deviceId": dev, "timestamp": ts}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    (
        body["data"]["id"].as_i64().unwrap(),
        body["data"]["token"].as_str().unwrap().to_string(),
    )
}

async fn removal_quit_and_dissolve(b: Backend) {
    let app = TestApp::spawn(b).await;
    let owner = app.register("rmo").await;
    let a = app.register("rma").await;
    let z = app.register("rmz").await;
    let q = app.register("rmq").await;
    let gid = make_group_id(&app, &owner, &[&a, &z, &q]).await;
    let mut zws = app.ws(&z.token).await;
    let mut aws = app.ws(&a.token).await;
    let mut ows = app.ws(&owner.token).await;
    for u in [&z, &a, &owner] {
        app.wait_online(u).await;
    }
    let (s, body) = remove_member(&app, &owner, gid, &z).await;
    ok_data(s, &body);
    let removed = zws.recv().await;
    assert_eq!(removed["data"]["actionType"], "removed");
    assert_eq!(aws.recv().await["data"]["actionType"], "removed");
    // At once: the next message does not reach z; z cannot send.
    let (s, body) = gsend(&app, &a, gid, "after removal").await;
    ok_data(s, &body);
    assert_eq!(ows.recv().await["data"]["actionType"], "removed");
    assert_eq!(ows.recv().await["data"]["data"], "after removal");
    zws.expect_silence(300).await;
    let (s, body) = gsend(&app, &z, gid, "still here?").await;
    fail(s, &body, StatusCode::FORBIDDEN);
    let (s, body) = app
        .get(&format!("/api/chat/groupinfo/{gid}"), Some(&a.token))
        .await;
    let info = ok_data(s, &body);
    assert_eq!(info["group_users"].as_array().unwrap().len(), 3);
    assert_eq!(
        info["avatar"].as_str().unwrap().split(',').count(),
        3,
        "avatar recomposed"
    );
    assert!(
        !info["name"].as_str().unwrap().contains(&z.username),
        "default name recomposed"
    );
    // A member leaves: only the owner is told.
    let (s, body) = app
        .post(
            "/api/chat/groupDeleteOrQuit",
            Some(&q.token),
            &[("id", &gid.to_string())],
        )
        .await;
    ok_data(s, &body);
    assert_eq!(ows.recv().await["data"]["actionType"], "quit");
    aws.expect_silence(300).await;
    // The owner dissolves: everyone is told; the group is gone.
    let (s, body) = app
        .post(
            "/api/chat/groupDeleteOrQuit",
            Some(&owner.token),
            &[("id", &gid.to_string())],
        )
        .await;
    ok_data(s, &body);
    assert_eq!(aws.recv().await["data"]["actionType"], "dissolve");
    let (s, body) = app
        .get(&format!("/api/chat/groupinfo/{gid}"), Some(&a.token))
        .await;
    fail(s, &body, StatusCode::NOT_FOUND);
    let (s, body) = gsend(&app, &a, gid, "anyone?").await;
    fail(s, &body, StatusCode::NOT_FOUND);
}

/// The send path caches its checks per (group, sender): every change after a first send must
/// still count at once (nickname, blacklist, removal).
async fn send_checks_follow_changes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let owner = app.register("cco").await;
    let a = app.register("cca").await;
    let z = app.register("ccz").await;
    let gid = make_group_id(&app, &owner, &[&a, &z]).await;
    let mut aws = app.ws(&a.token).await;
    let mut ows = app.ws(&owner.token).await;
    for u in [&a, &owner] {
        app.wait_online(u).await;
    }
    let (s, body) = gsend(&app, &z, gid, "z first").await;
    assert_eq!(ok_data(s, &body)["from_name"], z.username.as_str());
    assert_eq!(aws.recv().await["data"]["data"], "z first");
    assert_eq!(ows.recv().await["data"]["data"], "z first");
    // A new group nickname shows on the next message.
    let (s, body) = app
        .post(
            "/api/chat/groupnickname",
            Some(&z.token),
            &[("id", &gid.to_string()), ("nickname", "Zed")],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = gsend(&app, &z, gid, "z second").await;
    assert_eq!(ok_data(s, &body)["from_name"], "Zed");
    assert_eq!(aws.recv().await["data"]["from_name"], "Zed");
    assert_eq!(ows.recv().await["data"]["from_name"], "Zed");
    // The owner blacklists z: the next message skips the owner.
    let (s, body) = app
        .post(
            &format!("/api/chat/setblackgoodfriend/{}", z.id),
            Some(&owner.token),
            &[],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = gsend(&app, &z, gid, "z third").await;
    ok_data(s, &body);
    assert_eq!(aws.recv().await["data"]["data"], "z third");
    ows.expect_silence(300).await;
    // The group is renamed: the next message carries the new name.
    let (s, body) = app
        .post(
            "/api/chat/groupUpdateName",
            Some(&owner.token),
            &[("id", &gid.to_string()), ("name", "renamed")],
        )
        .await;
    ok_data(s, &body);
    assert_eq!(aws.recv().await["data"]["type"], "systemNotice");
    let (s, body) = gsend(&app, &z, gid, "z renamed").await;
    assert_eq!(ok_data(s, &body)["to_name"], "renamed");
    assert_eq!(aws.recv().await["data"]["to_name"], "renamed");
    // z is removed: z's next send is refused.
    let (s, body) = remove_member(&app, &owner, gid, &z).await;
    ok_data(s, &body);
    let (s, body) = gsend(&app, &z, gid, "z fourth").await;
    fail(s, &body, StatusCode::FORBIDDEN);
}

/// A socket takes its next frame while earlier ones are still being stored: a burst is still
/// answered frame by frame in the order sent (a refusal in its place), and delivered in that order.
async fn burst_answers_in_order(b: Backend) {
    let app = TestApp::spawn(b).await;
    let owner = app.register("bao").await;
    let a = app.register("baa").await;
    let gid = make_group_id(&app, &owner, &[&a]).await;
    let mut ows = app.ws(&owner.token).await;
    let mut aws = app.ws(&a.token).await;
    for u in [&owner, &a] {
        app.wait_online(u).await;
    }
    let ids = ["b0", "b1", "bad", "b3", "b4"];
    for cid in ids {
        let to = if cid == "bad" { 999_999_999 } else { gid };
        ows.send_json(
            json!({"type": "multicast", "groupId": to, "content": cid, "client_msg_id": cid}),
        )
        .await;
    }
    for cid in ids {
        let answer = ows.recv().await;
        assert_eq!(answer["client_msg_id"], cid, "{answer}");
        let kind = if cid == "bad" { "error" } else { "ack" };
        assert_eq!(answer["type"], kind, "{answer}");
    }
    let mut last_seq = 0;
    for cid in ["b0", "b1", "b3", "b4"] {
        let got = aws.recv().await;
        assert_eq!(got["data"]["data"], cid, "{got}");
        let seq = got["data"]["seq"].as_i64().unwrap();
        assert!(seq > last_seq, "{got}");
        last_seq = seq;
    }
    aws.expect_silence(200).await;
}

/// SPEC §3 rules 2 and 5: a group burst reaches every device of every member, in acceptance
/// order and once, each in its own dialect; the sender's other session gets it too, the sending
/// socket only its answers.
async fn burst_reaches_every_device_in_order(b: Backend) {
    let app = TestApp::spawn(b).await;
    let owner = app.register("bdo").await;
    let a = app.register("bda").await;
    let gid = make_group_id(&app, &owner, &[&a]).await;
    let mut sending = app.ws(&owner.token).await;
    let owner_tablet = app.login(&owner).await;
    let mut owner_other = app.ws(&owner_tablet).await;
    let mut a_rich = app.ws(&a.token).await;
    let a_phone = app.login(&a).await;
    let mut a_compact = app.ws_compact(&a_phone).await;
    for u in [&owner, &a] {
        app.wait_online(u).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Pipelined on one socket, so the server stores and fans them out in batches.
    let burst: Vec<String> = (0..30).map(|i| format!("d{i}")).collect();
    for cid in &burst {
        sending
            .send_json(json!({"type": "multicast", "groupId": gid, "content": cid}))
            .await;
    }
    for _ in &burst {
        assert_eq!(sending.recv().await["type"], "ack");
    }
    for cid in &burst {
        assert_eq!(a_rich.recv().await["data"]["data"], *cid);
        assert_eq!(a_compact.recv().await["content"], *cid);
        assert_eq!(owner_other.recv().await["data"]["data"], *cid);
    }
    sending.expect_silence(200).await;
    a_rich.expect_silence(100).await;
    a_compact.expect_silence(100).await;
    owner_other.expect_silence(100).await;
}

fn decode_png(bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

async fn qr_codes_decode(b: Backend) {
    let app = TestApp::spawn(b).await;
    let owner = app.register("qro").await;
    let m = app.register("qrm").await;
    let outsider = app.register("qrx").await;
    let g = make_group(&app, &owner, &[&m]).await;
    let gid = g["id"].as_i64().unwrap();
    let name = g["name"].as_str().unwrap().to_string();
    // <img src> style: the token in the query.
    let resp = app
        .http
        .get(app.url(&format!("/api/chat/groupQrcode/{gid}?token={}", m.token)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    let text = decode_png(&resp.bytes().await.unwrap());
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"id": gid, "name": name})
    );
    let url = format!(
        "/api/chat/groupQrcode/{gid}?token={}&type=H5&http=https://chat.example.com&chatType=group",
        m.token
    );
    let resp = app.http.get(app.url(&url)).send().await.unwrap();
    let text = decode_png(&resp.bytes().await.unwrap());
    assert!(
        text.starts_with(
            "https://chat.example.com#/pages/setpageInfo/setpageInfo?action=autoAddGroup&title="
        ),
        "{text}"
    );
    assert!(
        text.ends_with(&format!("&id={gid}&chatType=group")),
        "{text}"
    );
    let (s, body) = app
        .get(
            &format!("/api/chat/groupQrcode/{gid}?type=H5&http=javascript:alert(1)&chatType=group"),
            Some(&m.token),
        )
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = app
        .get(
            &format!("/api/chat/groupQrcode/{gid}"),
            Some(&outsider.token),
        )
        .await;
    fail(s, &body, StatusCode::FORBIDDEN);
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// Issue 22: membership changes and messages interleave in one order. While a member streams
/// group messages, the owner removes one member and invites another. The removed member gets no
/// message whose send began after the removal was answered; the new member gets every message
/// whose send began after the join was answered; nobody gets a message twice.
async fn membership_changes_interleave_with_messages(b: Backend) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Instant;

    let app = TestApp::spawn(b).await;
    let owner = app.register("ilo").await;
    let sender = app.register("ils").await;
    let removed = app.register("ilr").await;
    let joiner = app.register("ilj").await;
    let gid = make_group_id(&app, &owner, &[&sender, &removed]).await;
    let mut rws = app.ws(&removed.token).await;
    let mut jws = app.ws(&joiner.token).await;
    app.wait_online(&removed).await;
    app.wait_online(&joiner).await;

    const TOTAL: usize = 80;
    let sent = AtomicUsize::new(0);
    // (data, when its send began, when it was answered)
    let log: Mutex<Vec<(String, Instant, Instant)>> = Mutex::new(Vec::new());
    let stream = async {
        for i in 0..TOTAL {
            let data = format!("m{i}");
            let began = Instant::now();
            let (s, body) = gsend(&app, &sender, gid, &data).await;
            ok_data(s, &body);
            log.lock().unwrap().push((data, began, Instant::now()));
            sent.fetch_add(1, Ordering::SeqCst);
        }
    };
    let wait_for = |n: usize| {
        let sent = &sent;
        async move {
            while sent.load(Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    };
    let changes = async {
        wait_for(20).await;
        let (s, body) = remove_member(&app, &owner, gid, &removed).await;
        ok_data(s, &body);
        let removal_answered = Instant::now();
        wait_for(40).await;
        let join_began = Instant::now();
        let (s, body) = app
            .post(
                "/api/chat/groupInviteUser",
                Some(&owner.token),
                &[
                    ("group_id", &gid.to_string()),
                    ("user_id", &joiner.id.to_string()),
                ],
            )
            .await;
        assert_eq!(ok_data(s, &body), "joined");
        (removal_answered, join_began, Instant::now())
    };
    let ((), (removal_answered, join_began, join_answered)) = tokio::join!(stream, changes);
    let log = log.into_inner().unwrap();

    async fn stream_messages(ws: &mut Ws) -> Vec<String> {
        let mut got = Vec::new();
        while let Some(v) = ws.try_recv(Duration::from_millis(700)).await {
            if v["data"]["type"] == "text" {
                got.push(v["data"]["data"].as_str().unwrap().to_string());
            }
        }
        got
    }
    let for_removed = stream_messages(&mut rws).await;
    let for_joiner = stream_messages(&mut jws).await;
    for (who, got) in [("removed", &for_removed), ("joiner", &for_joiner)] {
        let mut seen = std::collections::HashSet::new();
        for m in got.iter() {
            assert!(seen.insert(m), "the {who} got {m} twice: {got:?}");
        }
    }
    for (data, began, answered) in &log {
        if *began > removal_answered {
            assert!(
                !for_removed.contains(data),
                "{data} was sent after the removal answered but reached the removed member"
            );
        }
        if *began > join_answered {
            assert!(
                for_joiner.contains(data),
                "{data} was sent after the join answered but never reached the new member"
            );
        }
        if *answered < join_began {
            assert!(
                !for_joiner.contains(data),
                "{data} was answered before the join began but reached the new member"
            );
        }
    }
    // The stream kept the order of acceptance for both.
    let index = |d: &String| log.iter().position(|(x, _, _)| x == d).unwrap();
    for got in [&for_removed, &for_joiner] {
        assert!(
            got.windows(2).all(|w| index(&w[0]) < index(&w[1])),
            "{got:?}"
        );
    }
    // The messages answered before the removal began reached the member then still in.
    assert!(for_removed.len() >= 20, "{for_removed:?}");
    assert!(!for_joiner.is_empty(), "the joiner got nothing");
}
