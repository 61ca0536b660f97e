//! Request parameters: query string, `application/x-www-form-urlencoded` and `application/json`
//! bodies merged into one map (body wins), with typed getters whose failures are 422s naming the
//! field and the rule. Arrays arrive as `k[]=1&k[]=2`, `k=1,2`, repeated keys or JSON arrays.

use chatd_schema::{GroupId, UserId};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::i18n::Msg;

#[derive(Debug, Default, Clone)]
pub struct Params {
    map: Map<String, Value>,
}

fn insert_pair(map: &mut Map<String, Value>, key: String, value: String) {
    let (key, forced_array) = match key.strip_suffix("[]") {
        Some(k) => (k.to_string(), true),
        None => (key, false),
    };
    match map.get_mut(&key) {
        Some(Value::Array(a)) => a.push(Value::String(value)),
        Some(existing) => {
            let prev = existing.take();
            *existing = Value::Array(vec![prev, Value::String(value)]);
        }
        None if forced_array => {
            map.insert(key, Value::Array(vec![Value::String(value)]));
        }
        None => {
            map.insert(key, Value::String(value));
        }
    }
}

fn invalid(en: String, zh: String) -> ApiError {
    ApiError::Invalid(Msg::owned(en, zh))
}

impl Params {
    /// Merges the query string and the body (by content type).
    pub fn parse(query: &str, content_type: Option<&str>, body: &[u8]) -> Result<Params, ApiError> {
        let mut map = Map::new();
        if !query.is_empty() {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
                .map_err(|_| invalid("malformed query string".into(), "查询参数格式错误".into()))?;
            for (k, v) in pairs {
                insert_pair(&mut map, k, v);
            }
        }
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        let trimmed = body.iter().position(|b| !b.is_ascii_whitespace());
        if let Some(start) = trimmed {
            let looks_json = body[start] == b'{';
            if ct.starts_with("application/json") || (looks_json && !ct.contains("form")) {
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(obj)) => {
                        for (k, v) in obj {
                            map.insert(k.trim_end_matches("[]").to_string(), v);
                        }
                    }
                    _ => {
                        return Err(invalid(
                            "the JSON body must be an object".into(),
                            "JSON 请求体必须是对象".into(),
                        ))
                    }
                }
            } else if !ct.starts_with("multipart/") {
                let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
                    .map_err(|_| invalid("malformed form body".into(), "表单格式错误".into()))?;
                // Body values replace query values of the same name.
                let mut body_map = Map::new();
                for (k, v) in pairs {
                    insert_pair(&mut body_map, k, v);
                }
                for (k, v) in body_map {
                    map.insert(k, v);
                }
            }
        }
        Ok(Params { map })
    }

    pub fn from_map(map: Map<String, Value>) -> Params {
        Params { map }
    }

    pub fn raw(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    /// The value as text (numbers and booleans as written); `None` when absent or null.
    pub fn opt_str(&self, key: &str) -> Option<String> {
        match self.map.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A required text of `min..=max` characters.
    pub fn str_len(&self, key: &str, min: usize, max: usize) -> Result<String, ApiError> {
        let v = self.opt_str(key).unwrap_or_default();
        if v.is_empty() && min > 0 {
            return Err(invalid(
                format!("{key} is required"),
                format!("{key} 不能为空"),
            ));
        }
        check_len(key, &v, min, max)?;
        Ok(v)
    }

    /// An optional text of at most `max` characters ("" when absent).
    pub fn opt_str_max(&self, key: &str, max: usize) -> Result<String, ApiError> {
        let v = self.opt_str(key).unwrap_or_default();
        check_len(key, &v, 0, max)?;
        Ok(v)
    }

    pub fn opt_i64(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.opt_str(key) {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => s.trim().parse::<i64>().map(Some).map_err(|_| {
                invalid(
                    format!("{key} must be an integer"),
                    format!("{key} 必须是整数"),
                )
            }),
        }
    }

    /// A required integer of at least `min`.
    /// A user id (a positive integer).
    pub fn user_id(&self, key: &str) -> Result<UserId, ApiError> {
        self.i64_min(key, 1).map(UserId)
    }

    /// A group id (a positive integer).
    pub fn group_id(&self, key: &str) -> Result<GroupId, ApiError> {
        self.i64_min(key, 1).map(GroupId)
    }

    pub fn i64_min(&self, key: &str, min: i64) -> Result<i64, ApiError> {
        match self.opt_i64(key)? {
            None => Err(invalid(
                format!("{key} is required"),
                format!("{key} 不能为空"),
            )),
            Some(v) if v < min => Err(invalid(
                format!("{key} must be at least {min}"),
                format!("{key} 不能小于 {min}"),
            )),
            Some(v) => Ok(v),
        }
    }

    /// An optional integer within `min..=max`.
    pub fn opt_i64_range(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match self.opt_i64(key)? {
            Some(v) if v < min || v > max => Err(invalid(
                format!("{key} must be between {min} and {max}"),
                format!("{key} 必须在 {min} 到 {max} 之间"),
            )),
            v => Ok(v),
        }
    }

    /// One of `allowed`, or `default` when absent.
    pub fn one_of(&self, key: &str, allowed: &[&str], default: &str) -> Result<String, ApiError> {
        match self.opt_str(key) {
            None => Ok(default.to_string()),
            Some(v) if allowed.contains(&v.as_str()) => Ok(v),
            Some(_) => Err(invalid(
                format!("{key} must be one of {}", allowed.join(", ")),
                format!("{key} 必须是 {} 之一", allowed.join("、")),
            )),
        }
    }

    /// A list of integer ids from any of the accepted array forms.
    pub fn id_list(&self, key: &str) -> Result<Vec<i64>, ApiError> {
        let bad = || {
            invalid(
                format!("{key} must be a list of ids"),
                format!("{key} 必须是 id 列表"),
            )
        };
        let parse_text = |s: &str| -> Result<Vec<i64>, ApiError> {
            let s = s.trim();
            if s.starts_with('[') {
                let v: Vec<Value> = serde_json::from_str(s).map_err(|_| bad())?;
                return v
                    .iter()
                    .map(|x| chatd_actors::wire::frames::id_value(Some(x)).ok_or_else(bad))
                    .collect();
            }
            s.split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| p.trim().parse::<i64>().map_err(|_| bad()))
                .collect()
        };
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for it in items {
                    match it {
                        Value::String(s) => out.extend(parse_text(s)?),
                        other => out.push(
                            chatd_actors::wire::frames::id_value(Some(other)).ok_or_else(bad)?,
                        ),
                    }
                }
                Ok(out)
            }
            Some(Value::String(s)) => parse_text(s),
            Some(other) => Ok(vec![
                chatd_actors::wire::frames::id_value(Some(other)).ok_or_else(bad)?
            ]),
        }
    }
}

