//! SPEC §5 compact API (seed 003): `/api/group` and `/api/request`. Bare JSON answers, every id a
//! string, status codes 200 / 400 / 403 as seed 003 lists them (401 without a valid token, 404 for
//! unknown ids, as SPEC §9 decides for both dialects).

use chatd_actors::{Push, Target};
use chatd_schema::models::{Group, GroupRequest};
use serde_json::{json, Value};
use warp::reply::Response;
use warp::Filter;

use crate::error::ApiError;
use crate::http::{req, with_app, Req};
use crate::i18n::Msg;
use crate::ops::groups::{
    active_group, active_member, ask_owner, dissolve, join, leave, log_in_first, owner_only,
    remove, JoinRequest,
};
use crate::rules::groups::{join_decision, JoinDecision};
use crate::state::App;

pub fn routes(app: App) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let r = || with_app(app.clone()).and(req(app.clone()));
    warp::path!("api" / "group")
        .and(warp::post())
        .and(r())
        .then(create)
        .or(warp::path!("api" / "group")
            .and(warp::get())
            .and(r())
            .then(list))
        .unify()
        .or(warp::path!("api" / "group" / i64)
            .and(warp::put())
            .and(r())
            .then(rename))
        .unify()
        .or(warp::path!("api" / "group" / i64)
            .and(warp::get())
            .and(r())
            .then(get))
        .unify()
        .or(warp::path!("api" / "group" / i64)
            .and(warp::delete())
            .and(r())
            .then(leave_or_remove))
        .unify()
        .or(warp::path!("api" / "request")
            .and(warp::post())
            .and(r())
            .then(invite))
        .unify()
        .or(warp::path!("api" / "request")
            .and(warp::get())
            .and(r())
            .then(requests))
        .unify()
        .or(warp::path!("api" / "request" / i64)
            .and(warp::delete())
            .and(r())
            .then(decline))
        .unify()
        .or(warp::path!("api" / "request" / i64)
            .and(warp::put())
            .and(r())
            .then(accept))
        .unify()
        .boxed()
}

fn bad(en: &'static str, zh: &'static str) -> ApiError {
    ApiError::bad(en, zh)
}

/// `{id, name, managerId, usersId}` with string ids.
async fn group_view(app: &App, g: &Group) -> Result<Value, ApiError> {
    let members = app.store.active_member_ids(g.id).await?;
    Ok(json!({
        "id": g.id.to_string(),
        "name": g.name,
        "managerId": g.user_id.to_string(),
        "usersId": members.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
    }))
}

fn request_view(r: &GroupRequest, g: &Group) -> Value {
    json!({
        "id": r.id.to_string(),
        "groupName": g.name,
        "groupId": r.group_id.to_string(),
        "userId": r.user_id.to_string(),
        "invitedBy": r.invited_by.to_string(),
    })
}

fn name_param(req: &Req) -> Result<String, ApiError> {
    let name = req.params()?.opt_str("name").unwrap_or_default();
    let n = name.chars().count();
    if n == 0 || n > 50 {
        return Err(bad(
            "name must be 1-50 characters",
            "群名必须为 1-50 个字符",
        ));
    }
    Ok(name)
}

/// A compact id parameter: a JSON number or a numeric string; anything else is 400.
fn id_param(req: &Req, key: &str) -> Result<i64, ApiError> {
    chatd_actors::wire::frames::id_value(req.params()?.raw(key))
        .filter(|v| *v > 0)
        .ok_or_else(|| {
            ApiError::BadRequest(Msg::owned(
                format!("{key} must be an id"),
                format!("{key} 必须是 id"),
            ))
        })
}

/// POST /api/group: the new group's id; the caller is its manager and only member.
async fn create(app: App, req: Req) -> Response {
    req.bare(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let name = name_param(&req)?;
            let g = app
                .store
                .create_group(
                    &uuid::Uuid::new_v4().to_string(),
                    caller.user_id,
                    &name,
                    "",
                    &[caller.user_id],
                    app.clock.now_ms(),
                )
                .await?;
            Ok(Value::String(g.id.to_string()))
        }
        .await,
    )
}

