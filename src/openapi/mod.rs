//! The OpenAPI 3.1 document of the whole HTTP API (`GET /api/openapi.json`), made from
//! [`endpoints::OPS`] with utoipa's model types, and the browsable page (`GET /api/docs`):
//! Swagger UI from the `utoipa-swagger-ui` crate's vendored copy, served by chatd itself, so
//! the page works offline and the build downloads nothing outside the package registries. The
//! WebSocket frames of both dialects are `docs/websocket.md`, carried in the document's
//! description (Swagger UI renders it at the top of the page).

pub mod endpoints;

use std::sync::OnceLock;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, RefBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathItem, PathsBuilder, RefOr,
    Required,
};

use endpoints::{Answer, At, Field, Op, Ty, Who, M, OPS};

/// The WebSocket reference, shown at the top of the documentation page.
const WEBSOCKET: &str = include_str!("../../docs/websocket.md");

const TAGS: &[(&str, &str)] = &[
    ("accounts", "Registration, login, profile and settings (SPEC §1)"),
    ("visitors", "Guest accounts made from a signed device id (SPEC §1)"),
    ("friends", "Applications and friendships; users only (SPEC §2)"),
    (
        "messages",
        "Sending, offline delivery, history, sync, revoke, read positions, conversations, presence (SPEC §3)",
    ),
    ("groups", "Groups of the rich dialect (SPEC §4)"),
    ("files", "Uploads, screenshots, served files (SPEC §6)"),
    ("realtime", "The WebSocket of both dialects (SPEC §3, §5)"),
    (
        "compact",
        "The compact API of seed 003: bare JSON answers (SPEC §5)",
    ),
    ("operations", "Health, metrics and this documentation (SPEC §8)"),
];

fn method(m: M) -> HttpMethod {
    match m {
        M::Get => HttpMethod::Get,
        M::Post => HttpMethod::Post,
        M::Put => HttpMethod::Put,
        M::Delete => HttpMethod::Delete,
    }
}

fn schema(ty: Ty, about: &str) -> RefOr<Schema> {
    let about = (!about.is_empty()).then_some(about);
    match ty {
        Ty::Int => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .description(about)
            .into(),
        Ty::Str => ObjectBuilder::new()
            .schema_type(Type::String)
            .description(about)
            .into(),
        Ty::Bool => ObjectBuilder::new()
            .schema_type(Type::Boolean)
            .description(about)
            .into(),
        Ty::Ints => ArrayBuilder::new()
            .items(ObjectBuilder::new().schema_type(Type::Integer))
            .description(about)
            .into(),
        Ty::Object => ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(about)
            .into(),
        Ty::File => ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(about)
            .into(),
    }
}

/// The body of `op`: its body (or multipart) fields as one object, in JSON and as a form.
fn request_body(op: &Op) -> Option<utoipa::openapi::request_body::RequestBody> {
    let fields: Vec<&Field> = op
        .params
        .iter()
        .filter(|p| matches!(p.at, At::Body | At::Part))
        .collect();
    if fields.is_empty() {
        return None;
    }
    let mut object = ObjectBuilder::new().schema_type(Type::Object);
    for p in &fields {
        object = object.property(p.name, schema(p.ty, p.about));
        if p.required {
            object = object.required(p.name);
        }
    }
    let object: RefOr<Schema> = object.into();
    let multipart = fields.iter().any(|p| p.at == At::Part);
    let mut body = RequestBodyBuilder::new().required(Some(Required::True));
    let kinds: &[&str] = if multipart {
        &["multipart/form-data"]
    } else {
        &["application/json", "application/x-www-form-urlencoded"]
    };
    for kind in kinds {
        body = body.content(
            *kind,
            ContentBuilder::new().schema(Some(object.clone())).build(),
        );
    }
    Some(body.build())
}

fn security(who: Who) -> Vec<SecurityRequirement> {
    let names: &[&str] = match who {
        Who::User | Who::Member => &["token", "bearer", "access_token"],
        Who::Scraper => &["bearer"],
        Who::ApiKey => &["api_key"],
        Who::Anyone | Who::Signed => &[],
    };
    names
        .iter()
        .map(|n| SecurityRequirement::new(*n, Vec::<String>::new()))
        .collect()
}

fn reason(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(
                RefBuilder::new().ref_location_from_schema_name("Failure"),
            ))
            .build(),
    )
}