/// Checks a character count (not bytes).
pub fn check_len(key: &str, v: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = v.chars().count();
    if n < min || n > max {
        return Err(invalid(
            format!("{key} must be {min}-{max} characters"),
            format!("{key} 长度必须为 {min}-{max} 个字符"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_query_form_and_json() {
        let p = Params::parse(
            "a=1&b=q",
            Some("application/x-www-form-urlencoded"),
            b"b=form&c=3",
        )
        .unwrap_or_default();
        assert_eq!(p.opt_str("a").as_deref(), Some("1"));
        assert_eq!(p.opt_str("b").as_deref(), Some("form"));
        let p =
            Params::parse("", Some("application/json"), br#"{"n":5,"s":"x"}"#).unwrap_or_default();
        assert_eq!(p.opt_i64("n").ok().flatten(), Some(5));
        assert!(Params::parse("", Some("application/json"), b"[1]").is_err());
    }

    #[test]
    fn arrays_in_every_form() {
        let p = Params::parse(
            "",
            Some("application/x-www-form-urlencoded"),
            b"ids%5B%5D=1&ids%5B%5D=2",
        )
        .unwrap_or_default();
        assert_eq!(p.id_list("ids").ok(), Some(vec![1, 2]));
        let p = Params::parse("ids=1,2,3", None, b"").unwrap_or_default();
        assert_eq!(p.id_list("ids").ok(), Some(vec![1, 2, 3]));
        let p =
            Params::parse("", Some("application/json"), br#"{"ids":[4,"5"]}"#).unwrap_or_default();
        assert_eq!(p.id_list("ids").ok(), Some(vec![4, 5]));
        let p = Params::parse("ids=[6,7]", None, b"").unwrap_or_default();
        assert_eq!(p.id_list("ids").ok(), Some(vec![6, 7]));
    }

    #[test]
    fn lengths_count_characters() {
        let p = Params::parse(
            "",
            Some("application/json"),
            r#"{"n":"好友好友"}"#.as_bytes(),
        )
        .unwrap_or_default();
        assert!(p.str_len("n", 1, 4).is_ok());
        assert!(p.str_len("n", 1, 3).is_err());
        assert!(p.str_len("missing", 1, 3).is_err());
        assert!(p.i64_min("n", 1).is_err());
    }
}
