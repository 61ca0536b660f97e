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
}
