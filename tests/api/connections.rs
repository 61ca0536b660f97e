//! SPEC §7 connections: heartbeat and idle close; the offline queue's cap.

use crate::helpers::*;
use crate::on_both;
use std::time::Duration;

on_both!(
    silent_sockets_are_closed_live_ones_kept,
    offline_queue_keeps_the_newest,
    client_frames_are_rate_limited,
    offline_queue_drops_what_is_too_old,
    shutdown_closes_sockets_with_1001,
    protocol_pings_and_closes_are_answered,
    broken_frames_close_with_the_reason,
);

/// What a client sends that breaks RFC 6455 ends its socket with the code that says why (the
/// server reads frames with its own reader, `chatd_actors::wire::reader`): invalid UTF-8 in a
/// text frame 1007, a frame over the size limit 1009, a fragmented ping 1002. A client's close
/// code is echoed.
async fn broken_frames_close_with_the_reason(b: Backend) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, Frame};
    use tokio_tungstenite::tungstenite::Message;
    let app = TestApp::spawn(b).await;
    let u = app.register("brk").await;
    let big = vec![b'x'; 2 * 65_536 + 16 * 1024 + 1];
    let cases: Vec<(Message, u16)> = vec![
        (
            Message::Frame(Frame::message(
                vec![b'a', 0xFF],
                OpCode::Data(Data::Text),
                true,
            )),
            1007,
        ),
        (Message::Binary(big.into()), 1009),
        (
            Message::Frame(Frame::message(
                b"x".to_vec(),
                OpCode::Data(Data::Continue),
                true,
            )),
            1002,
        ),
        (
            Message::Close(Some(CloseFrame {
                code: 4321.into(),
                reason: "bye".into(),
            })),
            4321,
        ),
    ];
    for (frame, code) in cases {
        let mut ws = app.ws(&u.token).await;
        app.wait_online(&u).await;
        let _ = ws.stream.send(frame).await;
        let mut got = None;
        while let Ok(Some(next)) =
            tokio::time::timeout(Duration::from_secs(5), ws.stream.next()).await
        {
            match next {
                Ok(Message::Close(c)) => {
                    got = c.map(|c| u16::from(c.code));
                    break;
                }
                Ok(_) => continue,
                Err(_) => break,
            }
        }
        assert_eq!(got, Some(code), "expected close {code}");
        app.wait_offline(&u).await;
    }
}

/// The server's own writes (pushes) and tungstenite's automatic replies share one ordered stream:
/// a WebSocket ping gets its pong with the same payload, and a client's close gets a close back.
async fn protocol_pings_and_closes_are_answered(b: Backend) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let app = TestApp::spawn(b).await;
    let u = app.register("ppg").await;
    let mut ws = app.ws(&u.token).await;
    app.wait_online(&u).await;
    ws.stream
        .send(Message::Ping(b"are you there"[..].into()))
        .await
        .unwrap();
    let mut pong = None;
    while let Ok(Some(Ok(frame))) =
        tokio::time::timeout(Duration::from_secs(5), ws.stream.next()).await
    {
        if let Message::Pong(p) = frame {
            pong = Some(p.to_vec());
            break;
        }
    }
    assert_eq!(pong.as_deref(), Some(&b"are you there"[..]));
    ws.stream.close(None).await.unwrap();
    let mut closed_back = false;
    while let Ok(Some(Ok(frame))) =
        tokio::time::timeout(Duration::from_secs(5), ws.stream.next()).await
    {
        if frame.is_close() {
            closed_back = true;
            break;
        }
    }
    assert!(closed_back, "the server answers a close with a close");
    app.wait_offline(&u).await;
}

