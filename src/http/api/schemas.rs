//! The shapes of the API's bodies, for the OpenAPI document only.
//!
//! Handlers keep writing their bodies with `json!` (key order and bytes unchanged since before
//! the document existed); these types only *describe* those bodies. The schemathesis test in
//! `tests/integration/openapi.rs` checks, against a running server, that every real answer
//! matches its description here, so the two cannot drift apart unnoticed.
//!
//! Request fields are typed `string`, non-blank (`pattern: \S` where the server trims the
//! value, `minLength: 1` for passwords, which are never trimmed): the server also takes a JSON
//! number where a string is expected (as Django REST framework does) but clients should send
//! strings.

#![allow(dead_code)] // Fields are read by the `ToSchema` derive, never at run time.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::{ToResponse, ToSchema};

/// `POST /api/password_reset/`.
#[derive(ToSchema)]
pub struct ResetRequest {
    /// The account's email address (with `LATCHKEY_LOOKUP_FIELD=username`, its username: the
    /// field keeps its name for compatibility with django-rest-passwordreset).
    #[schema(example = "alice@example.com", pattern = r"\S")]
    email: String,
}

/// `POST /api/password_reset/validate_token/`.
#[derive(ToSchema)]
pub struct TokenCheck {
    /// The reset token from the emailed link.
    #[schema(
        pattern = r"\S",
        example = "3f9a0c6be2d14f7a8b5c9e0d1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c"
    )]
    token: String,
    /// The account a number code belongs to; required for number codes unless
    /// `LATCHKEY_NUMBER_TOKEN_REQUIRES_EMAIL=false`, ignored for string tokens.
    #[schema(required = false, pattern = r"\S")]
    email: String,
}

/// `POST /api/password_reset/confirm/`.
#[derive(ToSchema)]
pub struct ResetConfirm {
    /// The reset token from the emailed link.
    #[schema(
        pattern = r"\S",
        example = "3f9a0c6be2d14f7a8b5c9e0d1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c"
    )]
    token: String,
    /// The new password (never trimmed).
    #[schema(format = Password, min_length = 1, example = "a brand new passphrase 42")]
    password: String,
    /// As in validate_token: the account of a number code.
    #[schema(required = false, pattern = r"\S")]
    email: String,
}

/// `POST /api/auth/login`.
#[derive(ToSchema)]
pub struct LoginRequest {
    /// Username, or the account's email address.
    #[schema(pattern = r"\S", example = "alice")]
    username: String,
    /// The password.
    #[schema(format = Password, min_length = 1, example = "correct horse battery staple")]
    password: String,
}

/// `POST /api/auth/change_password`.
#[derive(ToSchema)]
pub struct ChangePasswordRequest {
    /// The current password.
    #[schema(format = Password, min_length = 1, example = "correct horse battery staple")]
    old_password: String,
    /// The new password.
    #[schema(format = Password, min_length = 1, example = "a brand new passphrase 42")]
    password: String,
    /// The new password again.
    #[schema(format = Password, min_length = 1, example = "a brand new passphrase 42")]
    confirm_password: String,
}

/// The package's success body.
#[derive(ToSchema)]
pub struct StatusOk {
    /// Always `OK`.
    #[schema(pattern = "^OK$", example = "OK")]
    status: String,
}

/// A usable token; with `LATCHKEY_USER_DETAILS_ON_VALIDATION=true` also whose it is.
#[derive(ToSchema)]
pub struct TokenValid {
    /// Always `OK`.
    #[schema(pattern = "^OK$", example = "OK")]
    status: String,
    /// The account's username (only with user details on validation).
    #[schema(required = false)]
    username: String,
    /// The account's email address (only with user details on validation).
    #[schema(required = false)]
    email: String,
}

/// A bearer token from a successful login.
#[derive(ToSchema)]
pub struct LoginToken {
    /// The bearer token, for `Authorization: Bearer <token>`.
    token: String,
    /// Always `Bearer`.
    #[schema(pattern = "^Bearer$", example = "Bearer")]
    token_type: String,
    /// When the token stops working (RFC 3339, UTC).
    #[schema(format = DateTime)]
    expires_at: String,
}

/// The account behind a bearer token.
#[derive(ToSchema)]
pub struct Me {
    /// The account's id.
    id: i64,
    /// The account's username.
    username: String,
    /// The account's email address.
    email: String,
}

