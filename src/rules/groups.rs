//! How someone enters a group under its join setting (SPEC §4 `groupAddUserSet`,
//! `groupInviteUser`; §9.18 for compact invitations, which follow the same rule).

/// What becomes of a join or an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinDecision {
    /// The user is an active member at once.
    Join,
    /// The user waits as a pending member until the owner approves.
    Approval,
    /// Refused: a visitor must log in before joining this group (403).
    LogInFirst,
}

/// `invite_confirm` is the group's setting: 0 anyone may join, 1 owner approval unless the owner
/// invites, 2 like 1 and visitors must log in first (unless the owner invites); values the spec
/// reserves (3–10) are treated as 1. `by_owner`: the owner invites. `visitor`: the one who would
/// join (or, for a self-join, the token acting) is a visitor.
pub fn join_decision(invite_confirm: i32, by_owner: bool, visitor: bool) -> JoinDecision {
    if by_owner || invite_confirm == 0 {
        JoinDecision::Join
    } else if invite_confirm == 2 && visitor {
        JoinDecision::LogInFirst
    } else {
        JoinDecision::Approval
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use JoinDecision::*;

    #[test]
    fn the_owner_always_lets_in() {
        for setting in 0..=10 {
            assert_eq!(join_decision(setting, true, true), Join);
            assert_eq!(join_decision(setting, true, false), Join);
        }
    }

    #[test]
    fn settings_of_other_inviters() {
        assert_eq!(join_decision(0, false, true), Join);
        assert_eq!(join_decision(1, false, true), Approval);
        assert_eq!(join_decision(1, false, false), Approval);
        assert_eq!(join_decision(2, false, true), LogInFirst);
        assert_eq!(join_decision(2, false, false), Approval);
        assert_eq!(join_decision(7, false, true), Approval);
    }
}
