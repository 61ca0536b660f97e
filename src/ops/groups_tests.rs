//! The default name and avatar of a group.

use super::*;
use chatd_schema::models::{GroupMember, User};

fn pair(id: i64, nick: &str, group_nick: &str, avatar: &str) -> (GroupMember, User) {
    let m = GroupMember {
        id,
        group_id: chatd_schema::GroupId(1),
        user_id: chatd_schema::UserId(id),
        nickname: group_nick.into(),
        avatar: String::new(),
        status: 1,
        sort_order: 50,
        invited_by: None,
        join_desc: None,
        joined_at: 0,
        create_time: 0,
        update_time: 0,
    };
    let u = User {
        id: chatd_schema::UserId(id),
        uuid: String::new(),
        username: format!("user{id}"),
        password: String::new(),
        nickname: nick.into(),
        avatar: avatar.into(),
        mobile: None,
        email: None,
        status: 1,
        last_login: None,
        last_login_ip: None,
        register_time: 0,
        register_ip: None,
        is_deleted: 0,
        role: "user".into(),
        sort_order: 50,
        invite_confirm: 1,
        userset: String::new(),
        device_id: None,
        uniplatform: None,
        devicemodel: None,
        deviceos: None,
        devicebrand: None,
        create_time: 0,
        update_time: 0,
    };
    (m, u)
}

#[test]
fn composes_name_and_avatar() {
    let members: Vec<_> = (1..=11)
        .map(|i| {
            pair(
                i,
                if i == 2 { "二" } else { "" },
                if i == 3 { "g3" } else { "" },
                &format!("a{i}"),
            )
        })
        .collect();
    let (name, avatar) = compose(&members);
    assert!(name.starts_with("user1、二、g3、user4"));
    assert!(name.chars().count() <= 50);
    assert_eq!(avatar.split(',').count(), 9);
    assert!(avatar.starts_with("a1,a2,"));
}

#[test]
fn the_first_members_alone_make_the_default_name_and_avatar() {
    // The shortest names a member can have (one character) still fill the 50 characters within
    // the first COMPOSE_MEMBERS members: the rest of a big group changes nothing.
    let members: Vec<_> = (1..=200)
        .map(|i| pair(i, "x", "", &format!("a{i}")))
        .collect();
    assert_eq!(compose(&members[..COMPOSE_MEMBERS]), compose(&members));
    assert_eq!(compose(&members).0.chars().count(), 50);
}
