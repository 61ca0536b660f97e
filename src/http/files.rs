//! SPEC §6 files: local uploads (content-sniffed, server-named, size-limited), `uploadAliyun`
//! (into the configured S3-compatible store, else locally, with the seed's answer either way),
//! video screenshots with ffmpeg, and read-only serving of `/public/uploads/`.

use base64::Engine;
use bytes::{Buf, Bytes};
use futures_util::{Stream, TryStreamExt};
use multer::{Constraints, Multipart, SizeLimit};
use serde_json::json;
use std::collections::HashMap;
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;
use warp::http::HeaderMap;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::app::App;
use crate::error::ApiError;
use crate::files::{
    local_upload_path, origin, sniff_allowed, stored_name, unsupported_type, upload_root,
    valid_diydir, write,
};
use crate::http::{req, with_app, PeerAddr, Req};
use crate::i18n::{Lang, Msg};

type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, warp::Error>> + Send>>;

/// How long ffmpeg may take for one screenshot before it is killed.
const FFMPEG_TIMEOUT: Duration = Duration::from_secs(20);

pub fn routes(app: App) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let root = upload_root(&app.cfg.data_dir);
    let raw = || {
        with_app(app.clone())
            .and(warp::header::headers_cloned())
            .and(warp::query::raw().or(warp::any().map(String::new)).unify())
            .and(
                warp::ext::get::<PeerAddr>()
                    .map(|p: PeerAddr| Some(p.0.ip()))
                    .or(warp::any().map(|| None))
                    .unify(),
            )
            .and(warp::body::stream().map(boxed_body))
    };
    let diy = warp::path!("api" / "chat" / "uploadStreamSingleToServerDiy" / String)
        .and(warp::post())
        .and(raw())
        .then(upload_diy);
    let aliyun = warp::path!("api" / "chat" / "uploadAliyun")
        .and(warp::post())
        .and(raw())
        .then(upload_aliyun);
    let shot = warp::path!("api" / "chat" / "getVideoScreenshot")
        .and(warp::post())
        .and(with_app(app.clone()))
        .and(req(app.clone()))
        .then(video_screenshot);
    let public = warp::path("public")
        .and(warp::path("uploads"))
        .and(warp::get())
        .and(warp::fs::dir(root))
        .map(|f: warp::fs::File| {
            let mut r = f.into_response();
            r.headers_mut().insert(
                "x-content-type-options",
                warp::http::HeaderValue::from_static("nosniff"),
            );
            r
        });
    diy.or(aliyun)
        .unify()
        .or(shot)
        .unify()
        .or(public)
        .unify()
        .boxed()
}

fn boxed_body<S, B>(s: S) -> BodyStream
where
    S: Stream<Item = Result<B, warp::Error>> + Send + 'static,
    B: Buf,
{
    Box::pin(s.map_ok(|mut b| b.copy_to_bytes(b.remaining())))
}

fn too_large(limit: usize) -> ApiError {
    ApiError::TooLarge(Msg::owned(
        format!("the file exceeds {limit} bytes"),
        format!("文件超过 {limit} 字节"),
    ))
}

/// Reads a multipart body: the bytes of file field `field` and the other (short) text fields.
async fn read_multipart(
    headers: &HeaderMap,
    body: BodyStream,
    field: &str,
    limit: usize,
) -> Result<(Vec<u8>, HashMap<String, String>), ApiError> {
    let declared = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit + 64 * 1024) {
        return Err(too_large(limit));
    }
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(ct).map_err(|_| {
        ApiError::Invalid(Msg::new(
            "expected a multipart/form-data body",
            "需要 multipart/form-data 请求体",
        ))
    })?;
    let limits = SizeLimit::new()
        .per_field(limit as u64)
        .whole_stream(limit as u64 + 64 * 1024);
    let mut mp = Multipart::with_constraints(body, boundary, Constraints::new().size_limit(limits));
    let map_err = |e: multer::Error| match e {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            too_large(limit)
        }
        other => ApiError::Invalid(Msg::owned(
            format!("malformed multipart body: {other}"),
            format!("multipart 格式错误：{other}"),
        )),
    };
    let mut file = None;
    let mut fields = HashMap::new();
    while let Some(f) = mp.next_field().await.map_err(map_err)? {
        let name = f.name().unwrap_or_default().to_string();
        let data = f.bytes().await.map_err(map_err)?;
        if name == field {
            file = Some(data.to_vec());
        } else if data.len() <= 1024 {
            fields.insert(name, String::from_utf8_lossy(&data).into_owned());
        }
    }
    let file = file.ok_or_else(|| {
        ApiError::Invalid(Msg::owned(
            format!("{field} (a file) is required"),
            format!("{field}（文件）不能为空"),
        ))
    })?;
    Ok((file, fields))
}

