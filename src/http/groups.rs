//! SPEC §4 groups (rich dialect).

use chatd_schema::models::{Group, User};
use serde_json::{json, Map, Value};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::error::ApiError;
use crate::http::{req, with_app, Req};
use crate::i18n::Msg;
use crate::ops::groups::{
    active_group, active_member, after_membership_change, announce, ask_owner, composed, dissolve,
    group_json, join, leave, log_in_first, member_json, owner_only, remove, JoinRequest,
};
use crate::ops::notify::system_message;
use crate::rules::groups::{join_decision, JoinDecision};
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
        .or(warp::path!("api" / "chat" / "groupinfo" / i64)
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
        .or(warp::path!("api" / "chat" / "groupQrcode" / i64)
            .and(warp::get())
            .and(r())
            .then(qrcode))
        .unify()
        .boxed()
}

async fn me(app: &App, id: i64) -> Result<User, ApiError> {
    app.store
        .active_user(id)
        .await?
        .ok_or_else(ApiError::unauthorized)
}

async fn full_group(app: &App, g: &Group) -> Result<Value, ApiError> {
    let members = app.store.group_members_with_users(g.id, 1).await?;
    Ok(group_json(
        app,
        g,
        members
            .iter()
            .map(|(m, u)| member_json(app, m, Some(u)))
            .collect(),
    ))
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
            let friend_ids = app.store.friends_from_rows(caller.user_id, &rows).await?;
            let friends: Vec<User> = app
                .store
                .users_by_ids(&friend_ids)
                .await?
                .into_iter()
                .filter(|u| u.status == 1)
                .collect();
            if friends.is_empty() {
                return Err(ApiError::bad(
                    "choose at least one friend for the group",
                    "请选择加入群聊的好友",
                ));
            }
            let owner = me(&app, caller.user_id).await?;
            let mut ids = vec![owner.id];
            ids.extend(friends.iter().map(|u| u.id).filter(|id| *id != owner.id));
            let now = app.clock.now_ms();
            let uuid = uuid::Uuid::new_v4().to_string();
            let g = app
                .store
                .create_group(&uuid, owner.id, "", "", &ids, now)
                .await?;
            let (name, avatar) = composed(&app, g.id).await?;
            let g = Group { name, avatar, ..g };
            app.store.update_group(&g, now).await?;
            let text = req.lang.text(
                format!("{} created a group; start chatting", owner.display_name()),
                format!("{}创建了一个群，大家可以开始聊天了", owner.display_name()),
            );
            announce(&app, &g, &owner, &text, Some("create"), Vec::new(), None).await?;
            full_group(&app, &g).await
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
            let rows = app.store.groups_of(caller.user_id, offset, limit).await?;
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
async fn info(id: i64, app: App, req: Req) -> Response {
    req.reply(
        async {
            req.user_or_visitor(&app).await?;
            let g = active_group(app.store.group_by_id(id).await?)?;
            full_group(&app, &g).await
        }
        .await,
    )
}

/// The group named by `key` and the caller, who must own it.
async fn owned(app: &App, req: &Req, key: &str) -> Result<(Group, User), ApiError> {
    let caller = req.user_or_visitor(app).await?;
    let id = req.params()?.i64_min(key, 1)?;
    let g = active_group(app.store.group_by_id(id).await?)?;
    owner_only(&g, caller.user_id)?;
    Ok((g, me(app, caller.user_id).await?))
}

/// POST /api/chat/groupUpdateName: id, name 1–20 (owner)
async fn rename(app: App, req: Req) -> Response {
    req.reply(
        async {
            let name = req.params()?.str_len("name", 1, 20)?;
            let (mut g, owner) = owned(&app, &req, "id").await?;
            g.name = name.clone();
            app.store.update_group(&g, app.clock.now_ms()).await?;
            let text = req.lang.text(
                format!("{} renamed the group to {name}", owner.display_name()),
                format!("{}修改群名称为 {name}", owner.display_name()),
            );
            announce(&app, &g, &owner, &text, Some("rename"), Vec::new(), None).await?;
            Ok(Value::String("ok".into()))
        }
        .await,
    )
}

/// POST /api/chat/groupremark: id, remark 1–500 (owner)
async fn remark(app: App, req: Req) -> Response {
    req.reply(
        async {
            let remark = req.params()?.str_len("remark", 1, 500)?;
            let (mut g, owner) = owned(&app, &req, "id").await?;
            g.remark = remark.clone();
            app.store.update_group(&g, app.clock.now_ms()).await?;
            let text = req.lang.text(
                format!("[Announcement] {remark}"),
                format!("[新公告] {remark}"),
            );
            announce(&app, &g, &owner, &text, Some("remark"), Vec::new(), None).await?;
            Ok(Value::String("ok".into()))
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
            let g = active_group(app.store.group_by_id(p.i64_min("id", 1)?).await?)?;
            active_member(&app, g.id, caller.user_id).await?;
            app.store
                .set_member_nickname(g.id, caller.user_id, &nick, app.clock.now_ms())
                .await?;
            Ok(Value::String("ok".into()))
        }
        .await,
    )
}

/// POST /api/chat/groupDeleteOrQuit: id. The owner dissolves; a member leaves.
async fn delete_or_quit(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let g = active_group(
                app.store
                    .group_by_id(req.params()?.i64_min("id", 1)?)
                    .await?,
            )?;
            active_member(&app, g.id, caller.user_id).await?;
            let user = me(&app, caller.user_id).await?;
            if g.user_id == caller.user_id {
                dissolve(&app, &g, &user, req.lang).await?;
            } else {
                leave(&app, g, &user, req.lang).await?;
            }
            Ok(Value::String("ok".into()))
        }
        .await,
    )
}

