//! Friends (SPEC §2, §9.17): applications and their answers, the friend list, the flags on my
//! side of a friendship, unfriending. Every operation acts for `me`, a registered user (the
//! handlers refuse visitors); each returns the rows it read or changed, for the handler to render.

use chatd_schema::models::{FriendApplication, Friendship, User, UserInfo};
use chatd_schema::UserId;
use serde_json::{json, Map};

use crate::error::ApiError;
use crate::i18n::Lang;
use crate::ops::notify::{redirect, system_message};
use crate::state::AppState;

fn not_friend() -> ApiError {
    ApiError::bad("this user is not your friend", "对方不是你的好友")
}

fn no_such_user() -> ApiError {
    ApiError::not_found("no such user", "用户不存在")
}

/// The answer to a friend application (`handleapply`'s `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Pending,
    Refuse,
    Agree,
    Ignore,
}

impl Answer {
    pub fn parse(s: &str) -> Option<Answer> {
        Some(match s {
            "pending" => Answer::Pending,
            "refuse" => Answer::Refuse,
            "agree" => Answer::Agree,
            "ignore" => Answer::Ignore,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Answer::Pending => "pending",
            Answer::Refuse => "refuse",
            Answer::Agree => "agree",
            Answer::Ignore => "ignore",
        }
    }
}

/// `me` asks `friend_id` to be friends with a note: at once when the target takes anyone
/// (`invite_confirm` 0), else a pending application the target is told of.
pub async fn apply(
    app: &AppState,
    me: UserId,
    friend_id: UserId,
    note: &str,
    lang: Lang,
) -> Result<(), ApiError> {
    if friend_id == me {
        return Err(ApiError::bad(
            "you cannot add yourself as a friend",
            "不能添加自己为好友",
        ));
    }
    let target = app
        .store
        .user_by_id(friend_id)
        .await?
        .ok_or_else(no_such_user)?;
    if target.status != 1 {
        return Err(ApiError::bad("this user is disabled", "该用户已被禁用"));
    }
    if target.role != "user" {
        return Err(ApiError::bad(
            "visitors cannot be added as friends",
            "游客不能被添加为好友",
        ));
    }
    if app.store.active_friendship(me, friend_id).await?.is_some() {
        return Err(ApiError::bad("you are already friends", "你们已经是好友了"));
    }
    if app
        .store
        .pending_application(me, friend_id)
        .await?
        .is_some()
    {
        return Err(ApiError::bad(
            "you already applied; wait for an answer",
            "你已经申请过了，请等待对方处理",
        ));
    }
    let now = app.clock.now_ms();
    let me = app
        .store
        .user_by_id(me)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    if target.invite_confirm == 0 {
        app.store.befriend(me.id, "", target.id, "", now).await?;
        return Ok(());
    }
    let application = app
        .store
        .create_application(me.id, target.id, note, now)
        .await?;
    let text = lang.text(
        format!("{} wants to add you as a friend", me.display_name()),
        format!("{} 申请添加你为好友", me.display_name()),
    );
    let mut extra = Map::new();
    extra.insert(
        "redirect".into(),
        redirect("/pages/applyFriend/applyFriend"),
    );
    extra.insert("actionType".into(), json!("friendApply"));
    extra.insert("apply_id".into(), json!(application.id));
    system_message(app, &target, "systemNotice", &text, extra).await?;
    Ok(())
}

/// Applications sent to `me`, newest first, with each applicant; and how many are pending.
pub async fn applications(
    app: &AppState,
    me: UserId,
    offset: i64,
    limit: i64,
) -> Result<(Vec<(FriendApplication, User)>, i64), ApiError> {
    let rows = app.store.applications_to(me, offset, limit).await?;
    let pending = app.store.pending_count(me).await?;
    Ok((rows, pending))
}

/// `me` answers application `id` (theirs to answer, still pending). `agree` makes the friendship
/// (my side with `remark`) and tells the applicant.
pub async fn answer_application(
    app: &AppState,
    me: UserId,
    id: i64,
    answer: Answer,
    remark: &str,
    lang: Lang,
) -> Result<(), ApiError> {
    let application = app
        .store
        .application(id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such application", "申请不存在"))?;
    if application.friend_id != me {
        return Err(ApiError::forbidden(
            "only the addressee may handle this application",
            "你无权处理该申请",
        ));
    }
    let handled = || ApiError::bad("this application was already handled", "该申请已处理");
    if application.status != "pending" {
        return Err(handled());
    }
    if answer == Answer::Pending {
        return Ok(());
    }
    let now = app.clock.now_ms();
    if !app
        .store
        .settle_application(id, answer.as_str(), now)
        .await?
    {
        return Err(handled());
    }
    if answer != Answer::Agree {
        return Ok(());
    }
    app.store
        .befriend(me, remark, application.user_id, "", now)
        .await?;
    let me = app
        .store
        .user_by_id(me)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    if let Some(applicant) = app.store.user_by_id(application.user_id).await? {
        let text = lang.text(
            format!(
                "{} accepted your friend request; say hello!",
                me.display_name()
            ),
            format!("{} 通过了你的好友申请，打个招呼吧", me.display_name()),
        );
        let mut extra = Map::new();
        extra.insert("actionType".into(), json!("friendAgree"));
        extra.insert("friend_id".into(), json!(me.id));
        system_message(app, &applicant, "systemNotice", &text, extra).await?;
    }
    Ok(())
}

/// A page of `me`'s friends (oldest first) with each friend's user row, and how many there are.
pub async fn friends(
    app: &AppState,
    me: UserId,
    offset: i64,
    limit: i64,
) -> Result<(Vec<(Friendship, User)>, i64), ApiError> {
    let rows = app.store.friends_of(me, offset, limit).await?;
    let count = app.store.friend_count(me).await?;
    Ok((rows, count))
}

/// My friendship with `id` (400 when they are not in my list).
pub async fn friendship(app: &AppState, me: UserId, id: UserId) -> Result<Friendship, ApiError> {
    app.store
        .active_friendship(me, id)
        .await?
        .ok_or_else(not_friend)
}

/// My friendship with `id`, their user row and profile.
pub async fn friend_info(
    app: &AppState,
    me: UserId,
    id: UserId,
) -> Result<(Friendship, User, Option<UserInfo>), ApiError> {
    let row = friendship(app, me, id).await?;
    let user = app.store.user_by_id(id).await?.ok_or_else(not_friend)?;
    let info = app.store.user_info(id).await?;
    Ok((row, user, info))
}

/// Flips the star (`star`) or the block on my row for `id`.
pub async fn toggle(app: &AppState, me: UserId, id: UserId, star: bool) -> Result<(), ApiError> {
    let n = app
        .store
        .toggle_friend_flag(me, id, star, app.clock.now_ms())
        .await?;
    if n == 0 {
        return Err(not_friend());
    }
    Ok(())
}

/// Sets who sees whose moments on my row for `id`.
pub async fn set_visibility(
    app: &AppState,
    me: UserId,
    id: UserId,
    friend_looks_me: i32,
    me_look_friend: i32,
) -> Result<(), ApiError> {
    let n = app
        .store
        .set_friend_visibility(me, id, friend_looks_me, me_look_friend, app.clock.now_ms())
        .await?;
    if n == 0 {
        return Err(not_friend());
    }
    Ok(())
}

/// The pending application to `me` from the user with `uuid`, with that user.
pub async fn pending_from(
    app: &AppState,
    me: UserId,
    uuid: &str,
) -> Result<(FriendApplication, User), ApiError> {
    let applicant = app
        .store
        .user_by_uuid(uuid)
        .await?
        .ok_or_else(no_such_user)?;
    let application = app
        .store
        .pending_application(applicant.id, me)
        .await?
        .ok_or_else(|| {
            ApiError::bad(
                "this user has no pending application to you",
                "对方没有申请加你为好友",
            )
        })?;
    Ok((application, applicant))
}

/// Ends `me`'s friendship with `id` (SPEC §9.17: their block of me, if any, stays).
pub async fn unfriend(app: &AppState, me: UserId, id: UserId) -> Result<(), ApiError> {
    if !app.store.unfriend(me, id, app.clock.now_ms()).await? {
        return Err(not_friend());
    }
    Ok(())
}
