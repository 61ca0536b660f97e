//! Account input rules (SPEC §0 Validation, §1).

use crate::error::ApiError;
use crate::i18n::Msg;

/// `^[A-Za-z0-9_]{4,20}$`
pub fn valid_username(name: &str) -> bool {
    (4..=20).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

pub fn check_username(name: &str) -> Result<(), ApiError> {
    if valid_username(name) {
        Ok(())
    } else {
        Err(ApiError::Invalid(Msg::new(
            "username must be 4-20 letters, digits or underscores",
            "username 必须是 4-20 位字母、数字或下划线",
        )))
    }
}

/// 6–20 characters.
pub fn check_password(field: &'static str, pw: &str) -> Result<(), ApiError> {
    let n = pw.chars().count();
    if (6..=20).contains(&n) {
        Ok(())
    } else {
        Err(ApiError::Invalid(Msg::owned(
            format!("{field} must be 6-20 characters"),
            format!("{field} 长度必须为 6-20 个字符"),
        )))
    }
}

/// Escapes LIKE wildcards so a keyword matches literally (escape character `\`).
pub fn like_pattern(keyword: &str) -> String {
    let mut p = String::with_capacity(keyword.len() + 2);
    p.push('%');
    for c in keyword.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(valid_username("my_01"));
        assert!(!valid_username("abc"));
        assert!(!valid_username("a".repeat(21).as_str()));
        assert!(!valid_username("bad-name"));
        assert!(!valid_username("好友好友"));
    }

    #[test]
    fn passwords_count_characters() {
        assert!(check_password("password", "123456").is_ok());
        assert!(check_password("password", "12345").is_err());
        assert!(check_password("password", "密码密码密码").is_ok());
        assert!(check_password("password", &"x".repeat(21)).is_err());
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
    }
}