/// One live sign-in of the account: an API token or a browser session.
#[derive(ToSchema)]
pub struct Device {
    /// Opaque id for `DELETE /api/auth/sessions/{id}` (never the token or session key).
    id: String,
    /// `api_token` or `browser`.
    #[schema(pattern = "^(api_token|browser)$", example = "api_token")]
    kind: String,
    /// When it began (RFC 3339, UTC).
    #[schema(format = DateTime)]
    created_at: String,
    /// When it was last used (RFC 3339, UTC), if known.
    #[schema(format = DateTime)]
    last_used_at: Option<String>,
    /// The client address it began from, if known.
    ip_address: Option<String>,
    /// The user agent it began from, if known.
    user_agent: Option<String>,
    /// Whether it is the one making this request.
    current: bool,
}

/// 404 for a device id that is unknown or another account's.
#[derive(ToResponse)]
#[response(
    description = "No live sign-in of this account has that id.",
    example = json!({"detail": "Not found."})
)]
pub struct DeviceNotFound(#[to_schema] Detail);

/// Django REST framework's error for anything but input fields.
#[derive(ToSchema, Serialize)]
pub struct Detail {
    /// What went wrong, for people.
    detail: String,
}

/// Django REST framework's input errors: each named field (or `non_field_errors`) with every
/// message that applies to it.
#[derive(ToSchema, Serialize)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

/// A 400: field errors, or a `detail` for a body that could not be read at all (malformed JSON,
/// form data that is not UTF-8, a broken chunked stream).
#[derive(ToSchema, Serialize)]
#[serde(untagged)]
pub enum BadRequestBody {
    /// `{"email": ["This field is required."]}` and the like.
    Fields(FieldErrors),
    /// `{"detail": "JSON parse error - …"}`.
    Detail(Detail),
}

/// The `/healthz`-style answer of an unreachable database or a saturated hasher.
#[derive(ToResponse)]
#[response(
    description = "The database is unreachable or the password hasher is saturated; \
    try again shortly."
)]
pub struct Unavailable(#[to_schema] Detail);

/// 400 for a body or field that cannot be used.
#[derive(ToResponse)]
#[response(
    description = "A field is missing or invalid, or the body is not readable \
    (malformed JSON, a JSON value that is not an object, a field given twice, form data that \
    is not UTF-8)."
)]
pub struct BadRequest(#[to_schema] BadRequestBody);

/// 413 for a body over the size limit.
#[derive(ToResponse)]
#[response(
    description = "The body is over 16 KiB.",
    example = json!({"detail": "Request body is too large."})
)]
pub struct PayloadTooLarge(#[to_schema] Detail);

/// 415 for a body that is neither JSON nor form data.
#[derive(ToResponse)]
#[response(
    description = "A non-empty body that is neither `application/json` nor \
        `application/x-www-form-urlencoded`.",
    example = json!({"detail": "Unsupported media type \"text/plain\" in request."})
)]
pub struct UnsupportedMediaType(#[to_schema] Detail);

/// 429 from a rate limit, with the seconds to wait.
#[derive(ToResponse)]
#[response(
    description = "A rate limit was reached (see the README's rate limits); retry after \
        `Retry-After` seconds.",
    headers(("Retry-After" = u64, description = "Seconds until a retry can succeed.")),
    example = json!({"detail": "Request was throttled. Expected available in 60 seconds."})
)]
pub struct Throttled(#[to_schema] Detail);

/// 401 for a missing, malformed, unknown, expired or revoked bearer token.
#[derive(ToResponse)]
#[response(
    description = "No valid bearer token: missing, malformed, unknown, expired or revoked, or \
        its account is inactive.",
    headers(("WWW-Authenticate" = String, description = "`Bearer`.")),
    example = json!({"detail": "Authentication credentials were not provided."})
)]
pub struct Unauthorized(#[to_schema] Detail);

/// 404 for a reset token that cannot be used.
#[derive(ToResponse)]
#[response(
    description = "The token is unknown, used, expired, or its account is inactive.",
    example = json!({"detail": "The OTP password entered is not valid. Please check and try again."})
)]
pub struct InvalidToken(#[to_schema] Detail);
