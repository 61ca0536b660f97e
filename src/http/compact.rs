//! SPEC §5 compact API (seed 003): `/api/group` and `/api/request`. Bare JSON answers, every id a
//! string, status codes 200 / 400 / 403 as seed 003 lists them (401 without a valid token, 404 for
//! unknown ids, as SPEC §9 decides for both dialects). Handlers parse, call `ops::compact`, render.

use chatd_schema::models::Group;
use chatd_schema::{GroupId, UserId};
use serde_json::{json, Value};
use warp::reply::Response;
use warp::Filter;

use crate::error::ApiError;
use crate::http::{req, with_app, Req};
use crate::i18n::Msg;
use crate::ops::compact::{self, request_view};
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
        .or(warp::path!("api" / "group" / GroupId)
            .and(warp::put())
            .and(r())
            .then(rename))
        .unify()
        .or(warp::path!("api" / "group" / GroupId)
            .and(warp::get())
            .and(r())
            .then(get))
        .unify()
        .or(warp::path!("api" / "group" / GroupId)
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
    let members = compact::member_ids(app, g).await?;
    Ok(json!({
        "id": g.id.to_string(),
        "name": g.name,
        "managerId": g.user_id.to_string(),
        "usersId": members.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
    }))
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
            let g = compact::create(&app, caller.user_id, &name).await?;
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
            let groups = compact::groups_of(&app, caller.user_id).await?;
            let mut out = Vec::with_capacity(groups.len());
            for g in &groups {
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
async fn rename(id: GroupId, app: App, req: Req) -> Response {
    req.bare(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let name = name_param(&req)?;
            compact::rename(&app, caller.user_id, id, name).await?;
            Ok(Value::Null)
        }
        .await,
    )
}

/// GET /api/group/{groupId} (members only)
async fn get(id: GroupId, app: App, req: Req) -> Response {
    req.bare(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let g = compact::group(&app, caller.user_id, id).await?;
            group_view(&app, &g).await
        }
        .await,
    )
}

/// DELETE /api/group/{groupId}[?userId=]: leave (the manager leaving dissolves), or remove a
/// member (manager only).
async fn leave_or_remove(id: GroupId, app: App, req: Req) -> Response {
    req.bare(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let target = match req.params()?.opt_str("userId").filter(|s| !s.is_empty()) {
                Some(t) => Some(
                    t.trim()
                        .parse::<UserId>()
                        .map_err(|_| bad("userId must be an id", "userId 必须是 id"))?,
                ),
                None => None,
            };
            compact::leave_or_remove(&app, caller.user_id, id, target, req.lang).await?;
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
            let (gid, uid) = (
                GroupId(id_param(&req, "groupId")?),
                UserId(id_param(&req, "userId")?),
            );
            compact::invite(&app, caller.user_id, gid, uid).await
        }
        .await,
    )
}

/// GET /api/request: pending invitations to me.
async fn requests(app: App, req: Req) -> Response {
    req.bare(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let rows = compact::requests(&app, caller.user_id).await?;
            Ok(Value::Array(
                rows.iter().map(|(r, g)| request_view(r, g)).collect(),
            ))
        }
        .await,
    )
}

/// DELETE /api/request/{requestId}: decline (403 when not addressed to me, 404 unknown).
async fn decline(id: i64, app: App, req: Req) -> Response {
    req.bare(
        async {
            let caller = req.user_or_visitor(&app).await?;
            compact::decline(&app, caller.user_id, id).await?;
            Ok(Value::Null)
        }
        .await,
    )
}

/// PUT /api/request/{requestId}: accept, under the group's join setting (SPEC §9.18).
async fn accept(id: i64, app: App, req: Req) -> Response {
    req.bare(
        async {
            let caller = req.user_or_visitor(&app).await?;
            compact::accept(&app, caller.user_id, id, req.lang).await?;
            Ok(Value::Null)
        }
        .await,
    )
}
