//! SPEC §1 accounts (the visitor endpoints come with the friends/visitors work).

use serde_json::{json, Value};
use warp::reply::Response;
use warp::Filter;

use crate::auth::{hash_password, verify_password, Caller, Role};
use crate::error::ApiError;
use crate::http::{req, with_app, Req};
use crate::i18n::Msg;
use crate::rules::accounts::{check_password, check_username, like_pattern};
use crate::state::App;
use crate::views::{profile_json, user_json};
use chatd_schema::models::{NewUser, User};
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

pub const DEFAULT_USERSET: &str = r#"{"chatset":{"visitor":0,"user":0}}"#;

fn wrong_credentials() -> ApiError {
    ApiError::bad("wrong username or password", "用户名或密码错误")
}

/// Opens a session for `user` and answers the user object with its token. `role` is the token's
/// role (a registered account may log in in visitor mode).
pub async fn open_session(
    app: &App,
    user: &User,
    role: Role,
    req: &Req,
) -> Result<Value, ApiError> {
    let now = app.clock.now_ms();
    let ip = req.ip.map(|i| i.to_string());
    let user = app
        .store
        .record_login(user.id, ip.as_deref(), now)
        .await?
        .unwrap_or_else(|| user.clone());
    let sid = uuid::Uuid::new_v4().simple().to_string();
    app.sessions
        .create(&sid, user.id, role.as_str(), now, app.tokens.ttl_secs)
        .await?;
    let token = app.tokens.mint(user.id, role, &sid, now)?;
    let mut v = user_json(&user, app.cfg.timezone, Some(role.as_str()));
    if let Some(obj) = v.as_object_mut() {
        obj.insert("token".into(), Value::String(token));
    }
    Ok(v)
}

/// Creates a registered user (username checked free by the caller or by the UNIQUE index),
/// bound to `device_id` when given.
pub async fn create_user(
    app: &App,
    username: &str,
    password: &str,
    device_id: Option<&str>,
    req: &Req,
) -> Result<User, ApiError> {
    let now = app.clock.now_ms();
    let new = NewUser {
        uuid: uuid::Uuid::new_v4().to_string(),
        username: username.to_string(),
        password: hash_password(password).await?,
        nickname: String::new(),
        avatar: String::new(),
        status: 1,
        register_time: now,
        register_ip: req.ip.map(|i| i.to_string()),
        role: "user".into(),
        invite_confirm: 1,
        userset: DEFAULT_USERSET.into(),
        device_id: device_id.map(str::to_string),
        uniplatform: None,
        devicemodel: None,
        deviceos: None,
        devicebrand: None,
        create_time: now,
        update_time: now,
    };
    match app.store.create_user(&new).await {
        Ok(u) => Ok(u),
        Err(e) if e.is_unique_violation() => Err(username_taken()),
        Err(e) => Err(e.into()),
    }
}

/// Runs `create`, which makes a new account, within the sign-up limit of the client's address
/// (SPEC §9.20): counted before it runs, taken back when it created nothing.
pub async fn signing_up<T>(
    app: &App,
    req: &Req,
    create: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let key = format!(
        "signup:ip:{}",
        req.ip.map(|i| i.to_string()).unwrap_or_default()
    );
    let attempt = app
        .limiter
        .try_acquire(
            &[(key, app.cfg.signup_ip_limit)],
            3_600_000,
            app.clock.now_ms(),
        )
        .await?
        .ok_or_else(|| {
            ApiError::RateLimited(Msg::new(
                "too many sign-ups from this address; try again later",
                "该地址注册过于频繁，请稍后再试",
            ))
        })?;
    let created = create.await;
    if created.is_err() {
        attempt.release().await?;
    }
    created
}

pub fn disabled() -> ApiError {
    ApiError::bad("this account is disabled", "该账号已被禁用")
}

pub fn username_taken() -> ApiError {
    ApiError::bad(
        "this username is already taken",
        "该账号已存在，请换一个账号注册",
    )
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
            if app.store.user_by_username(&username).await?.is_some() {
                return Err(username_taken());
            }
            let user = signing_up(
                &app,
                &req,
                create_user(&app, &username, &password, None, &req),
            )
            .await?;
            open_session(&app, &user, Role::User, &req).await
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
            let user = check_credentials(&app, &req, &username, &password).await?;
            let role = Role::parse(&user.role);
            open_session(&app, &user, role, &req).await
        }
        .await,
    )
}