/// GET /api/group?detailed=true|false
async fn list(app: App, req: Req) -> Response {
    req.bare(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let detailed = match req.params()?.opt_str("detailed").as_deref() {
                None | Some("true") | Some("1") => true,
                Some("false") | Some("0") => false,
                Some(_) => {
                    return Err(bad(
                        "detailed must be true or false",
                        "detailed 必须是 true 或 false",
                    ))
                }
            };
            let groups = app.store.groups_of(caller.user_id, 0, 10_000).await?;
            let mut out = Vec::with_capacity(groups.len());
            for (g, _) in &groups {
                out.push(if detailed {
                    group_view(&app, g).await?
                } else {
                    Value::String(g.id.to_string())
                });
            }
            Ok(Value::Array(out))
        }
        .await,
    )
}

/// PUT /api/group/{groupId}: name (manager only)
async fn rename(id: i64, app: App, req: Req) -> Response {
    req.bare(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let name = name_param(&req)?;
            let mut g = active_group(app.store.group_by_id(id).await?)?;
            owner_only(&g, caller.user_id)?;
            g.name = name;
            app.store.update_group(&g, app.clock.now_ms()).await?;
            Ok(Value::Null)
        }
        .await,
    )
}

/// GET /api/group/{groupId} (members only)
async fn get(id: i64, app: App, req: Req) -> Response {
    req.bare(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let g = active_group(app.store.group_by_id(id).await?)?;
            active_member(&app, g.id, caller.user_id).await?;
            group_view(&app, &g).await
        }
        .await,
    )
}

/// DELETE /api/group/{groupId}[?userId=]: leave (the manager leaving dissolves), or remove a
/// member (manager only).
async fn leave_or_remove(id: i64, app: App, req: Req) -> Response {
    req.bare(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let target = req.params()?.opt_str("userId").filter(|s| !s.is_empty());
            let g = active_group(app.store.group_by_id(id).await?)?;
            active_member(&app, g.id, caller.user_id).await?;
            let me = app
                .store
                .user_by_id(caller.user_id)
                .await?
                .ok_or_else(ApiError::unauthorized)?;
            match target {
                Some(t) if t != caller.user_id.to_string() => {
                    let t: i64 = t
                        .trim()
                        .parse()
                        .map_err(|_| bad("userId must be an id", "userId 必须是 id"))?;
                    owner_only(&g, caller.user_id)?;
                    remove(&app, g, &me, t, req.lang).await?;
                }
                _ if g.user_id == caller.user_id => dissolve(&app, &g, &me, req.lang).await?,
                _ => leave(&app, g, &me, req.lang).await?,
            }
            Ok(Value::Null)
        }
        .await,
    )
}

/// POST /api/request: groupId, userId. The caller must be a member and the user not one yet
/// (403 otherwise). The invitee is told with a `groupInvitation` NOTIFICATION.
async fn invite(app: App, req: Req) -> Response {
    req.bare(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let (gid, uid) = (id_param(&req, "groupId")?, id_param(&req, "userId")?);
            let g = active_group(app.store.group_by_id(gid).await?)?;
            active_member(&app, g.id, caller.user_id).await?;
            app.store
                .active_user(uid)
                .await?
                .ok_or_else(|| ApiError::not_found("no such user", "用户不存在"))?;
            if app.store.group_member(g.id, uid).await?.is_some_and(|m| m.status == 1) {
                return Err(ApiError::forbidden("the user is already in the group", "该用户已在群里"));
            }
            let r = app.store.invite_to_group(g.id, uid, caller.user_id, app.clock.now_ms()).await?;
            let view = request_view(&r, &g);
            let frame = json!({"type": "NOTIFICATION", "notificationType": "groupInvitation", "content": view});
            app.delivery
                .send(
                    &[Target { user_id: uid, exclude_sid: None, queue_if_absent: false }],
                    Push::ephemeral(&frame.to_string()),
                )
                .await?;
            Ok(view)
        }
        .await,
    )
}