fn request(app: &App, headers: HeaderMap, raw_query: &str, ip: Option<std::net::IpAddr>) -> Req {
    let lang = Lang::pick(
        headers.get("accept-language").and_then(|v| v.to_str().ok()),
        app.cfg.default_lang,
    );
    let query: Vec<(String, String)> = serde_urlencoded::from_str(raw_query).unwrap_or_default();
    Req::without_body(lang, headers, query, ip)
}

fn our_origin(app: &App, headers: &HeaderMap) -> String {
    origin(
        app.cfg.public_url.as_deref(),
        headers.get("host").and_then(|v| v.to_str().ok()),
    )
}

/// Sniffs, names and stores an upload under `dir`; returns (relative path, public URL, mime).
async fn store_upload(
    app: &App,
    headers: &HeaderMap,
    dir: &str,
    bytes: &[u8],
) -> Result<(String, String, &'static str), ApiError> {
    let (mime, ext) = sniff_allowed(bytes).ok_or_else(unsupported_type)?;
    let rel = stored_name(dir, app.clock.now_ms(), app.cfg.timezone, ext);
    write(&upload_root(&app.cfg.data_dir), &rel, bytes).await?;
    Ok((
        rel.clone(),
        format!("{}/public/uploads/{rel}", our_origin(app, headers)),
        mime,
    ))
}

/// POST /api/chat/uploadStreamSingleToServerDiy/:diydir (multipart field `file`)
async fn upload_diy(
    diydir: String,
    app: App,
    headers: HeaderMap,
    raw_query: String,
    ip: Option<std::net::IpAddr>,
    body: BodyStream,
) -> Response {
    let req = request(&app, headers, &raw_query, ip);
    let result = async {
        let caller = req.user_or_visitor(&app).await?;
        if !valid_diydir(&diydir) {
            return Err(ApiError::Invalid(Msg::new(
                "diydir must be 1-50 letters, digits, _ or -",
                "diydir 必须是 1-50 位字母、数字、_ 或 -",
            )));
        }
        let (bytes, _) = read_multipart(&req.headers, body, "file", app.cfg.upload_max_bytes).await?;
        let (rel, url, mime) = store_upload(&app, &req.headers, &format!("Diy/{diydir}"), &bytes).await?;
        tracing::info!(user = caller.user_id, path = %rel, mime, size = bytes.len(), "upload stored");
        Ok(json!({"url": url}))
    }
    .await;
    req.reply(result)
}

/// POST /api/chat/uploadAliyun (multipart `img` + `imageClassId`): answers as seed 002 shows.
async fn upload_aliyun(
    app: App,
    headers: HeaderMap,
    raw_query: String,
    ip: Option<std::net::IpAddr>,
    body: BodyStream,
) -> Response {
    let req = request(&app, headers, &raw_query, ip);
    let result = async {
        req.user_or_visitor(&app).await?;
        let (bytes, fields) = read_multipart(&req.headers, body, "img", app.cfg.upload_max_bytes).await?;
        let class: i64 = fields.get("imageClassId").and_then(|v| v.trim().parse().ok()).unwrap_or(0);
        let (rel, url) = match &app.objects {
            Some(objects) => {
                let (mime, ext) = sniff_allowed(&bytes).ok_or_else(unsupported_type)?;
                let key = stored_name("images", app.clock.now_ms(), app.cfg.timezone, ext);
                let url = objects.put(&key, bytes, mime).await?;
                (key, url)
            }
            None => {
                let (rel, url, _) = store_upload(&app, &req.headers, "images", &bytes).await?;
                (rel, url)
            }
        };
        Ok(json!({
            "code": 200,
            "msg": Msg::new("uploaded", "上传成功").get(req.lang),
            "data": [{"url": url, "path": rel, "image_class_id": class, "create_time": app.clock.now_ms() / 1000}],
        }))
    }
    .await;
    match result {
        Ok(v) => crate::http::json_response(warp::http::StatusCode::OK, &v),
        Err(e) => req.reply(Err(e)),
    }
}

