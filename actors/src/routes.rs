//! [`Routes`]: the route table of this node, read by every delivery (the fast lane) under a read
//! lock; only the registry actor writes it.

use kameo::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chatd_schema::{GroupId, UserId};

use crate::group::GroupRef;
use crate::online::Online;
use crate::opening::Opening;
use crate::user::UserActor;

/// Users with a socket here. User ids are the server's own numbers, never chosen by a client,
/// so the map can use a fast hash instead of the default SipHash (a pass looks up every member).
pub(crate) type UserMap = HashMap<UserId, Online, foldhash::fast::RandomState>;

/// The route table. Read by anyone holding it; written only by the [`RegistryActor`](crate::registry::RegistryActor).
#[derive(Default)]
pub struct Routes {
    /// A user is here while at least one of their sockets is attached. A push never lands on a
    /// detached socket: detach takes the write lock, deliveries hold the read lock.
    pub(crate) users: RwLock<UserMap>,
    /// The actor of each user with a socket here (it owns the sockets `users` lists).
    pub(crate) actors: RwLock<HashMap<UserId, ActorRef<UserActor>>>,
    pub(crate) groups: RwLock<HashMap<GroupId, GroupRef>>,
    /// Sockets answered with their 101 that no user actor has taken yet.
    pub(crate) opening: Arc<Opening>,
}

impl Routes {
    pub(crate) fn users(&self) -> RwLockReadGuard<'_, UserMap> {
        self.users.read().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn users_mut(&self) -> RwLockWriteGuard<'_, UserMap> {
        self.users.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn live_group(&self, group_id: GroupId) -> Option<GroupRef> {
        self.groups
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&group_id)
            .filter(|g| g.is_alive())
            .cloned()
    }

    pub fn user_actor(&self, user_id: UserId) -> Option<ActorRef<UserActor>> {
        self.actors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&user_id)
            .filter(|a| a.is_alive())
            .cloned()
    }

    pub(crate) fn actors_mut(&self) -> RwLockWriteGuard<'_, HashMap<UserId, ActorRef<UserActor>>> {
        self.actors.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Every live group actor here.
    pub(crate) fn live_groups(&self) -> Vec<GroupRef> {
        self.groups
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|g| g.is_alive())
            .cloned()
            .collect()
    }

    pub(crate) fn groups_mut(&self) -> RwLockWriteGuard<'_, HashMap<GroupId, GroupRef>> {
        self.groups.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the user's socket list, if the user has a socket here.
    pub fn with_online<R>(&self, user_id: UserId, f: impl FnOnce(&Online) -> R) -> Option<R> {
        self.users().get(&user_id).map(f)
    }

    pub fn is_online(&self, user_id: UserId) -> bool {
        self.users().contains_key(&user_id)
    }

    /// The users with a socket here.
    pub fn online_ids(&self) -> Vec<UserId> {
        self.users().keys().copied().collect()
    }

    /// Number of users with a socket here.
    pub fn online_users(&self) -> usize {
        self.users().len()
    }
}
