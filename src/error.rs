//! The one error type of the server, each variant naming its HTTP status. Rendered once into the
//! `{"msg":"fail","data":reason}` envelope (rich API) or a bare JSON reason (compact API).

use crate::i18n::{Lang, Msg};
use warp::http::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: a business rule refused the request.
    #[error("{}", .0.en)]
    BadRequest(Msg),
    /// 401: missing, invalid or revoked token.
    #[error("{}", .0.en)]
    Unauthorized(Msg),
    /// 403: authenticated but not allowed.
    #[error("{}", .0.en)]
    Forbidden(Msg),
    /// 404: no such resource.
    #[error("{}", .0.en)]
    NotFound(Msg),
    /// 408: the request body did not arrive in time (the connection is closed after it).
    #[error("{}", .0.en)]
    Timeout(Msg),
    /// 413: too large.
    #[error("{}", .0.en)]
    TooLarge(Msg),
    /// 415: an upload whose content is not an allowed type.
    #[error("{}", .0.en)]
    Unsupported(Msg),
    /// 422: a parameter failed validation (the reason names the field and the rule).
    #[error("{}", .0.en)]
    Invalid(Msg),
    /// 429: rate limited.
    #[error("{}", .0.en)]
    RateLimited(Msg),
    /// 503: the server cannot take this now (too many WebSockets opening at once); try again.
    #[error("{}", .0.en)]
    Unavailable(Msg),
    /// 507: the store cannot write for lack of space (SPEC §9.27); nothing was changed.
    #[error("{}", .0.en)]
    StorageFull(Msg),
    /// 500: logged in full, answered generically.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::StorageFull(_) => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The reason a client sees.
    pub fn reason(&self, lang: Lang) -> String {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Unauthorized(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Timeout(m)
            | ApiError::TooLarge(m)
            | ApiError::Unsupported(m)
            | ApiError::Invalid(m)
            | ApiError::RateLimited(m)
            | ApiError::Unavailable(m)
            | ApiError::StorageFull(m) => m.get(lang).to_string(),
            ApiError::Internal(_) => match lang {
                Lang::En => "internal server error".into(),
                Lang::Zh => "服务器内部错误".into(),
            },
        }
    }

    pub fn bad(en: &'static str, zh: &'static str) -> ApiError {
        ApiError::BadRequest(Msg::new(en, zh))
    }
    pub fn bad_owned(en: String, zh: String) -> ApiError {
        ApiError::BadRequest(Msg::owned(en, zh))
    }
    pub fn forbidden(en: &'static str, zh: &'static str) -> ApiError {
        ApiError::Forbidden(Msg::new(en, zh))
    }
    pub fn not_found(en: &'static str, zh: &'static str) -> ApiError {
        ApiError::NotFound(Msg::new(en, zh))
    }
    pub fn unauthorized() -> ApiError {
        ApiError::Unauthorized(Msg::new(
            "missing, invalid or revoked token; please log in",
            "token 缺失、无效或已失效，请重新登录",
        ))
    }
    pub fn users_only() -> ApiError {
        ApiError::forbidden(
            "only registered users may do this; visitors must log in",
            "游客无此权限，请先登录",
        )
    }
    pub fn storage_full() -> ApiError {
        ApiError::StorageFull(Msg::new(
            "the server's storage is full: nothing was stored; try again later",
            "服务器存储空间已满，未能保存，请稍后重试",
        ))
    }
}

impl From<chatd_schema::StoreError> for ApiError {
    fn from(e: chatd_schema::StoreError) -> Self {
        if e.is_storage_full() {
            tracing::error!(error = %e, "the store cannot write: storage full");
            return ApiError::storage_full();
        }
        ApiError::Internal(e.to_string())
    }
}

impl From<chatd_actors::ActorsError> for ApiError {
    fn from(e: chatd_actors::ActorsError) -> Self {
        match e {
            chatd_actors::ActorsError::Store(e) => e.into(),
            e => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<redis::RedisError> for ApiError {
    fn from(e: redis::RedisError) -> Self {
        ApiError::Internal(format!("redis: {e}"))
    }
}
