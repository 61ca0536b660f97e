//! Fetching videos: the host list, private addresses, redirects, size caps, sniffing.

use super::*;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|_| unreachable!())
}

#[test]
fn private_and_special_addresses_are_not_public() {
    for bad in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::7f00:1",
    ] {
        assert!(!is_public(ip(bad)), "{bad}");
    }
    for good in ["1.1.1.1", "93.184.216.34", "2606:4700::1111"] {
        assert!(is_public(ip(good)), "{good}");
    }
}

#[test]
fn urls_must_name_an_allowed_host() {
    let f = Fetcher::new(vec!["cdn.example".into()], 100);
    assert!(f.check_url("https://cdn.example/v.mp4").is_ok());
    assert!(f.check_url("http://CDN.example:8080/v.mp4").is_ok());
    for bad in [
        "https://evil.example/v.mp4",
        "https://cdn.example.evil.example/v.mp4",
        "https://user:pw@cdn.example/v.mp4",
        "file:///etc/passwd",
        "gopher://cdn.example/",
        "not a url",
    ] {
        assert!(f.check_url(bad).is_err(), "{bad}");
    }
}

#[test]
fn demuxers_are_pinned_by_type() {
    assert_eq!(demuxer("video/mp4"), Some("mov"));
    assert_eq!(demuxer("video/webm"), Some("matroska"));
    assert_eq!(demuxer("application/x-mpegurl"), None);
    assert_eq!(demuxer("image/png"), None);
}

/// A one-shot HTTP server on loopback answering every request with `reply`.
async fn serve(reply: String) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(reply.as_bytes()).await;
        }
    });
    port
}

fn loopback_fetcher(max: usize) -> Fetcher {
    Fetcher {
        hosts: vec!["localhost".into()],
        max_bytes: max,
        allow_private: true,
    }
}

#[tokio::test]
async fn loopback_is_refused_even_on_an_allowed_host() {
    let port = serve("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi".into()).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let f = Fetcher::new(vec!["localhost".into()], 100);
    let r = f
        .fetch(&format!("http://localhost:{port}/v"), &dir.path().join("v"))
        .await;
    assert!(matches!(r, Err(ApiError::BadRequest(_))), "{r:?}");
}

#[tokio::test]
async fn each_redirect_is_checked_and_size_is_capped() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("v");
    let body = "x".repeat(50);
    let ok = serve(format!(
        "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{body}"
    ))
    .await;
    // A redirect to an allowed host is followed.
    let hop = serve(format!(
        "HTTP/1.1 302 Found\r\nLocation: http://localhost:{ok}/v\r\nContent-Length: 0\r\n\r\n"
    ))
    .await;
    let f = loopback_fetcher(100);
    f.fetch(&format!("http://localhost:{hop}/v"), &dest)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(std::fs::read(&dest).unwrap_or_default().len(), 50);
    // A redirect off the list is refused, and so is one to a non-HTTP scheme.
    for target in [
        "http://127.0.0.1:1/v".to_string(),
        "file:///etc/passwd".into(),
    ] {
        let away = serve(format!(
            "HTTP/1.1 301 Moved\r\nLocation: {target}\r\nContent-Length: 0\r\n\r\n"
        ))
        .await;
        let r = f.fetch(&format!("http://localhost:{away}/v"), &dest).await;
        assert!(matches!(r, Err(ApiError::BadRequest(_))), "{target}: {r:?}");
    }
    // Bigger than the cap: 413, whether announced or not.
    let small = loopback_fetcher(10);
    let r = small
        .fetch(&format!("http://localhost:{ok}/v"), &dest)
        .await;
    assert!(matches!(r, Err(ApiError::TooLarge(_))), "{r:?}");
    let unannounced = serve(format!(
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{body}"
    ))
    .await;
    let r = small
        .fetch(&format!("http://localhost:{unannounced}/v"), &dest)
        .await;
    assert!(matches!(r, Err(ApiError::TooLarge(_))), "{r:?}");
}
