//! How a message is made: its chat type, its `data` text, and the one constructor of a message to
//! store: a client's single or group message, a system
//! message to a user, a group announcement, a revoke notice. Who it is from and to travels with the
//! message as names and avatars (seed 004: receivers never look them up); the conversation key
//! follows from the chat type and the two ends.

use chatd_schema::models::{Group, NewMessage, User};
use chatd_schema::{conv, GroupId, UserId};
use serde_json::Value;

use serde_json::json;

/// A one-to-one conversation, or a group's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatType {
    Single,
    Group,
}

/// Message `data` as the seed clients expect it: JSON text of `{data, dataType, otherData}`.
pub fn text_data(text: &str) -> String {
    json!({"data": text, "dataType": false, "otherData": null}).to_string()
}

/// Who a message is to: a user (single chat) or a group (group chat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    User(UserId),
    Group(GroupId),
}

impl Peer {
    /// The id a client gave, read by the chat type it gave with it.
    pub fn new(chat: ChatType, id: i64) -> Peer {
        match chat {
            ChatType::Single => Peer::User(UserId(id)),
            ChatType::Group => Peer::Group(GroupId(id)),
        }
    }
}

/// One end of a message as it shows on it.
#[derive(Debug, Clone)]
pub struct Party {
    pub id: i64,
    pub name: String,
    pub avatar: String,
}

impl Party {
    /// A user under their display name.
    pub fn user(u: &User) -> Party {
        Party {
            id: u.id.0,
            name: u.display_name().to_string(),
            avatar: u.avatar.clone(),
        }
    }

    pub fn group(g: &Group) -> Party {
        Party {
            id: g.id.0,
            name: g.name.clone(),
            avatar: g.avatar.clone(),
        }
    }
}

/// What a message says.
#[derive(Debug, Clone)]
pub struct Content {
    pub msg_type: String,
    pub data: String,
    /// JSON text of the options object.
    pub options: String,
    /// JSON text of the fields merged into the message object (group, actionType, redirect…).
    pub extra: Option<String>,
    pub client_msg_id: Option<String>,
}

impl Content {
    /// A server message of `msg_type` with `text` and the `extra` fields.
    pub fn system(msg_type: &str, text: &str, extra: Value) -> Content {
        Content {
            msg_type: msg_type.to_string(),
            data: text_data(text),
            options: "{}".into(),
            extra: Some(extra.to_string()),
            client_msg_id: None,
        }
    }
}

/// The message from `from` to `to` (a user, or a group for group messages), created `now`.
pub fn new_message(
    chat: ChatType,
    from: Party,
    to: Party,
    content: Content,
    now: i64,
) -> NewMessage {
    let (conv_key, chat_type) = match chat {
        ChatType::Single => (conv::single(UserId(from.id), UserId(to.id)), "single"),
        ChatType::Group => (conv::group(GroupId(to.id)), "group"),
    };
    NewMessage {
        uuid: uuid::Uuid::new_v4().to_string(),
        conv_key,
        chat_type: chat_type.into(),
        msg_type: content.msg_type,
        from_id: UserId(from.id),
        to_id: to.id,
        from_name: from.name,
        from_avatar: from.avatar,
        to_name: to.name,
        to_avatar: to.avatar,
        data: content.data,
        options: content.options,
        extra: content.extra,
        client_msg_id: content.client_msg_id,
        create_time: now,
        audience: Vec::new(),
        private: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(id: i64) -> Party {
        Party {
            id,
            name: format!("p{id}"),
            avatar: String::new(),
        }
    }

    #[test]
    fn conversation_keys_follow_the_chat_type() {
        let c = Content::system("systemNotice", "hi", serde_json::json!({}));
        let s = new_message(ChatType::Single, party(9), party(3), c.clone(), 5);
        assert_eq!(
            (s.conv_key.as_str(), s.chat_type.as_str()),
            ("s:3:9", "single")
        );
        let g = new_message(ChatType::Group, party(9), party(3), c, 5);
        assert_eq!(
            (g.conv_key.as_str(), g.chat_type.as_str()),
            ("g:3", "group")
        );
        assert_eq!(
            (g.from_name.as_str(), g.to_name.as_str(), g.create_time),
            ("p9", "p3", 5)
        );
        assert_ne!(s.uuid, g.uuid);
    }
}
