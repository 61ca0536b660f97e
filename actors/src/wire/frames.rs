//! Wire frames of both dialects (SPEC §3 and §5): what clients send, and the small frames the
//! server answers with. Message pushes are rendered by [`crate::wire::push::Push`].

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// How a connection speaks: `Rich` (seeds 000–002, `singleChat` frames, numeric ids) or
/// `Compact` (seed 003, `unicast`/`multicast` frames, string ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Rich,
    Compact,
}

/// A frame a client sent, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    Unicast {
        receiver_id: i64,
        content: String,
        client_msg_id: Option<String>,
    },
    Multicast {
        group_id: i64,
        content: String,
        client_msg_id: Option<String>,
    },
    Ping,
    /// `{"type":"read","chatType":"single"|"group","id","seq"}`: the client has read up to `seq`.
    Read {
        group: bool,
        id: i64,
        seq: i64,
        client_msg_id: Option<String>,
    },
    /// `{"type":"ack","chatType":"single"|"group","id","seq"}`: the client has processed every
    /// message of that conversation up to `seq` it was sent (sockets opened with `acks=1`).
    Ack {
        group: bool,
        id: i64,
        seq: i64,
    },
    /// `{"type":"typing","chatType":"single"|"group","id"}`: the client is typing there.
    Typing {
        group: bool,
        id: i64,
    },
    /// Not a frame we understand; the reason says why (rich clients get it in an error frame).
    Invalid {
        reason: String,
        client_msg_id: Option<String>,
    },
}

/// An id that may arrive as a JSON number or a numeric string (compact clients use strings).
pub fn id_value(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Message content as stored: strings as they are, any other JSON value as its JSON text.
fn content_value(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

impl ClientFrame {
    /// The client's id for the frame, echoed in its answer.
    pub fn client_msg_id(&self) -> Option<&str> {
        match self {
            ClientFrame::Unicast { client_msg_id, .. }
            | ClientFrame::Multicast { client_msg_id, .. }
            | ClientFrame::Read { client_msg_id, .. }
            | ClientFrame::Invalid { client_msg_id, .. } => client_msg_id.as_deref(),
            ClientFrame::Ping | ClientFrame::Typing { .. } | ClientFrame::Ack { .. } => None,
        }
    }

    pub fn parse(text: &str) -> ClientFrame {
        let v: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(_) => {
                return ClientFrame::Invalid {
                    reason: "frame is not JSON".into(),
                    client_msg_id: None,
                }
            }
        };
        let client_msg_id = match v.get("client_msg_id") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let invalid = |reason: &str, cid: Option<String>| ClientFrame::Invalid {
            reason: reason.into(),
            client_msg_id: cid,
        };
        match v.get("type").and_then(Value::as_str) {
            Some("ping") => ClientFrame::Ping,
            Some("unicast") => match (
                id_value(v.get("receiverId")),
                content_value(v.get("content")),
            ) {
                (Some(receiver_id), Some(content)) => ClientFrame::Unicast {
                    receiver_id,
                    content,
                    client_msg_id,
                },
                (None, _) => invalid("receiverId is required", client_msg_id),
                (_, None) => invalid("content is required", client_msg_id),
            },
            Some("multicast") => {
                match (id_value(v.get("groupId")), content_value(v.get("content"))) {
                    (Some(group_id), Some(content)) => ClientFrame::Multicast {
                        group_id,
                        content,
                        client_msg_id,
                    },
                    (None, _) => invalid("groupId is required", client_msg_id),
                    (_, None) => invalid("content is required", client_msg_id),
                }
            }
            Some("typing") => {
                let group = match v.get("chatType").and_then(Value::as_str) {
                    Some("single") => false,
                    Some("group") => true,
                    _ => return invalid("chatType must be single or group", client_msg_id),
                };
                match id_value(v.get("id")) {
                    Some(id) => ClientFrame::Typing { group, id },
                    None => invalid("id is required", client_msg_id),
                }
            }
            Some("ack") => {
                let group = match v.get("chatType").and_then(Value::as_str) {
                    Some("single") => false,
                    Some("group") => true,
                    _ => return invalid("chatType must be single or group", client_msg_id),
                };
                match (id_value(v.get("id")), id_value(v.get("seq"))) {
                    (Some(id), Some(seq)) => ClientFrame::Ack { group, id, seq },
                    _ => invalid("id and seq are required", client_msg_id),
                }
            }
            Some("read") => {
                let group = match v.get("chatType").and_then(Value::as_str) {
                    Some("single") => false,
                    Some("group") => true,
                    _ => return invalid("chatType must be single or group", client_msg_id),
                };
                match (id_value(v.get("id")), id_value(v.get("seq"))) {
                    (Some(id), Some(seq)) => ClientFrame::Read {
                        group,
                        id,
                        seq,
                        client_msg_id,
                    },
                    _ => invalid("id and seq are required", client_msg_id),
                }
            }
            _ => invalid("unknown frame type", client_msg_id),
        }
    }
}

pub fn pong() -> Utf8Bytes {
    Utf8Bytes::from_static(r#"{"type":"pong"}"#)
}

/// Rich answer to an accepted WebSocket send.
pub fn ack(client_msg_id: Option<&str>, message: &Value) -> Utf8Bytes {
    json!({"type": "ack", "client_msg_id": client_msg_id, "data": message})
        .to_string()
        .into()
}

/// Rich answer to a refused WebSocket send.
pub fn error(client_msg_id: Option<&str>, reason: &str) -> Utf8Bytes {
    json!({"type": "error", "client_msg_id": client_msg_id, "data": reason})
        .to_string()
        .into()
}

/// An error frame carrying the HTTP status that names the failure (`507`: the store is full),
/// for failures a client must tell apart from a refusal.
pub fn error_code(client_msg_id: Option<&str>, reason: &str, code: u16) -> Utf8Bytes {
    json!({"type": "error", "client_msg_id": client_msg_id, "data": reason, "code": code})
        .to_string()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_id_forms() {
        assert_eq!(
            ClientFrame::parse(r#"{"type":"unicast","receiverId":"12","content":"hi"}"#),
            ClientFrame::Unicast {
                receiver_id: 12,
                content: "hi".into(),
                client_msg_id: None
            }
        );
        assert_eq!(
            ClientFrame::parse(
                r#"{"type":"multicast","groupId":3,"content":{"a":1},"client_msg_id":"x"}"#
            ),
            ClientFrame::Multicast {
                group_id: 3,
                content: r#"{"a":1}"#.into(),
                client_msg_id: Some("x".into())
            }
        );
        assert_eq!(ClientFrame::parse(r#"{"type":"ping"}"#), ClientFrame::Ping);
    }

    #[test]
    fn invalid_frames_say_why() {
        assert!(matches!(
            ClientFrame::parse("nope"),
            ClientFrame::Invalid { .. }
        ));
        assert!(matches!(
            ClientFrame::parse(r#"{"type":"unicast","content":"x"}"#),
            ClientFrame::Invalid { reason, .. } if reason.contains("receiverId")
        ));
        assert!(matches!(
            ClientFrame::parse(r#"{"type":"dance"}"#),
            ClientFrame::Invalid { .. }
        ));
    }
}
