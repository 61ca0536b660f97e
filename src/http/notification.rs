//! `POST /notification` (SPEC §5): server-to-server pushes. Requires `X-Api-Key` equal to the
//! configured key (compared in constant time); with no key configured the endpoint does not
//! exist (404). Recipients who blacklisted `from` are skipped; offline recipients do not get it
//! (NOTIFICATION frames are neither stored nor queued).

use chatd_schema::{GroupId, UserId};
use serde_json::Value;
use subtle::ConstantTimeEq;
use warp::reply::Response;
use warp::Filter;

use crate::error::ApiError;
use crate::http::{req, with_app, Req};
use crate::ops::notifications::{notify, Audience};
use crate::state::App;

pub fn routes(app: App) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("notification")
        .and(warp::post())
        .and(with_app(app.clone()))
        .and(req(app))
        .then(post_notification)
        .boxed()
}

fn malformed(en: &'static str, zh: &'static str) -> ApiError {
    ApiError::forbidden(en, zh)
}

async fn post_notification(app: App, req: Req) -> Response {
    let Some(key) = app.cfg.notification_key.clone() else {
        return req.bare(Err(ApiError::not_found("no such endpoint", "接口不存在")));
    };
    req.bare(
        async {
            let given = req
                .headers
                .get("x-api-key")
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if !bool::from(given.ct_eq(key.as_bytes())) {
                return Err(malformed(
                    "wrong or missing X-Api-Key",
                    "X-Api-Key 错误或缺失",
                ));
            }
            let p = req.params()?;
            let id = |k: &str| chatd_actors::wire::frames::id_value(p.raw(k));
            let from = id("from").map(UserId);
            let kind = p.opt_str("type").unwrap_or_else(|| "unicast".into());
            let to = || id("to").ok_or_else(|| malformed("to is required", "to 不能为空"));
            let audience = match kind.as_str() {
                "unicast" => Audience::User(UserId(to()?)),
                "multicast" => Audience::Group(GroupId(to()?)),
                "broadcast" => Audience::FriendsOf(from.ok_or_else(|| {
                    malformed("from is required for broadcast", "broadcast 需要 from")
                })?),
                _ => {
                    return Err(malformed(
                        "type must be unicast, multicast or broadcast",
                        "type 必须是 unicast、multicast 或 broadcast",
                    ))
                }
            };
            let notification_type = p.opt_str("notificationType").ok_or_else(|| {
                malformed("notificationType is required", "notificationType 不能为空")
            })?;
            let content = p.raw("content").cloned().unwrap_or(Value::Null);
            notify(&app, from, audience, &notification_type, content).await?;
            Ok(Value::Null)
        }
        .await,
    )
}
