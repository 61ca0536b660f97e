//! The compact API's groups and invitations (SPEC §5, §9.18): the same groups as the rich API's,
//! under the rules of seed 003 (a manager; members invite; invitations accepted or declined).

use chatd_actors::{Push, Target};
use chatd_schema::models::{Group, GroupRequest};
use chatd_schema::{GroupId, UserId};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::i18n::Lang;
use crate::ops::groups::{
    active_group, active_member, ask_owner, dissolve, join, leave, log_in_first, owner_only,
    remove, JoinRequest,
};
use crate::rules::groups::{join_decision, JoinDecision};
use crate::state::AppState;

/// A new group named `name`, managed by `me`, its only member.
pub async fn create(app: &AppState, me: UserId, name: &str) -> Result<Group, ApiError> {
    Ok(app
        .store
        .create_group(
            &uuid::Uuid::new_v4().to_string(),
            me,
            name,
            "",
            &[me],
            app.clock.now_ms(),
        )
        .await?)
}

/// The active member ids of group `g`.
pub async fn member_ids(app: &AppState, g: &Group) -> Result<Vec<UserId>, ApiError> {
    Ok(app.store.active_member_ids(g.id).await?)
}

/// The groups `me` is an active member of.
pub async fn groups_of(app: &AppState, me: UserId) -> Result<Vec<Group>, ApiError> {
    Ok(app
        .store
        .groups_of(me, 0, 10_000)
        .await?
        .into_iter()
        .map(|(g, _)| g)
        .collect())
}

/// The manager renames group `id`.
pub async fn rename(app: &AppState, me: UserId, id: GroupId, name: String) -> Result<(), ApiError> {
    let mut g = active_group(app.store.group_by_id(id).await?)?;
    owner_only(&g, me)?;
    g.name = name;
    app.store.update_group(&g, app.clock.now_ms()).await?;
    Ok(())
}

/// Group `id` as a member sees it.
pub async fn group(app: &AppState, me: UserId, id: GroupId) -> Result<Group, ApiError> {
    let g = active_group(app.store.group_by_id(id).await?)?;
    active_member(app, g.id, me).await?;
    Ok(g)
}

/// `me` leaves group `id` (the manager leaving dissolves it), or the manager removes `target`.
pub async fn leave_or_remove(
    app: &AppState,
    me: UserId,
    id: GroupId,
    target: Option<UserId>,
    lang: Lang,
) -> Result<(), ApiError> {
    let g = active_group(app.store.group_by_id(id).await?)?;
    active_member(app, g.id, me).await?;
    let me_user = app
        .store
        .user_by_id(me)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    match target {
        Some(t) if t != me => {
            owner_only(&g, me)?;
            remove(app, g, &me_user, t, lang).await?;
        }
        _ if g.user_id == me => dissolve(app, &g, &me_user, lang).await?,
        _ => leave(app, g, &me_user, lang).await?,
    }
    Ok(())
}

/// `{id, groupName, groupId, userId, invitedBy}` with string ids.
pub fn request_view(r: &GroupRequest, g: &Group) -> Value {
    json!({
        "id": r.id.to_string(),
        "groupName": g.name,
        "groupId": r.group_id.to_string(),
        "userId": r.user_id.to_string(),
        "invitedBy": r.invited_by.to_string(),
    })
}

