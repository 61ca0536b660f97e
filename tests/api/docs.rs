//! Issue 18, part 2: the OpenAPI document and the router agree both ways; the documentation
//! page is served by chatd itself and needs nothing from the network.

use crate::helpers::*;
use chatd::openapi::endpoints::{M, OPS};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::BTreeSet;

fn method(m: M) -> Method {
    match m {
        M::Get => Method::GET,
        M::Post => Method::POST,
        M::Put => Method::PUT,
        M::Delete => Method::DELETE,
    }
}

/// Whether an answer is the router's own: no route for the path, or not for this method.
fn router_refused(status: StatusCode, body: &str) -> bool {
    (status == StatusCode::NOT_FOUND
        && (body.contains("no such endpoint") || body.contains("接口不存在")))
        || status == StatusCode::METHOD_NOT_ALLOWED
}

/// `path` with each `{name}` filled in.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| match s {
            "{file}" => "index.html",
            s if s.starts_with('{') => "1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_documented_operation_answers_and_no_other_method_does() {
    let app = TestApp::spawn_with(Backend::Embedded, |o| {
        // `/notification` exists only with a key.
        o.notification_key = Some("k".repeat(32));
    })
    .await;
    let paths: BTreeSet<&str> = OPS.iter().map(|o| o.path).collect();
    for path in paths {
        // Files are served under it only once uploaded (tests/api/files.rs).
        if path == "/public/uploads/{path}" {
            continue;
        }
        let url = app.url(&concrete(path));
        for m in [M::Get, M::Post, M::Put, M::Delete] {
            let documented = OPS.iter().any(|o| o.path == path && o.method == m);
            let resp = app
                .http
                .request(method(m), &url)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            assert_eq!(
                !router_refused(status, &body),
                documented,
                "{} {path}: documented {documented}, answered {status} {body}",
                m.as_str()
            );
        }
    }
}

/// The templates the router's source declares: every `warp::path!(…)` in `src/http/`, with a
/// typed segment as `{}`, plus the few routes built otherwise (named here, and each checked to be
/// still where it is said to be).
fn declared_routes() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
    let mut out = BTreeSet::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
    for entry in entries.flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for (i, _) in text.match_indices("warp::path!(") {
            let rest = &text[i + "warp::path!(".len()..];
            let inner = &rest[..rest.find(')').unwrap_or(0)];
            let segments: Vec<String> = inner
                .split('/')
                .map(|s| {
                    let s = s.trim();
                    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                        Some(lit) => lit.to_string(),
                        None => "{}".to_string(),
                    }
                })
                .collect();
            out.insert(format!("/{}", segments.join("/")));
        }
        // groups.rs: `post("name")` is `POST /api/chat/name`.
        if entry.file_name() == "groups.rs" {
            for (i, _) in text.match_indices(".or(post(\"") {
                let rest = &text[i + ".or(post(\"".len()..];
                let name = &rest[..rest.find('"').unwrap_or(0)];
                out.insert(format!("/api/chat/{name}"));
            }
        }
    }
    let special = [
        ("server.rs", "path() == \"/ws\"", "/ws"),
        (
            "http/files.rs",
            "warp::path(\"public\")",
            "/public/uploads/{}",
        ),
        ("http/docs.rs", "warp::path(\"docs\")", "/api/docs"),
        ("http/docs.rs", "warp::path::tail()", "/api/docs/{}"),
        ("http/web.rs", "warp::path(\"app\")", "/app"),
        ("http/web.rs", "warp::path::tail()", "/app/{}"),
    ];
    for (file, needle, template) in special {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/").to_string() + file;
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(text.contains(needle), "{path} no longer has {needle}");
        out.insert(template.to_string());
    }
    out
}

#[test]
fn every_route_the_router_declares_is_documented_and_no_other() {
    let documented: BTreeSet<String> = chatd::openapi::endpoints::templates().into_iter().collect();
    let declared = declared_routes();
    let undocumented: Vec<_> = declared.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&declared).collect();
    assert!(
        undocumented.is_empty(),
        "served but not documented: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "documented but not declared: {unserved:?}"
    );
    assert!(declared.len() > 60, "{} routes", declared.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_openapi_3_1_with_both_dialects_and_the_frames() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let resp = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let doc: Value = resp.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc["openapi"], "3.1.0");
    let read = &doc["paths"]["/api/chat/read"]["post"];
    assert_eq!(read["tags"][0], "messages");
    let body = &read["requestBody"]["content"];
    for kind in ["application/json", "application/x-www-form-urlencoded"] {
        assert!(
            body[kind]["schema"]["properties"]["seq"].is_object(),
            "{kind}: {body}"
        );
    }
    assert!(read["responses"]["401"].is_object() && read["responses"]["422"].is_object());
    assert!(read["security"].as_array().is_some_and(|s| !s.is_empty()));
    // The compact dialect, the uploads' multipart body, the token schemes.
    assert!(doc["paths"]["/api/request/{requestId}"]["put"].is_object());
    assert!(
        doc["paths"]["/api/chat/uploadStreamSingleToServerDiy/{diydir}"]["post"]["requestBody"]
            ["content"]["multipart/form-data"]
            .is_object()
    );
    for scheme in ["token", "bearer", "access_token", "api_key"] {
        assert!(
            doc["components"]["securitySchemes"][scheme].is_object(),
            "{scheme}"
        );
    }
    // The WebSocket frames of both dialects are in the description.
    let about = doc["info"]["description"].as_str().unwrap_or("");
    for frame in [
        "singleChat",
        "readSync",
        "presence",
        "\"unicast\"",
        "multicast",
        "1013",
    ] {
        assert!(about.contains(frame), "{frame} not described");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_is_served_whole_by_chatd() {
    let app = TestApp::spawn(Backend::Embedded).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let resp = client
        .get(app.url("/api/docs"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        resp.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/api/docs/")
    );
    let page = app
        .http
        .get(app.url("/api/docs/"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("swagger-ui"), "{html}");
    // Every asset the page names is here; nothing is fetched from elsewhere.
    let mut assets = Vec::new();
    for attr in ["href=\"", "src=\""] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            let link = &rest[..rest.find('"').unwrap_or(0)];
            assert!(
                !link.contains("://") && !link.starts_with("//"),
                "external: {link}"
            );
            assets.push(link.trim_start_matches("./").to_string());
        }
    }
    assert!(assets.len() >= 3, "{assets:?}");
    for asset in assets {
        let resp = app
            .http
            .get(app.url(&format!("/api/docs/{asset}")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resp.status(), StatusCode::OK, "{asset}");
    }
    let init = app
        .http
        .get(app.url("/api/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(init.contains("/api/openapi.json"), "{init}");
    assert!(
        !init.contains("https://"),
        "the initializer reaches out: {init}"
    );
    let (s, _) = app.get("/api/docs/no-such-asset.js", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
