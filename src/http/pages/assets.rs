//! The stylesheets: the built-in one, compiled into the binary (one file to deploy), and the
//! product's theme (`LATCHKEY_THEME_CSS`, read at start-up), each cached by browsers.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

const STYLESHEET: &str = include_str!("../../../static/app.css");

/// A validator for a stylesheet's text.
fn etag(css: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("\"{}\"", &hex::encode(Sha256::digest(css.as_bytes()))[..16])
}

/// `GET /static/app.css`, with `ETag` and a day of caching.
pub async fn stylesheet(req: HttpRequest) -> HttpResponse {
    css(&req, STYLESHEET)
}

/// `GET /static/theme.css`: the product's stylesheet, linked after the built-in one.
pub async fn theme(req: HttpRequest, theme: Arc<str>) -> HttpResponse {
    css(&req, &theme)
}

fn css(req: &HttpRequest, text: &str) -> HttpResponse {
    let tag = etag(text);
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
        response.body(text.to_owned())
    }
}
