//! Server-to-server notifications (SPEC §5 `POST /notification`): a NOTIFICATION frame to one
//! user, a group's members, or a user's friends; never stored, never queued, never to someone who
//! blocked the sender.

use chatd_actors::{Push, Target};
use chatd_schema::{GroupId, UserId};
use serde_json::{json, Value};
use std::collections::HashSet;

use crate::error::ApiError;
use crate::state::AppState;

/// Who a notification goes to.
#[derive(Debug, Clone, Copy)]
pub enum Audience {
    User(UserId),
    Group(GroupId),
    FriendsOf(UserId),
}

/// Sends `{"type":"NOTIFICATION","notificationType","content"}` to the connected recipients of
/// `audience`, skipping `from` and whoever blocked `from`.
pub async fn notify(
    app: &AppState,
    from: Option<UserId>,
    audience: Audience,
    notification_type: &str,
    content: Value,
) -> Result<(), ApiError> {
    let recipients: Vec<UserId> = match audience {
        Audience::User(id) => vec![id],
        Audience::Group(gid) => app.store.active_member_ids(gid).await?,
        Audience::FriendsOf(f) => app
            .store
            .friends_of(f, 0, 100_000)
            .await?
            .into_iter()
            .map(|(row, _)| row.friend_id)
            .collect(),
    };
    let blockers: HashSet<UserId> = match from {
        Some(f) => app.store.blockers_of(f).await?.into_iter().collect(),
        None => HashSet::new(),
    };
    let targets: Vec<Target> = recipients
        .into_iter()
        .filter(|r| !blockers.contains(r) && Some(*r) != from)
        .map(|user_id| Target {
            user_id,
            exclude_sid: None,
        })
        .collect();
    let frame =
        json!({"type": "NOTIFICATION", "notificationType": notification_type, "content": content});
    app.delivery
        .send(&targets, Push::ephemeral(&frame.to_string()));
    Ok(())
}
