//! SPEC §6 files: uploads, serving, sniffing, limits, video screenshots.

use crate::helpers::*;
use crate::on_both;
use base64::Engine;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::Value;

on_both!(
    upload_download_and_refusals,
    upload_aliyun_answers_like_the_seed,
    upload_aliyun_into_the_object_store,
    video_screenshots,
);

/// `uploadAliyun` with an S3-compatible store configured: the moto server that scripts/test.sh
/// starts (CHATD_TEST_S3_ENDPOINT), path-style, a fresh bucket per test.
async fn upload_aliyun_into_the_object_store(b: Backend) {
    use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
    use std::time::Duration;
    let endpoint =
        std::env::var("CHATD_TEST_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9090".into());
    let name = format!("chatd-t-{}", rand::random::<u32>());
    let bucket = Bucket::new(
        endpoint.parse().unwrap(),
        UrlStyle::Path,
        name.clone(),
        "us-east-1",
    )
    .unwrap();
    let creds = Credentials::new("test", "test");
    let http = reqwest::Client::new();
    let created = http
        .put(bucket.create_bucket(&creds).sign(Duration::from_secs(60)))
        .header("content-length", "0")
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!("the S3 test server at {endpoint} is required (scripts/test.sh starts it): {e}")
        });
    assert!(created.status().is_success(), "{}", created.status());
    let app = TestApp::spawn_with(b, |o| {
        o.s3_endpoint = Some(endpoint.clone());
        o.s3_bucket = Some(name.clone());
        o.s3_access_key = Some("test".into());
        o.s3_secret_key = Some("test".into());
        o.s3_path_style = Some(true);
    })
    .await;
    let u = app.register("s3u").await;
    let png = tiny_png(6, 6);
    let form = Form::new()
        .part("img", Part::bytes(png.clone()).file_name("a.png"))
        .text("imageClassId", "0");
    let resp = app
        .http
        .post(app.url("/api/chat/uploadAliyun"))
        .header("token", &u.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let key = body["data"][0]["path"].as_str().unwrap().to_string();
    assert_eq!(
        body["data"][0]["url"].as_str().unwrap(),
        bucket.object_url(&key).unwrap().as_str()
    );
    // Readable in the object store.
    let got = http
        .get(
            bucket
                .get_object(Some(&creds), &key)
                .sign(Duration::from_secs(60)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), png);
    // Content sniffing applies here too.
    let form = Form::new().part(
        "img",
        Part::bytes(b"#!/bin/sh echo hi".to_vec()).file_name("a.png"),
    );
    let resp = app
        .http
        .post(app.url("/api/chat/uploadAliyun"))
        .header("token", &u.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
}

pub(crate) fn tiny_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().unwrap();
        wr.write_image_data(&vec![128u8; (w * h) as usize]).unwrap();
    }
    out
}

pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    diydir: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_string()));
    let resp = app
        .http
        .post(app.url(&format!("/api/chat/uploadStreamSingleToServerDiy/{diydir}")))
        .header("token", token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = resp.status();
    (s, resp.json().await.unwrap_or(Value::Null))
}

