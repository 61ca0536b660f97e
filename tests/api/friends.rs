//! SPEC §2 friends.

use crate::helpers::*;
use crate::on_both;
use reqwest::StatusCode;

on_both!(
    application_flow_with_approval,
    invite_confirm_zero_befriends_at_once,
    friend_list_groups_by_initial,
    toggles_info_and_deletion,
    blacklist_stops_and_restores_delivery,
);

async fn application_flow_with_approval(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a = app.register("apa").await;
    let t = app.register("apt").await;
    let other = app.register("apo").await;
    let mut tws = app.ws(&t.token).await;
    app.wait_online(&t).await;
    let (s, body) = app
        .post(
            "/api/chat/applyfriend",
            Some(&a.token),
            &[("friend_id", &t.id.to_string()), ("nickname", "hi, it's a")],
        )
        .await;
    assert_eq!(ok_data(s, &body), "ok");
    let note = tws.recv().await;
    assert_eq!(note["type"], "singleChat");
    assert_eq!(note["data"]["from_id"], 0);
    assert_eq!(note["data"]["type"], "systemNotice");
    assert!(note["data"]["redirect"]["url"].is_string(), "{note}");
    // Refusals: duplicate pending, self, unknown.
    let (s, body) = app
        .post(
            "/api/chat/applyfriend",
            Some(&a.token),
            &[("friend_id", &t.id.to_string())],
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    let (s, body) = app
        .post(
            "/api/chat/applyfriend",
            Some(&a.token),
            &[("friend_id", &a.id.to_string())],
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    let (s, body) = app
        .post(
            "/api/chat/applyfriend",
            Some(&a.token),
            &[("friend_id", "99999999")],
        )
        .await;
    fail(s, &body, StatusCode::NOT_FOUND);
    let long = "n".repeat(51);
    let (s, body) = app
        .post(
            "/api/chat/applyfriend",
            Some(&a.token),
            &[("friend_id", &t.id.to_string()), ("nickname", &long)],
        )
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);

    let (s, body) = app.get("/api/chat/listapplyfriend/1", Some(&t.token)).await;
    let list = ok_data(s, &body);
    assert_eq!(list["pendingCount"], 1);
    let item = &list["alldata"][0];
    assert_eq!(item["status"], "pending");
    assert_eq!(item["nickname"], "hi, it's a");
    assert_eq!(item["user"]["id"], a.id);
    let apply_id = item["id"].as_i64().unwrap();
    let (s, body) = app
        .post(
            &format!("/api/chat/isApplyfriend/{}", a.uuid),
            Some(&t.token),
            &[],
        )
        .await;
    assert_eq!(ok_data(s, &body)["id"], apply_id);
    let (s, body) = app
        .post(
            &format!("/api/chat/isApplyfriend/{}", other.uuid),
            Some(&t.token),
            &[],
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);

    // Only the target may handle it.
    let path = format!("/api/chat/handleapply/{apply_id}");
    let (s, body) = app
        .post(&path, Some(&other.token), &[("status", "agree")])
        .await;
    fail(s, &body, StatusCode::FORBIDDEN);
    let (s, body) = app
        .post(&path, Some(&t.token), &[("status", "maybe")])
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let mut aws = app.ws(&a.token).await;
    app.wait_online(&a).await;
    let (s, body) = app
        .post(
            &path,
            Some(&t.token),
            &[("status", "agree"), ("nickname", "my friend a")],
        )
        .await;
    assert_eq!(ok_data(s, &body), "ok");
    assert_eq!(
        aws.recv().await["data"]["from_id"],
        0,
        "the applicant is told"
    );
    let (s, body) = app
        .post(&path, Some(&t.token), &[("status", "agree")])
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    // Both directions, my side with my remark.
    let (s, body) = app
        .post(
            &format!("/api/chat/ismygoodfriend/{}", a.id),
            Some(&t.token),
            &[],
        )
        .await;
    assert_eq!(ok_data(s, &body)["nickname"], "my friend a");
    let (s, body) = app
        .post(
            &format!("/api/chat/ismygoodfriend/{}", t.id),
            Some(&a.token),
            &[],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = app
        .post(
            "/api/chat/applyfriend",
            Some(&a.token),
            &[("friend_id", &t.id.to_string())],
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    let (s, body) = app.get("/api/chat/listapplyfriend/1", Some(&t.token)).await;
    assert_eq!(ok_data(s, &body)["pendingCount"], 0);
    // Refuse leaves no friendship.
    let (s, body) = app
        .post(
            "/api/chat/applyfriend",
            Some(&other.token),
            &[("friend_id", &t.id.to_string())],
        )
        .await;
    ok_data(s, &body);
    let (_, body) = app
        .get("/api/chat/listapplyfriend/1?limit=1", Some(&t.token))
        .await;
    let id2 = body["data"]["alldata"][0]["id"].as_i64().unwrap();
    let (s, body) = app
        .post(
            &format!("/api/chat/handleapply/{id2}"),
            Some(&t.token),
            &[("status", "refuse")],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = app
        .post(
            &format!("/api/chat/ismygoodfriend/{}", other.id),
            Some(&t.token),
            &[],
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
}

async fn invite_confirm_zero_befriends_at_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a = app.register("oza").await;
    let t = app.register("ozt").await;
    let (s, body) = app
        .post(
            "/api/chat/updateUserinfo",
            Some(&t.token),
            &[("fieldname", "invite_confirm"), ("fieldValue", "0")],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = app
        .post(
            "/api/chat/applyfriend",
            Some(&a.token),
            &[("friend_id", &t.id.to_string())],
        )
        .await;
    ok_data(s, &body);
    for (x, y) in [(&a, &t), (&t, &a)] {
        let (s, body) = app
            .post(
                &format!("/api/chat/ismygoodfriend/{}", y.id),
                Some(&x.token),
                &[],
            )
            .await;
        ok_data(s, &body);
    }
    let (s, body) = app.send(&a, &t, "we are friends").await;
    ok_data(s, &body);
}

async fn friend_list_groups_by_initial(b: Backend) {
    let app = TestApp::spawn(b).await;
    let me = app.register("fme").await;
    let names = ["好友", "Zoe", "123"];
    let mut ids = Vec::new();
    for n in names {
        let f = app.register("fl").await;
        let (s, body) = app
            .post(
                "/api/chat/updateUserinfo",
                Some(&f.token),
                &[("fieldname", "nickname"), ("fieldValue", n)],
            )
            .await;
        ok_data(s, &body);
        app.befriend(&me, &f).await;
        ids.push(f.id);
    }
    let (s, body) = app.get("/api/chat/goodfriendlist/1", Some(&me.token)).await;
    let data = ok_data(s, &body);
    assert_eq!(data["count"], 3);
    assert_eq!(
        data["rows"]["indexList"],
        serde_json::json!(["H", "Z", "#"])
    );
    let groups = data["rows"]["newList"].as_array().unwrap();
    assert_eq!(groups[0]["title"], "H");
    assert_eq!(groups[0]["list"][0]["name"], "好友");
    assert_eq!(groups[0]["list"][0]["friend_id"], ids[0]);
    assert_eq!(groups[2]["list"][0]["friend_nickname"], "123");
    let (s, body) = app
        .get("/api/chat/goodfriendlist/2?limit=2", Some(&me.token))
        .await;
    assert_eq!(
        ok_data(s, &body)["rows"]["newList"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

async fn toggles_info_and_deletion(b: Backend) {
    let app = TestApp::spawn(b).await;
    let me = app.register("tgm").await;
    let f = app.register("tgf").await;
    app.befriend(&me, &f).await;
    let (s, body) = app
        .get(
            &format!("/api/chat/getgoodfriendinfo/{}", f.id),
            Some(&me.token),
        )
        .await;
    let info = ok_data(s, &body);
    assert_eq!(info["friend_id"], f.id);
    assert_eq!(info["friendinfo"]["id"], f.id);
    assert_eq!(info["friendinfo"]["userinfo"]["gender"], "unknown");
    for (path, field) in [
        ("setblackgoodfriend", "isblack"),
        ("setstargoodfriend", "ismystarfriend"),
    ] {
        for expected in [1, 0] {
            let (s, body) = app
                .post(&format!("/api/chat/{path}/{}", f.id), Some(&me.token), &[])
                .await;
            ok_data(s, &body);
            let (_, body) = app
                .post(
                    &format!("/api/chat/ismygoodfriend/{}", f.id),
                    Some(&me.token),
                    &[],
                )
                .await;
            assert_eq!(body["data"][field], expected, "{path}");
        }
    }
    let vis = format!("/api/chat/setmeOrfriendCanSee/{}", f.id);
    let (s, body) = app
        .post(
            &vis,
            Some(&me.token),
            &[("friendlookme", "0"), ("melookfriend", "2")],
        )
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = app
        .post(
            &vis,
            Some(&me.token),
            &[("friendlookme", "0"), ("melookfriend", "1")],
        )
        .await;
    ok_data(s, &body);
    let (_, body) = app
        .post(
            &format!("/api/chat/ismygoodfriend/{}", f.id),
            Some(&me.token),
            &[],
        )
        .await;
    assert_eq!(
        (
            body["data"]["friendlookme"].clone(),
            body["data"]["melookfriend"].clone()
        ),
        (0.into(), 1.into())
    );
    let (s, body) = app
        .post(
            "/api/chat/setblackgoodfriend/99999999",
            Some(&me.token),
            &[],
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    // A pending application between us goes with the friendship.
    let (s, body) = app
        .post("/api/chat/deletegoodfriend/", Some(&me.token), &[])
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    let (s, body) = app
        .post(
            &format!("/api/chat/deletegoodfriend/{}", f.id),
            Some(&me.token),
            &[],
        )
        .await;
    ok_data(s, &body);
    for (x, y) in [(&me, &f), (&f, &me)] {
        let (s, body) = app
            .post(
                &format!("/api/chat/ismygoodfriend/{}", y.id),
                Some(&x.token),
                &[],
            )
            .await;
        fail(s, &body, StatusCode::BAD_REQUEST);
    }
    let (s, body) = app
        .post(
            "/api/chat/applyfriend",
            Some(&f.token),
            &[("friend_id", &me.id.to_string())],
        )
        .await;
    ok_data(s, &body);
    // f is no longer in my list: deleting again is refused and changes nothing (§9.17).
    let (s, body) = app
        .post(
            &format!("/api/chat/deletegoodfriend/{}", f.id),
            Some(&me.token),
            &[],
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    let (_, body) = app
        .get("/api/chat/listapplyfriend/1", Some(&me.token))
        .await;
    assert_eq!(body["data"]["pendingCount"], 1);
}

async fn blacklist_stops_and_restores_delivery(b: Backend) {
    let app = TestApp::spawn(b).await;
    let me = app.register("blm").await;
    let f = app.register("blf").await;
    app.befriend(&me, &f).await;
    let mut my_ws = app.ws(&me.token).await;
    app.wait_online(&me).await;
    let (s, body) = app
        .post(
            &format!("/api/chat/setblackgoodfriend/{}", f.id),
            Some(&me.token),
            &[],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = app.send(&f, &me, "blocked").await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    my_ws.expect_silence(300).await;
    let (s, body) = app
        .post(
            &format!("/api/chat/setblackgoodfriend/{}", f.id),
            Some(&me.token),
            &[],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = app.send(&f, &me, "back").await;
    ok_data(s, &body);
    assert_eq!(my_ws.recv().await["data"]["data"], "back");
}