/// The account for `username`/`password`, with the login-failure limits of SPEC §9.13: each
/// attempt is counted before the password is checked and taken back when it was right (§9.19).
pub async fn check_credentials(
    app: &App,
    req: &Req,
    username: &str,
    password: &str,
) -> Result<User, ApiError> {
    let now = app.clock.now_ms();
    let window = app.cfg.login_window_ms;
    let user_key = format!("login:user:{}", username.to_lowercase());
    let ip_key = format!(
        "login:ip:{}",
        req.ip.map(|i| i.to_string()).unwrap_or_default()
    );
    let limits = [
        (user_key, app.cfg.login_user_limit),
        (ip_key, app.cfg.login_ip_limit),
    ];
    let attempt = app
        .limiter
        .try_acquire(&limits, window, now)
        .await?
        .ok_or_else(|| {
            ApiError::RateLimited(Msg::new(
                "too many failed logins; try again later",
                "登录失败次数过多，请稍后再试",
            ))
        })?;
    let user = app.store.user_by_username(username).await?;
    // Verify against a fixed hash when the user is unknown, so timing does not tell.
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0sCQ3iCUYmiLZAGNMRUx0RXrSVV8gPvV+3n5RPJmVmA";
    let ok = verify_password(
        password,
        user.as_ref().map_or(DUMMY, |u| u.password.as_str()),
    )
    .await;
    match user {
        Some(u) if ok => {
            attempt.release().await?;
            if u.status != 1 {
                return Err(disabled());
            }
            Ok(u)
        }
        // The failure stays counted.
        _ => Err(wrong_credentials()),
    }
}

/// POST /api/chat/logout
async fn logout(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user_or_visitor(&app).await?;
            app.sessions.revoke(&caller.sid, caller.user_id).await?;
            app.registry
                .close_sessions(caller.user_id, vec![caller.sid.to_string()]);
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
            let users = app
                .store
                .search_users(&like_pattern(&keyword), caller.user_id, 50)
                .await?;
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
            let user = app
                .store
                .user_by_uuid(&uuid)
                .await?
                .filter(|u| u.status == 1)
                .ok_or_else(|| ApiError::not_found("no such user", "用户不存在"))?;
            let info = app.store.user_info(user.id).await?;
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
            app.store
                .set_userset(caller.user_id, &text, app.clock.now_ms())
                .await?;
            Ok(Value::String("ok".into()))
        }
        .await,
    )
}

/// POST /api/chat/updateUserinfo
async fn update_userinfo(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller = req.user_or_visitor(&app).await?;
            let p = req.params()?;
            let field = p.str_len("fieldname", 1, 30)?;
            let value = p.opt_str("fieldValue").unwrap_or_default();
            let (update, done) = match field.as_str() {
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
            };
            app.store
                .update_user_field(caller.user_id, &update, app.clock.now_ms())
                .await?;
            Ok(Value::String(done.get(req.lang).to_string()))
        }
        .await,
    )
}

/// POST /api/chat/setPassword
async fn set_password(app: App, req: Req) -> Response {
    req.reply(
        async {
            let caller: Caller = req.user_or_visitor(&app).await?;
            if caller.role != Role::User {
                return Err(ApiError::forbidden(
                    "log in with your password to change it (visitor-mode tokens cannot)",
                    "您未登录，无法修改密码",
                ));
            }
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
            let me = app
                .store
                .active_user(caller.user_id)
                .await?
                .ok_or_else(ApiError::unauthorized)?;
            if !verify_password(&old, &me.password).await {
                return Err(ApiError::bad(
                    "the old password is wrong",
                    "原始密码错误，无法修改密码",
                ));
            }
            let hash = hash_password(&new).await?;
            app.store
                .set_password(me.id, &hash, app.clock.now_ms())
                .await?;
            let revoked = app.sessions.revoke_others(me.id, &caller.sid).await?;
            app.registry.close_sessions(me.id, revoked);
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
            let id = req.params()?.i64_min("userid", 1)?;
            let user = app
                .store
                .active_user(id)
                .await?
                .ok_or_else(|| ApiError::not_found("no such user", "用户不存在"))?;
            if user.role != "user" {
                return Err(ApiError::bad(
                    "this user is a visitor and cannot be added as a friend",
                    "用户为游客，无法加为好友",
                ));
            }
            let row = app.store.friendship(user.id, caller.user_id).await?;
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
