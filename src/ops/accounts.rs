//! Accounts (SPEC §1, §9.19–20): registering, logging in and out, sessions, the profile and
//! settings, passwords. Each operation takes typed input and, where it matters, the client's
//! address; it returns rows (or a [`LoggedIn`]) for the handler to render.

use chatd_schema::models::{Friendship, NewUser, User, UserInfo};
use chatd_schema::UserField;
use chatd_schema::UserId;
use std::net::IpAddr;

use crate::auth::{hash_password, verify_password, Caller, Role};
use crate::error::ApiError;
use crate::i18n::Msg;
use crate::rules::accounts::like_pattern;
use crate::state::AppState;

pub const DEFAULT_USERSET: &str = r#"{"chatset":{"visitor":0,"user":0}}"#;

fn wrong_credentials() -> ApiError {
    ApiError::bad("wrong username or password", "用户名或密码错误")
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

fn no_such_user() -> ApiError {
    ApiError::not_found("no such user", "用户不存在")
}

/// A new session: the account (with its login recorded), the token's role, the token.
pub struct LoggedIn {
    pub user: User,
    pub role: Role,
    pub token: String,
}

/// Opens a session of `role` for `user`, recording the login from `ip`.
pub async fn open_session(
    app: &AppState,
    user: &User,
    role: Role,
    ip: Option<IpAddr>,
) -> Result<LoggedIn, ApiError> {
    let now = app.clock.now_ms();
    let ip = ip.map(|i| i.to_string());
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
    Ok(LoggedIn { user, role, token })
}

/// Creates a registered user (username checked free by the caller or by the UNIQUE index),
/// bound to `device_id` when given.
pub async fn create_user(
    app: &AppState,
    username: &str,
    password: &str,
    device_id: Option<&str>,
    ip: Option<IpAddr>,
) -> Result<User, ApiError> {
    let now = app.clock.now_ms();
    let new = NewUser {
        password: hash_password(password).await?,
        register_ip: ip.map(|i| i.to_string()),
        userset: DEFAULT_USERSET.into(),
        device_id: device_id.map(str::to_string),
        ..NewUser::plain(uuid::Uuid::new_v4().to_string(), username.to_string(), now)
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
    app: &AppState,
    ip: Option<IpAddr>,
    create: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let key = format!(
        "signup:ip:{}",
        ip.map(|i| i.to_string()).unwrap_or_default()
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

/// `regChat`: a new registered user, logged in. The username and password are validated.
pub async fn register(
    app: &AppState,
    username: &str,
    password: &str,
    ip: Option<IpAddr>,
) -> Result<LoggedIn, ApiError> {
    if app.store.user_by_username(username).await?.is_some() {
        return Err(username_taken());
    }
    let user = signing_up(app, ip, create_user(app, username, password, None, ip)).await?;
    open_session(app, &user, Role::User, ip).await
}

/// `loginChat`: a session for the account, in its own role.
pub async fn login(
    app: &AppState,
    username: &str,
    password: &str,
    ip: Option<IpAddr>,
) -> Result<LoggedIn, ApiError> {
    let user = check_credentials(app, ip, username, password).await?;
    open_session(app, &user, Role::parse(&user.role), ip).await
}

/// The account for `username`/`password`, with the login-failure limits of SPEC §9.13: each
/// attempt is counted before the password is checked and taken back when it was right (§9.19).
pub async fn check_credentials(
    app: &AppState,
    ip: Option<IpAddr>,
    username: &str,
    password: &str,
) -> Result<User, ApiError> {
    let now = app.clock.now_ms();
    let window = app.cfg.login_window_ms;
    let user_key = format!("login:user:{}", username.to_lowercase());
    let ip_key = format!("login:ip:{}", ip.map(|i| i.to_string()).unwrap_or_default());
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

/// Ends the caller's session and closes its sockets.
pub async fn logout(app: &AppState, caller: &Caller) -> Result<(), ApiError> {
    app.sessions.revoke(&caller.sid).await?;
    app.registry
        .close_sessions(caller.user_id, vec![caller.sid.to_string()])
        .await;
    Ok(())
}

/// Users whose username or nickname contains `keyword` (wildcards escaped), not `me`, at most 50.
pub async fn search(app: &AppState, me: UserId, keyword: &str) -> Result<Vec<User>, ApiError> {
    Ok(app
        .store
        .search_users(&like_pattern(keyword), me, 50)
        .await?)
}

/// The public profile of the active user `uuid`.
pub async fn profile(app: &AppState, uuid: &str) -> Result<(User, Option<UserInfo>), ApiError> {
    let user = app
        .store
        .user_by_uuid(uuid)
        .await?
        .filter(|u| u.status == 1)
        .ok_or_else(no_such_user)?;
    let info = app.store.user_info(user.id).await?;
    Ok((user, info))
}

/// Stores `me`'s settings (the JSON text of an object, checked by the handler).
pub async fn set_userset(app: &AppState, me: UserId, userset: &str) -> Result<(), ApiError> {
    app.store
        .set_userset(me, userset, app.clock.now_ms())
        .await?;
    Ok(())
}

/// Changes one of `me`'s profile fields.
pub async fn update_field(app: &AppState, me: UserId, field: &UserField) -> Result<(), ApiError> {
    app.store
        .update_user_field(me, field, app.clock.now_ms())
        .await?;
    Ok(())
}

/// Changes the caller's password (`new` validated) after checking `old`; every other session
/// of the account is revoked and its sockets closed (SPEC §9.5). Visitor tokens cannot.
pub async fn set_password(
    app: &AppState,
    caller: &Caller,
    old: &str,
    new: &str,
) -> Result<(), ApiError> {
    if caller.role != Role::User {
        return Err(ApiError::forbidden(
            "log in with your password to change it (visitor-mode tokens cannot)",
            "您未登录，无法修改密码",
        ));
    }
    let me = app
        .store
        .active_user(caller.user_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    if !verify_password(old, &me.password).await {
        return Err(ApiError::bad(
            "the old password is wrong",
            "原始密码错误，无法修改密码",
        ));
    }
    let hash = hash_password(new).await?;
    app.store
        .set_password(me.id, &hash, app.clock.now_ms())
        .await?;
    let revoked = app.sessions.revoke_others(me.id, &caller.sid).await?;
    app.registry.close_sessions(me.id, revoked).await;
    Ok(())
}

/// The registered, active user `id` and their friendship row for `me`, if any.
pub async fn user_set_info(
    app: &AppState,
    me: UserId,
    id: UserId,
) -> Result<(User, Option<Friendship>), ApiError> {
    let user = app.store.active_user(id).await?.ok_or_else(no_such_user)?;
    if user.role != "user" {
        return Err(ApiError::bad(
            "this user is a visitor and cannot be added as a friend",
            "用户为游客，无法加为好友",
        ));
    }
    let row = app.store.friendship(user.id, me).await?;
    Ok((user, row))
}
