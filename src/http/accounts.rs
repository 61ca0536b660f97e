//! SPEC §1 accounts: parse, call the operation of `ops::accounts`, render.

use serde_json::{json, Value};
use warp::reply::Response;
use warp::Filter;

use crate::error::ApiError;
use crate::http::{req, with_app, Req};
use crate::i18n::Msg;
use crate::ops::accounts::{self, LoggedIn};
use crate::rules::accounts::{check_password, check_username};
use crate::state::App;
use crate::views::{profile_json, user_json};
use chatd_schema::UserField;

pub fn routes(app: App) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let r = || with_app(app.clone()).and(req(app.clone()));
    let post = warp::post;
    warp::path!("api" / "regChat")
        .and(post())
        .and(r())
        .then(register)
        .or(warp::path!("api" / "loginChat")
            .and(post())
            .and(r())
            .then(login))
        .unify()
        .or(warp::path!("api" / "chat" / "logout")
            .and(post())
            .and(r())
            .then(logout))
        .unify()
        .or(warp::path!("api" / "chat" / "searchUser")
            .and(post())
            .and(r())
            .then(search_user))
        .unify()
        .or(warp::path!("api" / "userinfo" / String)
            .and(warp::get())
            .and(r())
            .then(userinfo))
        .unify()
        .or(warp::path!("api" / "chat" / "userset")
            .and(post())
            .and(r())
            .then(userset))
        .unify()
        .or(warp::path!("api" / "chat" / "updateUserinfo")
            .and(post())
            .and(r())
            .then(update_userinfo))
        .unify()
        .or(warp::path!("api" / "chat" / "setPassword")
            .and(post())
            .and(r())
            .then(set_password))
        .unify()
        .or(warp::path!("api" / "chat" / "getUserSetInfo")
            .and(post())
            .and(r())
            .then(get_user_set_info))
        .unify()
        .boxed()
}

/// The user object with its token, as registration and every login answer it.
pub fn logged_in_json(app: &App, s: &LoggedIn) -> Value {
    let mut v = user_json(&s.user, app.cfg.timezone, Some(s.role.as_str()));
    if let Some(obj) = v.as_object_mut() {
        obj.insert("token".into(), Value::String(s.token.clone()));
    }
    v
}

/// POST /api/regChat
async fn register(app: App, req: Req) -> Response {
    req.reply(
        async {
            let p = req.params()?;
            let username = p.str_len("username", 1, 20)?;
            check_username(&username)?;
            let password = p.str_len("password", 1, 20)?;
            check_password("password", &password)?;
            let s = accounts::register(&app, &username, &password, req.ip).await?;
            Ok(logged_in_json(&app, &s))
        }
        .await,
    )
}

/// POST /api/loginChat
async fn login(app: App, req: Req) -> Response {
    req.reply(
        async {
            let p = req.params()?;
            let username = p.str_len("username", 1, 20)?;
            let password = p.str_len("password", 1, 200)?;
            let s = accounts::login(&app, &username, &password, req.ip).await?;
            Ok(logged_in_json(&app, &s))
        }
        .await,
    )
}

/// POST /api/chat/logout
async fn logout(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user_or_visitor(&app).await?;
            accounts::logout(&app, &caller).await?;
            Ok(Value::Bool(true))
        }
        .await,
    )
}

/// POST /api/chat/searchUser
async fn search_user(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user(&app).await?;
            let keyword = req.params()?.str_len("keyword", 1, 50)?;
            let users = accounts::search(&app, caller.user_id, &keyword).await?;
            Ok(Value::Array(
                users
                    .iter()
                    .map(|u| {
                        json!({"id": u.id, "username": u.username, "avatar": u.avatar,
                               "role": u.role, "uuid": u.uuid, "nickname": u.nickname})
                    })
                    .collect(),
            ))
        }
        .await,
    )
}

/// GET /api/userinfo/:uuid (public)
async fn userinfo(uuid: String, app: App, req: Req) -> Response {
    req.reply(
        async {
            let (user, info) = accounts::profile(&app, &uuid).await?;
            Ok(profile_json(&user, info.as_ref()))
        }
        .await,
    )
}

/// POST /api/chat/userset
async fn userset(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user(&app).await?;
            let text = req.params()?.str_len("userset", 2, 10_000)?;
            if !serde_json::from_str::<Value>(&text).is_ok_and(|v| v.is_object()) {
                return Err(ApiError::Invalid(Msg::new(
                    "userset must be the JSON text of an object",
                    "userset 必须是 JSON 对象字符串",
                )));
            }
            accounts::set_userset(&app, caller.user_id, &text).await?;
            Ok(Value::String("ok".into()))
        }
        .await,
    )
}

/// `updateUserinfo`'s `fieldname`/`fieldValue` as the change to make, with what to answer.
fn profile_field(field: &str, value: String) -> Result<(UserField, Msg), ApiError> {
    Ok(match field {
        "username" => {
            return Err(ApiError::bad(
                "the username cannot be changed",
                "账号不可修改",
            ))
        }
        "nickname" => {
            crate::params::check_len("fieldValue", &value, 1, 30)?;
            (
                UserField::Nickname(value),
                Msg::new("nickname updated", "修改昵称成功"),
            )
        }
        "avatar" => {
            crate::params::check_len("fieldValue", &value, 1, 1000)?;
            (
                UserField::Avatar(value),
                Msg::new("avatar updated", "头像更新成功"),
            )
        }
        "invite_confirm" => {
            let v = match value.trim() {
                "0" => 0,
                "1" => 1,
                _ => {
                    return Err(ApiError::Invalid(Msg::new(
                        "invite_confirm must be 0 or 1",
                        "添加我为好友设置值错误（只能是 0 或 1）",
                    )))
                }
            };
            (
                UserField::InviteConfirm(v),
                Msg::new("setting saved", "设置成功"),
            )
        }
        _ => {
            return Err(ApiError::bad(
                "this field cannot be changed",
                "该字段不可修改",
            ))
        }
    })
}

/// POST /api/chat/updateUserinfo
async fn update_userinfo(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let p = req.params()?;
            let field = p.str_len("fieldname", 1, 30)?;
            let value = p.opt_str("fieldValue").unwrap_or_default();
            let (update, done) = profile_field(&field, value)?;
            accounts::update_field(&app, caller.user_id, &update).await?;
            Ok(Value::String(done.get(req.lang).to_string()))
        }
        .await,
    )
}

/// POST /api/chat/setPassword
async fn set_password(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let p = req.params()?;
            let old = p.str_len("oldpassword", 1, 200)?;
            let new = p.str_len("newpassword", 1, 20)?;
            let check = p.str_len("checknewpassword", 1, 20)?;
            check_password("newpassword", &new)?;
            if new != check {
                return Err(ApiError::bad(
                    "the new password and its confirmation differ",
                    "新密码与确认新密码不一致",
                ));
            }
            accounts::set_password(&app, &caller, &old, &new).await?;
            Ok(Value::String("ok".into()))
        }
        .await,
    )
}

/// POST /api/chat/getUserSetInfo
async fn get_user_set_info(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user(&app).await?;
            let id = req.params()?.user_id("userid")?;
            let (user, row) = accounts::user_set_info(&app, caller.user_id, id).await?;
            Ok(json!({
                "id": user.id,
                "userset": user.userset,
                "invite_confirm": user.invite_confirm,
                "uuid": user.uuid,
                "isgoodfriend": row.as_ref().is_some_and(|r| r.status == 1),
                "isgoodfriend_status": row.as_ref().is_none_or(|r| r.isblack == 0 && r.status == 1),
            }))
        }
        .await,
    )
}