/// Where ffmpeg reads the video from: one of our uploads, or a URL on an allowed host.
fn video_input(
    app: &App,
    headers: &HeaderMap,
    url: &str,
) -> Result<(String, &'static str), ApiError> {
    if let Some(rel) = local_upload_path(url, &our_origin(app, headers)) {
        let path = upload_root(&app.cfg.data_dir).join(&rel);
        if !path.is_file() {
            return Err(ApiError::not_found("no such video", "视频不存在"));
        }
        return Ok((path.to_string_lossy().into_owned(), "file"));
    }
    let refused = || {
        ApiError::bad(
            "videoUrl must be one of this server's uploads or on an allowed host",
            "videoUrl 必须是本服务器上传的文件或在允许的域名下",
        )
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(refused)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host
        .rsplit('@')
        .next()
        .unwrap_or("")
        .split(':')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if host.is_empty() || !app.cfg.video_hosts.contains(&host) {
        return Err(refused());
    }
    Ok((url.to_string(), "http,https,tcp,tls"))
}

/// POST /api/chat/getVideoScreenshot: videoUrl, time (ms, default 20), width (px, default 260),
/// format png|jpg.
async fn video_screenshot(app: App, req: Req) -> Response {
    req.reply(
        async {
            req.user(&app).await?;
            let p = req.params()?;
            let video = p.str_len("videoUrl", 1, 2000)?;
            let time = p.opt_i64_range("time", 0, 86_400_000)?.unwrap_or(20);
            let width = p.opt_i64_range("width", 16, 4096)?.unwrap_or(260);
            let format = p.one_of("format", &["png", "jpg"], "png")?;
            let (input, protocols) = video_input(&app, &req.headers, &video)?;
            let rel = stored_name(
                "Diy/VideoScreenshot",
                app.clock.now_ms(),
                app.cfg.timezone,
                &format,
            );
            let out = upload_root(&app.cfg.data_dir).join(&rel);
            if let Some(parent) = out.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
            }
            let seek = format!("{}.{:03}", time / 1000, time % 1000);
            let mut cmd = tokio::process::Command::new(&app.cfg.ffmpeg);
            cmd.args([
                "-nostdin",
                "-loglevel",
                "error",
                "-y",
                "-protocol_whitelist",
                protocols,
                "-ss",
                &seek,
                "-i",
                &input,
            ])
            .args([
                "-frames:v",
                "1",
                "-vf",
                &format!("scale={width}:-2"),
                "-f",
                "image2",
            ])
            .args(["-c:v", if format == "png" { "png" } else { "mjpeg" }])
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
            let child = cmd
                .spawn()
                .map_err(|e| ApiError::Internal(format!("cannot run {}: {e}", app.cfg.ffmpeg)))?;
            let output = tokio::time::timeout(FFMPEG_TIMEOUT, child.wait_with_output())
                .await
                .map_err(|_| ApiError::bad("taking the screenshot took too long", "视频截图超时"))?
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let bytes = tokio::fs::read(&out)
                .await
                .ok()
                .filter(|b| output.status.success() && !b.is_empty());
            let Some(bytes) = bytes else {
                tracing::warn!(stderr = %String::from_utf8_lossy(&output.stderr), "ffmpeg failed");
                return Err(ApiError::bad(
                    "cannot take a screenshot of this video",
                    "无法截取该视频",
                ));
            };
            let mime = if format == "png" {
                "image/png"
            } else {
                "image/jpeg"
            };
            let data_url = format!(
                "data:{mime};base64,{}",
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            );
            Ok(json!({
                "base64": data_url,
                "url": format!("{}/public/uploads/{rel}", our_origin(&app, &req.headers)),
                "format": format,
                "time": time,
                "width": width,
            }))
        }
        .await,
    )
}
