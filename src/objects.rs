//! The S3-compatible object store behind `uploadAliyun` (Aliyun OSS, AWS S3, MinIO…): requests
//! are signed with `rusty-s3` (SigV4 presigned URLs) and sent with reqwest.

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use std::time::Duration;

use crate::config::S3Config;
use crate::error::ApiError;

pub struct ObjectStore {
    bucket: Bucket,
    creds: Credentials,
    http: reqwest::Client,
}

impl ObjectStore {
    pub fn new(cfg: &S3Config) -> anyhow::Result<ObjectStore> {
        let endpoint: url::Url = cfg.endpoint.parse()?;
        let style = if cfg.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(endpoint, style, cfg.bucket.clone(), cfg.region.clone())?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(ObjectStore {
            bucket,
            creds: Credentials::new(cfg.access_key.clone(), cfg.secret_key.clone()),
            http,
        })
    }

    /// Stores `bytes` at `key`; returns the object's URL.
    pub async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<String, ApiError> {
        let signed = self
            .bucket
            .put_object(Some(&self.creds), key)
            .sign(Duration::from_secs(300));
        let resp = self
            .http
            .put(signed)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .map_err(|e| ApiError::Internal(format!("object store: {e}")))?;
        if !resp.status().is_success() {
            let status = resp.status();
            let body = resp.text().await.unwrap_or_default();
            return Err(ApiError::Internal(format!(
                "object store answered {status}: {body}"
            )));
        }
        self.bucket
            .object_url(key)
            .map(|u| u.to_string())
            .map_err(|e| ApiError::Internal(format!("object url: {e}")))
    }
}
