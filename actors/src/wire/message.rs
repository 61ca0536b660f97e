//! The rich message object (SPEC §3) rendered from a stored row. The same JSON is returned to
//! REST senders, pushed in `singleChat` frames, replayed from offline backlogs and served by history.

use chatd_schema::models::MessageRow;
use serde_json::{json, Map, Value};

/// Renders a stored message. `extra` (group, actionType, redirect, msgidKey) is merged in.
pub fn message_json(row: &MessageRow) -> Value {
    let options: Value = serde_json::from_str::<Value>(&row.options)
        .ok()
        .filter(Value::is_object)
        .unwrap_or_else(|| Value::Object(Map::new()));
    let mut v = json!({
        "id": row.uuid,
        "from_id": row.from_id,
        "from_name": row.from_name,
        "from_avatar": row.from_avatar,
        "to_id": row.to_id,
        "to_name": row.to_name,
        "to_avatar": row.to_avatar,
        "chatType": row.chat_type,
        "type": row.msg_type,
        "data": if row.isremove == 1 { "" } else { row.data.as_str() },
        "options": options,
        "create_time": row.create_time,
        "isremove": row.isremove,
        "group": Value::Null,
        "seq": row.seq,
    });
    if let (Some(obj), Some(cid)) = (v.as_object_mut(), &row.client_msg_id) {
        obj.insert("client_msg_id".into(), Value::String(cid.clone()));
    }
    if let (Some(obj), Some(extra)) = (v.as_object_mut(), &row.extra) {
        if let Ok(Value::Object(extra)) = serde_json::from_str::<Value>(extra) {
            for (k, val) in extra {
                obj.insert(k, val);
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> MessageRow {
        MessageRow {
            id: chatd_schema::MessageId(1),
            uuid: "u-1".into(),
            conv_key: "s:1:2".into(),
            seq: 3,
            chat_type: "single".into(),
            msg_type: "text".into(),
            from_id: chatd_schema::UserId(1),
            to_id: 2,
            from_name: "a".into(),
            from_avatar: "".into(),
            to_name: "b".into(),
            to_avatar: "".into(),
            data: "hi".into(),
            options: "not json".into(),
            extra: Some(r#"{"actionType":"revoke"}"#.into()),
            client_msg_id: Some("c1".into()),
            isremove: 0,
            create_time: 99,
        }
    }

    #[test]
    fn renders_fields_options_and_extra() {
        let v = message_json(&row());
        assert_eq!(v["id"], "u-1");
        assert_eq!(v["chatType"], "single");
        assert_eq!(v["options"], json!({}));
        assert_eq!(v["seq"], 3);
        assert_eq!(v["client_msg_id"], "c1");
        assert_eq!(v["actionType"], "revoke");
        assert_eq!(v["group"], Value::Null);
    }

    #[test]
    fn revoked_message_has_no_data() {
        let mut r = row();
        r.isremove = 1;
        assert_eq!(message_json(&r)["data"], "");
    }
}
