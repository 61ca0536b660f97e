//! SPEC §1 accounts (without visitor endpoints), §0 conventions (envelope, token sources,
//! languages, parameter forms).

use crate::helpers::*;
use crate::on_both;
use reqwest::StatusCode;
use serde_json::json;

on_both!(
    register_login_and_user_object,
    registration_validation,
    login_failures_are_uniform_and_rate_limited,
    logout_revokes_http_and_websocket,
    set_password_revokes_other_sessions,
    token_sources_and_languages,
    search_user_rules,
    profile_settings_and_updates,
    get_user_set_info_rules,
    browsers_on_other_origins_may_call,
);

async fn browsers_on_other_origins_may_call(b: Backend) {
    let app = TestApp::spawn(b).await;
    let pre = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/api/chat/searchUser"))
        .header("origin", "http://localhost:8080")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "token,content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 200);
    assert!(pre.headers().contains_key("access-control-allow-origin"));
    let resp = app
        .http
        .post(app.url("/api/loginChat"))
        .header("origin", "http://localhost:8080")
        .form(&[("username", "nosuchuser3"), ("password", "whatever1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().contains_key("access-control-allow-origin"));
}

async fn register_login_and_user_object(b: Backend) {
    let app = TestApp::spawn(b).await;
    let name = unique("alice");
    let (s, body) = app
        .post_json(
            "/api/regChat",
            None,
            json!({"username": name, "password": "secret123"}),
        )
        .await;
    let u = ok_data(s, &body);
    assert_eq!(u["username"], name.as_str());
    assert_eq!(u["role"], "user");
    assert_eq!(u["status"], 1);
    assert!(u.get("password").is_none(), "never the password: {u}");
    assert!(u["token"]
        .as_str()
        .is_some_and(|t| t.split('.').count() == 3));
    assert_eq!(u["register_ip"], "127.0.0.1");
    assert!(u["last_login"].is_string());
    let ct = u["create_time"].as_str().unwrap_or_default();
    assert_eq!(ct.len(), 19, "YYYY-MM-DD HH:MM:SS: {ct}");
    assert!(u["update_time"].as_str().is_some_and(|t| t.ends_with('Z')));

    // The token contains no profile field or hash.
    let payload = u["token"]
        .as_str()
        .unwrap_or_default()
        .split('.')
        .nth(1)
        .unwrap_or_default();
    let decoded = base64_url_decode(payload);
    assert!(
        !decoded.contains("password") && !decoded.contains(&name),
        "{decoded}"
    );
    assert!(
        decoded.contains("\"sid\"") && decoded.contains("\"role\""),
        "{decoded}"
    );

    // Duplicate username.
    let (s, body) = app
        .post(
            "/api/regChat",
            None,
            &[("username", &name), ("password", "secret123")],
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);

    // Login gives a working token.
    let (s, body) = app
        .post(
            "/api/loginChat",
            None,
            &[("username", &name), ("password", "secret123")],
        )
        .await;
    let logged = ok_data(s, &body);
    assert_eq!(logged["id"], u["id"]);
    let token = logged["token"].as_str().unwrap_or_default().to_string();
    let (s, body) = app
        .post("/api/chat/searchUser", Some(&token), &[("keyword", "zzz")])
        .await;
    ok_data(s, &body);
}

fn base64_url_decode(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let Some(v) = A.iter().position(|&x| x == c) else {
            continue;
        };
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn registration_validation(b: Backend) {
    let app = TestApp::spawn(b).await;
    for (user, pw) in [
        ("abc", "secret123"),
        ("bad-name!", "secret123"),
        ("okname1", "12345"),
        ("", "secret123"),
    ] {
        let (s, body) = app
            .post(
                "/api/regChat",
                None,
                &[("username", user), ("password", pw)],
            )
            .await;
        fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (s, body) = app
        .post("/api/regChat", None, &[("password", "secret123")])
        .await;
    let reason = fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reason.contains("username"), "{reason}");
    // Passwords count characters, not bytes.
    let name = unique("cjk");
    let (s, body) = app
        .post(
            "/api/regChat",
            None,
            &[("username", &name), ("password", "密码密码密码")],
        )
        .await;
    ok_data(s, &body);
}

async fn login_failures_are_uniform_and_rate_limited(b: Backend) {
    let app = TestApp::spawn(b).await;
    let u = app.register("bob").await;
    // Start just after a window boundary so the failures below share one window.
    let now = app.clock.now_ms();
    app.clock.advance(900_000 - now.rem_euclid(900_000) + 1_000);
    let (s1, b1) = app
        .post(
            "/api/loginChat",
            None,
            &[("username", &u.username), ("password", "wrong1")],
        )
        .await;
    let (s2, b2) = app
        .post(
            "/api/loginChat",
            None,
            &[("username", "nosuchuser1"), ("password", "wrong1")],
        )
        .await;
    assert_eq!(
        fail(s1, &b1, StatusCode::BAD_REQUEST),
        fail(s2, &b2, StatusCode::BAD_REQUEST)
    );
    // 10 failures per username per window, then 429 even with the right password.
    for _ in 0..9 {
        let (s, body) = app
            .post(
                "/api/loginChat",
                None,
                &[("username", &u.username), ("password", "wrong1")],
            )
            .await;
        fail(s, &body, StatusCode::BAD_REQUEST);
    }
    let (s, body) = app
        .post(
            "/api/loginChat",
            None,
            &[("username", &u.username), ("password", "secret123")],
        )
        .await;
    fail(s, &body, StatusCode::TOO_MANY_REQUESTS);
    // The window passes.
    app.clock.advance(16 * 60 * 1000);
    let (s, body) = app
        .post(
            "/api/loginChat",
            None,
            &[("username", &u.username), ("password", "secret123")],
        )
        .await;
    ok_data(s, &body);
}

async fn logout_revokes_http_and_websocket(b: Backend) {
    let app = TestApp::spawn(b).await;
    let u = app.register("carol").await;
    let mut ws = app.ws(&u.token).await;
    app.wait_online(&u).await;
    let (s, body) = app.post("/api/chat/logout", Some(&u.token), &[]).await;
    assert_eq!(ok_data(s, &body), json!(true));
    // The live socket of that session is closed, and the token is refused everywhere.
    assert!(ws
        .try_recv(std::time::Duration::from_secs(3))
        .await
        .is_none());
    let (s, body) = app
        .post("/api/chat/searchUser", Some(&u.token), &[("keyword", "x")])
        .await;
    fail(s, &body, StatusCode::UNAUTHORIZED);
    let req = format!("{}/ws?token={}", app.ws_base, u.token);
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!(
            "expected 401 on upgrade, got {:?}",
            other.map(|r| r.1.status())
        ),
    }
    // No token at all: 401 on both.
    let (s, body) = app.post("/api/chat/logout", None, &[]).await;
    fail(s, &body, StatusCode::UNAUTHORIZED);
    match tokio_tungstenite::connect_async(format!("{}/ws", app.ws_base)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!(
            "expected 401 on upgrade, got {:?}",
            other.map(|r| r.1.status())
        ),
    }
}

async fn set_password_revokes_other_sessions(b: Backend) {
    let app = TestApp::spawn(b).await;
    let u = app.register("dave").await;
    let other = app.login(&u).await;
    let form = |old: &'static str, new: &'static str, check: &'static str| {
        [
            ("oldpassword", old),
            ("newpassword", new),
            ("checknewpassword", check),
        ]
    };
    let (s, body) = app
        .post(
            "/api/chat/setPassword",
            Some(&u.token),
            &form("secret123", "newpass1", "newpass2"),
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    let (s, body) = app
        .post(
            "/api/chat/setPassword",
            Some(&u.token),
            &form("wrongold", "newpass1", "newpass1"),
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    let (s, body) = app
        .post(
            "/api/chat/setPassword",
            Some(&u.token),
            &form("secret123", "short", "short"),
        )
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = app
        .post(
            "/api/chat/setPassword",
            Some(&u.token),
            &form("secret123", "newpass1", "newpass1"),
        )
        .await;
    assert_eq!(ok_data(s, &body), "ok");
    // The calling session survives; the other is revoked; the new password works.
    let (s, body) = app
        .post("/api/chat/searchUser", Some(&u.token), &[("keyword", "x")])
        .await;
    ok_data(s, &body);
    let (s, body) = app
        .post("/api/chat/searchUser", Some(&other), &[("keyword", "x")])
        .await;
    fail(s, &body, StatusCode::UNAUTHORIZED);
    let (s, body) = app
        .post(
            "/api/loginChat",
            None,
            &[("username", &u.username), ("password", "newpass1")],
        )
        .await;
    ok_data(s, &body);
}

async fn token_sources_and_languages(b: Backend) {
    let app = TestApp::spawn(b).await;
    let u = app.register("erin").await;
    let path = "/api/chat/searchUser";
    let ok = |r: reqwest::Response| async move { r.status() };
    let form = [("keyword", "x")];
    assert_eq!(
        ok(app
            .http
            .post(app.url(path))
            .form(&form)
            .header("token", &u.token)
            .send()
            .await
            .unwrap())
        .await,
        200
    );
    assert_eq!(
        ok(app
            .http
            .post(app.url(path))
            .form(&form)
            .bearer_auth(&u.token)
            .send()
            .await
            .unwrap())
        .await,
        200
    );
    assert_eq!(
        ok(app
            .http
            .post(app.url(&format!("{path}?token={}", u.token)))
            .form(&form)
            .send()
            .await
            .unwrap())
        .await,
        200
    );
    assert_eq!(
        ok(app
            .http
            .post(app.url(&format!("{path}?access_token={}", u.token)))
            .form(&form)
            .send()
            .await
            .unwrap())
        .await,
        200
    );
    assert_eq!(
        ok(app
            .http
            .post(app.url(path))
            .form(&form)
            .header("token", "garbage")
            .send()
            .await
            .unwrap())
        .await,
        401
    );
    // Query-string parameters are accepted on POST too.
    assert_eq!(
        ok(app
            .http
            .post(app.url(&format!("{path}?keyword=x")))
            .header("token", &u.token)
            .send()
            .await
            .unwrap())
        .await,
        200
    );

    let r = app
        .http
        .post(app.url("/api/loginChat"))
        .header("accept-language", "zh-CN,zh;q=0.9")
        .form(&[("username", "nosuchuser2"), ("password", "whatever1")])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["data"], "用户名或密码错误");
    let r = app
        .http
        .post(app.url("/api/loginChat"))
        .header("accept-language", "en-US")
        .form(&[("username", "nosuchuser2"), ("password", "whatever1")])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["data"], "wrong username or password");
    // Unknown endpoint: 404 in the envelope.
    let (s, body) = app.get("/api/nope", None).await;
    fail(s, &body, StatusCode::NOT_FOUND);
    let (s, _) = app.get("/healthz", None).await;
    assert_eq!(s, 200);
    let (s, _) = app.get("/readyz", None).await;
    assert_eq!(s, 200);
}

async fn search_user_rules(b: Backend) {
    let app = TestApp::spawn(b).await;
    let tag = format!("q{}", rand::random::<u32>() % 100_000);
    let me = app.register(&format!("{tag}m")).await;
    let other = app.register(&format!("{tag}o")).await;
    let (s, body) = app
        .post(
            "/api/chat/updateUserinfo",
            Some(&other.token),
            &[("fieldname", "nickname"), ("fieldValue", "100%_real")],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = app
        .post(
            "/api/chat/searchUser",
            Some(&me.token),
            &[("keyword", &tag)],
        )
        .await;
    let list = ok_data(s, &body);
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["id"].as_i64())
        .collect();
    assert_eq!(ids, vec![other.id], "not me: {list}");
    let first = &list[0];
    for k in ["id", "username", "avatar", "role", "uuid", "nickname"] {
        assert!(first.get(k).is_some(), "{k} in {first}");
    }
    // Nickname match, with LIKE wildcards taken literally.
    let (s, body) = app
        .post(
            "/api/chat/searchUser",
            Some(&me.token),
            &[("keyword", "0%_r")],
        )
        .await;
    let list = ok_data(s, &body);
    assert!(
        list.as_array().unwrap().iter().any(|u| u["id"] == other.id),
        "{list}"
    );
    let (s, body) = app
        .post("/api/chat/searchUser", Some(&me.token), &[("keyword", "%")])
        .await;
    let list = ok_data(s, &body);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|u| u["nickname"].as_str().unwrap_or("").contains('%')
                || u["username"].as_str().unwrap_or("").contains('%')),
        "{list}"
    );
    let (s, body) = app
        .post("/api/chat/searchUser", Some(&me.token), &[("keyword", "")])
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let long = "k".repeat(51);
    let (s, body) = app
        .post(
            "/api/chat/searchUser",
            Some(&me.token),
            &[("keyword", &long)],
        )
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn profile_settings_and_updates(b: Backend) {
    let app = TestApp::spawn(b).await;
    let u = app.register("frank").await;
    // Public profile.
    let (s, body) = app.get(&format!("/api/userinfo/{}", u.uuid), None).await;
    let p = ok_data(s, &body);
    assert_eq!(p["username"], u.username.as_str());
    assert_eq!(p["userinfo"]["gender"], "unknown");
    assert!(p.get("password").is_none());
    let (s, body) = app
        .get("/api/userinfo/00000000-0000-0000-0000-000000000000", None)
        .await;
    fail(s, &body, StatusCode::NOT_FOUND);

    // userset must be JSON object text.
    let (s, body) = app
        .post("/api/chat/userset", Some(&u.token), &[("userset", "nope")])
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let set = r#"{"chatset":{"visitor":1,"user":2}}"#;
    let (s, body) = app
        .post("/api/chat/userset", Some(&u.token), &[("userset", set)])
        .await;
    assert_eq!(ok_data(s, &body), "ok");
    let (s, body) = app.get(&format!("/api/userinfo/{}", u.uuid), None).await;
    assert_eq!(ok_data(s, &body)["userset"], set);

    // updateUserinfo
    let (s, body) = app
        .post(
            "/api/chat/updateUserinfo",
            Some(&u.token),
            &[("fieldname", "username"), ("fieldValue", "x")],
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    let (s, body) = app
        .post(
            "/api/chat/updateUserinfo",
            Some(&u.token),
            &[("fieldname", "password"), ("fieldValue", "x")],
        )
        .await;
    fail(s, &body, StatusCode::BAD_REQUEST);
    let long = "n".repeat(31);
    let (s, body) = app
        .post(
            "/api/chat/updateUserinfo",
            Some(&u.token),
            &[("fieldname", "nickname"), ("fieldValue", &long)],
        )
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = app
        .post(
            "/api/chat/updateUserinfo",
            Some(&u.token),
            &[("fieldname", "invite_confirm"), ("fieldValue", "7")],
        )
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = app
        .post(
            "/api/chat/updateUserinfo",
            Some(&u.token),
            &[("fieldname", "nickname"), ("fieldValue", "好友")],
        )
        .await;
    assert!(ok_data(s, &body).is_string());
    let (s, body) = app
        .post(
            "/api/chat/updateUserinfo",
            Some(&u.token),
            &[("fieldname", "avatar"), ("fieldValue", "https://x/a.png")],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = app
        .post(
            "/api/chat/updateUserinfo",
            Some(&u.token),
            &[("fieldname", "invite_confirm"), ("fieldValue", "0")],
        )
        .await;
    ok_data(s, &body);
    let (s, body) = app.get(&format!("/api/userinfo/{}", u.uuid), None).await;
    let p = ok_data(s, &body);
    assert_eq!(p["nickname"], "好友");
    assert_eq!(p["avatar"], "https://x/a.png");
}

async fn get_user_set_info_rules(b: Backend) {
    let app = TestApp::spawn(b).await;
    let me = app.register("gina").await;
    let other = app.register("hank").await;
    let (s, body) = app
        .post(
            "/api/chat/getUserSetInfo",
            Some(&me.token),
            &[("userid", &other.id.to_string())],
        )
        .await;
    let info = ok_data(s, &body);
    assert_eq!(info["id"], other.id);
    assert_eq!(info["invite_confirm"], 1);
    assert_eq!(info["isgoodfriend"], false);
    assert_eq!(info["isgoodfriend_status"], true);
    app.befriend(&me, &other).await;
    app.state()
        .store
        .set_blacklisted(UserId(other.id), UserId(me.id), true, 0)
        .await
        .unwrap();
    let (s, body) = app
        .post(
            "/api/chat/getUserSetInfo",
            Some(&me.token),
            &[("userid", &other.id.to_string())],
        )
        .await;
    let info = ok_data(s, &body);
    assert_eq!(info["isgoodfriend"], true);
    assert_eq!(info["isgoodfriend_status"], false);
    let (s, body) = app
        .post(
            "/api/chat/getUserSetInfo",
            Some(&me.token),
            &[("userid", "999999")],
        )
        .await;
    fail(s, &body, StatusCode::NOT_FOUND);
    let (s, body) = app
        .post(
            "/api/chat/getUserSetInfo",
            Some(&me.token),
            &[("userid", "abc")],
        )
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
}