/// GET /api/request: pending invitations to me.
async fn requests(app: App, req: Req) -> Response {
    req.bare(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let rows = app.store.pending_requests_to(caller.user_id).await?;
            Ok(Value::Array(
                rows.iter().map(|(r, g)| request_view(r, g)).collect(),
            ))
        }
        .await,
    )
}

/// The pending invitation `id`, which must be addressed to the caller (403) and exist (404).
async fn my_request(app: &App, req: &Req, id: i64) -> Result<(GroupRequest, i64), ApiError> {
    let caller = req.user_or_visitor(app).await?;
    let r = app
        .store
        .group_request(id)
        .await?
        .filter(|r| r.status == "pending")
        .ok_or_else(|| ApiError::not_found("no such invitation", "邀请不存在"))?;
    if r.user_id != caller.user_id {
        return Err(ApiError::forbidden(
            "this invitation is not addressed to you",
            "该邀请不是发给你的",
        ));
    }
    Ok((r, caller.user_id))
}

/// DELETE /api/request/{requestId}: decline.
async fn decline(id: i64, app: App, req: Req) -> Response {
    req.bare(
        async {
            let (r, _) = my_request(&app, &req, id).await?;
            app.store
                .settle_group_request(r.id, "declined", app.clock.now_ms())
                .await?;
            Ok(Value::Null)
        }
        .await,
    )
}

/// PUT /api/request/{requestId}: accept. The group's join setting applies as to a rich invite by
/// the same inviter (§9.18): joined, or pending the owner's approval, or 403 for a visitor where
/// visitors must log in first. An invitation whose group is gone or whose inviter is no longer an
/// active member is refused (403) and marked declined.
async fn accept(id: i64, app: App, req: Req) -> Response {
    req.bare(
        async {
            let (r, me_id) = my_request(&app, &req, id).await?;
            let now = app.clock.now_ms();
            let group = app
                .store
                .group_by_id(r.group_id)
                .await?
                .filter(|g| g.status == 1);
            let inviter_active = app
                .store
                .group_member(r.group_id, r.invited_by)
                .await?
                .is_some_and(|m| m.status == 1);
            let inviter = app.store.user_by_id(r.invited_by).await?;
            let (Some(g), true, Some(inviter)) = (group, inviter_active, inviter) else {
                app.store
                    .settle_group_request(r.id, "declined", now)
                    .await?;
                return Err(ApiError::forbidden(
                    "this invitation is no longer valid",
                    "该邀请已失效",
                ));
            };
            let me = app
                .store
                .active_user(me_id)
                .await?
                .ok_or_else(ApiError::unauthorized)?;
            let member = app.store.group_member(g.id, me_id).await?;
            let decision =
                join_decision(g.invite_confirm, inviter.id == g.user_id, me.role != "user");
            if decision == JoinDecision::LogInFirst && member.is_none() {
                return Err(log_in_first());
            }
            if !app
                .store
                .settle_group_request(r.id, "accepted", now)
                .await?
            {
                return Err(ApiError::not_found("no such invitation", "邀请不存在"));
            }
            // Already in: accepting changes nothing more; already waiting: only a join moves it.
            if member.as_ref().is_none_or(|m| m.status != 1) {
                match (decision, member.is_some()) {
                    (JoinDecision::Join, _) => {
                        join(&app, g, &me, Some(inviter.id), req.lang).await?;
                    }
                    (_, false) => {
                        ask_owner(&app, &g, &me, JoinRequest::Invited(&inviter), "", req.lang)
                            .await?;
                    }
                    (_, true) => {}
                }
            }
            Ok(Value::Null)
        }
        .await,
    )
}
