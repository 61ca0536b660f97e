//! Row structs (what a query returns) and insert forms (what a write takes), one pair per table.

use crate::ids::{GroupId, MessageId, SessionId, UserId};
use crate::schema::*;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub uuid: String,
    pub username: String,
    pub password: String,
    pub nickname: String,
    pub avatar: String,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub status: i32,
    pub last_login: Option<i64>,
    pub last_login_ip: Option<String>,
    pub register_time: i64,
    pub register_ip: Option<String>,
    pub is_deleted: i32,
    pub role: String,
    pub sort_order: i32,
    pub invite_confirm: i32,
    pub userset: String,
    pub device_id: Option<String>,
    pub uniplatform: Option<String>,
    pub devicemodel: Option<String>,
    pub deviceos: Option<String>,
    pub devicebrand: Option<String>,
    pub create_time: i64,
    pub update_time: i64,
}

impl User {
    /// The name shown to others: nickname when set, else username.
    pub fn display_name(&self) -> &str {
        if self.nickname.is_empty() {
            &self.username
        } else {
            &self.nickname
        }
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub uuid: String,
    pub username: String,
    pub password: String,
    pub nickname: String,
    pub avatar: String,
    pub status: i32,
    pub register_time: i64,
    pub register_ip: Option<String>,
    pub role: String,
    pub invite_confirm: i32,
    pub userset: String,
    pub device_id: Option<String>,
    pub uniplatform: Option<String>,
    pub devicemodel: Option<String>,
    pub deviceos: Option<String>,
    pub devicebrand: Option<String>,
    pub create_time: i64,
    pub update_time: i64,
}

impl NewUser {
    /// A plain `user` account made at `now`: no password, device or settings. Sign-ups fill in
    /// what the request brings; tests and benches use it as it is.
    pub fn plain(uuid: String, username: String, now: i64) -> NewUser {
        NewUser {
            uuid,
            username,
            password: String::new(),
            nickname: String::new(),
            avatar: String::new(),
            status: 1,
            register_time: now,
            register_ip: None,
            role: "user".into(),
            invite_confirm: 1,
            userset: String::new(),
            device_id: None,
            uniplatform: None,
            devicemodel: None,
            deviceos: None,
            devicebrand: None,
            create_time: now,
            update_time: now,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_infos)]
pub struct UserInfo {
    pub id: i64,
    pub user_id: UserId,
    pub gender: String,
    pub birthday: Option<String>,
    pub bio: Option<String>,
    pub location: Option<String>,
    pub website: Option<String>,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub role: String,
    pub create_time: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = friendships)]
pub struct Friendship {
    pub id: i64,
    pub user_id: UserId,
    pub friend_id: UserId,
    pub nickname: String,
    pub friendlookme: i32,
    pub melookfriend: i32,
    pub ismystarfriend: i32,
    pub isblack: i32,
    pub status: i32,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = friendships)]
pub struct NewFriendship {
    pub user_id: UserId,
    pub friend_id: UserId,
    pub nickname: String,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = group_members)]
pub struct GroupMember {
    pub id: i64,
    pub group_id: GroupId,
    pub user_id: UserId,
    pub nickname: String,
    pub avatar: String,
    pub status: i32,
    pub sort_order: i32,
    pub invited_by: Option<UserId>,
    pub join_desc: Option<String>,
    pub joined_at: i64,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: MessageId,
    pub uuid: String,
    pub conv_key: String,
    pub seq: i64,
    pub chat_type: String,
    pub msg_type: String,
    pub from_id: UserId,
    pub to_id: i64,
    pub from_name: String,
    pub from_avatar: String,
    pub to_name: String,
    pub to_avatar: String,
    pub data: String,
    pub options: String,
    pub extra: Option<String>,
    pub client_msg_id: Option<String>,
    pub isremove: i32,
    pub create_time: i64,
}

impl MessageRow {
    /// The recipient of a single-chat message (`to_id` names a user there).
    pub fn to_user(&self) -> UserId {
        UserId(self.to_id)
    }

    /// The group of a group message (`to_id` names a group there).
    pub fn to_group(&self) -> GroupId {
        GroupId(self.to_id)
    }
}

/// A message to store; `seq` is assigned by the store inside the write transaction.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub uuid: String,
    pub conv_key: String,
    pub chat_type: String,
    pub msg_type: String,
    pub from_id: UserId,
    pub to_id: i64,
    pub from_name: String,
    pub from_avatar: String,
    pub to_name: String,
    pub to_avatar: String,
    pub data: String,
    pub options: String,
    pub extra: Option<String>,
    pub client_msg_id: Option<String>,
    pub create_time: i64,
    /// Users it is for beyond the conversation's participants (a removed member told of the
    /// removal); with `private`, the only users it is for. Read by the offline backlog.
    pub audience: Vec<UserId>,
    pub private: bool,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = messages)]
pub(crate) struct MessageInsert<'a> {
    pub uuid: &'a str,
    pub conv_key: &'a str,
    pub seq: i64,
    pub chat_type: &'a str,
    pub msg_type: &'a str,
    pub from_id: UserId,
    pub to_id: i64,
    pub from_name: &'a str,
    pub from_avatar: &'a str,
    pub to_name: &'a str,
    pub to_avatar: &'a str,
    pub data: &'a str,
    pub options: &'a str,
    pub extra: Option<&'a str>,
    pub client_msg_id: Option<&'a str>,
    pub isremove: i32,
    pub create_time: i64,
    pub private: i32,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = friend_applications)]
pub struct FriendApplication {
    pub id: i64,
    pub user_id: UserId,
    pub friend_id: UserId,
    pub nickname: String,
    pub status: String,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = chat_groups)]
pub struct Group {
    pub id: GroupId,
    pub uuid: String,
    pub user_id: UserId,
    pub name: String,
    pub avatar: String,
    pub remark: String,
    pub invite_confirm: i32,
    pub status: i32,
    pub sort_order: i32,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = group_requests)]
pub struct GroupRequest {
    pub id: i64,
    pub group_id: GroupId,
    pub user_id: UserId,
    pub invited_by: UserId,
    pub status: String,
    pub create_time: i64,
    pub update_time: i64,
}
