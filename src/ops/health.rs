//! Readiness (`GET /readyz`): whether the store answers. (Redis joins the check with the
//! operations issue, 18.)

use crate::error::ApiError;
use crate::state::AppState;
use chatd_schema::UserId;

/// Ok when the store answers a query.
pub async fn ready(app: &AppState) -> Result<(), ApiError> {
    app.store.user_by_id(UserId::SYSTEM).await?;
    Ok(())
}
