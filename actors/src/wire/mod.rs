//! How things look on the wire, in one place: [`frames`] (what clients send and the small frames
//! the server answers with, both dialects), [`message`] (the rich message object from a stored
//! row), [`push`] (a message rendered once per dialect, ready to write), and here the
//! server-to-client WebSocket frames, encoded once (RFC 6455 §5.2; a server's frames are not
//! masked). A push shared by 10,000 sockets is the same bytes for each, so every socket's write
//! is a plain copy into the kernel, with no per-socket framing.

pub mod frames;
pub mod message;
pub mod push;
pub mod reader;

use bytes::{BufMut, Bytes, BytesMut};
use tokio_tungstenite::tungstenite::Utf8Bytes;

const FIN: u8 = 0x80;
const TEXT: u8 = 0x1;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

fn header(buf: &mut BytesMut, opcode: u8, len: usize) {
    buf.put_u8(FIN | opcode);
    if len < 126 {
        buf.put_u8(len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        buf.put_u8(126);
        buf.put_u16(short);
    } else {
        buf.put_u8(127);
        buf.put_u64(len as u64);
    }
}

fn frame(opcode: u8, payload: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(payload.len() + 10);
    header(&mut buf, opcode, payload.len());
    buf.put_slice(payload);
    buf.freeze()
}

/// A text frame, and its payload as a view of the same allocation (what tests read).
pub fn text(payload: &str) -> (Bytes, Utf8Bytes) {
    let wire = frame(TEXT, payload.as_bytes());
    let view = wire.slice(wire.len() - payload.len()..);
    // The view is exactly `payload`'s bytes, so this cannot fail; the fallback copies.
    let view = Utf8Bytes::try_from(view).unwrap_or_else(|_| Utf8Bytes::from(payload));
    (wire, view)
}

/// A text frame alone (answers to a client's frames).
pub fn text_frame(payload: &str) -> Bytes {
    frame(TEXT, payload.as_bytes())
}

/// An empty ping.
pub fn ping() -> Bytes {
    Bytes::from_static(&[FIN | PING, 0])
}

/// A ping carrying `payload` (a confirmation ping: its pong echoes the payload back).
pub fn ping_with(payload: &[u8]) -> Bytes {
    frame(PING, payload)
}

/// A close frame with `code` and no reason.
pub fn close(code: u16) -> Bytes {
    frame(CLOSE, &code.to_be_bytes())
}

/// The answer to a client's close frame (RFC 6455 §5.5.1): its code and reason echoed (the
/// reader has put 1002 in place of a code a peer may not send), an empty close for an empty one.
pub fn close_reply(got: Option<(u16, &str)>) -> Bytes {
    match got {
        None => frame(CLOSE, &[]),
        Some((code, reason)) => frame(
            CLOSE,
            &[&code.to_be_bytes()[..], reason.as_bytes()].concat(),
        ),
    }
}

/// A pong answering a client's ping, with its payload.
pub fn pong(payload: &[u8]) -> Bytes {
    frame(PONG, payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use tokio_tungstenite::tungstenite::protocol::{Role, WebSocket};
    use tokio_tungstenite::tungstenite::Message;

    /// What a client reads from `wire` (tungstenite as the independent decoder).
    fn decode(wire: Vec<u8>) -> Vec<Message> {
        let mut ws = WebSocket::from_raw_socket(Cursor::new(wire), Role::Client, None);
        let mut got = Vec::new();
        while let Ok(m) = ws.read() {
            let closing = m.is_close();
            got.push(m);
            if closing {
                break;
            }
        }
        got
    }

    #[test]
    fn every_length_form_decodes() {
        let mut wire = Vec::new();
        let mut sent = Vec::new();
        for len in [0usize, 1, 125, 126, 127, 65_535, 65_536, 70_000] {
            let s = "x".repeat(len);
            let (w, view) = text(&s);
            assert_eq!(view.as_str(), s);
            wire.extend_from_slice(&w);
            sent.push(s);
        }
        wire.extend_from_slice(&ping());
        wire.extend_from_slice(&close(1013));
        let got = decode(wire);
        assert_eq!(got.len(), sent.len() + 2);
        for (m, s) in got.iter().zip(&sent) {
            assert_eq!(m, &Message::Text(s.as_str().into()));
        }
        assert!(got[sent.len()].is_ping());
        match &got[sent.len() + 1] {
            Message::Close(Some(f)) => assert_eq!(u16::from(f.code), 1013),
            other => panic!("expected a close frame, got {other:?}"),
        }
    }

    #[test]
    fn text_frame_matches_text() {
        assert_eq!(text_frame("héllo"), text("héllo").0);
    }
}
