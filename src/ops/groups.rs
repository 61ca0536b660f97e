//! Group operations (SPEC §4): composition of the default name and avatar, announcements, and
//! every membership change. A membership change is a command to the group's actor
//! ([`change_membership`]), which writes it to the store and to its member list in one step, in
//! order with the group's messages: a message accepted after the change answered sees the new
//! membership, one accepted before it the old.

use chatd_actors::{Accepted, Membership, Route};
use chatd_schema::models::{Group, GroupMember, User};
use chatd_schema::NewMember;
use chatd_schema::{GroupId, UserId};
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::i18n::Lang;
use crate::ops::message::ChatType;
use crate::ops::message::{new_message, Content, Party};
use crate::ops::notify::{redirect, system_message};
use crate::state::AppState;
use crate::views::{local_time, rfc3339};

/// The `group` field of a group message.
pub fn group_ref(g: &Group) -> Value {
    json!({"id": g.id, "uuid": g.uuid, "name": g.name, "avatar": g.avatar, "user_id": g.user_id,
           "remark": g.remark, "invite_confirm": g.invite_confirm})
}

pub fn member_json(app: &AppState, m: &GroupMember, u: Option<&User>) -> Value {
    let mut v = json!({
        "id": m.id, "group_id": m.group_id, "groupId": m.group_id, "user_id": m.user_id,
        "nickname": m.nickname, "avatar": m.avatar, "status": m.status, "order": m.sort_order,
        "create_time": local_time(m.create_time, app.cfg.timezone),
        "update_time": rfc3339(m.update_time),
    });
    if let (Some(obj), Some(u)) = (v.as_object_mut(), u) {
        obj.insert(
            "user".into(),
            json!({"id": u.id, "username": u.username, "avatar": u.avatar, "nickname": u.nickname,
                   "uuid": u.uuid, "role": u.role}),
        );
    }
    v
}

pub fn group_json(app: &AppState, g: &Group, members: Vec<Value>) -> Value {
    json!({
        "id": g.id, "uuid": g.uuid, "user_id": g.user_id, "name": g.name, "avatar": g.avatar,
        "remark": g.remark, "invite_confirm": g.invite_confirm, "status": g.status,
        "order": g.sort_order, "create_time": local_time(g.create_time, app.cfg.timezone),
        "update_time": rfc3339(g.update_time), "group_users": members,
    })
}

/// Name in a group: group nickname, else nickname, else username (seed 004).
pub fn member_name(m: Option<&GroupMember>, u: &User) -> String {
    match m.filter(|m| !m.nickname.is_empty()) {
        Some(m) => m.nickname.clone(),
        None => u.display_name().to_string(),
    }
}

/// Avatar in a group: group avatar, else the user's.
pub fn member_avatar(m: Option<&GroupMember>, u: &User) -> String {
    match m.filter(|m| !m.avatar.is_empty()) {
        Some(m) => m.avatar.clone(),
        None => u.avatar.clone(),
    }
}

/// How many members (the first, in joining order) the default name and avatar can draw on: the
/// name is cut at 50 characters and every member adds at least one to it, and the avatar takes 9.
pub const COMPOSE_MEMBERS: usize = 50;

/// The default name (display names joined by `、`, at most 50 characters) and avatar (the first 9
/// members' avatars joined by `,`) of a member list (only its first [`COMPOSE_MEMBERS`] count).
pub fn compose(members: &[(GroupMember, User)]) -> (String, String) {
    let name: String = members
        .iter()
        .map(|(m, u)| member_name(Some(m), u))
        .collect::<Vec<_>>()
        .join("、")
        .chars()
        .take(50)
        .collect();
    let avatar = members
        .iter()
        .take(9)
        .map(|(m, u)| member_avatar(Some(m), u))
        .collect::<Vec<_>>()
        .join(",");
    (name, avatar)
}

pub fn active_group(g: Option<Group>) -> Result<Group, ApiError> {
    g.filter(|g| g.status == 1)
        .ok_or_else(|| ApiError::not_found("no such group", "群不存在或已解散"))
}

pub fn owner_only(g: &Group, user_id: UserId) -> Result<(), ApiError> {
    if g.user_id == user_id {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only the group owner can do this",
            "只有群主才能操作",
        ))
    }
}

