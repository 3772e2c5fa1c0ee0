//! The stylesheet, compiled into the binary (one file to deploy) and cached by browsers.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

const STYLESHEET: &str = include_str!("../../../static/app.css");

/// A validator for the stylesheet, fixed per build.
fn etag() -> String {
    use sha2::{Digest, Sha256};
    format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(STYLESHEET.as_bytes()))[..16]
    )
}

/// `GET /static/app.css`, with `ETag` and a day of caching.
pub async fn stylesheet(req: HttpRequest) -> HttpResponse {
    let tag = etag();
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|value| value.as_bytes() == tag.as_bytes());
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((header::ETAG, tag))
        .content_type("text/css; charset=utf-8");
    if fresh {
        response.finish()
    } else {
        response.body(STYLESHEET)
    }
}
