//! File storage rules and helpers (SPEC §6): where uploads live, which names and types are
//! accepted, and the public URL of a stored file. The stored name never comes from the client.

use chrono::{DateTime, FixedOffset, Utc};
use std::path::{Path, PathBuf};

use crate::error::ApiError;
use crate::i18n::Msg;

/// `<data_dir>/uploads`, served read-only at `/public/uploads/`.
pub fn upload_root(data_dir: &Path) -> PathBuf {
    data_dir.join("uploads")
}

/// `^[A-Za-z0-9_-]{1,50}$`: no dots, slashes, percent signs or anything else that could leave
/// the upload directory.
pub fn valid_diydir(s: &str) -> bool {
    (1..=50).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The type of a file by its content (not its name): `(mime, extension)` when it is one of the
/// allowed kinds (images, audio, video, PDF).
pub fn sniff_allowed(head: &[u8]) -> Option<(&'static str, &'static str)> {
    let t = infer::get(head)?;
    let mime = t.mime_type();
    let ok = mime.starts_with("image/")
        || mime.starts_with("audio/")
        || mime.starts_with("video/")
        || mime == "application/pdf";
    ok.then(|| (mime, t.extension()))
}

pub fn unsupported_type() -> ApiError {
    ApiError::Unsupported(Msg::new(
        "this file type is not allowed (images, audio, video and PDF are)",
        "不支持的文件类型（仅支持图片、音频、视频和 PDF）",
    ))
}

/// `<dir>/<YYYYMMDD>/<ms>_<random>.<ext>` relative to the upload root.
pub fn stored_name(dir: &str, now_ms: i64, tz: FixedOffset, ext: &str) -> String {
    let day = DateTime::<Utc>::from_timestamp_millis(now_ms)
        .map(|t| t.with_timezone(&tz).format("%Y%m%d").to_string())
        .unwrap_or_default();
    let rand: u32 = rand::random::<u32>() % 100_000_000;
    format!("{dir}/{day}/{now_ms}_{rand:08}.{ext}")
}

/// Writes `bytes` under the upload root at `rel` (created with its directories).
pub async fn write(root: &Path, rel: &str, bytes: &[u8]) -> Result<PathBuf, ApiError> {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| ApiError::Internal(format!("creating {}: {e}", parent.display())))?;
    }
    tokio::fs::write(&path, bytes)
        .await
        .map_err(|e| ApiError::Internal(format!("writing {}: {e}", path.display())))?;
    Ok(path)
}

/// The origin for public URLs: the configured one, else `http://<Host>` of the request (only
/// when the Host header is a plain host[:port]).
pub fn origin(configured: Option<&str>, host: Option<&str>) -> String {
    if let Some(c) = configured {
        return c.trim_end_matches('/').to_string();
    }
    match host.filter(|h| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    }) {
        Some(h) => format!("http://{h}"),
        None => String::new(),
    }
}

/// The upload-relative path of one of our own upload URLs (absolute with our origin, or a bare
/// `/public/uploads/...` path), refusing anything that could leave the upload directory.
pub fn local_upload_path(url: &str, our_origin: &str) -> Option<String> {
    let path = if let Some(rest) = url
        .strip_prefix(our_origin)
        .filter(|_| !our_origin.is_empty())
    {
        rest
    } else if url.starts_with('/') && !url.starts_with("//") {
        url
    } else {
        return None;
    };
    let rel = path.strip_prefix("/public/uploads/")?;
    let ok = !rel.is_empty()
        && rel.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && !seg.contains('\\')
                && !seg.contains('%')
        });
    ok.then(|| rel.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diydirs() {
        assert!(valid_diydir("chatImgs"));
        assert!(valid_diydir("a-b_c"));
        for bad in ["", "..", "a/b", "%2e%2e", "/etc", "a.b", &"x".repeat(51)] {
            assert!(!valid_diydir(bad), "{bad}");
        }
    }

    #[test]
    fn sniffing_ignores_names() {
        let png = [
            0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R',
        ];
        assert_eq!(sniff_allowed(&png), Some(("image/png", "png")));
        let elf = [0x7F, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(sniff_allowed(&elf), None);
        assert_eq!(sniff_allowed(b"just text"), None);
    }

    #[test]
    fn stored_names_are_ours() {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!());
        let n = stored_name("Diy/chat", 1_752_378_365_000, tz, "png");
        assert!(
            n.starts_with("Diy/chat/20250713/1752378365000_") && n.ends_with(".png"),
            "{n}"
        );
    }

    #[test]
    fn local_paths_stay_inside() {
        let o = "http://127.0.0.1:7001";
        assert_eq!(
            local_upload_path("http://127.0.0.1:7001/public/uploads/Diy/a/1.mp4", o).as_deref(),
            Some("Diy/a/1.mp4")
        );
        assert_eq!(
            local_upload_path("/public/uploads/Diy/a/1.mp4", o).as_deref(),
            Some("Diy/a/1.mp4")
        );
        assert_eq!(
            local_upload_path("/public/uploads/../../etc/passwd", o),
            None
        );
        assert_eq!(local_upload_path("/public/uploads/Diy/%2e%2e/x", o), None);
        assert_eq!(
            local_upload_path("https://evil.example/public/uploads/a.mp4", o),
            None
        );
        assert_eq!(
            local_upload_path("//evil.example/public/uploads/a.mp4", o),
            None
        );
    }
}