/// POST /api/chat/groupDeleteUser: group_id, user_id (owner, not themselves)
async fn delete_user(app: App, req: Req) -> Response {
    req.reply(
        async {
            let target = req.params()?.i64_min("user_id", 1)?;
            let (g, owner) = owned(&app, &req, "group_id").await?;
            remove(&app, g, &owner, target, req.lang).await?;
            Ok(Value::String("ok".into()))
        }
        .await,
    )
}

/// POST /api/chat/groupAddUserSet: group_id, addGroupSet 0–10 (owner)
async fn join_setting(app: App, req: Req) -> Response {
    req.reply(
        async {
            let set = req
                .params()?
                .opt_i64_range("addGroupSet", 0, 10)?
                .ok_or_else(|| {
                    ApiError::Invalid(Msg::new("addGroupSet is required", "addGroupSet 不能为空"))
                })?;
            let (mut g, owner) = owned(&app, &req, "group_id").await?;
            g.invite_confirm = set as i32;
            app.store.update_group(&g, app.clock.now_ms()).await?;
            let text = req.lang.text(
                format!("{} changed how members join", owner.display_name()),
                format!("{}修改了进群设置", owner.display_name()),
            );
            announce(
                &app,
                &g,
                &owner,
                &text,
                Some("joinSetting"),
                Vec::new(),
                None,
            )
            .await?;
            Ok(Value::String("ok".into()))
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
            let target_id = p.i64_min("user_id", 1)?;
            let note = p.opt_str_max("addGroupDesc", 500)?;
            let g = active_group(app.store.group_by_id(p.i64_min("group_id", 1)?).await?)?;
            let target = app
                .store
                .active_user(target_id)
                .await?
                .ok_or_else(|| ApiError::not_found("no such user", "用户不存在"))?;
            let self_join = target.id == caller.user_id;
            if !self_join {
                active_member(&app, g.id, caller.user_id).await?;
            }
            match app.store.group_member(g.id, target.id).await? {
                Some(m) if m.status == 1 => {
                    return Err(ApiError::bad("already in the group", "已经在群里了"))
                }
                Some(_) => return Err(ApiError::bad("waiting for owner approval", "等待群主审核")),
                None => {}
            }
            let by_owner = caller.user_id == g.user_id;
            // A visitor (or a token in visitor mode, for a self-join) must log in first.
            let visitor = if self_join {
                caller.role == crate::auth::Role::Visitor
            } else {
                target.role != "user"
            };
            match join_decision(g.invite_confirm, by_owner, visitor) {
                JoinDecision::Join => {
                    join(&app, g, &target, Some(caller.user_id), req.lang).await?;
                    return Ok(Value::String("joined".into()));
                }
                JoinDecision::LogInFirst => return Err(log_in_first()),
                JoinDecision::Approval => {}
            }
            let inviter = me(&app, caller.user_id).await?;
            let how = if self_join {
                JoinRequest::SelfJoin
            } else {
                JoinRequest::Invited(&inviter)
            };
            ask_owner(&app, &g, &target, how, &note, req.lang).await?;
            Ok(Value::String("waiting for owner approval".into()))
        }
        .await,
    )
}

/// POST /api/chat/groupAgreeOrNo: group_id, user_id, type agree|no (owner, on a pending member)
async fn agree_or_no(app: App, req: Req) -> Response {
    req.reply(
        async {
            let p = req.params()?;
            let target = p.i64_min("user_id", 1)?;
            let kind = p.opt_str("type").unwrap_or_default();
            if kind != "agree" && kind != "no" {
                return Err(ApiError::Invalid(Msg::new(
                    "type must be agree or no",
                    "type 必须是 agree 或 no",
                )));
            }
            let (g, _owner) = owned(&app, &req, "group_id").await?;
            let pending = app
                .store
                .group_member(g.id, target)
                .await?
                .filter(|m| m.status == 2)
                .ok_or_else(|| {
                    ApiError::bad(
                        "no pending request from this user",
                        "该用户没有待审核的进群申请",
                    )
                })?;
            let user = app
                .store
                .user_by_id(pending.user_id)
                .await?
                .ok_or_else(|| ApiError::not_found("no such user", "用户不存在"))?;
            if kind == "agree" {
                let before = composed(&app, g.id).await?;
                if !app
                    .store
                    .activate_member(g.id, user.id, app.clock.now_ms())
                    .await?
                {
                    return Err(ApiError::bad(
                        "no pending request from this user",
                        "该用户没有待审核的进群申请",
                    ));
                }
                let g = after_membership_change(&app, g, before).await?;
                let text = req.lang.text(
                    format!("{} joined the group", user.display_name()),
                    format!("{}加入了群聊", user.display_name()),
                );
                announce(&app, &g, &user, &text, Some("join"), Vec::new(), None).await?;
            } else {
                app.store.remove_member(g.id, user.id).await?;
                let text = req.lang.text(
                    format!("your request to join {} was declined", g.name),
                    format!("你加入群 {} 的申请被拒绝了", g.name),
                );
                let mut extra = Map::new();
                extra.insert("actionType".into(), json!("groupRefuse"));
                extra.insert("group".into(), crate::ops::groups::group_ref(&g));
                system_message(&app, &user, "systemNotice", &text, extra).await?;
            }
            Ok(Value::String("ok".into()))
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
async fn qrcode(id: i64, app: App, req: Req) -> Response {
    let result = async {
        let caller = req.user_or_visitor(&app).await?;
        let g = active_group(app.store.group_by_id(id).await?)?;
        active_member(&app, g.id, caller.user_id).await?;
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
