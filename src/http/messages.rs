//! SPEC §3 sending, offline messages, history and sync; and the compact `GET /api/message`.

use serde_json::Value;
use warp::reply::Response;
use warp::Filter;

use crate::error::ApiError;
use crate::http::{req, with_app, Req};
use crate::i18n::Msg;
use crate::ops::history::{history as history_op, sync as sync_op};
use crate::ops::message::{ChatType, Peer};
use crate::ops::offline::{pull_compact, replay};
use crate::ops::send::{send, SendRequest};
use crate::params::Params;
use crate::state::App;

pub fn routes(app: App) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let r = || with_app(app.clone()).and(req(app.clone()));
    warp::path!("api" / "chat" / "socket" / "sendmessage")
        .and(warp::post())
        .and(r())
        .then(send_message)
        .or(warp::path!("api" / "chat" / "chatGetmessageOffLine")
            .and(warp::post())
            .and(r())
            .then(offline_replay))
        .unify()
        .or(warp::path!("api" / "message")
            .and(warp::get())
            .and(r())
            .then(compact_pull))
        .unify()
        .or(warp::path!("api" / "chat" / "history")
            .and(warp::get())
            .and(r())
            .then(history))
        .unify()
        .or(warp::path!("api" / "chat" / "revokeMessage")
            .and(warp::post())
            .and(r())
            .then(revoke_message))
        .unify()
        .or(warp::path!("api" / "chat" / "sync")
            .and(warp::get())
            .and(r())
            .then(sync))
        .unify()
        .or(warp::path!("api" / "chat" / "read")
            .and(warp::post())
            .and(r())
            .then(read))
        .unify()
        .or(warp::path!("api" / "chat" / "receipts")
            .and(warp::get())
            .and(r())
            .then(receipts))
        .unify()
        .or(warp::path!("api" / "chat" / "conversations")
            .and(warp::get())
            .and(r())
            .then(conversations))
        .unify()
        .or(warp::path!("api" / "chat" / "presence")
            .and(warp::get())
            .and(r())
            .then(presence))
        .unify()
        .or(warp::path!("api" / "chat" / "mute")
            .and(warp::post())
            .and(r())
            .then(mute))
        .unify()
        .boxed()
}

pub fn chat_type(p: &Params) -> Result<ChatType, ApiError> {
    match p.opt_str("chatType").as_deref() {
        Some("single") => Ok(ChatType::Single),
        Some("group") => Ok(ChatType::Group),
        None | Some("") => Err(ApiError::Invalid(Msg::new(
            "chatType is required",
            "chatType 不能为空",
        ))),
        Some(_) => Err(ApiError::Invalid(Msg::new(
            "chatType must be single or group",
            "chatType 必须是 single 或 group",
        ))),
    }
}

/// `options` as JSON text of an object: given as JSON text, as a JSON object, or absent.
fn options_text(p: &Params) -> Result<String, ApiError> {
    let bad = || {
        ApiError::Invalid(Msg::new(
            "options must be a JSON object (or its JSON text)",
            "options 必须是 JSON 对象（或其字符串）",
        ))
    };
    match p.raw("options") {
        None | Some(Value::Null) => Ok("{}".into()),
        Some(Value::Object(o)) => Ok(Value::Object(o.clone()).to_string()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok("{}".into()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(o)) => Ok(Value::Object(o).to_string()),
            _ => Err(bad()),
        },
        Some(_) => Err(bad()),
    }
}

/// POST /api/chat/socket/sendmessage
async fn send_message(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user_or_visitor(&app).await?;
            // The same per-user budget as the user's WebSocket frames (§9.25).
            if !app.socket_cfg.budget.take(caller.user_id) {
                return Err(ApiError::RateLimited(Msg::new(
                    "too many messages; slow down",
                    "发送过于频繁，请稍后再试",
                )));
            }
            let p = req.params()?;
            let to = p.i64_min("sendto_id", 1)?;
            let chat_type = chat_type(p)?;
            let msg_type = p.str_len("type", 1, 30)?;
            let data = match p.raw("data") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            if data.is_empty() {
                return Err(ApiError::Invalid(Msg::new(
                    "data is required",
                    "data 不能为空",
                )));
            }
            let client_msg_id = p.opt_str("client_msg_id").filter(|s| !s.is_empty());
            let to = Peer::new(chat_type, to);
            let group = matches!(to, Peer::Group(_));
            let accepted = send(
                &app,
                &caller,
                SendRequest {
                    to,
                    msg_type,
                    data,
                    options: options_text(p)?,
                    client_msg_id,
                },
            )
            .await?;
            if accepted.fresh {
                crate::metrics::message_accepted(group, "rest");
            }
            Ok(accepted.message)
        }
        .await,
    )
}

