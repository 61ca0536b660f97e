//! SPEC §6 files: local uploads (content-sniffed, server-named, size-limited), `uploadAliyun`
//! (into the configured S3-compatible store, else locally, with the seed's answer either way),
//! video screenshots with ffmpeg, and read-only serving of `/public/uploads/`.

use base64::Engine;
use bytes::{Buf, Bytes};
use futures_util::{Stream, TryStreamExt};
use multer::{Constraints, Multipart, SizeLimit};
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;
use warp::http::HeaderMap;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::error::ApiError;
use crate::files::{
    local_upload_path, origin, sniff_allowed, stored_name, unsupported_type, upload_root,
    valid_diydir, write,
};
use crate::http::{body_timeout, client_addr, req, with_app, Req};
use crate::i18n::{Lang, Msg};
use crate::state::App;
use crate::video::{screenshot, sniff_video, Fetcher, Shot, TempVideo};

type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, warp::Error>> + Send>>;

pub fn routes(app: App) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let root = upload_root(&app.cfg.data_dir);
    let raw = || {
        with_app(app.clone())
            .and(warp::header::headers_cloned())
            .and(warp::query::raw().or(warp::any().map(String::new)).unify())
            .and(client_addr())
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
    let lang = app.cfg.default_lang;
    let missing = warp::any().map(move || {
        crate::http::error_response(lang, &ApiError::not_found("no such file", "文件不存在"))
    });
    // Every answer under /public/uploads/, a missing file's too, carries the same headers.
    let public = warp::path("public")
        .and(warp::path("uploads"))
        .and(warp::get())
        .and(
            warp::fs::dir(root)
                .map(|f: warp::fs::File| f.into_response())
                .or(missing)
                .unify(),
        )
        .map(served_upload);
    diy.or(aliyun)
        .unify()
        .or(shot)
        .unify()
        .or(public)
        .unify()
        .boxed()
}

/// Uploads are the users' content on the API's own origin: never sniffed, never run as a page
/// (a sandbox with nothing allowed), and anything that is not an image, audio or video (PDF) is
/// downloaded rather than shown (§9.22).
fn served_upload(mut r: Response) -> Response {
    use warp::http::header::{HeaderValue, CONTENT_DISPOSITION, CONTENT_TYPE};
    let media = r
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            ["image/", "audio/", "video/"]
                .iter()
                .any(|p| t.starts_with(p))
        });
    let h = r.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    if !media && r.status().is_success() {
        let h = r.headers_mut();
        h.insert(CONTENT_DISPOSITION, HeaderValue::from_static("attachment"));
    }
    r
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

/// Reads a multipart body within `CHAT_BODY_TIMEOUT` (408 past it) and `CHAT_UPLOAD_MAX_BYTES`
/// (413): the bytes of file field `field` and the other (short) text fields.
async fn read_multipart(
    app: &App,
    headers: &HeaderMap,
    body: BodyStream,
    field: &str,
) -> Result<(Vec<u8>, HashMap<String, String>), ApiError> {
    let wait = Duration::from_secs(app.cfg.body_timeout_secs);
    tokio::time::timeout(
        wait,
        parse_multipart(headers, body, field, app.cfg.upload_max_bytes),
    )
    .await
    .map_err(|_| body_timeout())?
}

async fn parse_multipart(
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
        let (bytes, _) = read_multipart(&app, &req.headers, body, "file").await?;
        let (rel, url, mime) = store_upload(&app, &req.headers, &format!("Diy/{diydir}"), &bytes).await?;
        tracing::info!(user = %caller.user_id, path = %rel, mime, size = bytes.len(), "upload stored");
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
        let (bytes, fields) = read_multipart(&app, &req.headers, body, "img").await?;
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

/// The local file of `url`: one of our uploads as it is, or a video on an allowed host
/// downloaded (checked hop by hop, size-capped) into a temporary file.
async fn local_video(
    app: &App,
    headers: &HeaderMap,
    url: &str,
) -> Result<(PathBuf, Option<TempVideo>), ApiError> {
    if let Some(rel) = local_upload_path(url, &our_origin(app, headers)) {
        let path = upload_root(&app.cfg.data_dir).join(&rel);
        if !path.is_file() {
            return Err(ApiError::not_found("no such video", "视频不存在"));
        }
        return Ok((path, None));
    }
    let fetcher = Fetcher::new(app.cfg.video_hosts.clone(), app.cfg.upload_max_bytes);
    fetcher.check_url(url)?;
    let dir = app.cfg.data_dir.join("tmp");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ApiError::Internal(format!("{}: {e}", dir.display())))?;
    let temp = TempVideo(dir.join(format!("video_{}", uuid::Uuid::new_v4().simple())));
    fetcher.fetch(url, &temp.0).await?;
    Ok((temp.0.clone(), Some(temp)))
}

/// POST /api/chat/getVideoScreenshot (users only, §9.22): videoUrl, time (ms, default 20), width
/// (px, default 260), format png|jpg.
async fn video_screenshot(app: App, req: Req) -> Response {
    req.reply(
        async {
            req.user(&app).await?;
            let p = req.params()?;
            let video = p.str_len("videoUrl", 1, 2000)?;
            let time = p.opt_i64_range("time", 0, 86_400_000)?.unwrap_or(20);
            let width = p.opt_i64_range("width", 16, 4096)?.unwrap_or(260);
            let format = p.one_of("format", &["png", "jpg"], "png")?;
            let (input, _temp) = local_video(&app, &req.headers, &video).await?;
            let demuxer = sniff_video(&input).await?;
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
            let png = format == "png";
            let bytes = {
                let _slot = app
                    .ffmpeg_slots
                    .acquire()
                    .await
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                screenshot(Shot {
                    ffmpeg: &app.cfg.ffmpeg,
                    input: &input,
                    demuxer,
                    seek_ms: time,
                    width,
                    png,
                    out: &out,
                })
                .await?
            };
            let mime = if png { "image/png" } else { "image/jpeg" };
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
