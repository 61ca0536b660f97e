//! The outbox over real socket pairs: direct writes, the queue, its caps, close and finish.

use super::*;
use crate::wire::push::Push;
use tokio::io::AsyncReadExt;
use tokio::net::UnixStream;

fn message(i: usize, size: usize) -> [Arc<Push>; 1] {
    let m = serde_json::json!({"id": i, "from_id": 1, "to_id": 2, "chatType": "single",
        "type": "text", "data": "x".repeat(size), "create_time": 0});
    [Arc::new(
        Push::message(&m, 0).at(Arc::from("s:1:2"), i as i64),
    )]
}

/// What a socket wrote, for tungstenite to read as a client would: its answers (the pongs to
/// confirmation pings) go nowhere, instead of over the bytes still to be read.
struct Written(std::io::Cursor<Vec<u8>>);

impl std::io::Read for Written {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        std::io::Read::read(&mut self.0, buf)
    }
}

impl std::io::Write for Written {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn client_of(all: Vec<u8>) -> tokio_tungstenite::tungstenite::WebSocket<Written> {
    tokio_tungstenite::tungstenite::WebSocket::from_raw_socket(
        Written(std::io::Cursor::new(all)),
        tokio_tungstenite::tungstenite::protocol::Role::Client,
        None,
    )
}

/// The one conversation's entry of a position report.
fn only(list: &[(Arc<str>, i64)]) -> Option<i64> {
    assert!(list.len() <= 1, "{list:?}");
    list.first().map(|(conv, seq)| {
        assert_eq!(&**conv, "s:1:2");
        *seq
    })
}

fn pair(cap: usize) -> (Arc<Outbox>, UnixStream) {
    pair_capped(cap, usize::MAX)
}

fn pair_capped(cap: usize, cap_bytes: usize) -> (Arc<Outbox>, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    (Arc::new(Outbox::with_limits(a, cap, cap_bytes)), b)
}

/// Pushes 64 KiB messages nobody reads until the outbox refuses one: (accepted, refusal).
fn fill(out: &Outbox) -> (usize, Refused) {
    let mut accepted = 0;
    loop {
        match out.push(
            &message(accepted + 1, 64 * 1024),
            Dialect::Rich,
            WhenFull::Close,
        ) {
            Ok(()) => accepted += 1,
            Err(r) => return (accepted, r),
        }
        assert!(accepted < 100_000, "the outbox never refused");
    }
}

/// Reads `n` text frames (tungstenite as an independent client).
async fn read_texts(peer: UnixStream, n: usize) -> Vec<serde_json::Value> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::protocol::Role;
    let mut ws =
        tokio_tungstenite::WebSocketStream::from_raw_socket(peer, Role::Client, None).await;
    let mut got = Vec::new();
    while got.len() < n {
        match ws.next().await {
            Some(Ok(m)) if m.is_text() => {
                got.push(serde_json::from_str(m.to_text().unwrap()).unwrap())
            }
            Some(Ok(_)) => {}
            other => panic!("stream ended early: {other:?}"),
        }
    }
    got
}

