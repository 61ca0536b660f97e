//! The visitor checks of SPEC §1, in the order the spec gives, each with its own reason. The
//! signature is seed 001's `generateSign`: the parameters `deviceId`, `salt`, `timestamp` sorted
//! by key, joined as `k=v` with `&`, the app secret appended, SHA-256, lower-case hex.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

pub fn sign(device_id: &str, timestamp: &str, salt: &str, app_secret: &str) -> String {
    let text = format!("deviceId={device_id}&salt={salt}&timestamp={timestamp}{app_secret}");
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// `^[\w-]{36}$` (JavaScript's `\w` is `[A-Za-z0-9_]`).
pub fn valid_device_id(id: &str) -> bool {
    id.len() == 36
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitorRefusal {
    MissingHeader,
    BadSignature,
    Expired,
    BadDevice,
}

impl VisitorRefusal {
    pub fn error(self) -> ApiError {
        match self {
            VisitorRefusal::MissingHeader => ApiError::bad("illegal access", "非法访问"),
            VisitorRefusal::BadSignature => ApiError::bad("illegal signature", "非法签名"),
            VisitorRefusal::Expired => ApiError::bad("request expired", "请求已过期"),
            VisitorRefusal::BadDevice => ApiError::bad("invalid device id", "无效标识"),
        }
    }
}

/// Checks 2–4 (the header's presence, check 1, is checked before parameters are read).
pub fn check(
    header_sign: &str,
    device_id: &str,
    timestamp: &str,
    now_ms: i64,
    salt: &str,
    app_secret: &str,
) -> Result<(), VisitorRefusal> {
    let expected = sign(device_id, timestamp, salt, app_secret);
    let given = header_sign.trim().to_ascii_lowercase();
    if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(VisitorRefusal::BadSignature);
    }
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VisitorRefusal::Expired)?;
    if (now_ms - ts).abs() > 5 * 60 * 1000 {
        return Err(VisitorRefusal::Expired);
    }
    if !valid_device_id(device_id) {
        return Err(VisitorRefusal::BadDevice);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEV: &str = "0123456789abcdef0123456789abcdef-_AZ";

    #[test]
    fn signature_is_seed_generate_sign() {
        // sha256("deviceId=d&salt=s&timestamp=1APP") computed independently.
        let expected = hex::encode(Sha256::digest(b"deviceId=d&salt=s&timestamp=1APP"));
        assert_eq!(sign("d", "1", "s", "APP"), expected);
    }

    #[test]
    fn checks_in_order() {
        let now = 1_700_000_000_000i64;
        let ts = now.to_string();
        let good = sign(DEV, &ts, "s", "a");
        assert_eq!(check(&good, DEV, &ts, now, "s", "a"), Ok(()));
        assert_eq!(check(&good.to_uppercase(), DEV, &ts, now, "s", "a"), Ok(()));
        assert_eq!(
            check("nope", DEV, &ts, now, "s", "a"),
            Err(VisitorRefusal::BadSignature)
        );
        let old = (now - 301_000).to_string();
        let old_sign = sign(DEV, &old, "s", "a");
        assert_eq!(
            check(&old_sign, DEV, &old, now, "s", "a"),
            Err(VisitorRefusal::Expired)
        );
        let future = (now + 301_000).to_string();
        let f_sign = sign(DEV, &future, "s", "a");
        assert_eq!(
            check(&f_sign, DEV, &future, now, "s", "a"),
            Err(VisitorRefusal::Expired)
        );
        let bad_dev = "short";
        let b_sign = sign(bad_dev, &ts, "s", "a");
        assert_eq!(
            check(&b_sign, bad_dev, &ts, now, "s", "a"),
            Err(VisitorRefusal::BadDevice)
        );
    }

    #[test]
    fn device_ids() {
        assert!(valid_device_id(DEV));
        assert!(!valid_device_id(&format!("{DEV}x")));
        assert!(!valid_device_id("0123456789abcdef0123456789abcdef-_A!"));
    }
}
