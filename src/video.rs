//! Video screenshots (SPEC §6 `getVideoScreenshot`, §9.22). ffmpeg never touches the network: a
//! video on an allowed host is downloaded by the server itself — every hop of a redirect checked
//! against `CHAT_VIDEO_HOSTS` and against loopback, private and link-local addresses, the
//! connection pinned to the address that was checked (no second DNS answer), the size capped —
//! and ffmpeg then reads the local file only (`-protocol_whitelist file`), its input format
//! pinned from the sniffed type, with a time limit, at most `CHAT_FFMPEG_CONCURRENCY` at once.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use url::Url;

use crate::error::ApiError;
use crate::i18n::Msg;

/// How long ffmpeg may take for one screenshot before it is killed.
const FFMPEG_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a whole download may take, redirects included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// Most redirects followed.
const MAX_HOPS: usize = 5;

fn refused() -> ApiError {
    ApiError::bad(
        "videoUrl must be one of this server's uploads or on an allowed host",
        "videoUrl 必须是本服务器上传的文件或在允许的域名下",
    )
}

fn unreadable() -> ApiError {
    ApiError::bad("cannot read this video", "无法读取该视频")
}

/// True for an address a request from the server may reach: not loopback, private, link-local,
/// shared (CGNAT), multicast, unspecified or otherwise reserved, in IPv4 or IPv6 (IPv4-mapped
/// IPv6 addresses are judged as their IPv4 address).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || first == 0x2001 && v6.segments()[1] == 0x0db8 // documentation
                || first == 0x0064 && v6.segments()[1] == 0xff9b) // NAT64 reaches IPv4 inside
        }
    }
}

/// Where downloads may go.
#[derive(Debug, Clone)]
pub struct Fetcher {
    /// Allowed host names, lower case.
    pub hosts: Vec<String>,
    pub max_bytes: usize,
    /// Only tests, whose servers all listen on loopback, turn the address check off.
    allow_private: bool,
}

impl Fetcher {
    pub fn new(hosts: Vec<String>, max_bytes: usize) -> Fetcher {
        Fetcher {
            hosts,
            max_bytes,
            allow_private: false,
        }
    }

    /// The URL if its scheme and host are allowed (no credentials in it).
    pub fn check_url(&self, url: &str) -> Result<Url, ApiError> {
        let u = Url::parse(url).map_err(|_| refused())?;
        let host = u
            .host_str()
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let allowed = matches!(u.scheme(), "http" | "https")
            && u.username().is_empty()
            && u.password().is_none()
            && self.hosts.contains(&host);
        allowed.then_some(u).ok_or_else(refused)
    }

    /// The address to connect to for `u`: its host resolved, every answer public.
    async fn address(&self, u: &Url) -> Result<SocketAddr, ApiError> {
        let host = u.host_str().ok_or_else(refused)?;
        let port = u.port_or_known_default().ok_or_else(refused)?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| unreadable())?
            .collect();
        // One private answer is enough to refuse: which answer a connection takes is not ours.
        if addrs.is_empty() || (!self.allow_private && addrs.iter().any(|a| !is_public(a.ip()))) {
            return Err(refused());
        }
        Ok(addrs[0])
    }

    /// Downloads `url` into `dest`, following at most [`MAX_HOPS`] redirects, each checked.
    pub async fn fetch(&self, url: &str, dest: &Path) -> Result<(), ApiError> {
        tokio::time::timeout(FETCH_TIMEOUT, self.fetch_hops(url, dest))
            .await
            .map_err(|_| unreadable())?
    }

    async fn fetch_hops(&self, url: &str, dest: &Path) -> Result<(), ApiError> {
        let mut u = self.check_url(url)?;
        for _ in 0..=MAX_HOPS {
            let addr = self.address(&u).await?;
            let host = u.host_str().unwrap_or_default().to_string();
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .resolve(&host, addr)
                .no_proxy()
                .build()
                .map_err(|e| ApiError::Internal(format!("http client: {e}")))?;
            let mut resp = client
                .get(u.clone())
                .send()
                .await
                .map_err(|_| unreadable())?;
            if resp.status().is_redirection() {
                let next = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| u.join(l).ok())
                    .ok_or_else(unreadable)?;
                u = self.check_url(next.as_str())?;
                continue;
            }
            if !resp.status().is_success() {
                return Err(unreadable());
            }
            if resp
                .content_length()
                .is_some_and(|n| n > self.max_bytes as u64)
            {
                return Err(too_large(self.max_bytes));
            }
            let mut file = tokio::fs::File::create(dest)
                .await
                .map_err(|e| ApiError::Internal(format!("{}: {e}", dest.display())))?;
            let mut got = 0usize;
            while let Some(chunk) = resp.chunk().await.map_err(|_| unreadable())? {
                got += chunk.len();
                if got > self.max_bytes {
                    return Err(too_large(self.max_bytes));
                }
                file.write_all(&chunk)
                    .await
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
            }
            file.flush()
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            return Ok(());
        }
        Err(unreadable())
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::TooLarge(Msg::owned(
        format!("the video exceeds {limit} bytes"),
        format!("视频超过 {limit} 字节"),
    ))
}