/// The caller's active member row, or 403.
pub async fn active_member(
    app: &AppState,
    group_id: GroupId,
    user_id: UserId,
) -> Result<GroupMember, ApiError> {
    app.store
        .group_member(group_id, user_id)
        .await?
        .filter(|m| m.status == 1)
        .ok_or_else(|| {
            ApiError::forbidden("you are not a member of this group", "你不是该群的成员")
        })
}

/// Has the group's actor make `change` (store and member list together, in order with the
/// group's messages). False: the row to activate or remove was not there.
pub async fn change_membership(
    app: &AppState,
    group_id: GroupId,
    change: Membership,
) -> Result<bool, ApiError> {
    let group = app.registry.group(group_id).await?;
    let changed = group.change(change, app.clock.now_ms()).await?;
    if changed {
        // Other nodes' actors of this group re-read the member list before the change answers.
        app.invalidate(crate::cluster::Scope::Group(group_id)).await;
    }
    Ok(changed)
}

/// After a membership change: the composed avatar (and the name, when it was still the composed
/// default `before`) is recomputed.
pub async fn after_membership_change(
    app: &AppState,
    mut g: Group,
    before: (String, String),
) -> Result<Group, ApiError> {
    let (name, avatar) = composed(app, g.id).await?;
    if g.name == before.0 {
        g.name = name;
    }
    g.avatar = avatar;
    app.store.update_group(&g, app.clock.now_ms()).await?;
    Ok(g)
}

/// The group's default name and avatar, from its first active members only.
pub async fn composed(app: &AppState, group_id: GroupId) -> Result<(String, String), ApiError> {
    Ok(compose(
        &app.store
            .first_group_members_with_users(group_id, 1, COMPOSE_MEMBERS as i64)
            .await?,
    ))
}

/// Announces `text` to the group as a `systemNotice` from `from`, carrying `group`. `also` are
/// non-members who get it too; `only` limits it to those users instead of the members.
pub async fn announce(
    app: &AppState,
    g: &Group,
    from: &User,
    text: &str,
    action: Option<&str>,
    also: Vec<UserId>,
    only: Option<Vec<UserId>>,
) -> Result<Accepted, ApiError> {
    let member = app.store.group_member(g.id, from.id).await?;
    let mut extra = Map::new();
    extra.insert("group".into(), group_ref(g));
    if let Some(a) = action {
        extra.insert("actionType".into(), json!(a));
    }
    let author = Party {
        id: from.id.0,
        name: member_name(member.as_ref(), from),
        avatar: member_avatar(member.as_ref(), from),
    };
    let content = Content::system("systemNotice", text, Value::Object(extra));
    let msg = new_message(
        ChatType::Group,
        author,
        Party::group(g),
        content,
        app.clock.now_ms(),
    );
    let route = match only {
        Some(users) => Route::Targets(
            users
                .into_iter()
                .map(chatd_actors::Target::recipient)
                .collect(),
        ),
        None => Route::Group {
            group: app.registry.group(g.id).await?,
            sender: from.id,
            sender_sid: None,
            exclude: Vec::new(),
            also,
        },
    };
    Ok(app.writer.submit(msg, route).await?)
}

/// Activates `user` in the group (invited by `inviter`) and announces it.
pub async fn join(
    app: &AppState,
    g: Group,
    user: &User,
    inviter: Option<UserId>,
    lang: Lang,
) -> Result<Group, ApiError> {
    let before = composed(app, g.id).await?;
    let m = NewMember {
        user_id: user.id,
        status: 1,
        invited_by: inviter,
        join_desc: None,
    };
    change_membership(app, g.id, Membership::Upsert(m)).await?;
    let g = after_membership_change(app, g, before).await?;
    let text = lang.text(
        format!("{} joined the group", user.display_name()),
        format!("{}加入了群聊", user.display_name()),
    );
    announce(app, &g, user, &text, Some("join"), Vec::new(), None).await?;
    Ok(g)
}

/// How a pending member came to ask (carried to the owner in the approval request).
pub enum JoinRequest<'a> {
    SelfJoin,
    Invited(&'a User),
}

pub fn log_in_first() -> ApiError {
    ApiError::forbidden("log in before joining this group", "请先登录再加入该群")
}

