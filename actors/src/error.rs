//! The crate's one error type.

#[derive(Debug, thiserror::Error)]
pub enum ActorsError {
    #[error(transparent)]
    Store(#[from] chatd_schema::StoreError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("the message writer has stopped")]
    WriterGone,
    #[error("the group's actor has stopped")]
    GroupGone,
    #[error("the registry has stopped")]
    RegistryGone,
}
