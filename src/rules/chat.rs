//! Who may send a single-chat message to whom (SPEC §3 rule 1, §9.3).

use serde_json::Value;

use crate::error::ApiError;

/// What the recipient's settings and the conversation say about one sender.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleChatFacts {
    /// The recipient's friendship row for the sender has `isblack` set.
    pub blacklisted: bool,
    /// The recipient has the sender as an active, non-blacklisted friend.
    pub friends: bool,
    /// The recipient has already sent the sender a message (the sender is answering).
    pub answering: bool,
    /// The sender has already sent this recipient a message.
    pub sent_before: bool,
    /// The recipient's `chatset` value for the sender's role: 0 friends only, 1 one message, 2 free.
    pub chatset: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Blacklisted,
    NotFriends,
    OneMessageUsed,
}

impl Refusal {
    pub fn error(self) -> ApiError {
        match self {
            Refusal::Blacklisted => ApiError::bad(
                "the recipient has blocked you; the message was not sent",
                "对方已把你拉黑，消息未发送",
            ),
            Refusal::NotFriends => ApiError::bad(
                "you are not this user's friend; add them as a friend first",
                "你不是对方的好友，请先添加好友",
            ),
            Refusal::OneMessageUsed => ApiError::bad(
                "you may send one message until the recipient replies or adds you as a friend",
                "对方回复或添加你为好友之前，你只能发送一条消息",
            ),
        }
    }
}

/// A blacklist always wins; then friends, an answer, or the recipient's `chatset` allow it.
pub fn may_send_single(f: &SingleChatFacts) -> Result<(), Refusal> {
    if f.blacklisted {
        return Err(Refusal::Blacklisted);
    }
    if f.friends || f.answering {
        return Ok(());
    }
    match f.chatset {
        2 => Ok(()),
        1 if !f.sent_before => Ok(()),
        1 => Err(Refusal::OneMessageUsed),
        _ => Err(Refusal::NotFriends),
    }
}

/// Whether [`may_send_single`] reads `answering`: not when a blacklist or a friendship already
/// decides. Each of the two history facts is a query over the conversation, so a friend's message,
/// the usual case, should not pay for either.
pub fn needs_answering(f: &SingleChatFacts) -> bool {
    !f.blacklisted && !f.friends
}

/// Whether [`may_send_single`] reads `sent_before`: only for a `chatset` of 1 (one message until
/// a reply) when nothing before it decided.
pub fn needs_sent_before(f: &SingleChatFacts) -> bool {
    needs_answering(f) && !f.answering && f.chatset == 1
}

/// The recipient's `chatset` value for a sender of `role` ("user" or "visitor") from their
/// `userset` JSON text; 0 when absent or unparsable.
pub fn chatset_for(userset: &str, role: &str) -> i64 {
    serde_json::from_str::<Value>(userset)
        .ok()
        .and_then(|v| {
            let c = v.get("chatset")?.get(role)?;
            c.as_i64().or_else(|| c.as_str()?.parse().ok())
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> SingleChatFacts {
        SingleChatFacts::default()
    }

    #[test]
    fn strangers_need_chatset() {
        assert_eq!(may_send_single(&facts()), Err(Refusal::NotFriends));
        let f = SingleChatFacts {
            chatset: 2,
            ..facts()
        };
        assert_eq!(may_send_single(&f), Ok(()));
    }

    #[test]
    fn chatset_one_allows_a_single_message_until_reply() {
        let f = SingleChatFacts {
            chatset: 1,
            ..facts()
        };
        assert_eq!(may_send_single(&f), Ok(()));
        let f = SingleChatFacts {
            chatset: 1,
            sent_before: true,
            ..facts()
        };
        assert_eq!(may_send_single(&f), Err(Refusal::OneMessageUsed));
        let f = SingleChatFacts {
            chatset: 1,
            sent_before: true,
            answering: true,
            ..facts()
        };
        assert_eq!(may_send_single(&f), Ok(()));
    }

    #[test]
    fn blacklist_always_wins() {
        let f = SingleChatFacts {
            blacklisted: true,
            friends: true,
            chatset: 2,
            ..facts()
        };
        assert_eq!(may_send_single(&f), Err(Refusal::Blacklisted));
    }

    #[test]
    fn friends_and_answers_pass() {
        assert_eq!(
            may_send_single(&SingleChatFacts {
                friends: true,
                ..facts()
            }),
            Ok(())
        );
        assert_eq!(
            may_send_single(&SingleChatFacts {
                answering: true,
                ..facts()
            }),
            Ok(())
        );
    }

    /// Every combination of facts: where a `needs_*` says a fact is not read, either value of it
    /// gives the same decision, so leaving it unqueried (false) changes nothing.
    #[test]
    fn the_facts_left_unread_never_change_the_decision() {
        let bools = [false, true];
        for blacklisted in bools {
            for friends in bools {
                for answering in bools {
                    for sent_before in bools {
                        for chatset in 0..=2 {
                            let f = SingleChatFacts {
                                blacklisted,
                                friends,
                                answering,
                                sent_before,
                                chatset,
                            };
                            let d = may_send_single(&f);
                            if !needs_answering(&f) {
                                let g = SingleChatFacts {
                                    answering: !answering,
                                    sent_before: !sent_before,
                                    ..f
                                };
                                assert_eq!(may_send_single(&g), d, "{f:?}");
                            }
                            if !needs_sent_before(&f) {
                                let g = SingleChatFacts {
                                    sent_before: !sent_before,
                                    ..f
                                };
                                assert_eq!(may_send_single(&g), d, "{f:?}");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_friend_or_a_blacklist_needs_no_history() {
        let friend = SingleChatFacts {
            friends: true,
            chatset: 1,
            ..facts()
        };
        assert!(!needs_answering(&friend) && !needs_sent_before(&friend));
        let stranger = SingleChatFacts {
            chatset: 1,
            ..facts()
        };
        assert!(needs_answering(&stranger) && needs_sent_before(&stranger));
        let free = SingleChatFacts {
            chatset: 2,
            ..facts()
        };
        assert!(needs_answering(&free) && !needs_sent_before(&free));
    }

    #[test]
    fn reads_chatset_from_userset() {
        assert_eq!(
            chatset_for(r#"{"chatset":{"visitor":1,"user":2}}"#, "visitor"),
            1
        );
        assert_eq!(
            chatset_for(r#"{"chatset":{"visitor":1,"user":"2"}}"#, "user"),
            2
        );
        assert_eq!(chatset_for("", "user"), 0);
        assert_eq!(chatset_for("{}", "user"), 0);
    }
}
