//! Static assets (CSS, icons, scripts) embedded in the binary and served with strong caching.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use std::sync::LazyLock;

#[derive(RustEmbed)]
#[folder = "assets/static/"]
struct Static;

/// A digest of every embedded asset: part of asset URLs so that a new release never meets a
/// stale cached stylesheet. Derived from the binary itself, so it is a constant, not state.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut names: Vec<_> = Static::iter().collect();
    names.sort();
    for name in names {
        h.update(name.as_bytes());
        if let Some(f) = Static::get(&name) {
            h.update(f.metadata.sha256_hash());
        }
    }
    hex::encode(&h.finalize()[..6])
});

/// URL prefix for assets, e.g. `/assets/3fa1c2d4e5f6`.
pub fn base() -> String {
    format!("/assets/{}", *VERSION)
}

pub async fn serve(Path((version, path)): Path<(String, String)>, headers: HeaderMap) -> Response {
    respond(&path, version == *VERSION, &headers)
}

pub async fn favicon(headers: HeaderMap) -> Response {
    respond("icons/holdfast.svg", false, &headers)
}

fn respond(path: &str, current: bool, headers: &HeaderMap) -> Response {
    let Some(file) = Static::get(path) else {
        return super::WebError::NotFound.into_response();
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..12]));
    let cache = if current {
        "public, max-age=31536000, immutable"
    } else {
        "public, no-cache"
    };
    let mut resp = if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = file.data.into_owned().into_response();
        if let Ok(v) = HeaderValue::from_str(file.metadata.mimetype()) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        r
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}
