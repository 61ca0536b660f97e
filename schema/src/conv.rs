//! Conversation keys: the unit of `seq` ordering. A pair of users shares one key whichever of
//! them sends; a group has one key.

use crate::ids::{GroupId, UserId};

/// Key of the single-chat conversation between `a` and `b` (order-independent).
pub fn single(a: UserId, b: UserId) -> String {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    format!("s:{lo}:{hi}")
}

/// Key of a group's conversation.
pub fn group(group_id: GroupId) -> String {
    format!("g:{group_id}")
}

/// The other side of conversation `key` as `user` sees it: the peer of a single chat (`user`
/// itself in a chat with oneself), the group of a group conversation; 0 for a key of neither
/// form.
pub fn peer_of(user: UserId, key: &str) -> i64 {
    if let Some(group) = key.strip_prefix("g:") {
        return group.parse().unwrap_or(0);
    }
    let Some((lo, hi)) = key.strip_prefix("s:").and_then(|k| k.split_once(':')) else {
        return 0;
    };
    match (lo.parse::<i64>(), hi.parse::<i64>()) {
        (Ok(lo), Ok(hi)) if lo == user.0 => hi,
        (Ok(lo), Ok(_)) => lo,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn single_key_is_symmetric() {
        use crate::ids::{GroupId, UserId};
        assert_eq!(
            super::single(UserId(7), UserId(3)),
            super::single(UserId(3), UserId(7))
        );
        assert_eq!(super::single(UserId(3), UserId(7)), "s:3:7");
        assert_eq!(super::group(GroupId(9)), "g:9");
    }

    #[test]
    fn the_peer_is_the_other_side() {
        use crate::ids::UserId;
        assert_eq!(super::peer_of(UserId(3), "s:3:7"), 7);
        assert_eq!(super::peer_of(UserId(7), "s:3:7"), 3);
        assert_eq!(super::peer_of(UserId(5), "s:5:5"), 5);
        assert_eq!(super::peer_of(UserId(5), "g:12"), 12);
        assert_eq!(super::peer_of(UserId(5), "x:1"), 0);
        assert_eq!(super::peer_of(UserId(5), "s:1"), 0);
    }
}