async fn shutdown_closes_sockets_with_1001(b: Backend) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let mut app = TestApp::spawn(b).await;
    let u = app.register("sdn").await;
    let mut ws = app.ws(&u.token).await;
    app.wait_online(&u).await;
    let server = app.app.take().unwrap();
    let stopping = tokio::spawn(server.shutdown());
    let mut code = None;
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_secs(5), ws.stream.next()).await
    {
        if let Ok(Message::Close(Some(c))) = frame {
            code = Some(u16::from(c.code));
            break;
        }
    }
    stopping.await.unwrap();
    assert_eq!(code, Some(1001));
}

async fn offline_queue_drops_what_is_too_old(b: Backend) {
    let app = TestApp::spawn_with(b, |o| o.offline_max_age_days = Some(1)).await;
    let a = app.register("aga").await;
    let z = app.register("agz").await;
    app.befriend(&a, &z).await;
    let (s, body) = app.send(&a, &z, "old news").await;
    ok_data(s, &body);
    app.clock.advance(2 * 86_400_000);
    let (s, body) = app.send(&a, &z, "fresh").await;
    ok_data(s, &body);
    let (_, body) = app
        .get(&format!("/api/message?access_token={}", z.token), None)
        .await;
    let contents: Vec<&str> = body[0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(contents, vec!["fresh"]);
    let (s, body) = app
        .get(
            &format!("/api/chat/history?chatType=single&id={}", a.id),
            Some(&z.token),
        )
        .await;
    assert_eq!(
        ok_data(s, &body)["list"].as_array().map(Vec::len),
        Some(2),
        "history keeps it"
    );
}

async fn client_frames_are_rate_limited(b: Backend) {
    let app = TestApp::spawn_with(b, |o| o.ws_frames_per_sec = Some(2)).await;
    let u = app.register("rtl").await;
    let mut ws = app.ws(&u.token).await;
    app.wait_online(&u).await;
    for _ in 0..10 {
        ws.send_json(serde_json::json!({"type": "ping"})).await;
    }
    let mut pongs = 0;
    let mut refused = 0;
    while let Some(f) = ws.try_recv(Duration::from_millis(500)).await {
        match f["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("error") => refused += 1,
            _ => {}
        }
    }
    assert_eq!(pongs + refused, 10);
    assert!(
        (4..=5).contains(&pongs),
        "a burst of twice the rate: {pongs}"
    );
}

async fn silent_sockets_are_closed_live_ones_kept(b: Backend) {
    let app = TestApp::spawn_with(b, |o| {
        o.idle_timeout = Some(2);
        o.ping_interval = Some(1);
    })
    .await;
    let live = app.register("liv").await;
    let mute = app.register("mut").await;
    let mut live_ws = app.ws(&live.token).await;
    let _mute_ws = app.ws(&mute.token).await; // never read: never answers pings
    app.wait_online(&live).await;
    app.wait_online(&mute).await;
    // Reading lets the client answer the server's pings.
    assert!(live_ws
        .try_recv(Duration::from_millis(4500))
        .await
        .is_none());
    assert!(
        app.state().registry.is_online(UserId(live.id)),
        "a socket that answers pings stays"
    );
    app.wait_offline(&mute).await;
}

async fn offline_queue_keeps_the_newest(b: Backend) {
    let app = TestApp::spawn_with(b, |o| o.offline_cap = Some(3)).await;
    let a = app.register("cpa").await;
    let z = app.register("cpz").await;
    app.befriend(&a, &z).await;
    for i in 0..5 {
        let (s, body) = app.send(&a, &z, &format!("n{i}")).await;
        ok_data(s, &body);
    }
    let (_, body) = app
        .get(&format!("/api/message?access_token={}", z.token), None)
        .await;
    let contents: Vec<String> = body[0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str().map(str::to_string))
        .collect();
    assert_eq!(contents, vec!["n2", "n3", "n4"]);
    // What was trimmed is still in history.
    let (s, body) = app
        .get(
            &format!("/api/chat/history?chatType=single&id={}", a.id),
            Some(&z.token),
        )
        .await;
    assert_eq!(ok_data(s, &body)["list"].as_array().map(Vec::len), Some(5));
}
