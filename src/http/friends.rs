//! SPEC §2 friends (users only): parse, call the operation of `ops::friends`, render.

use chatd_schema::models::{FriendApplication, Friendship, User, UserInfo};
use chatd_schema::UserId;
use serde_json::{json, Value};
use warp::reply::Response;
use warp::Filter;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::{req, with_app, Req};
use crate::i18n::Msg;
use crate::ops::friends::{self, Answer};
use crate::rules::friends::group_by_initial;
use crate::state::App;
use crate::views::{local_time, rfc3339};

pub fn routes(app: App) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let r = || with_app(app.clone()).and(req(app.clone()));
    warp::path!("api" / "chat" / "applyfriend")
        .and(warp::post())
        .and(r())
        .then(apply)
        .or(warp::path!("api" / "chat" / "listapplyfriend" / u32)
            .and(warp::get())
            .and(r())
            .then(list_applications))
        .unify()
        .or(warp::path!("api" / "chat" / "handleapply" / i64)
            .and(warp::post())
            .and(r())
            .then(handle_application))
        .unify()
        .or(warp::path!("api" / "chat" / "goodfriendlist" / u32)
            .and(warp::get())
            .and(r())
            .then(friend_list))
        .unify()
        .or(warp::path!("api" / "chat" / "getgoodfriendinfo" / UserId)
            .and(warp::get())
            .and(r())
            .then(friend_info))
        .unify()
        .or(warp::path!("api" / "chat" / "setblackgoodfriend" / UserId)
            .and(warp::post())
            .and(r())
            .then(toggle_black))
        .unify()
        .or(warp::path!("api" / "chat" / "setstargoodfriend" / UserId)
            .and(warp::post())
            .and(r())
            .then(toggle_star))
        .unify()
        .or(warp::path!("api" / "chat" / "setmeOrfriendCanSee" / UserId)
            .and(warp::post())
            .and(r())
            .then(set_visibility))
        .unify()
        .or(warp::path!("api" / "chat" / "ismygoodfriend" / UserId)
            .and(warp::post())
            .and(r())
            .then(is_my_friend))
        .unify()
        .or(warp::path!("api" / "chat" / "isApplyfriend" / String)
            .and(warp::post())
            .and(r())
            .then(is_apply_friend))
        .unify()
        .or(warp::path!("api" / "chat" / "deletegoodfriend" / UserId)
            .and(warp::post())
            .and(r())
            .then(delete_friend))
        .unify()
        .boxed()
}

async fn user_caller(app: &App, req: &Req) -> Result<Caller, ApiError> {
    req.user(app).await
}

fn ok() -> Value {
    Value::String("ok".into())
}

fn friendship_json(app: &App, f: &Friendship) -> Value {
    json!({
        "id": f.id, "user_id": f.user_id, "friend_id": f.friend_id, "nickname": f.nickname,
        "friendlookme": f.friendlookme, "melookfriend": f.melookfriend,
        "ismystarfriend": f.ismystarfriend, "isblack": f.isblack, "status": f.status,
        "create_time": local_time(f.create_time, app.cfg.timezone),
        "update_time": rfc3339(f.update_time),
    })
}

fn application_json(app: &App, a: &FriendApplication, applicant: &User) -> Value {
    json!({
        "id": a.id, "user_id": a.user_id, "friend_id": a.friend_id, "nickname": a.nickname,
        "status": a.status, "userId": a.user_id,
        "create_time": local_time(a.create_time, app.cfg.timezone),
        "update_time": rfc3339(a.update_time),
        "user": {"id": applicant.id, "username": applicant.username,
                 "avatar": applicant.avatar, "nickname": applicant.nickname},
    })
}

/// POST /api/chat/applyfriend
async fn apply(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = user_caller(&app, &req).await?;
            let p = req.params()?;
            let friend_id = p.user_id("friend_id")?;
            let note = p.opt_str_max("nickname", 50)?;
            friends::apply(&app, caller.user_id, friend_id, &note, req.lang).await?;
            Ok(ok())
        }
        .await,
    )
}

fn paging(req: &Req, page: u32, default_limit: i64, max: i64) -> Result<(i64, i64), ApiError> {
    let limit = req
        .params()?
        .opt_i64_range("limit", 1, max)?
        .unwrap_or(default_limit);
    let page = i64::from(page.max(1));
    Ok(((page - 1) * limit, limit))
}

/// GET /api/chat/listapplyfriend/:page?limit= (default 10)
async fn list_applications(page: u32, app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = user_caller(&app, &req).await?;
            let (offset, limit) = paging(&req, page, 10, 100)?;
            let (rows, pending) =
                friends::applications(&app, caller.user_id, offset, limit).await?;
            let all: Vec<Value> = rows
                .iter()
                .map(|(a, u)| application_json(&app, a, u))
                .collect();
            Ok(json!({"alldata": all, "pendingCount": pending}))
        }
        .await,
    )
}