fn operation(op: &Op) -> utoipa::openapi::path::Operation {
    let who = match op.who {
        Who::Anyone => "Anyone.",
        Who::User => "Registered users (a visitor gets 403).",
        Who::Member => "Users and visitors.",
        Who::Signed => "Anyone with a signed device id.",
        Who::ApiKey => "Servers holding the notification key.",
        Who::Scraper => "A scraper (a bearer token when `CHAT_METRICS_TOKEN` is set).",
    };
    let mut b = OperationBuilder::new()
        .operation_id(Some(operation_id(op)))
        .tag(op.tag)
        .summary(Some(op.summary))
        .description(Some(who));
    for p in op.params {
        let at = match p.at {
            At::Path => ParameterIn::Path,
            At::Query => ParameterIn::Query,
            At::Header => ParameterIn::Header,
            At::Body | At::Part => continue,
        };
        b = b.parameter(
            ParameterBuilder::new()
                .name(p.name)
                .parameter_in(at)
                .required(if p.required {
                    Required::True
                } else {
                    Required::False
                })
                .description((!p.about.is_empty()).then_some(p.about))
                .schema(Some(schema(p.ty, ""))),
        );
    }
    b = b.request_body(request_body(op));
    let ok = match op.answer {
        Answer::Envelope => ResponseBuilder::new()
            .description(format!("`data`: {}", op.ok))
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(
                        RefBuilder::new().ref_location_from_schema_name("Success"),
                    ))
                    .build(),
            ),
        Answer::Bare => ResponseBuilder::new()
            .description(op.ok)
            .content("application/json", ContentBuilder::new().build()),
        Answer::Png => ResponseBuilder::new()
            .description(op.ok)
            .content("image/png", ContentBuilder::new().build()),
        Answer::Text => ResponseBuilder::new().description(op.ok),
        Answer::Upgrade => ResponseBuilder::new().description(op.ok),
    };
    let ok_status = if op.answer == Answer::Upgrade {
        "101"
    } else {
        "200"
    };
    b = b.response(ok_status, ok);
    if matches!(op.who, Who::User | Who::Member) {
        b = b.response(
            "401",
            reason("no token, or an invalid, expired or revoked one"),
        );
    }
    if op.who == Who::User {
        b = b.response("403", reason("a visitor's token (or as below)"));
    }
    if op.answer == Answer::Envelope && !op.params.is_empty() {
        b = b.response(
            "422",
            reason("a parameter is missing or breaks its rule (`data` names it)"),
        );
    }
    for (status, why) in op.errors {
        b = b.response(status.to_string(), reason(why));
    }
    b = b.response("500", reason("an internal error (no internals are shown)"));
    for s in security(op.who) {
        b = b.security(s);
    }
    b.build()
}

/// `post_api_chat_read` for `POST /api/chat/read`.
pub fn operation_id(op: &Op) -> String {
    let mut id = op.method.as_str().to_ascii_lowercase();
    for part in op.path.split('/').filter(|s| !s.is_empty()) {
        id.push('_');
        id.push_str(part.trim_matches(|c| c == '{' || c == '}'));
    }
    id.replace(['.', '-'], "_")
}

/// `{"msg": <msg>, "data": <data>}`: the rich dialect's answer.
fn envelope(msg: &str, data: ObjectBuilder) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "msg",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([msg])),
        )
        .required("msg")
        .property("data", data)
        .required("data")
}

fn components() -> utoipa::openapi::Components {
    let reason = envelope(
        "fail",
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "the reason, in the language of `Accept-Language` (English or Chinese)",
            )),
    );
    let success = envelope(
        "ok",
        ObjectBuilder::new().description(Some("what the operation answers")),
    );
    let header = |name: &str, about: &str| {
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, about)))
    };
    ComponentsBuilder::new()
        .schema("Success", success)
        .schema("Failure", reason)
        .security_scheme("token", header("token", "the login token (seeds 000–002)"))
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        )
        .security_scheme(
            "access_token",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "access_token",
                "the login token in the query (seed 003; `token` works too)",
            ))),
        )
        .security_scheme("api_key", header("X-Api-Key", "the notification key"))
        .build()
}

/// The document.
pub fn document() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for op in OPS {
        paths = paths.path(op.path, PathItem::new(method(op.method), operation(op)));
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("chatd")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(WEBSOCKET))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components()))
        .tags(Some(TAGS.iter().map(|(name, about)| {
            TagBuilder::new()
                .name(*name)
                .description(Some(*about))
                .build()
        })))
        .build()
}

/// The document as JSON, made once.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        serde_json::to_string(&document()).unwrap_or_else(|e| {
            // The document is made of our own constants: this is a bug, said plainly.
            format!(r#"{{"error":"the OpenAPI document cannot be rendered: {e}"}}"#)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_in_the_document_once() {
        let doc: serde_json::Value = serde_json::from_str(json()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(doc["openapi"], "3.1.0");
        let mut ids = std::collections::HashSet::new();
        for op in OPS {
            let item = &doc["paths"][op.path][op.method.as_str().to_ascii_lowercase()];
            assert!(
                item.is_object(),
                "{} {} missing",
                op.method.as_str(),
                op.path
            );
            assert!(ids.insert(operation_id(op)), "{} twice", operation_id(op));
            // Every `{name}` of the path is a path parameter of the operation.
            for seg in op.path.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(|c| c == '{' || c == '}');
                assert!(
                    op.params.iter().any(|p| p.at == At::Path && p.name == name),
                    "{} has no path parameter {name}",
                    op.path
                );
            }
        }
        assert_eq!(operation_id(&OPS[0]), "post_api_regChat");
    }
}
