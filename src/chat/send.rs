//! Sending a message: validate, apply the delivery rules, then hand it to the writer, which
//! stores it (durable, seq, idempotent) and routes it before we answer.

use chatd_actors::{Accepted, Route, Target};
use chatd_schema::conv;
use chatd_schema::models::NewMessage;

use crate::app::AppState;
use crate::auth::Caller;
use crate::chat::groups::{active_group, active_member, group_ref, member_avatar, member_name};
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

/// A group message: the sender must be an active member of an active group; members who
/// blacklisted the sender are skipped; the sender's identity (group nickname, then nickname, then
/// username; group avatar, then avatar) travels with the message (seed 004).
async fn send_group(app: &AppState, caller: &Caller, m: Outbound) -> Result<Accepted, ApiError> {
    let group = active_group(app.store.group_by_id(m.to).await?)?;
    let member = active_member(app, group.id, caller.user_id).await?;
    let sender = app
        .store
        .user_by_id(caller.user_id)
        .await?
        .filter(|u| u.status == 1)
        .ok_or_else(ApiError::unauthorized)?;
    let blockers = app.store.blockers_of(sender.id).await?;
    let msg = NewMessage {
        uuid: uuid::Uuid::new_v4().to_string(),
        conv_key: conv::group(group.id),
        chat_type: "group".into(),
        msg_type: m.msg_type,
        from_id: sender.id,
        to_id: group.id,
        from_name: member_name(Some(&member), &sender),
        from_avatar: member_avatar(Some(&member), &sender),
        to_name: group.name.clone(),
        to_avatar: group.avatar.clone(),
        data: m.data,
        options: m.options,
        extra: Some(serde_json::json!({"group": group_ref(&group)}).to_string()),
        client_msg_id: m.client_msg_id,
        create_time: app.clock.now_ms(),
    };
    let route = Route::Group {
        group: app.groups.get(group.id),
        sender: sender.id,
        sender_sid: Some(caller.sid.clone()),
        exclude: blockers,
        also: Vec::new(),
    };
    Ok(app.writer.submit(msg, route).await?)
}
