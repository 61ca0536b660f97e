//! The rich dialect's group operations (SPEC §4): create, list, read, the owner's settings, my
//! nickname, leaving and dissolving, removing, inviting and approving. Membership changes and
//! their announcements are `ops::groups`'s; this module decides who may make them.

use chatd_actors::Membership;
use chatd_schema::models::{Group, GroupMember, User};
use chatd_schema::{GroupId, UserId};
use serde_json::{json, Map};

use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::ops::groups::{
    active_group, active_member, after_membership_change, announce, ask_owner, change_membership,
    composed, dissolve, group_ref, join, leave, log_in_first, owner_only, remove, JoinRequest,
};
use crate::ops::notify::system_message;
use crate::rules::groups::{join_decision, JoinDecision};
use crate::state::AppState;

/// A group with its active members and their user rows.
pub type GroupWithMembers = (Group, Vec<(GroupMember, User)>);

async fn me(app: &AppState, id: UserId) -> Result<User, ApiError> {
    app.store
        .active_user(id)
        .await?
        .ok_or_else(ApiError::unauthorized)
}

fn no_such_user() -> ApiError {
    ApiError::not_found("no such user", "用户不存在")
}

fn no_pending() -> ApiError {
    ApiError::bad(
        "no pending request from this user",
        "该用户没有待审核的进群申请",
    )
}

/// `g` with its active members.
pub async fn with_members(app: &AppState, g: Group) -> Result<GroupWithMembers, ApiError> {
    let members = app.store.group_members_with_users(g.id, 1).await?;
    Ok((g, members))
}

/// `me` creates a group with the friends of `friendship_rows` (ids of my friendship rows that are
/// active and not blacklisted); the default name and avatar are composed; it is announced.
pub async fn create(
    app: &AppState,
    me_id: UserId,
    friendship_rows: &[i64],
    lang: Lang,
) -> Result<GroupWithMembers, ApiError> {
    let friend_ids = app.store.friends_from_rows(me_id, friendship_rows).await?;
    let friends: Vec<User> = app
        .store
        .users_by_ids(&friend_ids)
        .await?
        .into_iter()
        .filter(|u| u.status == 1)
        .collect();
    if friends.is_empty() {
        return Err(ApiError::bad(
            "choose at least one friend for the group",
            "请选择加入群聊的好友",
        ));
    }
    let owner = me(app, me_id).await?;
    let mut ids = vec![owner.id];
    ids.extend(friends.iter().map(|u| u.id).filter(|id| *id != owner.id));
    let now = app.clock.now_ms();
    let uuid = uuid::Uuid::new_v4().to_string();
    let g = app
        .store
        .create_group(&uuid, owner.id, "", "", &ids, now)
        .await?;
    let (name, avatar) = composed(app, g.id).await?;
    let g = Group { name, avatar, ..g };
    app.store.update_group(&g, now).await?;
    let text = lang.text(
        format!("{} created a group; start chatting", owner.display_name()),
        format!("{}创建了一个群，大家可以开始聊天了", owner.display_name()),
    );
    announce(app, &g, &owner, &text, Some("create"), Vec::new(), None).await?;
    with_members(app, g).await
}

/// A page of the groups `me` is an active member of, each with my member row.
pub async fn list(
    app: &AppState,
    me_id: UserId,
    offset: i64,
    limit: i64,
) -> Result<Vec<(Group, GroupMember)>, ApiError> {
    Ok(app.store.groups_of(me_id, offset, limit).await?)
}

/// The active group `id` with its members (anyone may read it: a visitor deciding to join).
pub async fn info(app: &AppState, id: GroupId) -> Result<GroupWithMembers, ApiError> {
    let g = active_group(app.store.group_by_id(id).await?)?;
    with_members(app, g).await
}

/// The active group `id` and its owner, who must be `me`.
async fn owned(app: &AppState, me_id: UserId, id: GroupId) -> Result<(Group, User), ApiError> {
    let g = active_group(app.store.group_by_id(id).await?)?;
    owner_only(&g, me_id)?;
    Ok((g, me(app, me_id).await?))
}

/// What the owner changes about a group, and how it is announced.
pub enum Setting {
    Name(String),
    Remark(String),
    JoinSetting(i32),
}

/// The owner of group `id` changes a setting; the members are told.
pub async fn set(
    app: &AppState,
    me_id: UserId,
    id: GroupId,
    setting: Setting,
    lang: Lang,
) -> Result<(), ApiError> {
    let (mut g, owner) = owned(app, me_id, id).await?;
    let who = owner.display_name();
    let (text, action) = match setting {
        Setting::Name(name) => {
            let text = lang.text(
                format!("{who} renamed the group to {name}"),
                format!("{who}修改群名称为 {name}"),
            );
            g.name = name;
            (text, "rename")
        }
        Setting::Remark(remark) => {
            let text = lang.text(
                format!("[Announcement] {remark}"),
                format!("[新公告] {remark}"),
            );
            g.remark = remark;
            (text, "remark")
        }
        Setting::JoinSetting(v) => {
            g.invite_confirm = v;
            let text = lang.text(
                format!("{who} changed how members join"),
                format!("{who}修改了进群设置"),
            );
            (text, "joinSetting")
        }
    };
    app.store.update_group(&g, app.clock.now_ms()).await?;
    announce(app, &g, &owner, &text, Some(action), Vec::new(), None).await?;
    Ok(())
}

