//! Sending a message: validate, apply the delivery rules, then hand it to the writer, which
//! stores it (durable, seq, idempotent) and routes it before we answer.

use chatd_actors::{Accepted, Route, Target};
use chatd_schema::conv;
use chatd_schema::models::NewMessage;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::i18n::Msg;
use crate::rules::chat::{chatset_for, may_send_single, SingleChatFacts};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatType {
    Single,
    Group,
}

/// A message as a client asks to send it.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub chat_type: ChatType,
    pub to: i64,
    pub msg_type: String,
    pub data: String,
    /// JSON text of the options object ("{}" when none).
    pub options: String,
    pub client_msg_id: Option<String>,
}

pub async fn send(app: &AppState, caller: &Caller, m: Outbound) -> Result<Accepted, ApiError> {
    if m.data.len() > app.cfg.max_message_bytes {
        return Err(ApiError::TooLarge(Msg::owned(
            format!("message data exceeds {} bytes", app.cfg.max_message_bytes),
            format!("消息内容超过 {} 字节", app.cfg.max_message_bytes),
        )));
    }
    if let Some(cid) = &m.client_msg_id {
        if cid.chars().count() > 100 {
            return Err(ApiError::Invalid(Msg::new(
                "client_msg_id must be at most 100 characters",
                "client_msg_id 不能超过 100 个字符",
            )));
        }
    }
    match m.chat_type {
        ChatType::Single => send_single(app, caller, m).await,
        ChatType::Group => send_group(app, caller, m).await,
    }
}

async fn send_single(app: &AppState, caller: &Caller, m: Outbound) -> Result<Accepted, ApiError> {
    let me = caller.user_id;
    if m.to == me {
        return Err(ApiError::bad(
            "you cannot send a message to yourself",
            "不能给自己发消息",
        ));
    }
    let sender = app
        .store
        .user_by_id(me)
        .await?
        .filter(|u| u.status == 1)
        .ok_or_else(ApiError::unauthorized)?;
    let recipient = app
        .store
        .user_by_id(m.to)
        .await?
        .filter(|u| u.status == 1)
        .ok_or_else(|| ApiError::not_found("no such user", "用户不存在"))?;
    let conv_key = conv::single(me, m.to);

    let row = app.store.friendship(m.to, me).await?;
    let facts = SingleChatFacts {
        blacklisted: row.as_ref().is_some_and(|r| r.isblack == 1),
        friends: row
            .as_ref()
            .is_some_and(|r| r.status == 1 && r.isblack == 0),
        answering: app.store.has_sent_in(&conv_key, m.to).await?,
        sent_before: app.store.has_sent_in(&conv_key, me).await?,
        chatset: chatset_for(&recipient.userset, caller.role.as_str()),
    };
    may_send_single(&facts).map_err(|r| r.error())?;

    let msg = NewMessage {
        uuid: uuid::Uuid::new_v4().to_string(),
        conv_key,
        chat_type: "single".into(),
        msg_type: m.msg_type,
        from_id: me,
        to_id: recipient.id,
        from_name: sender.display_name().to_string(),
        from_avatar: sender.avatar.clone(),
        to_name: recipient.display_name().to_string(),
        to_avatar: recipient.avatar.clone(),
        data: m.data,
        options: m.options,
        extra: None,
        client_msg_id: m.client_msg_id,
        create_time: app.clock.now_ms(),
    };
    let route = Route::Targets(vec![
        Target::recipient(recipient.id),
        Target::other_devices(me, Some(caller.sid.clone())),
    ]);
    Ok(app.writer.submit(msg, route).await?)
}

/// Group sending arrives with the groups work (GroupActor fan-out); until then only membership
/// is checked, and since no group endpoint exists yet nobody is a member.
async fn send_group(app: &AppState, caller: &Caller, m: Outbound) -> Result<Accepted, ApiError> {
    let member = app.store.group_member(m.to, caller.user_id).await?;
    match member {
        Some(row) if row.status == 1 => Err(ApiError::bad(
            "group messages are not supported by this server version yet",
            "当前版本暂不支持群聊消息",
        )),
        _ => Err(ApiError::forbidden(
            "you are not an active member of this group",
            "你不是该群的成员",
        )),
    }
}