/// POST /api/chat/handleapply/:id
async fn handle_application(id: i64, app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = user_caller(&app, &req).await?;
            let p = req.params()?;
            let remark = p.opt_str_max("nickname", 50)?;
            let answer =
                Answer::parse(&p.opt_str("status").unwrap_or_default()).ok_or_else(|| {
                    ApiError::Invalid(Msg::new(
                        "status must be one of pending, refuse, agree, ignore",
                        "status 必须是 pending、refuse、agree、ignore 之一",
                    ))
                })?;
            friends::answer_application(&app, caller.user_id, id, answer, &remark, req.lang)
                .await?;
            Ok(ok())
        }
        .await,
    )
}

/// GET /api/chat/goodfriendlist/:page?limit= (default 2000)
async fn friend_list(page: u32, app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = user_caller(&app, &req).await?;
            let (offset, limit) = paging(&req, page, 2000, 5000)?;
            let (rows, count) = friends::friends(&app, caller.user_id, offset, limit).await?;
            let items: Vec<(String, Value)> = rows
                .iter()
                .map(|(f, u)| {
                    let name = if f.nickname.is_empty() { u.display_name().to_string() } else { f.nickname.clone() };
                    let item = json!({"id": f.id, "beizhu": f.nickname, "username": u.username,
                        "avatar": u.avatar, "friend_nickname": u.nickname, "friend_id": u.id,
                        "name": name});
                    (name, item)
                })
                .collect();
            let groups = group_by_initial(items);
            let index: Vec<&str> = groups.iter().map(|(t, _)| t.as_str()).collect();
            let new_list: Vec<Value> = groups
                .iter()
                .map(|(title, list)| json!({"title": title, "list": list}))
                .collect();
            Ok(json!({"count": count, "rows": {"newList": new_list, "indexList": index, "total": count}}))
        }
        .await,
    )
}

fn user_with_info(u: &User, info: Option<&UserInfo>) -> Value {
    json!({
        "id": u.id, "username": u.username, "avatar": u.avatar, "nickname": u.nickname,
        "role": u.role, "status": u.status, "uuid": u.uuid,
        "userinfo": info.map(|i| json!({"id": i.id, "gender": i.gender, "birthday": i.birthday,
            "bio": i.bio, "location": i.location, "website": i.website})),
    })
}

/// GET /api/chat/getgoodfriendinfo/:id (the friend's user id)
async fn friend_info(id: UserId, app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = user_caller(&app, &req).await?;
            let (row, user, info) = friends::friend_info(&app, caller.user_id, id).await?;
            let mut v = friendship_json(&app, &row);
            if let Some(obj) = v.as_object_mut() {
                obj.insert("friendinfo".into(), user_with_info(&user, info.as_ref()));
            }
            Ok(v)
        }
        .await,
    )
}

async fn toggle(id: UserId, app: App, req: Req, star: bool) -> Response {
    req.reply(
        async {
            let caller = user_caller(&app, &req).await?;
            friends::toggle(&app, caller.user_id, id, star).await?;
            Ok(ok())
        }
        .await,
    )
}

/// POST /api/chat/setblackgoodfriend/:id
async fn toggle_black(id: UserId, app: App, req: Req) -> Response {
    toggle(id, app, req, false).await
}

/// POST /api/chat/setstargoodfriend/:id
async fn toggle_star(id: UserId, app: App, req: Req) -> Response {
    toggle(id, app, req, true).await
}

/// POST /api/chat/setmeOrfriendCanSee/:id
async fn set_visibility(id: UserId, app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = user_caller(&app, &req).await?;
            let p = req.params()?;
            let flag = |k: &str| -> Result<i32, ApiError> {
                match p.opt_i64(k)? {
                    Some(v @ (0 | 1)) => Ok(v as i32),
                    _ => Err(ApiError::Invalid(Msg::owned(
                        format!("{k} must be 0 or 1"),
                        format!("{k} 必须是 0 或 1"),
                    ))),
                }
            };
            let (look_me, me_look) = (flag("friendlookme")?, flag("melookfriend")?);
            friends::set_visibility(&app, caller.user_id, id, look_me, me_look).await?;
            Ok(ok())
        }
        .await,
    )
}

/// POST /api/chat/ismygoodfriend/:id
async fn is_my_friend(id: UserId, app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = user_caller(&app, &req).await?;
            let row = friends::friendship(&app, caller.user_id, id).await?;
            Ok(friendship_json(&app, &row))
        }
        .await,
    )
}

/// POST /api/chat/isApplyfriend/:uuid
async fn is_apply_friend(uuid: String, app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = user_caller(&app, &req).await?;
            let (application, applicant) =
                friends::pending_from(&app, caller.user_id, &uuid).await?;
            Ok(application_json(&app, &application, &applicant))
        }
        .await,
    )
}

/// POST /api/chat/deletegoodfriend/:id
async fn delete_friend(id: UserId, app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = user_caller(&app, &req).await?;
            friends::unfriend(&app, caller.user_id, id).await?;
            Ok(ok())
        }
        .await,
    )
}
