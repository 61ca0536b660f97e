//! SPEC §1 visitors: the five checks in order, the shared per-device limit, visitor mode,
//! upgrading in place, the welcome message.

use crate::helpers::*;
use crate::on_both;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

on_both!(
    each_check_fails_alone_and_creates_nothing,
    sixth_request_in_an_hour_is_429,
    visitor_register_login_and_welcome,
    upgraded_visitor_keeps_id_and_offline_messages,
);

const SALT: &str = "chatd-dev-salt";
const SECRET: &str = "chatd-dev-app-secret";

pub(crate) fn device() -> String {
    let u = uuid::Uuid::new_v4().to_string();
    assert_eq!(u.len(), 36);
    u
}

/// seed 001 generateSign, computed here independently of the server.
pub(crate) fn sign(device: &str, ts: &str) -> String {
    let text = format!("deviceId={device}&salt={SALT}&timestamp={ts}{SECRET}");
    hex::encode(Sha256::digest(text.as_bytes()))
}

pub(crate) async fn visitor_call(
    app: &TestApp,
    path: &str,
    sign_header: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut rb = app
        .http
        .post(app.url(path))
        .json(&body)
        .header("accept-language", "en");
    if let Some(s) = sign_header {
        rb = rb.header("X-Security-Sign", s);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn register_visitor(app: &TestApp, dev: &str) -> Value {
    let ts = app.clock.now_ms().to_string();
    let (s, body) = visitor_call(
        app,
        "/api/visitorRegister",
        Some(&sign(dev, &ts)),
        json!({"deviceId": dev, "timestamp": ts, "uniplatform": "ios", "devicebrand": "x"}),
    )
    .await;
    ok_data(s, &body)
}

async fn each_check_fails_alone_and_creates_nothing(b: Backend) {
    let app = TestApp::spawn(b).await;
    let dev = device();
    let now = app.clock.now_ms();
    let ts = now.to_string();
    let body = json!({"deviceId": dev, "timestamp": ts});
    for path in [
        "/api/visitorRegister",
        "/api/visitorloginChat",
        "/api/visitorregChat",
    ] {
        let (s, r) = visitor_call(&app, path, None, body.clone()).await;
        assert_eq!(
            fail(s, &r, StatusCode::BAD_REQUEST),
            "illegal access",
            "{path}"
        );
    }
    let (s, r) = visitor_call(&app, "/api/visitorRegister", Some("deadbeef"), body.clone()).await;
    assert_eq!(fail(s, &r, StatusCode::BAD_REQUEST), "illegal signature");
    // A signature over other values is refused too.
    let (s, r) = visitor_call(
        &app,
        "/api/visitorRegister",
        Some(&sign(&dev, "1")),
        body.clone(),
    )
    .await;
    assert_eq!(fail(s, &r, StatusCode::BAD_REQUEST), "illegal signature");
    for skew in [-301_000i64, 301_000] {
        let t = (now + skew).to_string();
        let (s, r) = visitor_call(
            &app,
            "/api/visitorRegister",
            Some(&sign(&dev, &t)),
            json!({"deviceId": dev, "timestamp": t}),
        )
        .await;
        assert_eq!(
            fail(s, &r, StatusCode::BAD_REQUEST),
            "request expired",
            "skew {skew}"
        );
    }
    let bad = "not-a-device-id";
    let (s, r) = visitor_call(
        &app,
        "/api/visitorRegister",
        Some(&sign(bad, &ts)),
        json!({"deviceId": bad, "timestamp": ts}),
    )
    .await;
    assert_eq!(fail(s, &r, StatusCode::BAD_REQUEST), "invalid device id");
    let (s, r) = visitor_call(
        &app,
        "/api/visitorRegister",
        Some(&sign(&dev, &ts)),
        json!({"timestamp": ts}),
    )
    .await;
    fail(s, &r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        app.state()
            .store
            .user_by_device(&dev)
            .await
            .unwrap()
            .is_none(),
        "nothing created"
    );
    assert!(app
        .state()
        .store
        .user_by_device(bad)
        .await
        .unwrap()
        .is_none());
    // Refused requests do not count against the limit: five good ones still pass.
    for _ in 0..5 {
        register_visitor(&app, &dev).await;
    }
}

async fn sixth_request_in_an_hour_is_429(b: Backend) {
    let app = TestApp::spawn(b).await;
    let dev = device();
    // Start at an hour boundary so the six requests share a window.
    let now = app.clock.now_ms();
    app.clock
        .advance(3_600_000 - now.rem_euclid(3_600_000) + 1_000);
    register_visitor(&app, &dev).await;
    register_visitor(&app, &dev).await;
    let ts = app.clock.now_ms().to_string();
    // The limit is shared by all three endpoints.
    let (s, r) = visitor_call(&app, "/api/visitorloginChat", Some(&sign(&dev, &ts)),
        json!({"deviceId": dev, "timestamp": ts, "username": "nosuchuser", "password": "whatever1"})).await;
    fail(s, &r, StatusCode::BAD_REQUEST);
    let (s, r) = visitor_call(
        &app,
        "/api/visitorregChat",
        Some(&sign(&dev, &ts)),
        json!({"deviceId": dev, "timestamp": ts, "username": "bad name", "password": "secret1"}),
    )
    .await;
    fail(s, &r, StatusCode::UNPROCESSABLE_ENTITY); // refused before the checks: not counted
    register_visitor(&app, &dev).await;
    register_visitor(&app, &dev).await;
    let (s, r) = visitor_call(
        &app,
        "/api/visitorRegister",
        Some(&sign(&dev, &ts)),
        json!({"deviceId": dev, "timestamp": ts}),
    )
    .await;
    fail(s, &r, StatusCode::TOO_MANY_REQUESTS);
    // Another device is unaffected; the next hour is open again.
    register_visitor(&app, &device()).await;
    app.clock.advance(3_600_000);
    register_visitor(&app, &dev).await;
}

async fn visitor_register_login_and_welcome(b: Backend) {
    let app = TestApp::spawn(b).await;
    let dev = device();
    let v = register_visitor(&app, &dev).await;
    assert_eq!(v["role"], "visitor");
    assert!(v["username"]
        .as_str()
        .unwrap()
        .starts_with(&format!("VIS{}", &dev[..8])));
    assert_eq!(v["uniplatform"], "ios");
    let token = v["token"].as_str().unwrap().to_string();
    // Same device, same account.
    let again = register_visitor(&app, &dev).await;
    assert_eq!(again["id"], v["id"]);
    // Visitors are refused on users-only endpoints.
    let (s, body) = app
        .post("/api/chat/searchUser", Some(&token), &[("keyword", "x")])
        .await;
    fail(s, &body, StatusCode::FORBIDDEN);
    let (s, body) = app
        .post("/api/chat/applyfriend", Some(&token), &[("friend_id", "1")])
        .await;
    fail(s, &body, StatusCode::FORBIDDEN);
    // Welcome messages (one per login) wait in the offline queue.
    let (_, body) = app
        .get(&format!("/api/message?access_token={token}"), None)
        .await;
    let msgs = body[0]["messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(body[0]["id"], "0", "from System: {body}");
    assert_eq!(msgs.len(), 2);
    // Visitors cannot be befriended.
    let user = app.register("frv").await;
    let (s, body) = app
        .post(
            "/api/chat/applyfriend",
            Some(&user.token),
            &[("friend_id", &v["id"].to_string())],
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
}

async fn upgraded_visitor_keeps_id_and_offline_messages(b: Backend) {
    let app = TestApp::spawn(b).await;
    let dev = device();
    let v = register_visitor(&app, &dev).await;
    let vid = v["id"].as_i64().unwrap();
    let vtoken = v["token"].as_str().unwrap().to_string();
    // A user who allows visitors to write; the visitor writes, the user answers while the
    // visitor is offline.
    let u = app.register("sup").await;
    let (s, body) = app
        .post(
            "/api/chat/userset",
            Some(&u.token),
            &[("userset", r#"{"chatset":{"visitor":2,"user":0}}"#)],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = app
        .post(
            "/api/chat/socket/sendmessage",
            Some(&vtoken),
            &[
                ("sendto_id", &u.id.to_string()),
                ("chatType", "single"),
                ("type", "text"),
                ("data", "help?"),
            ],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = app
        .post(
            "/api/chat/socket/sendmessage",
            Some(&u.token),
            &[
                ("sendto_id", &vid.to_string()),
                ("chatType", "single"),
                ("type", "text"),
                ("data", "answer"),
            ],
        )
        .await;
    ok_data(s, &body);

    let name = unique("up");
    let ts = app.clock.now_ms().to_string();
    let (s, body) = visitor_call(
        &app,
        "/api/visitorregChat",
        Some(&sign(&dev, &ts)),
        json!({"deviceId": dev, "timestamp": ts, "username": name, "password": "secret123"}),
    )
    .await;
    let upgraded = ok_data(s, &body);
    assert_eq!(upgraded["id"], vid, "same id");
    assert_eq!(upgraded["role"], "user");
    let utoken = upgraded["token"].as_str().unwrap().to_string();
    let (_, body) = app
        .get(
            &format!("/api/message?access_token={utoken}&type=unicast"),
            None,
        )
        .await;
    let all: Vec<String> = body
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["messages"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m["content"].as_str().map(str::to_string))
        .collect();
    assert!(all.contains(&"answer".to_string()), "{all:?}");
    // The username is taken now.
    let (s, body) = visitor_call(
        &app,
        "/api/visitorregChat",
        Some(&sign(&device(), &ts)),
        json!({"deviceId": device(), "timestamp": ts, "username": name, "password": "secret123"}),
    )
    .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    // The visitor token of the device went with the upgrade, and the device id alone opens the
    // registered account no more (§9.16): 400 and no token.
    let (s, _) = app
        .get("/api/chat/history?chatType=single&id=1", Some(&vtoken))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let ts = app.clock.now_ms().to_string();
    let (s, body) = visitor_call(
        &app,
        "/api/visitorRegister",
        Some(&sign(&dev, &ts)),
        json!({"deviceId": dev, "timestamp": ts}),
    )
    .await;
    let reason = fail(s, &body, StatusCode::BAD_REQUEST);
    assert!(reason.contains("password"), "{reason}");
    assert!(body.to_string().find("token").is_none(), "{body}");
    // ...and as a user from visitorloginChat; the device cannot be re-registered over it.
    let (s, body) = visitor_call(
        &app,
        "/api/visitorloginChat",
        Some(&sign(&dev, &ts)),
        json!({"deviceId": dev, "timestamp": ts, "username": name, "password": "secret123"}),
    )
    .await;
    assert_eq!(ok_data(s, &body)["role"], "user");
    let (s, body) = visitor_call(&app, "/api/visitorregChat", Some(&sign(&dev, &ts)),
        json!({"deviceId": dev, "timestamp": ts, "username": unique("hj"), "password": "secret123"})).await;
    fail(s, &body, StatusCode::BAD_REQUEST);
}