/// Makes `user` a member waiting for the owner's approval and sends the owner the approval
/// request: a single-chat system message whose `redirect` carries the group, the applicant and
/// how they came (`desc`: self or invited, by whom, when, the note, the role).
pub async fn ask_owner(
    app: &AppState,
    g: &Group,
    user: &User,
    how: JoinRequest<'_>,
    note: &str,
    lang: Lang,
) -> Result<(), ApiError> {
    let now = app.clock.now_ms();
    let (how_text, inviter) = match how {
        JoinRequest::SelfJoin => ("self", None),
        JoinRequest::Invited(by) => ("invited", Some(by)),
    };
    let desc = json!({"how": how_text,
        "invited_by": inviter.map(|u| json!({"id": u.id, "name": u.display_name()})),
        "time": now, "note": note, "role": user.role});
    let m = NewMember {
        user_id: user.id,
        status: 2,
        invited_by: Some(inviter.map_or(user.id, |u| u.id)),
        join_desc: Some(desc.to_string()),
    };
    change_membership(app, g.id, Membership::Upsert(m)).await?;
    if let Some(owner) = app.store.user_by_id(g.user_id).await? {
        let text = lang.text(
            format!("{} asks to join {}", user.display_name(), g.name),
            format!("{} 申请加入群 {}", user.display_name(), g.name),
        );
        let mut r = redirect("/pages/groupApply/groupApply");
        if let Some(obj) = r.as_object_mut() {
            obj.insert("group".into(), group_ref(g));
            obj.insert(
                "user".into(),
                json!({"id": user.id, "username": user.username, "nickname": user.nickname,
                       "avatar": user.avatar, "role": user.role}),
            );
            obj.insert("desc".into(), desc);
        }
        let mut extra = Map::new();
        extra.insert("redirect".into(), r);
        extra.insert("actionType".into(), json!("groupApply"));
        system_message(app, &owner, "systemNotice", &text, extra).await?;
    }
    Ok(())
}

/// The owner dissolves the group: everyone is told, then the group and its actor are retired.
pub async fn dissolve(app: &AppState, g: &Group, owner: &User, lang: Lang) -> Result<(), ApiError> {
    let text = lang.text(
        format!("{} dissolved the group", owner.display_name()),
        format!("{}解散了该群", owner.display_name()),
    );
    announce(app, g, owner, &text, Some("dissolve"), Vec::new(), None).await?;
    change_membership(app, g.id, Membership::Dissolve(Box::new(g.clone()))).await?;
    app.registry.retire_group(g.id).await;
    Ok(())
}

/// A member leaves; only the owner is told.
pub async fn leave(app: &AppState, g: Group, user: &User, lang: Lang) -> Result<(), ApiError> {
    let before = composed(app, g.id).await?;
    let name = member_name(app.store.group_member(g.id, user.id).await?.as_ref(), user);
    change_membership(app, g.id, Membership::Remove(user.id)).await?;
    let g = after_membership_change(app, g, before).await?;
    let text = lang.text(
        format!("{name} left the group"),
        format!("{name}退出了群聊"),
    );
    announce(
        app,
        &g,
        user,
        &text,
        Some("quit"),
        Vec::new(),
        Some(vec![g.user_id]),
    )
    .await?;
    Ok(())
}

/// The owner removes `target` (not themselves); the removed member and the members are told.
pub async fn remove(
    app: &AppState,
    g: Group,
    owner: &User,
    target: UserId,
    lang: Lang,
) -> Result<(), ApiError> {
    if target == owner.id {
        return Err(ApiError::bad(
            "the owner cannot remove themselves; dissolve the group instead",
            "群主不能移除自己，请解散群",
        ));
    }
    let row = app
        .store
        .group_member(g.id, target)
        .await?
        .ok_or_else(|| ApiError::bad("this user is not in the group", "该用户不在群里"))?;
    let user = app
        .store
        .user_by_id(target)
        .await?
        .ok_or_else(|| ApiError::not_found("no such user", "用户不存在"))?;
    let before = composed(app, g.id).await?;
    change_membership(app, g.id, Membership::Remove(target)).await?;
    let g = after_membership_change(app, g, before).await?;
    let name = member_name(Some(&row), &user);
    let text = lang.text(
        format!("{} removed {name} from the group", owner.display_name()),
        format!("{}将 {name} 移出了群聊", owner.display_name()),
    );
    announce(app, &g, owner, &text, Some("removed"), vec![target], None).await?;
    Ok(())
}

#[cfg(test)]
#[path = "groups_tests.rs"]
mod tests;
