//! Accounts: users and their profile rows.

use crate::ids::UserId;
use crate::models::{NewUser, User, UserInfo};
use crate::schema::{user_infos, users};
use crate::store::{run, run_write, Store, StoreError};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

/// A profile field a user may change about themselves.
#[derive(Debug, Clone)]
pub enum UserField {
    Nickname(String),
    Avatar(String),
    InviteConfirm(i32),
}

impl Store {
    /// Creates the user and their (empty) profile row in one transaction.
    pub async fn create_user(&self, new: &NewUser) -> Result<User, StoreError> {
        run!(self, |conn| {
            conn.transaction::<_, diesel::result::Error, _>(async |c| {
                let user: User = diesel::insert_into(users::table)
                    .values(new)
                    .returning(User::as_returning())
                    .get_result(c)
                    .await?;
                diesel::insert_into(user_infos::table)
                    .values((
                        user_infos::user_id.eq(user.id),
                        user_infos::create_time.eq(new.create_time),
                        user_infos::update_time.eq(new.create_time),
                    ))
                    .execute(c)
                    .await?;
                Ok(user)
            })
            .await
            .map_err(StoreError::from)
        })
    }

    pub async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        run!(self, |conn| Ok(users::table
            .find(id)
            .select(User::as_select())
            .first(conn)
            .await
            .optional()?))
    }

    /// The user `id` if the account is active (status 1): the one lookup for "this user may act
    /// or be acted on" (a disabled account is, for every rule, nobody).
    pub async fn active_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.user_by_id(id).await?.filter(|u| u.status == 1))
    }

    pub async fn user_by_username(&self, name: &str) -> Result<Option<User>, StoreError> {
        run!(self, |conn| Ok(users::table
            .filter(users::username.eq(name))
            .select(User::as_select())
            .first(conn)
            .await
            .optional()?))
    }

    pub async fn user_by_uuid(&self, uuid: &str) -> Result<Option<User>, StoreError> {
        run!(self, |conn| Ok(users::table
            .filter(users::uuid.eq(uuid))
            .select(User::as_select())
            .first(conn)
            .await
            .optional()?))
    }

    pub async fn user_by_device(&self, device_id: &str) -> Result<Option<User>, StoreError> {
        run!(self, |conn| Ok(users::table
            .filter(users::device_id.eq(device_id))
            .select(User::as_select())
            .first(conn)
            .await
            .optional()?))
    }

    pub async fn users_by_ids(&self, ids: &[UserId]) -> Result<Vec<User>, StoreError> {
        run!(self, |conn| Ok(users::table
            .filter(users::id.eq_any(ids))
            .select(User::as_select())
            .load(conn)
            .await?))
    }

    pub async fn user_info(&self, user_id: UserId) -> Result<Option<UserInfo>, StoreError> {
        run!(self, |conn| Ok(user_infos::table
            .filter(user_infos::user_id.eq(user_id))
            .select(UserInfo::as_select())
            .first(conn)
            .await
            .optional()?))
    }

    pub async fn record_login(
        &self,
        id: UserId,
        ip: Option<&str>,
        now: i64,
    ) -> Result<Option<User>, StoreError> {
        run!(self, |conn| Ok(diesel::update(users::table.find(id))
            .set((
                users::last_login.eq(now),
                users::last_login_ip.eq(ip),
                users::update_time.eq(now),
            ))
            .returning(User::as_returning())
            .get_result(conn)
            .await
            .optional()?))
    }

    /// Active registered users other than `me` whose username or nickname matches the LIKE
    /// `pattern` (already escaped with `\`).
    pub async fn search_users(
        &self,
        pattern: &str,
        me: UserId,
        limit: i64,
    ) -> Result<Vec<User>, StoreError> {
        run!(self, |conn| Ok(users::table
            .filter(
                users::username
                    .like(pattern)
                    .escape('\\')
                    .or(users::nickname.like(pattern).escape('\\')),
            )
            .filter(users::status.eq(1))
            .filter(users::role.eq("user"))
            .filter(users::id.ne(me))
            .order(users::id.asc())
            .limit(limit)
            .select(User::as_select())
            .load(conn)
            .await?))
    }

    pub async fn set_userset(&self, id: UserId, userset: &str, now: i64) -> Result<(), StoreError> {
        run!(self, |conn| {
            diesel::update(users::table.find(id))
                .set((users::userset.eq(userset), users::update_time.eq(now)))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    pub async fn update_user_field(
        &self,
        id: UserId,
        field: &UserField,
        now: i64,
    ) -> Result<(), StoreError> {
        run_write!(self, |conn| {
            let target = users::table.find(id);
            match field {
                UserField::Nickname(v) => {
                    diesel::update(target)
                        .set((users::nickname.eq(v), users::update_time.eq(now)))
                        .execute(conn)
                        .await?
                }
                UserField::Avatar(v) => {
                    diesel::update(target)
                        .set((users::avatar.eq(v), users::update_time.eq(now)))
                        .execute(conn)
                        .await?
                }
                UserField::InviteConfirm(v) => {
                    diesel::update(target)
                        .set((users::invite_confirm.eq(v), users::update_time.eq(now)))
                        .execute(conn)
                        .await?
                }
            };
            Ok(())
        })
    }

    pub async fn set_password(&self, id: UserId, hash: &str, now: i64) -> Result<(), StoreError> {
        run!(self, |conn| {
            diesel::update(users::table.find(id))
                .set((users::password.eq(hash), users::update_time.eq(now)))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Sets a user's status (1 active; anything else disables login).
    pub async fn set_user_status(&self, id: i64, status: i32, now: i64) -> Result<(), StoreError> {
        run_write!(self, |conn| {
            diesel::update(users::table.find(id))
                .set((users::status.eq(status), users::update_time.eq(now)))
                .execute(conn)
                .await?;
            Ok(())
        })
    }
}

/// Visitor accounts.
impl Store {
    /// Turns the visitor `id` into a registered user (same id, so friends, groups and offline
    /// messages stay). `None` when `id` is not a visitor.
    pub async fn upgrade_visitor(
        &self,
        id: UserId,
        username: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<Option<User>, StoreError> {
        run_write!(self, |conn| Ok(diesel::update(
            users::table.find(id).filter(users::role.eq("visitor"))
        )
        .set((
            users::username.eq(username),
            users::password.eq(password_hash),
            users::role.eq("user"),
            users::update_time.eq(now),
        ))
        .returning(User::as_returning())
        .get_result(conn)
        .await
        .optional()?))
    }

    /// Records what the client says about its device (only the fields it sent).
    pub async fn set_device_fields(
        &self,
        id: UserId,
        fields: [Option<&str>; 4],
        now: i64,
    ) -> Result<(), StoreError> {
        let [uniplatform, devicemodel, deviceos, devicebrand] = fields;
        run!(self, |conn| {
            let target = users::table.find(id);
            let current: User = target.select(User::as_select()).first(conn).await?;
            diesel::update(target)
                .set((
                    users::uniplatform.eq(uniplatform.map(str::to_string).or(current.uniplatform)),
                    users::devicemodel.eq(devicemodel.map(str::to_string).or(current.devicemodel)),
                    users::deviceos.eq(deviceos.map(str::to_string).or(current.deviceos)),
                    users::devicebrand.eq(devicebrand.map(str::to_string).or(current.devicebrand)),
                    users::update_time.eq(now),
                ))
                .execute(conn)
                .await?;
            Ok(())
        })
    }
}
