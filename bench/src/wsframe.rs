//! The client side of the WebSocket wire, as lean as a load generator needs: the upgrade request
//! and its answer, splitting a server's (unmasked) frames out of a read buffer, and a masked pong.
//! tokio-tungstenite's receive path (a zeroed read buffer, a waker per poll, a `String` per frame)
//! cost the load generator's one core more than the servers it measures; receivers read raw bytes
//! and take every frame of one read at once instead.

/// A fixed key is enough: the load generator only needs the server to accept the upgrade.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The `Sec-WebSocket-Accept` for [`KEY`] (RFC 6455, section 1.3).
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The largest frame a receiver accepts; the load generator's frames are a few hundred bytes.
pub const MAX_FRAME: usize = 1 << 20;

pub fn upgrade_request(host: &str, path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// What the bytes read so far say about the upgrade.
#[derive(Debug, PartialEq, Eq)]
pub enum Upgrade {
    /// The head is not complete yet.
    Partial,
    /// Accepted; the head took this many bytes (frames may follow in the same read).
    Accepted(usize),
    /// Refused, with the status line.
    Refused(String),
}

pub fn upgrade_response(buf: &[u8]) -> Upgrade {
    let Some(end) = memchr::memmem::find(buf, b"\r\n\r\n") else {
        return Upgrade::Partial;
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let status = head.lines().next().unwrap_or_default().to_string();
    let accepted = status.split(' ').nth(1) == Some("101")
        && head.lines().any(|l| {
            l.split_once(':').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("sec-websocket-accept") && v.trim() == ACCEPT
            })
        });
    if accepted {
        Upgrade::Accepted(end + 4)
    } else {
        Upgrade::Refused(status)
    }
}

/// One frame found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    /// Where the payload starts and ends in the buffer.
    pub payload: std::ops::Range<usize>,
}

pub const TEXT: u8 = 1;
pub const CLOSE: u8 = 8;
pub const PING: u8 = 9;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("the server masked a frame")]
    Masked,
    #[error("a frame of {0} bytes is larger than the load generator accepts")]
    TooLarge(u64),
}

/// The frame at the start of `buf`, or `None` when it has not been read in full yet.
pub fn next_frame(buf: &[u8]) -> Result<Option<Frame>, FrameError> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    if b1 & 0x80 != 0 {
        return Err(FrameError::Masked);
    }
    let (len, head) = match b1 & 0x7f {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(b) => (u64::from_be_bytes(b), 10),
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    let len = usize::try_from(len)
        .ok()
        .filter(|&l| l <= MAX_FRAME)
        .ok_or(FrameError::TooLarge(len))?;
    if buf.len() < head + len {
        return Ok(None);
    }
    Ok(Some(Frame {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0f,
        payload: head..head + len,
    }))
}

/// A client's close frame (masked, no status).
pub const CLOSE_FRAME: [u8; 6] = [0x88, 0x80, 0, 0, 0, 0];

/// A client's pong answering a ping with `payload` (at most 125 bytes by RFC 6455). Client frames
/// must be masked; a zero key leaves the payload as it is.
pub fn pong(payload: &[u8]) -> Vec<u8> {
    let len = payload.len().min(125);
    let mut f = Vec::with_capacity(6 + len);
    f.extend_from_slice(&[0x8a, 0x80 | len as u8, 0, 0, 0, 0]);
    f.extend_from_slice(&payload[..len]);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrade_needs_101_and_the_right_accept() {
        let ok = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {ACCEPT}\r\n\r\n\x01\x02hi"
        );
        let head = ok.len() - 4;
        assert_eq!(upgrade_response(ok.as_bytes()), Upgrade::Accepted(head));
        assert_eq!(upgrade_response(&ok.as_bytes()[..20]), Upgrade::Partial);
        let wrong = "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: x\r\n\r\n";
        assert!(matches!(
            upgrade_response(wrong.as_bytes()),
            Upgrade::Refused(_)
        ));
        let refused = "HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            upgrade_response(refused.as_bytes()),
            Upgrade::Refused("HTTP/1.1 401 Unauthorized".into())
        );
    }

    #[test]
    fn frames_split_at_every_length_form() {
        let mut buf = vec![0x81, 0x02, b'h', b'i'];
        buf.extend_from_slice(&[0x01, 126, 0x01, 0x00]);
        buf.extend(std::iter::repeat_n(b'a', 256));
        buf.extend_from_slice(&[0x80, 127, 0, 0, 0, 0, 0, 0, 0, 3, b'x', b'y', b'z']);
        let a = next_frame(&buf).unwrap().unwrap();
        assert_eq!(
            (a.fin, a.opcode, &buf[a.payload.clone()]),
            (true, TEXT, &b"hi"[..])
        );
        let rest = &buf[a.payload.end..];
        let b = next_frame(rest).unwrap().unwrap();
        assert_eq!((b.fin, b.opcode, b.payload.clone()), (false, TEXT, 4..260));
        let rest = &rest[b.payload.end..];
        let c = next_frame(rest).unwrap().unwrap();
        assert_eq!(
            (c.fin, c.opcode, &rest[c.payload.clone()]),
            (true, 0, &b"xyz"[..])
        );
        // Any prefix short of a whole frame waits for more.
        for cut in 0..rest.len() {
            assert_eq!(next_frame(&rest[..cut]), Ok(None));
        }
    }

    #[test]
    fn masked_or_huge_frames_are_refused() {
        assert_eq!(
            next_frame(&[0x81, 0x82, 0, 0, 0, 0]),
            Err(FrameError::Masked)
        );
        let huge = [0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0];
        assert_eq!(next_frame(&huge), Err(FrameError::TooLarge(1 << 32)));
    }

    #[test]
    fn pong_is_masked_and_echoes() {
        assert_eq!(pong(b"ab"), vec![0x8a, 0x82, 0, 0, 0, 0, b'a', b'b']);
    }
}