async fn upload_download_and_refusals(b: Backend) {
    let app = TestApp::spawn_with(b, |o| o.upload_max_bytes = Some(64 * 1024)).await;
    let u = app.register("upl").await;
    let png = tiny_png(20, 10);
    let (s, body) = upload(&app, &u.token, "chatImgs", "../../evil.sh", png.clone()).await;
    let url = ok_data(s, &body)["url"].as_str().unwrap().to_string();
    assert!(
        url.contains("/public/uploads/Diy/chatImgs/") && url.ends_with(".png"),
        "{url}"
    );
    assert!(!url.contains("evil"), "the stored name is ours: {url}");
    let resp = app.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert_eq!(resp.bytes().await.unwrap().to_vec(), png);
    // diydir: dots, encoded traversal, absolute paths.
    for bad in ["a.b", "%2e%2e", "..%2F..%2Fetc", "%2Fetc", "x%00"] {
        let (s, body) = upload(&app, &u.token, bad, "a.png", png.clone()).await;
        assert!(
            s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::NOT_FOUND,
            "{bad}: {s} {body}"
        );
    }
    // An executable renamed .png, and plain text: refused by content.
    let mut elf = vec![0x7F, b'E', b'L', b'F', 2, 1, 1, 0];
    elf.extend(vec![0u8; 120]);
    let (s, body) = upload(&app, &u.token, "chatImgs", "photo.png", elf).await;
    fail(s, &body, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Too large.
    let big = [png.clone(), vec![0u8; 70 * 1024]].concat();
    let (s, body) = upload(&app, &u.token, "chatImgs", "big.png", big).await;
    fail(s, &body, StatusCode::PAYLOAD_TOO_LARGE);
    // Missing token, missing field.
    let (s, _) = upload(&app, "nope", "chatImgs", "a.png", png.clone()).await;
    assert_eq!(s, 401);
    let resp = app
        .http
        .post(app.url("/api/chat/uploadStreamSingleToServerDiy/x"))
        .header("token", &u.token)
        .multipart(Form::new().text("other", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    // Read-only serving: no listing, no way out.
    for path in [
        "/public/uploads/Diy/",
        "/public/uploads/Diy/chatImgs",
        "/public/uploads/../Cargo.toml",
        "/public/uploads/%2e%2e/chatd.db",
    ] {
        let resp = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
    let resp = app.http.put(&url).body("x").send().await.unwrap();
    assert_ne!(resp.status(), 200);
}

async fn upload_aliyun_answers_like_the_seed(b: Backend) {
    let app = TestApp::spawn(b).await;
    let u = app.register("ali").await;
    let png = tiny_png(4, 4);
    let form = Form::new()
        .part("img", Part::bytes(png.clone()).file_name("a.png"))
        .text("imageClassId", "3");
    let resp = app
        .http
        .post(app.url("/api/chat/uploadAliyun"))
        .header("token", &u.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], 200);
    let item = &body["data"][0];
    assert_eq!(item["image_class_id"], 3);
    assert!(item["path"].as_str().unwrap().starts_with("images/"));
    assert!(item["create_time"].as_i64().unwrap() > 1_600_000_000);
    let got = app
        .http
        .get(item["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.to_vec(), png);
}

/// Width of a baseline or progressive JPEG (SOF0/SOF2).
fn jpeg_width(b: &[u8]) -> Option<u32> {
    let mut i = 2;
    while i + 9 < b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if marker == 0xC0 || marker == 0xC2 {
            return Some(u16::from_be_bytes([b[i + 7], b[i + 8]]) as u32);
        }
        i += 2 + len;
    }
    None
}

async fn video_screenshots(b: Backend) {
    let app = TestApp::spawn(b).await;
    let u = app.register("vid").await;
    let dir = tempfile::tempdir().unwrap();
    let mp4 = dir.path().join("t.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=1:size=320x240:rate=10",
            "-c:v",
            "mpeg4",
        ])
        .arg(&mp4)
        .status()
        .expect("ffmpeg is installed by scripts/test.sh");
    assert!(made.success());
    let (s, body) = upload(
        &app,
        &u.token,
        "videos",
        "t.mp4",
        std::fs::read(&mp4).unwrap(),
    )
    .await;
    let url = ok_data(s, &body)["url"].as_str().unwrap().to_string();
    let b64 = base64::engine::general_purpose::STANDARD;
    let (s, body) = app
        .post(
            "/api/chat/getVideoScreenshot",
            Some(&u.token),
            &[
                ("videoUrl", &url),
                ("time", "500"),
                ("width", "120"),
                ("format", "png"),
            ],
        )
        .await;
    let shot = ok_data(s, &body);
    assert_eq!(
        (
            shot["format"].as_str(),
            shot["width"].as_i64(),
            shot["time"].as_i64()
        ),
        (Some("png"), Some(120), Some(500))
    );
    let data = shot["base64"]
        .as_str()
        .unwrap()
        .strip_prefix("data:image/png;base64,")
        .unwrap();
    let png_bytes = b64.decode(data).unwrap();
    let reader = png::Decoder::new(std::io::Cursor::new(&png_bytes))
        .read_info()
        .unwrap();
    assert_eq!(reader.info().width, 120);
    let served = app
        .http
        .get(shot["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(served.to_vec(), png_bytes);
    // jpg, with the defaults for time and width; a bare /public/uploads path works too.
    let path = url
        .split_once("/public/")
        .map(|(_, p)| format!("/public/{p}"))
        .unwrap();
    let (s, body) = app
        .post(
            "/api/chat/getVideoScreenshot",
            Some(&u.token),
            &[("videoUrl", &path), ("format", "jpg")],
        )
        .await;
    let shot = ok_data(s, &body);
    let data = shot["base64"]
        .as_str()
        .unwrap()
        .strip_prefix("data:image/jpeg;base64,")
        .unwrap();
    assert_eq!(jpeg_width(&b64.decode(data).unwrap()), Some(260));
    // Foreign hosts, traversal and bad formats are refused.
    for (video, code) in [
        ("https://evil.example/x.mp4", StatusCode::BAD_REQUEST),
        ("file:///etc/passwd", StatusCode::BAD_REQUEST),
        ("/public/uploads/../../etc/passwd", StatusCode::BAD_REQUEST),
    ] {
        let (s, body) = app
            .post(
                "/api/chat/getVideoScreenshot",
                Some(&u.token),
                &[("videoUrl", video)],
            )
            .await;
        fail(s, &body, code);
    }
    let (s, body) = app
        .post(
            "/api/chat/getVideoScreenshot",
            Some(&u.token),
            &[("videoUrl", &url), ("format", "gif")],
        )
        .await;
    fail(s, &body, StatusCode::UNPROCESSABLE_ENTITY);
}
