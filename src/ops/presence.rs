//! `GET /api/chat/presence` (issue 19, item 4): whether each of up to 200 users is online and
//! when they were last seen — for the caller's friends (both ways, neither blocking) who do not
//! hide it; anyone else is unknown. Online means a socket open on any node, or one closed less
//! than the debounce ago (friends have not been told of the leave yet, and a return then is no
//! change), so the answer agrees with the pushed frames.

use chatd_actors::presence::{hidden, within_debounce};
use chatd_schema::UserId;
use serde_json::{json, Value};
use std::collections::HashMap;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Most ids one request may ask about.
pub const MAX_IDS: usize = 200;

/// The ids of a `1,2,3` list: each a positive integer, at most [`MAX_IDS`] (repeats once).
pub fn parse_ids(list: &str) -> Result<Vec<UserId>, ApiError> {
    let mut ids: Vec<UserId> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id: i64 =
            part.parse().ok().filter(|i| *i >= 1).ok_or_else(|| {
                ApiError::bad("ids must be positive integers", "ids 必须是正整数")
            })?;
        if !ids.contains(&UserId(id)) {
            ids.push(UserId(id));
        }
        if ids.len() > MAX_IDS {
            return Err(ApiError::bad(
                "at most 200 ids at a time",
                "每次最多查询 200 个 id",
            ));
        }
    }
    if ids.is_empty() {
        return Err(ApiError::bad("ids is required", "ids 不能为空"));
    }
    Ok(ids)
}

/// Each asked user as `{user_id, online, last_seen}`, in the order asked; `online` and
/// `last_seen` are null when unknown to the caller, `last_seen` also while online.
pub async fn view(app: &AppState, caller: &Caller, ids: &[UserId]) -> Result<Value, ApiError> {
    let seen: HashMap<UserId, (String, Option<i64>)> = app
        .store
        .presence_view(caller.user_id, ids)
        .await?
        .into_iter()
        .map(|(id, userset, last_seen)| (id, (userset, last_seen)))
        .collect();
    let now = app.clock.now_ms();
    let debounce = std::time::Duration::from_millis(app.cfg.presence_debounce_ms);
    let list: Vec<Value> = ids
        .iter()
        .map(|id| match seen.get(id) {
            Some((userset, last_seen)) if !hidden(userset) => {
                let online =
                    app.delivery.online_anywhere(*id) || within_debounce(*last_seen, now, debounce);
                let last_seen = if online { None } else { *last_seen };
                json!({"user_id": id.0, "online": online, "last_seen": last_seen})
            }
            _ => json!({"user_id": id.0, "online": null, "last_seen": null}),
        })
        .collect();
    Ok(json!({ "list": list }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_a_bounded_list_of_positive_integers() {
        assert_eq!(
            parse_ids(" 3, 7,3,,9 ").ok(),
            Some(vec![UserId(3), UserId(7), UserId(9)])
        );
        for bad in ["", ",", "0", "-1", "x", "1,2,y"] {
            assert!(parse_ids(bad).is_err(), "{bad}");
        }
        let many: Vec<String> = (1..=201).map(|i| i.to_string()).collect();
        assert!(parse_ids(&many.join(",")).is_err());
        let enough: Vec<String> = (1..=200).map(|i| i.to_string()).collect();
        assert_eq!(
            parse_ids(&enough.join(",")).map(|v| v.len()).ok(),
            Some(200)
        );
    }
}
