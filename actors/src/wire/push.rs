//! A push rendered once per dialect, as a ready WebSocket frame: every recipient's socket gets
//! the same bytes.

use bytes::Bytes;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::positions::Pos;
use crate::wire;
use crate::wire::frames::Dialect;

#[derive(Debug)]
pub struct Push {
    /// The rich message JSON. `None` for frames that are not messages (NOTIFICATION): those do
    /// not count toward a socket's queue caps.
    pub payload: Option<Arc<str>>,
    /// Where the message stands in its conversation: a socket that writes it moves its user's
    /// delivered position there. `None` for frames that are not stored messages.
    pub pos: Option<Pos>,
    rich: Rendered,
    /// `None`: a frame for rich clients only (seed 003 clients are never sent frame types they
    /// do not know).
    compact: Option<Rendered>,
    /// A presence change: only sockets opened with `presence=1` get it (nothing a client did
    /// not ask for arrives unasked).
    presence: bool,
}

/// One dialect's frame: the bytes written to sockets, and its text (a view of the same bytes).
#[derive(Debug, Clone)]
struct Rendered {
    wire: Bytes,
    text: Utf8Bytes,
}

impl Rendered {
    fn new(text: &str) -> Rendered {
        let (wire, text) = wire::text(text);
        Rendered { wire, text }
    }
}

impl Push {
    /// A chat message (single or group, any type), stamped with the push time `now`.
    pub fn message(message: &Value, now: i64) -> Push {
        let payload: Arc<str> = message.to_string().into();
        Push {
            rich: Rendered::new(&rich_frame(&payload, now)),
            compact: Some(Rendered::new(&compact_frame(message).to_string())),
            payload: Some(payload),
            pos: None,
            presence: false,
        }
    }

    /// The same push, stamped with the message's position in its conversation.
    pub fn at(mut self, conv: Arc<str>, seq: i64) -> Push {
        self.pos = Some(Pos { conv, seq });
        self
    }

    /// A push another node rendered (see [`crate::remote`]): its frames as they were, whether
    /// it is a chat message (then `payload` holds its rich frame: only its presence is read
    /// here), and its position.
    /// An empty `compact` means the push is for rich clients only.
    pub fn forwarded(rich: &str, compact: &str, message: bool, pos: Option<Pos>) -> Push {
        Push {
            payload: message.then(|| Arc::from(rich)),
            pos,
            rich: Rendered::new(rich),
            compact: (!compact.is_empty()).then(|| Rendered::new(compact)),
            presence: false,
        }
    }

    /// A frame that is the same in both dialects and never queued.
    pub fn ephemeral(frame: &str) -> Push {
        let both = Rendered::new(frame);
        Push {
            payload: None,
            pos: None,
            rich: both.clone(),
            compact: Some(both),
            presence: false,
        }
    }

    /// A frame for rich clients only, never queued (receipts, read sync).
    pub fn rich_only(frame: &str) -> Push {
        Push {
            payload: None,
            pos: None,
            rich: Rendered::new(frame),
            compact: None,
            presence: false,
        }
    }

    /// A presence frame (rich only, never queued), for sockets that asked for presence.
    pub fn presence(frame: &str) -> Push {
        Push {
            presence: true,
            ..Push::rich_only(frame)
        }
    }

    /// The same push marked as a presence frame (one forwarded by another node).
    pub fn as_presence(mut self) -> Push {
        self.presence = true;
        self
    }

    pub fn is_presence(&self) -> bool {
        self.presence
    }

    /// Whether sockets of `dialect` get this push.
    pub fn reaches(&self, dialect: Dialect) -> bool {
        dialect == Dialect::Rich || self.compact.is_some()
    }

    fn rendered(&self, dialect: Dialect) -> &Rendered {
        match dialect {
            Dialect::Rich => &self.rich,
            Dialect::Compact => self.compact.as_ref().unwrap_or(&self.rich),
        }
    }

    /// The frame's text as `dialect` renders it.
    pub fn text(&self, dialect: Dialect) -> &Utf8Bytes {
        &self.rendered(dialect).text
    }

    /// The complete WebSocket frame as `dialect` renders it.
    pub fn wire(&self, dialect: Dialect) -> &Bytes {
        &self.rendered(dialect).wire
    }
}

/// `{"type":"singleChat","data":<message>,"timestamp":now}` built around the already-encoded
/// message, so it is not serialized twice.
pub fn rich_frame(payload: &str, now: i64) -> String {
    let mut s = String::with_capacity(payload.len() + 64);
    s.push_str(r#"{"type":"singleChat","data":"#);
    s.push_str(payload);
    s.push_str(r#","timestamp":"#);
    s.push_str(&now.to_string());
    s.push('}');
    s
}

/// The compact (seed 003) form of a message: string ids, `content` = the message data, and
/// `messageType` for anything but plain text.
pub fn compact_frame(m: &Value) -> Value {
    let sid = |k: &str| match &m[k] {
        Value::Number(n) => Value::String(n.to_string()),
        Value::String(s) => Value::String(s.clone()),
        _ => Value::Null,
    };
    let mut f = if m["chatType"] == "group" {
        json!({"type": "multicast", "senderId": sid("from_id"), "groupId": sid("to_id")})
    } else {
        json!({"type": "unicast", "senderId": sid("from_id"), "receiverId": sid("to_id")})
    };
    if let Some(obj) = f.as_object_mut() {
        obj.insert("content".into(), m["data"].clone());
        obj.insert("timestamp".into(), m["create_time"].clone());
        if m["type"] != "text" {
            obj.insert("messageType".into(), m["type"].clone());
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_both_dialects_once() {
        let m = json!({"id":"x","from_id":1,"to_id":2,"chatType":"single","type":"text",
                       "data":"hi","create_time":5});
        let out = Push::message(&m, 7);
        let rich: Value =
            serde_json::from_str(out.text(Dialect::Rich).as_str()).unwrap_or_default();
        assert_eq!(rich["type"], "singleChat");
        assert_eq!(rich["data"]["id"], "x");
        assert_eq!(rich["timestamp"], 7);
        let compact: Value =
            serde_json::from_str(out.text(Dialect::Compact).as_str()).unwrap_or_default();
        assert_eq!(
            compact,
            json!({"type":"unicast","senderId":"1","receiverId":"2","content":"hi","timestamp":5})
        );
    }

    #[test]
    fn compact_group_and_non_text() {
        let m = json!({"from_id":1,"to_id":9,"chatType":"group","type":"image",
                       "data":"u.png","create_time":5});
        let f = compact_frame(&m);
        assert_eq!(f["type"], "multicast");
        assert_eq!(f["groupId"], "9");
        assert_eq!(f["messageType"], "image");
        assert!(f.get("receiverId").is_none());
    }
}