#[tokio::test]
async fn direct_writes_need_no_task() {
    let (out, peer) = pair(8);
    for i in 0..5 {
        out.push(&message(i, 10), Dialect::Rich, WhenFull::Close)
            .unwrap();
    }
    let got = read_texts(peer, 5).await;
    let ids: Vec<_> = got
        .iter()
        .map(|f| f["data"]["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [0, 1, 2, 3, 4]);
}

#[tokio::test]
async fn a_full_kernel_buffer_queues_in_order_and_the_task_finishes() {
    let (out, peer) = pair(10_000);
    // 64 KiB messages: the socket buffer fills after a few, the rest queue.
    let n = 200;
    for i in 0..n {
        out.push(&message(i, 64 * 1024), Dialect::Compact, WhenFull::Close)
            .unwrap();
    }
    assert!(
        out.lock().queue.len() > 1,
        "expected the kernel buffer to fill"
    );
    let task = out.clone();
    let flusher = tokio::spawn(async move {
        task.stalled().await;
        task.flush().await
    });
    // Pushes made while the task drains still come after the queued ones.
    let reader = tokio::spawn(read_texts(peer, n + 1));
    out.push(&message(n, 10), Dialect::Compact, WhenFull::Close)
        .unwrap();
    flusher.await.unwrap().unwrap();
    let got = reader.await.unwrap();
    assert_eq!(got.len(), n + 1);
    for (i, f) in got.iter().enumerate() {
        assert_eq!(f["type"], "unicast");
        assert_eq!(
            f["content"].as_str().unwrap().len(),
            if i == n { 10 } else { 64 * 1024 }
        );
    }
}

#[tokio::test]
async fn the_byte_cap_closes_before_the_message_cap() {
    // Room for 1,000 messages but only 256 KiB of them.
    let (out, _peer) = pair_capped(1000, 256 * 1024);
    let (accepted, refused) = fill(&out);
    assert!(accepted < 1000, "the byte cap never held");
    assert_eq!(refused, Refused::Full);
    let taken = out.close();
    // Nothing was confirmed: everything counts as not delivered.
    assert_eq!(only(&taken.unconfirmed), Some(1));
    assert_eq!(only(&taken.confirmed), None);
}

#[tokio::test]
async fn a_full_queue_refuses_and_close_reports_everything_unwritten() {
    let (out, mut peer) = pair(3);
    let (accepted, refused) = fill(&out);
    assert_eq!(refused, Refused::Full);
    // Refused once, refused for good: the socket is being closed.
    assert_eq!(
        out.push(&message(999, 1), Dialect::Rich, WhenFull::Close),
        Err(Refused::Closed)
    );
    let taken = out.close();
    // Written to the kernel is not delivered: nothing was confirmed.
    assert_eq!(only(&taken.unconfirmed), Some(1));
    assert_eq!(only(&taken.confirmed), None);
    // Closed: nothing more is handed over or reported.
    let after = out.take_positions();
    assert!(after.confirmed.is_empty() && after.unconfirmed.is_empty());
    // The stream stays well-formed: the rest of a partly written frame, then the close.
    let reader = tokio::spawn(async move {
        let mut all = Vec::new();
        peer.read_to_end(&mut all).await.unwrap();
        all
    });
    out.finish(
        Some(crate::wire::close(1013)),
        std::time::Duration::from_secs(5),
    )
    .await;
    let all = reader.await.unwrap();
    let mut ws = client_of(all);
    let mut texts = 0;
    loop {
        match ws.read().unwrap() {
            m if m.is_text() => texts += 1,
            m if m.is_close() => break,
            _ => {}
        }
    }
    assert!(texts + 3 >= accepted && texts <= accepted);
}

#[tokio::test]
async fn waiting_pushes_are_refused_without_closing() {
    let (out, _peer) = pair(1);
    let mut i = 0;
    while out
        .push(&message(i, 64 * 1024), Dialect::Rich, WhenFull::Wait)
        .is_ok()
    {
        i += 1;
    }
    assert_eq!(
        out.push(&message(i, 1), Dialect::Rich, WhenFull::Wait),
        Err(Refused::Full)
    );
    assert!(out.is_full());
    assert!(out.push_control(crate::wire::ping()).is_ok());
}

/// The answer to a client's close frame is the last frame written: a message pushed after it
/// (the socket is still published until its actor ends it) is refused and reported unwritten,
/// so its position never counts as delivered. The client reads everything before the close.
#[tokio::test]
async fn nothing_is_written_after_the_close_reply() {
    let (out, mut peer) = pair(8);
    out.push(&message(1, 10), Dialect::Rich, WhenFull::Close)
        .unwrap();
    out.push_close_reply(crate::wire::close_reply(Some((1000, ""))))
        .unwrap();
    assert_eq!(
        out.push(&message(2, 10), Dialect::Rich, WhenFull::Close),
        Err(Refused::Closed)
    );
    assert_eq!(
        out.push_control(crate::wire::pong(b"p")),
        Err(Refused::Closed)
    );
    let taken = out.close();
    assert_eq!(only(&taken.confirmed), None);
    assert_eq!(only(&taken.unconfirmed), Some(1));
    let reader = tokio::spawn(async move {
        let mut all = Vec::new();
        peer.read_to_end(&mut all).await.unwrap();
        all
    });
    out.finish(None, std::time::Duration::from_secs(5)).await;
    let all = reader.await.unwrap();
    let mut ws = client_of(all);
    let mut frames = Vec::new();
    while let Ok(m) = ws.read() {
        // The confirmation ping behind the message may be there too.
        if !m.is_ping() {
            frames.push(m);
        }
    }
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert!(frames[0].is_text());
    assert!(frames[1].is_close());
}

/// A confirmation ping rides behind the first message handed (none was sent before); a pong
/// confirms what was written before its ping, nothing after it; another pong (an unsolicited
/// one, a stale payload) confirms nothing. The next ping waits for the interval, or the
/// heartbeat.
#[tokio::test]
async fn a_pong_confirms_what_came_before_its_ping() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{protocol::Role, Message};
    let (out, peer) = pair(8);
    out.confirm_every(std::time::Duration::from_secs(3600));
    for i in 1..=3 {
        out.push(&message(i, 10), Dialect::Rich, WhenFull::Close)
            .unwrap();
    }
    assert!(out.ping_outstanding(), "the first message carried a ping");
    assert!(!out.push_ping(), "one ping outstanding at most");
    let mut ws =
        tokio_tungstenite::WebSocketStream::from_raw_socket(peer, Role::Client, None).await;
    let mut payload = None;
    let mut texts = 0;
    while payload.is_none() {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(_) => texts += 1,
            Message::Ping(p) => payload = Some(p),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(texts, 1, "the ping came right behind the first message");
    // Not confirmed before the pong arrives, nor by a pong with another payload.
    assert!(out.take_positions().confirmed.is_empty());
    assert_eq!(out.confirm(b"other"), None);
    let payload = payload.unwrap();
    assert_eq!(
        out.confirm(&payload),
        Some(true),
        "2 and 3 were handed since"
    );
    let taken = out.take_positions();
    assert_eq!(only(&taken.confirmed), Some(1));
    assert_eq!(only(&taken.unconfirmed), Some(2));
    assert_eq!(out.confirm(&payload), None, "answered once");
    // Not due again within the interval; the heartbeat pings anyway.
    assert!(!out.ping_if_due(std::time::Instant::now()));
    assert!(out.push_ping());
    ws.send(Message::Close(None)).await.unwrap();
}

/// A socket that opted in to acks is confirmed by its acks only.
#[tokio::test]
async fn acks_confirm_and_pongs_do_not_once_opted_in() {
    let (out, _peer) = pair(8);
    out.opt_in_acks();
    for i in 1..=5 {
        out.push(&message(i, 10), Dialect::Rich, WhenFull::Close)
            .unwrap();
    }
    assert!(out.push_ping());
    assert_eq!(out.confirm(&1u64.to_be_bytes()), Some(false));
    let taken = out.take_positions();
    assert!(taken.confirmed.is_empty());
    assert_eq!(only(&taken.unconfirmed), Some(1));
    out.ack("s:1:2", 3);
    let taken = out.take_positions();
    assert_eq!(only(&taken.confirmed), Some(3));
    assert_eq!(only(&taken.unconfirmed), Some(4));
}

/// Reads what is written to `peer` within a moment: the seqs of its message frames.
async fn seqs_read(peer: &mut UnixStream) -> Vec<i64> {
    let mut all = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(Ok(n)) =
        tokio::time::timeout(std::time::Duration::from_millis(100), peer.read(&mut buf)).await
    {
        if n == 0 {
            break;
        }
        all.extend_from_slice(&buf[..n]);
    }
    let mut ws = client_of(all);
    let mut seqs = Vec::new();
    while let Ok(m) = ws.read() {
        if m.is_text() {
            let v: serde_json::Value = serde_json::from_str(m.to_text().unwrap()).unwrap();
            seqs.push(v["data"]["id"].as_i64().unwrap());
        }
    }
    seqs
}

/// A new socket holds live messages back until its user's backlog is known, then only those of
/// conversations with a backlog, until the backlog is handed over: they follow it, and what the
/// backlog had is not sent twice.
#[tokio::test]
async fn held_messages_follow_the_backlog() {
    let (out, mut peer) = pair(64);
    out.hold_all();
    out.push(&message(7, 10), Dialect::Rich, WhenFull::Close)
        .unwrap();
    out.push(&message(8, 10), Dialect::Rich, WhenFull::Close)
        .unwrap();
    assert!(seqs_read(&mut peer).await.is_empty(), "held until known");
    // The backlog of s:1:2 may start at 5: 7 and 8 stay held.
    out.hold_only(&[(Arc::from("s:1:2"), 5)]).unwrap();
    out.push(&message(9, 10), Dialect::Rich, WhenFull::Close)
        .unwrap();
    assert!(seqs_read(&mut peer).await.is_empty());
    assert!(out.holding());
    // The replay hands 5..8 over (past the hold), then the held ones follow, 7 and 8 not again.
    for i in 5..=8 {
        out.push_waiting(
            &message(i, 10),
            Dialect::Rich,
            std::time::Duration::from_secs(1),
        )
        .await
        .unwrap();
    }
    out.release(&[("s:1:2".to_string(), 8)], true).unwrap();
    assert!(!out.holding());
    out.push(&message(10, 10), Dialect::Rich, WhenFull::Close)
        .unwrap();
    assert_eq!(seqs_read(&mut peer).await, vec![5, 6, 7, 8, 9, 10]);
}

/// A conversation whose held messages start at the backlog's first seq has no gap: it goes
/// out as soon as the backlog is known.
#[tokio::test]
async fn a_conversation_held_from_its_first_missing_seq_goes_out_at_once() {
    let (out, mut peer) = pair(64);
    out.hold_all();
    out.push(&message(5, 10), Dialect::Rich, WhenFull::Close)
        .unwrap();
    out.hold_only(&[(Arc::from("s:1:2"), 5)]).unwrap();
    assert!(!out.holding());
    assert_eq!(seqs_read(&mut peer).await, vec![5]);
}