/// `me` sets my nickname in group `id` (not announced).
pub async fn set_nickname(
    app: &AppState,
    me_id: UserId,
    id: GroupId,
    nick: &str,
) -> Result<(), ApiError> {
    let g = active_group(app.store.group_by_id(id).await?)?;
    active_member(app, g.id, me_id).await?;
    app.store
        .set_member_nickname(g.id, me_id, nick, app.clock.now_ms())
        .await?;
    Ok(())
}

/// The owner dissolves group `id`; a member leaves it.
pub async fn delete_or_quit(
    app: &AppState,
    me_id: UserId,
    id: GroupId,
    lang: Lang,
) -> Result<(), ApiError> {
    let g = active_group(app.store.group_by_id(id).await?)?;
    active_member(app, g.id, me_id).await?;
    let user = me(app, me_id).await?;
    if g.user_id == me_id {
        dissolve(app, &g, &user, lang).await
    } else {
        leave(app, g, &user, lang).await
    }
}

/// The owner removes `target` from group `id`.
pub async fn remove_member(
    app: &AppState,
    me_id: UserId,
    id: GroupId,
    target: UserId,
    lang: Lang,
) -> Result<(), ApiError> {
    let (g, owner) = owned(app, me_id, id).await?;
    remove(app, g, &owner, target, lang).await?;
    Ok(())
}

/// What became of an invitation or a join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invited {
    Joined,
    WaitingForOwner,
}

/// The caller joins group `gid` themselves (`target` = the caller, e.g. from a QR code) or, as an
/// active member, invites `target`, under the group's join setting. The inviter is always the
/// caller (the seed's `inviteuser_id` let anyone claim the owner invited them).
pub async fn invite(
    app: &AppState,
    caller: &Caller,
    gid: GroupId,
    target: UserId,
    note: &str,
    lang: Lang,
) -> Result<Invited, ApiError> {
    let g = active_group(app.store.group_by_id(gid).await?)?;
    let target = app
        .store
        .active_user(target)
        .await?
        .ok_or_else(no_such_user)?;
    let self_join = target.id == caller.user_id;
    if !self_join {
        active_member(app, g.id, caller.user_id).await?;
    }
    match app.store.group_member(g.id, target.id).await? {
        Some(m) if m.status == 1 => {
            return Err(ApiError::bad("already in the group", "已经在群里了"))
        }
        Some(_) => return Err(ApiError::bad("waiting for owner approval", "等待群主审核")),
        None => {}
    }
    let by_owner = caller.user_id == g.user_id;
    // A visitor (or a token in visitor mode, for a self-join) must log in first.
    let visitor = if self_join {
        caller.role == Role::Visitor
    } else {
        target.role != "user"
    };
    match join_decision(g.invite_confirm, by_owner, visitor) {
        JoinDecision::Join => {
            join(app, g, &target, Some(caller.user_id), lang).await?;
            return Ok(Invited::Joined);
        }
        JoinDecision::LogInFirst => return Err(log_in_first()),
        JoinDecision::Approval => {}
    }
    let inviter = me(app, caller.user_id).await?;
    let how = if self_join {
        JoinRequest::SelfJoin
    } else {
        JoinRequest::Invited(&inviter)
    };
    ask_owner(app, &g, &target, how, note, lang).await?;
    Ok(Invited::WaitingForOwner)
}

/// The owner of group `gid` admits (`agree`) or refuses the pending member `target`: admitted,
/// they are announced; refused, their row goes and they are told.
pub async fn answer_request(
    app: &AppState,
    me_id: UserId,
    gid: GroupId,
    target: UserId,
    agree: bool,
    lang: Lang,
) -> Result<(), ApiError> {
    let (g, _owner) = owned(app, me_id, gid).await?;
    let pending = app
        .store
        .group_member(g.id, target)
        .await?
        .filter(|m| m.status == 2)
        .ok_or_else(no_pending)?;
    let user = app
        .store
        .user_by_id(pending.user_id)
        .await?
        .ok_or_else(no_such_user)?;
    if agree {
        let before = composed(app, g.id).await?;
        if !change_membership(app, g.id, Membership::Activate(user.id)).await? {
            return Err(no_pending());
        }
        let g = after_membership_change(app, g, before).await?;
        let text = lang.text(
            format!("{} joined the group", user.display_name()),
            format!("{}加入了群聊", user.display_name()),
        );
        announce(app, &g, &user, &text, Some("join"), Vec::new(), None).await?;
    } else {
        change_membership(app, g.id, Membership::Remove(user.id)).await?;
        let text = lang.text(
            format!("your request to join {} was declined", g.name),
            format!("你加入群 {} 的申请被拒绝了", g.name),
        );
        let mut extra = Map::new();
        extra.insert("actionType".into(), json!("groupRefuse"));
        extra.insert("group".into(), group_ref(&g));
        system_message(app, &user, "systemNotice", &text, extra).await?;
    }
    Ok(())
}

/// The active group `id`, for its active member `me` (the QR code is for members).
pub async fn member_view(app: &AppState, me_id: UserId, id: GroupId) -> Result<Group, ApiError> {
    let g = active_group(app.store.group_by_id(id).await?)?;
    active_member(app, g.id, me_id).await?;
    Ok(g)
}