/// A member invites `user` (not in the group yet) to group `gid`; the invitee is told with a
/// `groupInvitation` NOTIFICATION (not stored, not queued).
pub async fn invite(
    app: &AppState,
    me: UserId,
    gid: GroupId,
    user: UserId,
) -> Result<Value, ApiError> {
    let g = active_group(app.store.group_by_id(gid).await?)?;
    active_member(app, g.id, me).await?;
    app.store
        .active_user(user)
        .await?
        .ok_or_else(|| ApiError::not_found("no such user", "用户不存在"))?;
    if app
        .store
        .group_member(g.id, user)
        .await?
        .is_some_and(|m| m.status == 1)
    {
        return Err(ApiError::forbidden(
            "the user is already in the group",
            "该用户已在群里",
        ));
    }
    let r = app
        .store
        .invite_to_group(g.id, user, me, app.clock.now_ms())
        .await?;
    let view = request_view(&r, &g);
    let frame =
        json!({"type": "NOTIFICATION", "notificationType": "groupInvitation", "content": view});
    let to = Target {
        user_id: user,
        exclude_sid: None,
    };
    app.delivery
        .send(&[to], Push::ephemeral(&frame.to_string()));
    Ok(view)
}

/// Pending invitations to `me`, each with its group.
pub async fn requests(app: &AppState, me: UserId) -> Result<Vec<(GroupRequest, Group)>, ApiError> {
    Ok(app.store.pending_requests_to(me).await?)
}

/// The pending invitation `id`, which must be addressed to `me` (403) and exist (404).
async fn my_request(app: &AppState, me: UserId, id: i64) -> Result<GroupRequest, ApiError> {
    let r = app
        .store
        .group_request(id)
        .await?
        .filter(|r| r.status == "pending")
        .ok_or_else(|| ApiError::not_found("no such invitation", "邀请不存在"))?;
    if r.user_id != me {
        return Err(ApiError::forbidden(
            "this invitation is not addressed to you",
            "该邀请不是发给你的",
        ));
    }
    Ok(r)
}

/// `me` declines invitation `id`.
pub async fn decline(app: &AppState, me: UserId, id: i64) -> Result<(), ApiError> {
    let r = my_request(app, me, id).await?;
    app.store
        .settle_group_request(r.id, "declined", app.clock.now_ms())
        .await?;
    Ok(())
}

/// `me` accepts invitation `id`. The group's join setting applies as to a rich invite by the same
/// inviter (§9.18): joined, or pending the owner's approval, or 403 for a visitor where visitors
/// must log in first. An invitation whose group is gone or whose inviter is no longer an active
/// member is refused (403) and marked declined.
pub async fn accept(app: &AppState, me_id: UserId, id: i64, lang: Lang) -> Result<(), ApiError> {
    let r = my_request(app, me_id, id).await?;
    let now = app.clock.now_ms();
    let group = app
        .store
        .group_by_id(r.group_id)
        .await?
        .filter(|g| g.status == 1);
    let inviter_active = app
        .store
        .group_member(r.group_id, r.invited_by)
        .await?
        .is_some_and(|m| m.status == 1);
    let inviter = app.store.user_by_id(r.invited_by).await?;
    let (Some(g), true, Some(inviter)) = (group, inviter_active, inviter) else {
        app.store
            .settle_group_request(r.id, "declined", now)
            .await?;
        return Err(ApiError::forbidden(
            "this invitation is no longer valid",
            "该邀请已失效",
        ));
    };
    let me = app
        .store
        .active_user(me_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let member = app.store.group_member(g.id, me_id).await?;
    let decision = join_decision(g.invite_confirm, inviter.id == g.user_id, me.role != "user");
    if decision == JoinDecision::LogInFirst && member.is_none() {
        return Err(log_in_first());
    }
    if !app
        .store
        .settle_group_request(r.id, "accepted", now)
        .await?
    {
        return Err(ApiError::not_found("no such invitation", "邀请不存在"));
    }
    // Already in: accepting changes nothing more; already waiting: only a join moves it.
    if member.as_ref().is_none_or(|m| m.status != 1) {
        match (decision, member.is_some()) {
            (JoinDecision::Join, _) => {
                join(app, g, &me, Some(inviter.id), lang).await?;
            }
            (_, false) => {
                ask_owner(app, &g, &me, JoinRequest::Invited(&inviter), "", lang).await?;
            }
            (_, true) => {}
        }
    }
    Ok(())
}
