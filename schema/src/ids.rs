//! Typed ids, from the schema up: a user id cannot be passed where a group id belongs (a delivery
//! target, a route, a member list), nor a message's internal id where either does. Each is the
//! column's own type to diesel (`DieselNewType`) and a bare number or string to serde, so rows,
//! queries and JSON keep their shape.

use diesel_derive_newtype::DieselNewType;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! int_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, DieselNewType,
            Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }
    };
}

int_id!(
    /// A user (`users.id`). `UserId(0)` is the system, the author of server notices.
    UserId
);
int_id!(
    /// A group (`chat_groups.id`).
    GroupId
);
int_id!(
    /// A stored message's internal id (`messages.id`: arrival order across conversations). Clients
    /// know messages by their uuid.
    MessageId
);

/// A login session (`sessions.id`, the token's `sid`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, DieselNewType, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(pub String);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl UserId {
    /// The author of server notices (system messages, announcements by the server).
    pub const SYSTEM: UserId = UserId(0);

    /// A real user, not the system.
    pub fn is_user(self) -> bool {
        self.0 > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_bare_values_in_json() {
        assert_eq!(serde_json::to_string(&UserId(7)).unwrap(), "7");
        assert_eq!(serde_json::from_str::<GroupId>("9").unwrap(), GroupId(9));
        assert_eq!(
            serde_json::to_string(&SessionId("s".into())).unwrap(),
            "\"s\""
        );
        assert_eq!(UserId(3).to_string(), "3");
    }
}
