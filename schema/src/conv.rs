//! Conversation keys: the unit of `seq` ordering. A pair of users shares one key whichever of
//! them sends; a group has one key.

/// Key of the single-chat conversation between `a` and `b` (order-independent).
pub fn single(a: i64, b: i64) -> String {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    format!("s:{lo}:{hi}")
}

/// Key of a group's conversation.
pub fn group(group_id: i64) -> String {
    format!("g:{group_id}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn single_key_is_symmetric() {
        assert_eq!(super::single(7, 3), super::single(3, 7));
        assert_eq!(super::single(3, 7), "s:3:7");
        assert_eq!(super::group(9), "g:9");
    }
}
