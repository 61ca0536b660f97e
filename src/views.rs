//! How rows look to clients: the seed 002 user object and the two time formats.

use chatd_schema::models::{User, UserInfo};
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde_json::{json, Value};

/// "YYYY-MM-DD HH:MM:SS" in the server's time zone (row `create_time`).
pub fn local_time(ms: i64, tz: FixedOffset) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// RFC 3339 in UTC with milliseconds (row `update_time`, `register_time`).
pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The user object of the seed 002 examples, never with `password`. `role` overrides the stored
/// role (a registered account logged in in visitor mode is shown as `visitor`).
pub fn user_json(u: &User, tz: FixedOffset, role: Option<&str>) -> Value {
    json!({
        "id": u.id,
        "uuid": u.uuid,
        "username": u.username,
        "nickname": u.nickname,
        "avatar": u.avatar,
        "mobile": u.mobile,
        "email": u.email,
        "status": u.status,
        "last_login": u.last_login.map(rfc3339),
        "last_login_ip": u.last_login_ip,
        "register_time": rfc3339(u.register_time),
        "register_ip": u.register_ip,
        "is_deleted": u.is_deleted,
        "wechat_openid": null,
        "qq_openid": null,
        "weibo_uid": null,
        "role": role.unwrap_or(&u.role),
        "is_email_verified": 0,
        "is_mobile_verified": 0,
        "order": u.sort_order,
        "invite_confirm": u.invite_confirm,
        "userset": u.userset,
        "deviceId": u.device_id,
        "uniplatform": u.uniplatform,
        "devicemodel": u.devicemodel,
        "deviceos": u.deviceos,
        "devicebrand": u.devicebrand,
        "create_time": local_time(u.create_time, tz),
        "update_time": rfc3339(u.update_time),
    })
}

/// The public profile of `GET /api/userinfo/:uuid`.
pub fn profile_json(u: &User, info: Option<&UserInfo>) -> Value {
    json!({
        "uuid": u.uuid,
        "username": u.username,
        "nickname": u.nickname,
        "avatar": u.avatar,
        "role": u.role,
        "userinfo": info.map(|i| json!({
            "id": i.id,
            "gender": i.gender,
            "birthday": i.birthday,
            "bio": i.bio,
            "location": i.location,
            "website": i.website,
        })),
        "userset": u.userset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times() {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!());
        // 2025-07-13T03:46:05Z
        assert_eq!(local_time(1_752_378_365_000, tz), "2025-07-13 11:46:05");
        assert_eq!(rfc3339(1_752_378_365_000), "2025-07-13T03:46:05.000Z");
    }
}
