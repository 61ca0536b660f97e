//! System messages (from user 0, "System"): welcome, friend applications and their answers.
//! They are messages like any other (SPEC §9.10): stored with `seq`, pushed, queued offline.

use chatd_actors::{Accepted, Route, Target};
use chatd_schema::conv;
use chatd_schema::models::{NewMessage, User};
use serde_json::{json, Map, Value};

use crate::app::AppState;
use crate::error::ApiError;

pub const SYSTEM_ID: i64 = 0;
pub const SYSTEM_NAME: &str = "System";

/// Message `data` as the seed clients expect it: JSON text of `{data, dataType, otherData}`.
pub fn text_data(text: &str) -> String {
    json!({"data": text, "dataType": false, "otherData": null}).to_string()
}

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
    let msg = NewMessage {
        uuid: uuid::Uuid::new_v4().to_string(),
        conv_key: conv::single(SYSTEM_ID, to.id),
        chat_type: "single".into(),
        msg_type: msg_type.into(),
        from_id: SYSTEM_ID,
        to_id: to.id,
        from_name: SYSTEM_NAME.into(),
        from_avatar: String::new(),
        to_name: to.display_name().to_string(),
        to_avatar: to.avatar.clone(),
        data: text_data(text),
        options: "{}".into(),
        extra: Some(Value::Object(extra).to_string()),
        client_msg_id: None,
        create_time: app.clock.now_ms(),
    };
    Ok(app
        .writer
        .submit(msg, Route::Targets(vec![Target::recipient(to.id)]))
        .await?)
}
