//! Revoking a message (SPEC §3 Revoke): only the sender, only within 5 minutes of the server's
//! `create_time` (whatever the client says). The content is dropped and a `systemNotice` with
//! `actionType:"revoke"` goes to the peer (or the group's members) and the sender's other devices. As in the seed, the
//! notice's `id` is the revoked message's id, which is how existing clients find the message to
//! mark; the notice's own stored id is `notice_id`.

use chatd_actors::{Route, Target};
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::ops::groups::{member_avatar, member_name};
use crate::ops::message::{new_message, ChatType, Content, Party};
use crate::state::AppState;

pub const REVOKE_WINDOW_MS: i64 = 5 * 60 * 1000;

pub async fn revoke(
    app: &AppState,
    caller: &Caller,
    uuid: &str,
    lang: Lang,
) -> Result<Value, ApiError> {
    let row = app
        .store
        .message_by_uuid(uuid)
        .await?
        .ok_or_else(|| ApiError::not_found("no such message", "消息不存在"))?;
    if row.from_id != caller.user_id {
        return Err(ApiError::forbidden(
            "only the sender may revoke a message",
            "只能撤回自己发送的消息",
        ));
    }
    if app.clock.now_ms() - row.create_time > REVOKE_WINDOW_MS {
        return Err(ApiError::bad(
            "messages older than 5 minutes cannot be revoked",
            "消息超过5分钟，不能撤回",
        ));
    }
    if !app.store.revoke_message(uuid).await? {
        return Err(ApiError::bad(
            "this message was already revoked",
            "该消息已撤回",
        ));
    }
    let me = app
        .store
        .user_by_id(caller.user_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    // In a group the notice names the sender as the group knows them.
    let (name, avatar, route) = if row.chat_type == "group" {
        let member = app.store.group_member(row.to_group(), me.id).await?;
        (
            member_name(member.as_ref(), &me),
            member_avatar(member.as_ref(), &me),
            Route::Group {
                group: app.registry.group(row.to_group()).await?,
                sender: me.id,
                sender_sid: Some(caller.sid.clone()),
                exclude: Vec::new(),
                also: Vec::new(),
            },
        )
    } else {
        (
            me.display_name().to_string(),
            me.avatar.clone(),
            Route::Targets(vec![
                Target::recipient(row.to_user()),
                Target::other_devices(me.id, Some(caller.sid.clone())),
            ]),
        )
    };
    let text = match lang {
        Lang::En => format!("{name} revoked a message"),
        Lang::Zh => format!("{name}撤回了一条消息"),
    };
    let chat = if row.chat_type == "group" {
        ChatType::Group
    } else {
        ChatType::Single
    };
    let from = Party {
        id: me.id.0,
        name,
        avatar,
    };
    let to = Party {
        id: row.to_id,
        name: row.to_name.clone(),
        avatar: row.to_avatar.clone(),
    };
    let content = Content::system("systemNotice", &text, Value::Null);
    let mut notice = new_message(chat, from, to, content, app.clock.now_ms());
    notice.extra =
        Some(json!({"actionType": "revoke", "id": row.uuid, "notice_id": notice.uuid}).to_string());
    Ok(app.writer.submit(notice, route).await?.message)
}
