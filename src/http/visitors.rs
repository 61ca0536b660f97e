//! SPEC §1 visitors: `visitorRegister`, `visitorregChat`, `visitorloginChat`. Every request passes
//! the five checks in the spec's order (header, signature, freshness, device id, 5 per device per
//! hour shared by the three endpoints and, with Redis, by all nodes) before anything is created.

use chatd_schema::models::{NewUser, User};
use serde_json::Map;
use warp::reply::Response;
use warp::Filter;

use crate::auth::{hash_password, Role};
use crate::error::ApiError;
use crate::http::accounts::{
    check_credentials, create_user, disabled, open_session, signing_up, username_taken,
    DEFAULT_USERSET,
};
use crate::http::{req, with_app, Req};
use crate::i18n::{Lang, Msg};
use crate::ops::notify::{redirect, system_message};
use crate::params::Params;
use crate::rules::accounts::{check_password, check_username};
use crate::rules::visitors::{check, VisitorRefusal};
use crate::state::App;

pub fn routes(app: App) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let r = || with_app(app.clone()).and(req(app.clone()));
    warp::path!("api" / "visitorRegister")
        .and(warp::post())
        .and(r())
        .then(visitor_register)
        .or(warp::path!("api" / "visitorregChat")
            .and(warp::post())
            .and(r())
            .then(visitor_reg_chat))
        .unify()
        .or(warp::path!("api" / "visitorloginChat")
            .and(warp::post())
            .and(r())
            .then(visitor_login_chat))
        .unify()
        .boxed()
}

const PER_DEVICE_PER_HOUR: i64 = 5;

/// Check 1: the signature header is present.
fn signature_header(req: &Req) -> Result<String, ApiError> {
    req.headers
        .get("x-security-sign")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| VisitorRefusal::MissingHeader.error())
}

/// The required `deviceId` and integer `timestamp` (absent or non-integer → 422).
fn device_params(p: &Params) -> Result<(String, String), ApiError> {
    let device = p
        .opt_str("deviceId")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::Invalid(Msg::new("deviceId is required", "deviceId 不能为空")))?;
    let ts = p.opt_i64("timestamp")?.ok_or_else(|| {
        ApiError::Invalid(Msg::new("timestamp is required", "timestamp 不能为空"))
    })?;
    Ok((device, ts.to_string()))
}

/// Checks 2–5, after the parameters were validated.
async fn gate(app: &App, sign: &str, device: &str, ts: &str) -> Result<(), ApiError> {
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
async fn welcome(app: &App, user: &User, lang: Lang) -> Result<(), ApiError> {
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
    app: &App,
    device: &str,
    fields: [Option<String>; 4],
    req: &Req,
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
        register_ip: req.ip.map(|i| i.to_string()),
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

/// POST /api/visitorRegister
async fn visitor_register(app: App, req: Req) -> Response {
    req.reply(
        async {
            let sign = signature_header(&req)?;
            let p = req.params()?;
            let (device, ts) = device_params(p)?;
            let field = |k: &str, min: usize| -> Result<Option<String>, ApiError> {
                match p.opt_str(k).filter(|s| !s.is_empty()) {
                    Some(v) => crate::params::check_len(k, &v, min, 50).map(|_| Some(v)),
                    None => Ok(None),
                }
            };
            let fields = [
                field("uniplatform", 2)?,
                field("devicemodel", 1)?,
                field("deviceos", 1)?,
                field("devicebrand", 1)?,
            ];
            gate(&app, &sign, &device, &ts).await?;
            let now = app.clock.now_ms();
            match app.store.user_by_device(&device).await? {
                Some(u) if u.status != 1 => Err(disabled()),
                // A device id is no credential: it never opens a registered account (§9.16).
                Some(u) if u.role != "visitor" => Err(ApiError::bad(
                    "this device has an account: log in with its password",
                    "该设备已有正式账号，请使用密码登录",
                )),
                Some(u) => {
                    let [a, b, c, d] = &fields;
                    app.store
                        .set_device_fields(
                            u.id,
                            [a.as_deref(), b.as_deref(), c.as_deref(), d.as_deref()],
                            now,
                        )
                        .await?;
                    let v = open_session(&app, &u, Role::Visitor, &req).await?;
                    welcome(&app, &u, req.lang).await?;
                    Ok(v)
                }
                None => {
                    let u =
                        signing_up(&app, &req, create_visitor(&app, &device, fields, &req)).await?;
                    let v = open_session(&app, &u, Role::Visitor, &req).await?;
                    welcome(&app, &u, req.lang).await?;
                    Ok(v)
                }
            }
        }
        .await,
    )
}

/// POST /api/visitorregChat
async fn visitor_reg_chat(app: App, req: Req) -> Response {
    req.reply(
        async {
            let sign = signature_header(&req)?;
            let p = req.params()?;
            let username = p.str_len("username", 1, 20)?;
            check_username(&username)?;
            let password = p.str_len("password", 1, 20)?;
            check_password("password", &password)?;
            let (device, ts) = device_params(p)?;
            gate(&app, &sign, &device, &ts).await?;
            if app.store.user_by_username(&username).await?.is_some() {
                return Err(username_taken());
            }
            let user = match app.store.user_by_device(&device).await? {
                Some(u) if u.status != 1 => return Err(disabled()),
                Some(u) if u.role == "visitor" => {
                    let hash = hash_password(&password).await?;
                    match app
                        .store
                        .upgrade_visitor(u.id, &username, &hash, app.clock.now_ms())
                        .await
                    {
                        Ok(Some(user)) => {
                            // Whoever held a visitor token of this device (its id is no
                            // secret) loses it: the account now opens with its password only.
                            let revoked = app.sessions.revoke_others(user.id, "").await?;
                            app.registry.close_sessions(user.id, revoked);
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
                // Overwriting a registered account's credentials from a device id would let
                // anyone who knows the id take the account over.
                Some(_) => {
                    return Err(ApiError::bad(
                        "this device already has a registered account; log in with it",
                        "该设备已有正式账号，请直接登录",
                    ))
                }
                None => {
                    let create = create_user(&app, &username, &password, Some(&device), &req);
                    signing_up(&app, &req, create).await?
                }
            };
            open_session(&app, &user, Role::User, &req).await
        }
        .await,
    )
}

/// POST /api/visitorloginChat
async fn visitor_login_chat(app: App, req: Req) -> Response {
    req.reply(
        async {
            let sign = signature_header(&req)?;
            let p = req.params()?;
            let username = p.str_len("username", 1, 20)?;
            let password = p.str_len("password", 1, 200)?;
            let (device, ts) = device_params(p)?;
            gate(&app, &sign, &device, &ts).await?;
            let user = check_credentials(&app, &req, &username, &password).await?;
            let role = Role::parse(&user.role);
            let v = open_session(&app, &user, role, &req).await?;
            if role == Role::Visitor {
                welcome(&app, &user, req.lang).await?;
            }
            Ok(v)
        }
        .await,
    )
}
