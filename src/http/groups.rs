//! SPEC §4 groups (rich dialect): parse, call the operation of `ops::group_admin`, render.

use chatd_schema::models::Group;
use chatd_schema::GroupId;
use serde_json::{json, Value};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::error::ApiError;
use crate::http::{req, with_app, Req};
use crate::i18n::Msg;
use crate::ops::group_admin::{self, GroupWithMembers, Invited, Setting};
use crate::ops::groups::{group_json, member_json};
use crate::state::App;

/// Most friends one `group/create` may add: large rooms are made in one request, and the id
/// lists stay well under SQLite's and PostgreSQL's bound-parameter limits.
const MAX_CREATE_MEMBERS: usize = 10_000;

pub fn routes(app: App) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let r = || with_app(app.clone()).and(req(app.clone()));
    let post = |p: &'static str| {
        warp::path("api")
            .and(warp::path("chat"))
            .and(warp::path(p))
            .and(warp::path::end())
            .and(warp::post())
    };
    warp::path!("api" / "chat" / "group" / "create")
        .and(warp::post())
        .and(r())
        .then(create)
        .or(warp::path!("api" / "chat" / "grouplist" / u32)
            .and(warp::get())
            .and(r())
            .then(list))
        .unify()
        .or(warp::path!("api" / "chat" / "groupinfo" / GroupId)
            .and(warp::get())
            .and(r())
            .then(info))
        .unify()
        .or(post("groupUpdateName").and(r()).then(rename))
        .unify()
        .or(post("groupremark").and(r()).then(remark))
        .unify()
        .or(post("groupnickname").and(r()).then(nickname))
        .unify()
        .or(post("groupDeleteOrQuit").and(r()).then(delete_or_quit))
        .unify()
        .or(post("groupDeleteUser").and(r()).then(delete_user))
        .unify()
        .or(post("groupAddUserSet").and(r()).then(join_setting))
        .unify()
        .or(post("groupInviteUser").and(r()).then(invite))
        .unify()
        .or(post("groupAgreeOrNo").and(r()).then(agree_or_no))
        .unify()
        .or(warp::path!("api" / "chat" / "groupQrcode" / GroupId)
            .and(warp::get())
            .and(r())
            .then(qrcode))
        .unify()
        .boxed()
}

fn full_group(app: &App, (g, members): &GroupWithMembers) -> Value {
    group_json(
        app,
        g,
        members
            .iter()
            .map(|(m, u)| member_json(app, m, Some(u)))
            .collect(),
    )
}

fn ok() -> Value {
    Value::String("ok".into())
}

/// POST /api/chat/group/create (users only): `userIds` are ids of my friendship rows.
async fn create(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user(&app).await?;
            let rows = req.params()?.id_list("userIds")?;
            if rows.is_empty() || rows.len() > MAX_CREATE_MEMBERS {
                return Err(ApiError::Invalid(Msg::new(
                    "userIds must list 1-10000 friends",
                    "userIds 必须包含 1-10000 个好友",
                )));
            }
            let g = group_admin::create(&app, caller.user_id, &rows, req.lang).await?;
            Ok(full_group(&app, &g))
        }
        .await,
    )
}

/// GET /api/chat/grouplist/:page?limit= (default 30)
async fn list(page: u32, app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let limit = req.params()?.opt_i64_range("limit", 1, 200)?.unwrap_or(30);
            let offset = (i64::from(page.max(1)) - 1) * limit;
            let rows = group_admin::list(&app, caller.user_id, offset, limit).await?;
            Ok(Value::Array(
                rows.iter()
                    .map(|(g, m)| group_json(&app, g, vec![member_json(&app, m, None)]))
                    .collect(),
            ))
        }
        .await,
    )
}

/// GET /api/chat/groupinfo/:id (non-members may read it)
async fn info(id: GroupId, app: App, req: Req) -> Response {
    req.reply(
        async {
            req.user_or_visitor(&app).await?;
            let g = group_admin::info(&app, id).await?;
            Ok(full_group(&app, &g))
        }
        .await,
    )
}

/// An owner's setting of group `key` (SPEC §4: rename, remark, join setting).
async fn set(app: &App, req: &Req, key: &str, setting: Setting) -> Result<Value, ApiError> {
    let caller = req.user_or_visitor(app).await?;
    let id = req.params()?.group_id(key)?;
    group_admin::set(app, caller.user_id, id, setting, req.lang).await?;
    Ok(ok())
}

/// POST /api/chat/groupUpdateName: id, name 1–20 (owner)
async fn rename(app: App, req: Req) -> Response {
    req.reply(
        async {
            let name = req.params()?.str_len("name", 1, 20)?;
            set(&app, &req, "id", Setting::Name(name)).await
        }
        .await,
    )
}

/// POST /api/chat/groupremark: id, remark 1–500 (owner)
async fn remark(app: App, req: Req) -> Response {
    req.reply(
        async {
            let remark = req.params()?.str_len("remark", 1, 500)?;
            set(&app, &req, "id", Setting::Remark(remark)).await
        }
        .await,
    )
}

