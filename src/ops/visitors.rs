//! Visitors (SPEC §1 visitors, §9.16): the checks every visitor request passes (after the
//! signature header and parameters, which the handler reads), a device's visitor account, its
//! upgrade to a registered user in place, and logins with the welcome message.

use chatd_schema::models::{NewUser, User};
use serde_json::Map;
use std::net::IpAddr;

use crate::auth::{hash_password, Role};
use crate::error::ApiError;
use crate::i18n::{Lang, Msg};
use crate::ops::accounts::{
    self, create_user, disabled, open_session, signing_up, username_taken, LoggedIn,
    DEFAULT_USERSET,
};
use crate::ops::notify::{redirect, system_message};
use crate::rules::visitors::{check, VisitorRefusal};
use crate::state::AppState;

const PER_DEVICE_PER_HOUR: i64 = 5;

/// Checks 2–5, after the parameters were validated.
pub async fn gate(app: &AppState, sign: &str, device: &str, ts: &str) -> Result<(), ApiError> {
    let now = app.clock.now_ms();
    check(
        sign,
        device,
        ts,
        now,
        &app.cfg.visitor_salt,
        &app.cfg.visitor_app_secret,
    )
    .map_err(VisitorRefusal::error)?;
    let hits = app
        .limiter
        .hit(&format!("visitor:{device}"), 3_600_000, now)
        .await?;
    if hits > PER_DEVICE_PER_HOUR {
        return Err(ApiError::RateLimited(Msg::new(
            "too many requests from this device; try again in an hour",
            "请求过于频繁，请1个小时后再试",
        )));
    }
    Ok(())
}

/// The welcome message a visitor account gets on each login (seed 001 `systemSendLoginRemind`).
async fn welcome(app: &AppState, user: &User, lang: Lang) -> Result<(), ApiError> {
    let text = Msg::new(
        "Welcome! Log in to get more features.",
        "欢迎您，登录可以获取更多功能！",
    );
    let mut extra = Map::new();
    extra.insert(
        "redirect".into(),
        redirect("/pages/loginCenter/loginCenter"),
    );
    system_message(app, user, "text", text.get(lang), extra).await?;
    Ok(())
}

/// Creates the visitor account of a device: `VIS` + the first 8 characters of the device id,
/// with a suffix when taken, and a random password.
async fn create_visitor(
    app: &AppState,
    device: &str,
    fields: [Option<String>; 4],
    ip: Option<IpAddr>,
) -> Result<User, ApiError> {
    let base = format!("VIS{}", device.chars().take(8).collect::<String>());
    let mut username = base.clone();
    for n in 2..1000 {
        if app.store.user_by_username(&username).await?.is_none() {
            break;
        }
        username = format!("{base}_{n}");
    }
    let secret: String = (0..24)
        .map(|_| char::from(b'a' + rand::random::<u8>() % 26))
        .collect();
    let now = app.clock.now_ms();
    let [uniplatform, devicemodel, deviceos, devicebrand] = fields;
    let new = NewUser {
        uuid: uuid::Uuid::new_v4().to_string(),
        username,
        password: hash_password(&secret).await?,
        nickname: String::new(),
        avatar: String::new(),
        status: 1,
        register_time: now,
        register_ip: ip.map(|i| i.to_string()),
        role: "visitor".into(),
        invite_confirm: 1,
        userset: DEFAULT_USERSET.into(),
        device_id: Some(device.to_string()),
        uniplatform,
        devicemodel,
        deviceos,
        devicebrand,
        create_time: now,
        update_time: now,
    };
    match app.store.create_user(&new).await {
        Ok(u) => Ok(u),
        // The same device registered concurrently: use that account.
        Err(e) if e.is_unique_violation() => app
            .store
            .user_by_device(device)
            .await?
            .ok_or_else(|| ApiError::Internal(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// `visitorRegister`: the device's visitor account, created when it has none, logged in with the
/// welcome message. A device whose account is registered is refused (§9.16).
pub async fn register_device(
    app: &AppState,
    device: &str,
    fields: [Option<String>; 4],
    ip: Option<IpAddr>,
    lang: Lang,
) -> Result<LoggedIn, ApiError> {
    let now = app.clock.now_ms();
    let user = match app.store.user_by_device(device).await? {
        Some(u) if u.status != 1 => return Err(disabled()),
        // A device id is no credential: it never opens a registered account (§9.16).
        Some(u) if u.role != "visitor" => {
            return Err(ApiError::bad(
                "this device has an account: log in with its password",
                "该设备已有正式账号，请使用密码登录",
            ))
        }
        Some(u) => {
            let [a, b, c, d] = &fields;
            app.store
                .set_device_fields(
                    u.id,
                    [a.as_deref(), b.as_deref(), c.as_deref(), d.as_deref()],
                    now,
                )
                .await?;
            u
        }
        None => signing_up(app, ip, create_visitor(app, device, fields, ip)).await?,
    };
    let s = open_session(app, &user, Role::Visitor, ip).await?;
    welcome(app, &user, lang).await?;
    Ok(s)
}

/// `visitorregChat`: the device's visitor account becomes a registered user in place (same id:
/// friends, groups and messages stay; its visitor sessions end), or a new user bound to the device
/// is created. Refused when the device's account is registered already.
pub async fn register_user(
    app: &AppState,
    device: &str,
    username: &str,
    password: &str,
    ip: Option<IpAddr>,
) -> Result<LoggedIn, ApiError> {
    if app.store.user_by_username(username).await?.is_some() {
        return Err(username_taken());
    }
    let user = match app.store.user_by_device(device).await? {
        Some(u) if u.status != 1 => return Err(disabled()),
        Some(u) if u.role == "visitor" => {
            let hash = hash_password(password).await?;
            match app
                .store
                .upgrade_visitor(u.id, username, &hash, app.clock.now_ms())
                .await
            {
                Ok(Some(user)) => {
                    // Whoever held a visitor token of this device (its id is no secret) loses
                    // it: the account now opens with its password only.
                    let revoked = app.sessions.revoke_others(user.id, "").await?;
                    app.registry.close_sessions(user.id, revoked).await;
                    user
                }
                Ok(None) => {
                    return Err(ApiError::bad(
                        "this account is not a visitor",
                        "该账号不是游客",
                    ))
                }
                Err(e) if e.is_unique_violation() => return Err(username_taken()),
                Err(e) => return Err(e.into()),
            }
        }
        // Overwriting a registered account's credentials from a device id would let anyone who
        // knows the id take the account over.
        Some(_) => {
            return Err(ApiError::bad(
                "this device already has a registered account; log in with it",
                "该设备已有正式账号，请直接登录",
            ))
        }
        None => {
            let create = create_user(app, username, password, Some(device), ip);
            signing_up(app, ip, create).await?
        }
    };
    open_session(app, &user, Role::User, ip).await
}

/// `visitorloginChat`: an ordinary login; visitor accounts get the welcome message.
pub async fn login(
    app: &AppState,
    username: &str,
    password: &str,
    ip: Option<IpAddr>,
    lang: Lang,
) -> Result<LoggedIn, ApiError> {
    let s = accounts::login(app, username, password, ip).await?;
    if s.role == Role::Visitor {
        welcome(app, &s.user, lang).await?;
    }
    Ok(s)
}
