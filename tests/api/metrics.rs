//! Issue 18: `GET /metrics` in the Prometheus text format, after a client did what clients do;
//! route labels are templates only; every template the metrics know is a route the router
//! serves; the optional bearer token.

use crate::helpers::*;
use crate::on_both;
use reqwest::StatusCode;

on_both!(
    metrics_count_what_clients_did,
    every_route_template_is_served
);

async fn scrape(app: &TestApp, bearer: Option<&str>) -> (StatusCode, String) {
    let mut rb = app.http.get(app.url("/metrics"));
    if let Some(t) = bearer {
        rb = rb.header("authorization", format!("Bearer {t}"));
    }
    let resp = rb.send().await.expect("http");
    (resp.status(), resp.text().await.unwrap_or_default())
}

/// The value of the series `name{labels}` exactly as written in the exposition (0 when absent).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0.0)
}

async fn metrics_count_what_clients_did(b: Backend) {
    let app = TestApp::spawn(b).await;
    let x = app.register("mx").await;
    let y = app.register("my").await;
    app.befriend(&x, &y).await;
    let mut y_ws = app.ws(&y.token).await;
    app.wait_online(&y).await;
    let (s, body) = app.send(&x, &y, "counted").await;
    ok_data(s, &body);
    assert_eq!(y_ws.recv().await["data"]["data"], "counted");
    // A path with an id: its label is the template, never the id.
    let (s, _) = app
        .get("/api/chat/groupinfo/987654321", Some(&x.token))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, text) = scrape(&app, None).await;
    assert_eq!(s, StatusCode::OK);
    for series in [
        r#"chatd_messages_accepted_total{chat_type="single",transport="rest"}"#,
        r#"chatd_deliveries_total{path="live"}"#,
        r#"chatd_sockets_opened_total{dialect="rich"}"#,
        r#"chatd_connections_open{dialect="rich"}"#,
        r#"chatd_http_requests_total{route="/api/chat/socket/sendmessage",method="POST",status="200"}"#,
        r#"chatd_http_requests_total{route="/api/chat/groupinfo/{}",method="GET",status="404"}"#,
        r#"chatd_store_write_batch_seconds_count"#,
        r#"chatd_http_request_seconds_count{route="/api/regChat"}"#,
    ] {
        assert!(value(&text, series) >= 1.0, "{series} not counted:\n{text}");
    }
    for line in text.lines().filter(|l| l.contains("route=\"")) {
        let route = line
            .split("route=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("");
        assert!(
            chatd::metrics::routes().iter().any(|r| r == route)
                || route == "unmatched"
                || route == "/public/uploads/{}",
            "a route label that is not a template: {line}"
        );
    }
    assert!(!text.contains("987654321"), "a raw id in a label");
}

async fn every_route_template_is_served(b: Backend) {
    let app = TestApp::spawn_with(b, |o| {
        o.metrics_token = Some("scrape-token".into());
        // `/notification` answers only when it has a key.
        o.notification_key = Some("k".repeat(32));
    })
    .await;
    // Every template is served: tests/api/docs.rs (the templates are the documented paths).
    // With a token set, /metrics needs it.
    assert_eq!(scrape(&app, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        scrape(&app, Some("wrong")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, text) = scrape(&app, Some("scrape-token")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(text.contains("chatd_http_requests_total"));
}
