//! System messages (from user 0, "System"): welcome, friend applications and their answers.
//! They are messages like any other (SPEC §9.10): stored with `seq`, pushed, queued offline.

use chatd_actors::{Accepted, Route, Target};
use chatd_schema::models::User;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::ops::message::{new_message, ChatType, Content, Party};
use crate::state::AppState;

pub const SYSTEM_ID: i64 = 0;
pub const SYSTEM_NAME: &str = "System";

pub fn redirect(url: &str) -> Value {
    json!({"url": url, "type": "navigateTo"})
}

/// Sends `text` from System to `to` as a single-chat message of `msg_type`, with `extra` fields
/// (redirect, actionType…) merged into the message object.
pub async fn system_message(
    app: &AppState,
    to: &User,
    msg_type: &str,
    text: &str,
    mut extra: Map<String, Value>,
) -> Result<Accepted, ApiError> {
    extra.insert("msgidKey".into(), json!(SYSTEM_ID));
    let system = Party {
        id: SYSTEM_ID,
        name: SYSTEM_NAME.into(),
        avatar: String::new(),
    };
    let content = Content::system(msg_type, text, Value::Object(extra));
    let msg = new_message(
        ChatType::Single,
        system,
        Party::user(to),
        content,
        app.clock.now_ms(),
    );
    Ok(app
        .writer
        .submit(msg, Route::Targets(vec![Target::recipient(to.id)]))
        .await?)
}
