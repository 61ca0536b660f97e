//! `POST /notification` (SPEC §5): server-to-server pushes. Requires `X-Api-Key` equal to the
//! configured key (compared in constant time); with no key configured the endpoint does not
//! exist (404). Recipients who blacklisted `from` are skipped; offline recipients do not get it
//! (NOTIFICATION frames are neither stored nor queued).

use chatd_actors::{Push, Target};
use serde_json::{json, Value};
use std::collections::HashSet;
use subtle::ConstantTimeEq;
use warp::reply::Response;
use warp::Filter;

use crate::error::ApiError;
use crate::http::{req, with_app, Req};
use crate::state::App;

pub fn routes(app: App) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("notification")
        .and(warp::post())
        .and(with_app(app.clone()))
        .and(req(app))
        .then(notify)
        .boxed()
}

fn malformed(en: &'static str, zh: &'static str) -> ApiError {
    ApiError::forbidden(en, zh)
}

async fn notify(app: App, req: Req) -> Response {
    let Some(key) = app.cfg.notification_key.clone() else {
        return req.bare(Err(ApiError::not_found("no such endpoint", "接口不存在")));
    };
    req.bare(
        async {
            let given = req.headers.get("x-api-key").map(|v| v.as_bytes()).unwrap_or_default();
            if !bool::from(given.ct_eq(key.as_bytes())) {
                return Err(malformed("wrong or missing X-Api-Key", "X-Api-Key 错误或缺失"));
            }
            let p = req.params()?;
            let id = |k: &str| chatd_actors::wire::frames::id_value(p.raw(k));
            let from = id("from");
            let kind = p.opt_str("type").unwrap_or_else(|| "unicast".into());
            let recipients: Vec<i64> = match kind.as_str() {
                "unicast" => vec![id("to").ok_or_else(|| malformed("to is required", "to 不能为空"))?],
                "multicast" => {
                    let gid = id("to").ok_or_else(|| malformed("to is required", "to 不能为空"))?;
                    app.store.active_member_ids(gid).await?
                }
                "broadcast" => {
                    let f = from.ok_or_else(|| malformed("from is required for broadcast", "broadcast 需要 from"))?;
                    app.store.friends_of(f, 0, 100_000).await?.into_iter().map(|(row, _)| row.friend_id).collect()
                }
                _ => return Err(malformed("type must be unicast, multicast or broadcast", "type 必须是 unicast、multicast 或 broadcast")),
            };
            let notification_type = p.opt_str("notificationType").ok_or_else(|| malformed("notificationType is required", "notificationType 不能为空"))?;
            let content = p.raw("content").cloned().unwrap_or(Value::Null);
            let blockers: HashSet<i64> = match from {
                Some(f) => app.store.blockers_of(f).await?.into_iter().collect(),
                None => HashSet::new(),
            };
            let targets: Vec<Target> = recipients
                .into_iter()
                .filter(|r| !blockers.contains(r) && Some(*r) != from)
                .map(|user_id| Target { user_id, exclude_sid: None, queue_if_absent: false })
                .collect();
            let frame = json!({"type": "NOTIFICATION", "notificationType": notification_type, "content": content});
            app.delivery.send(&targets, Push::ephemeral(&frame.to_string())).await?;
            Ok(Value::Null)
        }
        .await,
    )
}