/// POST /api/chat/groupnickname: id, nickname 1–20 (active members; not announced)
async fn nickname(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let p = req.params()?;
            let nick = p.str_len("nickname", 1, 20)?;
            group_admin::set_nickname(&app, caller.user_id, p.group_id("id")?, &nick).await?;
            Ok(ok())
        }
        .await,
    )
}

/// POST /api/chat/groupDeleteOrQuit: id. The owner dissolves; a member leaves.
async fn delete_or_quit(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let id = req.params()?.group_id("id")?;
            group_admin::delete_or_quit(&app, caller.user_id, id, req.lang).await?;
            Ok(ok())
        }
        .await,
    )
}

/// POST /api/chat/groupDeleteUser: group_id, user_id (owner, not themselves)
async fn delete_user(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let p = req.params()?;
            let target = p.user_id("user_id")?;
            let gid = p.group_id("group_id")?;
            group_admin::remove_member(&app, caller.user_id, gid, target, req.lang).await?;
            Ok(ok())
        }
        .await,
    )
}

/// POST /api/chat/groupAddUserSet: group_id, addGroupSet 0–10 (owner)
async fn join_setting(app: App, req: Req) -> Response {
    req.reply(
        async {
            let v = req
                .params()?
                .opt_i64_range("addGroupSet", 0, 10)?
                .ok_or_else(|| {
                    ApiError::Invalid(Msg::new("addGroupSet is required", "addGroupSet 不能为空"))
                })?;
            set(&app, &req, "group_id", Setting::JoinSetting(v as i32)).await
        }
        .await,
    )
}

/// POST /api/chat/groupInviteUser: group_id, user_id, addGroupDesc 0–500. The inviter is always
/// the caller (`inviteuser_id` is ignored: the seed trusted it, letting anyone skip approval).
async fn invite(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let p = req.params()?;
            let target = p.user_id("user_id")?;
            let note = p.opt_str_max("addGroupDesc", 500)?;
            let gid = p.group_id("group_id")?;
            let answer =
                match group_admin::invite(&app, &caller, gid, target, &note, req.lang).await? {
                    Invited::Joined => "joined",
                    Invited::WaitingForOwner => "waiting for owner approval",
                };
            Ok(Value::String(answer.into()))
        }
        .await,
    )
}

/// POST /api/chat/groupAgreeOrNo: group_id, user_id, type agree|no (owner, on a pending member)
async fn agree_or_no(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let p = req.params()?;
            let target = p.user_id("user_id")?;
            let agree = match p.opt_str("type").as_deref() {
                Some("agree") => true,
                Some("no") => false,
                _ => {
                    return Err(ApiError::Invalid(Msg::new(
                        "type must be agree or no",
                        "type 必须是 agree 或 no",
                    )))
                }
            };
            let gid = p.group_id("group_id")?;
            group_admin::answer_request(&app, caller.user_id, gid, target, agree, req.lang).await?;
            Ok(ok())
        }
        .await,
    )
}

/// `http` must be an http(s) origin: scheme and host (and port), nothing after.
fn valid_origin(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest.map(|r| r.trim_end_matches('/')) {
        Some(host) => {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        }
        None => false,
    }
}

/// The text a group's QR code encodes.
pub fn qr_text(
    g: &Group,
    kind: Option<&str>,
    origin: Option<&str>,
    chat_type: Option<&str>,
) -> Result<String, ApiError> {
    if kind == Some("H5") && chat_type == Some("group") {
        let origin = origin.filter(|o| valid_origin(o)).ok_or_else(|| {
            ApiError::Invalid(Msg::new(
                "http must be an http(s) origin",
                "http 必须是 http(s) 源地址",
            ))
        })?;
        let title = serde_urlencoded::to_string([("title", g.name.as_str())]).unwrap_or_default();
        return Ok(format!(
            "{}#/pages/setpageInfo/setpageInfo?action=autoAddGroup&{title}&id={}&chatType=group",
            origin.trim_end_matches('/'),
            g.id
        ));
    }
    Ok(json!({"id": g.id, "name": g.name}).to_string())
}

/// GET /api/chat/groupQrcode/:id?token=&type=&http=&chatType= (active members): a PNG.
async fn qrcode(id: GroupId, app: App, req: Req) -> Response {
    let result = async {
        let caller = req.user_or_visitor(&app).await?;
        let g = group_admin::member_view(&app, caller.user_id, id).await?;
        let p = req.params()?;
        let text = qr_text(
            &g,
            p.opt_str("type").as_deref(),
            p.opt_str("http").as_deref(),
            p.opt_str("chatType").as_deref(),
        )?;
        crate::qr::png(&text)
    }
    .await;
    match result {
        Ok(png) => warp::reply::with_header(
            warp::reply::with_status(png, StatusCode::OK),
            "content-type",
            "image/png",
        )
        .into_response(),
        Err(e) => req.reply(Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert!(valid_origin("https://chat.example.com"));
        assert!(valid_origin("http://127.0.0.1:8080/"));
        assert!(!valid_origin("javascript:alert(1)"));
        assert!(!valid_origin("https://x.com/path"));
        assert!(!valid_origin("ftp://x"));
    }
}
