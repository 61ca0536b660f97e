//! Sending a message: validate, apply the delivery rules, then hand it to the writer, which
//! stores it (durable, seq, idempotent) and routes it before we answer.

use chatd_actors::{Accepted, Pending, Route, Target};
use chatd_schema::conv;
use chatd_schema::models::{NewMessage, User};
use chatd_schema::{GroupId, UserId};
use std::sync::Arc;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::i18n::Msg;
use crate::ops::facts::GroupSendFacts;
use crate::ops::groups::{active_group, active_member, group_ref, member_avatar, member_name};
use crate::ops::message::{new_message, ChatType, Content, Party, Peer};
use crate::rules::chat::{
    chatset_for, may_send_single, needs_answering, needs_sent_before, SingleChatFacts,
};
use crate::state::AppState;

/// A message as a client asks to send it.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub to: Peer,
    pub msg_type: String,
    pub data: String,
    /// JSON text of the options object ("{}" when none).
    pub options: String,
    pub client_msg_id: Option<String>,
}

impl SendRequest {
    /// What the message says, with the `extra` fields the server adds.
    fn content(self, extra: Option<String>) -> Content {
        Content {
            msg_type: self.msg_type,
            data: self.data,
            options: self.options,
            extra,
            client_msg_id: self.client_msg_id,
        }
    }
}

/// Sends and waits until the message is durable and routed.
pub async fn send(app: &AppState, caller: &Caller, m: SendRequest) -> Result<Accepted, ApiError> {
    Ok(accept(app, caller, m).await?.await_answer().await?)
}

/// Checks and enqueues a message; its place in acceptance order is fixed when this returns, and
/// the [`Pending`] answer resolves once it is stored and routed.
pub async fn accept(app: &AppState, caller: &Caller, m: SendRequest) -> Result<Pending, ApiError> {
    let (msg, route) = prepare(app, caller, m).await?;
    Ok(app.writer.enqueue(msg, route).await?)
}

async fn prepare(
    app: &AppState,
    caller: &Caller,
    m: SendRequest,
) -> Result<(NewMessage, Route), ApiError> {
    // System notices are the server's (§9.24): a client cannot make one, so none can pass for
    // the server's or slip past the chatset rules.
    if m.msg_type == "systemNotice" {
        return Err(ApiError::bad(
            "systemNotice messages are sent by the server only",
            "systemNotice 消息只能由服务器发送",
        ));
    }
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
    match m.to {
        Peer::User(to) => send_single(app, caller, to, m).await,
        Peer::Group(group) => send_group(app, caller, group, m).await,
    }
}

/// The sender's account, which must be active (a disabled account cannot send).
pub async fn active_sender(app: &AppState, user_id: UserId) -> Result<User, ApiError> {
    app.store
        .active_user(user_id)
        .await?
        .ok_or_else(ApiError::unauthorized)
}

async fn send_single(
    app: &AppState,
    caller: &Caller,
    to: UserId,
    m: SendRequest,
) -> Result<(NewMessage, Route), ApiError> {
    let me = caller.user_id;
    if to == me {
        return Err(ApiError::bad(
            "you cannot send a message to yourself",
            "不能给自己发消息",
        ));
    }
    let sender = active_sender(app, me).await?;
    let recipient = app
        .store
        .active_user(to)
        .await?
        .ok_or_else(|| ApiError::not_found("no such user", "用户不存在"))?;
    let conv_key = conv::single(me, to);

    let row = app.store.friendship(to, me).await?;
    let mut facts = SingleChatFacts {
        blacklisted: row.as_ref().is_some_and(|r| r.isblack == 1),
        friends: row
            .as_ref()
            .is_some_and(|r| r.status == 1 && r.isblack == 0),
        chatset: chatset_for(&recipient.userset, caller.role.as_str()),
        ..SingleChatFacts::default()
    };
    // The history facts are queries over the conversation: asked only when the rule reads them.
    if needs_answering(&facts) {
        facts.answering = app.store.has_sent_in(&conv_key, to).await?;
    }
    if needs_sent_before(&facts) {
        facts.sent_before = app.store.has_sent_in(&conv_key, me).await?;
    }
    may_send_single(&facts).map_err(|r| r.error())?;

    let msg = new_message(
        ChatType::Single,
        Party::user(&sender),
        Party::user(&recipient),
        m.content(None),
        app.clock.now_ms(),
    );
    let route = Route::Targets(vec![
        Target::recipient(recipient.id),
        Target::other_devices(me, Some(caller.sid.clone())),
    ]);
    Ok((msg, route))
}

/// A group message: the sender must be an active member of an active group; members who
/// blacklisted the sender are skipped; the sender's identity (group nickname, then nickname, then
/// username; group avatar, then avatar) travels with the message (seed 004).
async fn send_group(
    app: &AppState,
    caller: &Caller,
    group: GroupId,
    m: SendRequest,
) -> Result<(NewMessage, Route), ApiError> {
    let facts = group_send_facts(app, group, caller.user_id).await?;
    let from = Party {
        id: facts.sender_id.0,
        name: facts.from_name.clone(),
        avatar: facts.from_avatar.clone(),
    };
    let to = Party {
        id: facts.group_id.0,
        name: facts.to_name.clone(),
        avatar: facts.to_avatar.clone(),
    };
    let content = m.content(Some(facts.extra.clone()));
    let msg = new_message(ChatType::Group, from, to, content, app.clock.now_ms());
    let route = Route::Group {
        group: app.registry.group(facts.group_id).await?,
        sender: facts.sender_id,
        sender_sid: Some(caller.sid.clone()),
        exclude: facts.blockers.clone(),
        also: Vec::new(),
    };
    Ok((msg, route))
}

/// The facts for `sender` sending to `group_id`, or the refusal (no such group, not a member,
/// sender disabled).
pub async fn group_send_facts(
    app: &AppState,
    group_id: GroupId,
    sender: UserId,
) -> Result<Arc<GroupSendFacts>, ApiError> {
    // Read before the rows: a write landing in between moves it on, so what is cached under it
    // can be stale only until the next lookup.
    let generation = app.store.generation();
    if !app.caches_trusted() {
        // Cut off from the other nodes' changes: read the store every time.
    } else if let Some(f) = app.send_facts.get((group_id, sender), generation) {
        return Ok(f);
    }
    let group = active_group(app.store.group_by_id(group_id).await?)?;
    let member = active_member(app, group.id, sender).await?;
    let user = active_sender(app, sender).await?;
    let blockers = app.store.blockers_of(user.id).await?;
    let facts = Arc::new(GroupSendFacts {
        group_id: group.id,
        sender_id: user.id,
        from_name: member_name(Some(&member), &user),
        from_avatar: member_avatar(Some(&member), &user),
        to_name: group.name.clone(),
        to_avatar: group.avatar.clone(),
        extra: serde_json::json!({"group": group_ref(&group)}).to_string(),
        blockers,
    });
    app.send_facts
        .put((group_id, sender), generation, facts.clone());
    Ok(facts)
}