/// ffmpeg's demuxer for a sniffed video type; None for what we do not take.
pub fn demuxer(mime: &str) -> Option<&'static str> {
    Some(match mime {
        "video/mp4" | "video/quicktime" | "video/x-m4v" | "video/3gpp" => "mov",
        "video/webm" | "video/x-matroska" => "matroska",
        "video/x-msvideo" => "avi",
        "video/x-flv" => "flv",
        "video/mpeg" => "mpeg",
        "video/x-ms-wmv" => "asf",
        _ => return None,
    })
}

/// The demuxer for the video at `path`, by its content.
pub async fn sniff_video(path: &Path) -> Result<&'static str, ApiError> {
    let mut head = vec![0u8; 8192];
    let n = {
        use tokio::io::AsyncReadExt;
        let mut f = tokio::fs::File::open(path)
            .await
            .map_err(|_| unreadable())?;
        f.read(&mut head).await.map_err(|_| unreadable())?
    };
    infer::get(&head[..n])
        .and_then(|t| demuxer(t.mime_type()))
        .ok_or_else(|| {
            ApiError::Unsupported(Msg::new(
                "this is not a video we can read",
                "不支持的视频格式",
            ))
        })
}

/// One frame of a local video: `seek_ms` in, scaled to `width`, as png or jpg into `out`.
pub struct Shot<'a> {
    pub ffmpeg: &'a str,
    pub input: &'a Path,
    pub demuxer: &'static str,
    pub seek_ms: i64,
    pub width: i64,
    pub png: bool,
    pub out: &'a Path,
}

/// Runs ffmpeg for `shot` (killed past [`FFMPEG_TIMEOUT`]) and returns the image's bytes.
pub async fn screenshot(shot: Shot<'_>) -> Result<Vec<u8>, ApiError> {
    let seek = format!("{}.{:03}", shot.seek_ms / 1000, shot.seek_ms % 1000);
    let mut cmd = tokio::process::Command::new(shot.ffmpeg);
    cmd.args(["-nostdin", "-loglevel", "error", "-y"])
        .args(["-protocol_whitelist", "file", "-f", shot.demuxer])
        .args(["-ss", &seek, "-i"])
        .arg(shot.input)
        .args(["-frames:v", "1", "-vf", &format!("scale={}:-2", shot.width)])
        .args([
            "-f",
            "image2",
            "-c:v",
            if shot.png { "png" } else { "mjpeg" },
        ])
        .arg(shot.out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .map_err(|e| ApiError::Internal(format!("cannot run {}: {e}", shot.ffmpeg)))?;
    let output = tokio::time::timeout(FFMPEG_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            crate::metrics::ffmpeg_run("timeout");
            ApiError::bad("taking the screenshot took too long", "视频截图超时")
        })?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let bytes = tokio::fs::read(shot.out)
        .await
        .ok()
        .filter(|b| output.status.success() && !b.is_empty());
    crate::metrics::ffmpeg_run(if bytes.is_some() { "ok" } else { "failed" });
    bytes.ok_or_else(|| {
        tracing::warn!(stderr = %String::from_utf8_lossy(&output.stderr), "ffmpeg failed");
        ApiError::bad("cannot take a screenshot of this video", "无法截取该视频")
    })
}

/// A downloaded video's temporary file, removed when dropped.
pub struct TempVideo(pub PathBuf);

impl Drop for TempVideo {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
#[path = "video_tests.rs"]
mod tests;
