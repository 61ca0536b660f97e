//! SPEC §3 revoke: only the sender, only within 5 minutes of the server's time.

use crate::helpers::*;
use crate::on_both;
use reqwest::StatusCode;

on_both!(revoke_rules_and_notices);

async fn revoke_rules_and_notices(b: Backend) {
    let app = TestApp::spawn(b).await;
    let a = app.register("rva").await;
    let z = app.register("rvz").await;
    app.befriend(&a, &z).await;
    let mut zws = app.ws(&z.token).await;
    let a_other = app.login(&a).await;
    let mut a_other_ws = app.ws(&a_other).await;
    app.wait_online(&z).await;
    app.wait_online(&a).await;
    let (s, body) = app.send(&a, &z, "oops").await;
    let msg = ok_data(s, &body);
    let id = msg["id"].as_str().unwrap().to_string();
    zws.recv().await;
    a_other_ws.recv().await;
    let now = app.clock.now_ms().to_string();
    let form = |id: &str| {
        vec![
            ("id", id.to_string()),
            ("chatType", "single".into()),
            ("to_id", z.id.to_string()),
            ("to_name", "z".into()),
            ("to_avatar", "https://x/y.png".into()),
            ("create_time", now.clone()),
        ]
    };
    let post = |token: String, f: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post("/api/chat/revokeMessage", Some(&token), &f).await
        }
    };
    // Not the sender.
    let (s, body) = post(z.token.clone(), form(&id)).await;
    fail(s, &body, StatusCode::FORBIDDEN);
    let (s, body) = post(
        a.token.clone(),
        form("00000000-0000-0000-0000-000000000000"),
    )
    .await;
    fail(s, &body, StatusCode::NOT_FOUND);
    // The sender, in time.
    let (s, body) = post(a.token.clone(), form(&id)).await;
    let notice = ok_data(s, &body);
    assert_eq!(notice["type"], "systemNotice");
    assert_eq!(notice["actionType"], "revoke");
    assert_eq!(
        notice["id"],
        id.as_str(),
        "the notice names the revoked message"
    );
    assert!(
        notice["data"]
            .as_str()
            .unwrap()
            .contains("revoked a message"),
        "{notice}"
    );
    let pushed = zws.recv().await;
    assert_eq!(pushed["data"]["actionType"], "revoke");
    assert_eq!(pushed["data"]["id"], id.as_str());
    assert_eq!(a_other_ws.recv().await["data"]["actionType"], "revoke");
    let (s, body) = post(a.token.clone(), form(&id)).await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    let (_, body) = app
        .get(
            &format!("/api/chat/history?chatType=single&id={}", a.id),
            Some(&z.token),
        )
        .await;
    let original = body["data"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id.as_str() && m["type"] == "text")
        .cloned()
        .unwrap();
    assert_eq!(original["isremove"], 1);
    assert_eq!(original["data"], "");

    // Older than 5 minutes by the server's clock, whatever create_time the client sends.
    let (s, body) = app.send(&a, &z, "too late").await;
    let late = ok_data(s, &body)["id"].as_str().unwrap().to_string();
    app.clock.advance(5 * 60 * 1000 + 1000);
    let mut f = form(&late);
    f[5].1 = app.clock.now_ms().to_string();
    let (s, body) = post(a.token.clone(), f).await;
    fail(s, &body, StatusCode::BAD_REQUEST);
}