/// POST /api/chat/revokeMessage: `id`, `chatType`, `to_id` (to_name, to_avatar, create_time are
/// accepted for compatibility and not trusted).
async fn revoke_message(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let p = req.params()?;
            let id = p.str_len("id", 1, 64)?;
            chat_type(p)?;
            crate::ops::revoke::revoke(&app, &caller, &id, req.lang).await
        }
        .await,
    )
}

/// POST /api/chat/chatGetmessageOffLine
async fn offline_replay(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user_or_visitor(&app).await?;
            replay(&app, caller.user_id).await?;
            Ok(Value::String("ok".into()))
        }
        .await,
    )
}

fn bool_param(p: &Params, key: &str, default: bool) -> Result<bool, ApiError> {
    match p.opt_str(key).as_deref() {
        None => Ok(default),
        Some("true") | Some("1") => Ok(true),
        Some("false") | Some("0") => Ok(false),
        Some(_) => Err(ApiError::bad_owned(
            format!("{key} must be true or false"),
            format!("{key} 必须是 true 或 false"),
        )),
    }
}

/// GET /api/message (compact): 400 for bad values, 401 without a valid token.
async fn compact_pull(app: App, req: Req) -> Response {
    req.bare(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let p = req.params()?;
            let sort = p.opt_str("sort").unwrap_or_else(|| "asc".into());
            if sort != "asc" && sort != "desc" {
                return Err(ApiError::bad(
                    "sort must be asc or desc",
                    "sort 必须是 asc 或 desc",
                ));
            }
            let kind = p.opt_str("type").unwrap_or_else(|| "all".into());
            if !["all", "unicast", "multicast"].contains(&kind.as_str()) {
                return Err(ApiError::bad(
                    "type must be all, unicast or multicast",
                    "type 必须是 all、unicast 或 multicast",
                ));
            }
            let drop = bool_param(p, "drop", true)?;
            pull_compact(&app, caller.user_id, sort == "desc", drop, &kind).await
        }
        .await,
    )
}

/// GET /api/chat/history?chatType=&id=&before_seq=&limit=
async fn history(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user(&app).await?;
            let p = req.params()?;
            let chat_type = chat_type(p)?;
            let id = p.i64_min("id", 1)?;
            let before = p.opt_i64("before_seq")?;
            let limit = p.opt_i64_range("limit", 1, 200)?.unwrap_or(50);
            history_op(&app, &caller, Peer::new(chat_type, id), before, limit).await
        }
        .await,
    )
}

/// `chatType`, `id` and `seq`: a place in a conversation.
fn place(p: &Params) -> Result<(Peer, i64), ApiError> {
    let chat_type = chat_type(p)?;
    let id = p.i64_min("id", 1)?;
    Ok((Peer::new(chat_type, id), p.i64_min("seq", 1)?))
}

/// POST /api/chat/read {chatType, id, seq}: moves the caller's read position forward.
async fn read(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user(&app).await?;
            let (peer, seq) = place(req.params()?)?;
            crate::ops::reads::mark_read(&app, &caller, peer, seq).await
        }
        .await,
    )
}

/// GET /api/chat/receipts?chatType=&id=&seq=: who of a conversation has read up to `seq`.
async fn receipts(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user(&app).await?;
            let (peer, seq) = place(req.params()?)?;
            crate::ops::reads::receipts(&app, &caller, peer, seq).await
        }
        .await,
    )
}

/// GET /api/chat/conversations?limit=&cursor=: a page of the caller's conversations.
async fn conversations(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user(&app).await?;
            let p = req.params()?;
            let limit = p.opt_i64_range("limit", 1, 100)?.unwrap_or(20);
            let cursor = p.opt_str("cursor");
            crate::ops::conversations::list(&app, &caller, cursor.as_deref(), limit).await
        }
        .await,
    )
}

/// POST /api/chat/mute {chatType, id, muted}: the caller's mute flag on a conversation.
async fn mute(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user(&app).await?;
            let p = req.params()?;
            let peer = Peer::new(chat_type(p)?, p.i64_min("id", 1)?);
            if p.opt_str("muted").is_none() {
                return Err(ApiError::Invalid(Msg::new(
                    "muted is required",
                    "muted 不能为空",
                )));
            }
            let muted = bool_param(p, "muted", false)?;
            crate::ops::conversations::mute(&app, &caller, peer, muted).await
        }
        .await,
    )
}

/// GET /api/chat/presence?ids=1,2,3: online and last seen, for the caller's friends.
async fn presence(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user(&app).await?;
            let ids = req.params()?.opt_str("ids").unwrap_or_default();
            let ids = crate::ops::presence::parse_ids(&ids)?;
            crate::ops::presence::view(&app, &caller, &ids).await
        }
        .await,
    )
}

/// GET /api/chat/sync?since=&limit=
async fn sync(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user(&app).await?;
            let p = req.params()?;
            let limit = p.opt_i64_range("limit", 1, 1000)?.unwrap_or(200);
            let since = p.opt_str("since");
            sync_op(&app, &caller, since.as_deref(), limit).await
        }
        .await,
    )
}
