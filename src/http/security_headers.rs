//! Headers every response carries: pages load only same-origin resources, cannot be framed,
//! leak no `Referer` (reset links carry tokens) and are never cached unless a handler says so.

use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;

use crate::config::PublicUrl;

/// Same origin only; no scripts, plugins or `<base>` at all.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; script-src 'none'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The default headers (a handler's own value wins, as for the stylesheet's caching).
///
/// `return_origins` (`LATCHKEY_ALLOWED_RETURN_ORIGINS`) join `form-action`: browsers apply it
/// to the redirect that follows a form post, so a login or logout form returning to the
/// product's origin needs it. Resources stay same-origin only.
pub fn headers(public_url: &PublicUrl, return_origins: &[String]) -> DefaultHeaders {
    let policy = if return_origins.is_empty() {
        CONTENT_SECURITY_POLICY.to_owned()
    } else {
        format!("{CONTENT_SECURITY_POLICY} {}", return_origins.join(" "))
    };
    let headers = DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, policy))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::CACHE_CONTROL, "no-store"));
    if public_url.is_https() {
        headers.add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ))
    } else {
        headers
    }
}
