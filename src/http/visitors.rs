//! SPEC §1 visitors: `visitorRegister`, `visitorregChat`, `visitorloginChat`. Every request passes
//! the five checks in the spec's order (header, signature, freshness, device id, 5 per device per
//! hour shared by the three endpoints and, with Redis, by all nodes) before anything is created.

use warp::reply::Response;
use warp::Filter;

use crate::error::ApiError;
use crate::http::accounts::logged_in_json;
use crate::http::{req, with_app, Req};
use crate::i18n::Msg;
use crate::ops::visitors::{self, gate};
use crate::params::Params;
use crate::rules::accounts::{check_password, check_username};
use crate::rules::visitors::VisitorRefusal;
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
            let s = visitors::register_device(&app, &device, fields, req.ip, req.lang).await?;
            Ok(logged_in_json(&app, &s))
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
            let s = visitors::register_user(&app, &device, &username, &password, req.ip).await?;
            Ok(logged_in_json(&app, &s))
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
            let s = visitors::login(&app, &username, &password, req.ip, req.lang).await?;
            Ok(logged_in_json(&app, &s))
        }
        .await,
    )
}
