//! Request bodies of the JSON API: `application/json` or `application/x-www-form-urlencoded`
//! (as django-rest-passwordreset accepts), read with a hard size limit, with Django REST
//! framework's field messages.
//!
//! * Bodies over [`MAX_BODY_BYTES`] are refused with 413 as soon as that is known (a declared
//!   `Content-Length`, or while streaming); other content types get 415.
//! * An empty body has no fields, whatever its content type (as in DRF), so it gets the
//!   "This field is required." answers.
//! * Malformed JSON is `400 {"detail": "JSON parse error - …"}`; form data that is not UTF-8
//!   is refused, never repaired.
//! * A field given twice (duplicate JSON key, repeated form parameter) is refused: a request
//!   names exactly one value per field.

use std::collections::BTreeMap;
use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::errors::{ApiError, FieldErrors};

/// Largest body accepted: ample for three 1024-byte passwords percent-encoded.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// DRF's message for a missing field.
pub const REQUIRED: &str = "This field is required.";
/// A field sent empty (or only whitespace where trimmed).
pub const BLANK: &str = "This field may not be blank.";

/// The fields of one request body.
#[derive(Debug, Default)]
pub struct ApiForm {
    fields: BTreeMap<String, Value>,
}

/// Whether surrounding whitespace is removed (DRF's `trim_whitespace`; never for passwords).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    /// Trim (emails, tokens, usernames).
    Yes,
    /// Keep exactly as sent (passwords).
    No,
}

impl ApiForm {
    /// Reads and parses the body of `req`.
    pub async fn read(req: &HttpRequest, mut payload: web::Payload) -> Result<Self, ApiError> {
        let kind = BodyKind::of(req);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
            return Err(too_large());
        }
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| {
                ApiError::detail(StatusCode::BAD_REQUEST, "Malformed request body.")
            })?;
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        if body.is_empty() {
            // DRF parses no body as no fields, whatever the content type: "field required".
            return Ok(Self::default());
        }
        match kind {
            BodyKind::Json => parse_json(&body),
            BodyKind::Form => parse_form(&body),
            BodyKind::Missing => Err(unsupported("")),
            BodyKind::Other(media_type) => Err(unsupported(&media_type)),
        }
    }

    /// Whether the body names this field at all (for optional fields).
    pub fn has(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }

    /// A text field, checked as DRF's `CharField` does; a problem is added to `errors`.
    pub fn string(&self, name: &str, trim: Trim, errors: &mut FieldErrors) -> Option<String> {
        let mut fail = |message: &str| {
            errors.insert(name.to_owned(), vec![message.to_owned()]);
            None
        };
        let text = match self.fields.get(name) {
            None => return fail(REQUIRED),
            Some(Value::Null) => return fail("This field may not be null."),
            Some(Value::String(text)) => text.clone(),
            Some(Value::Number(number)) => number.to_string(),
            Some(_) => return fail("Not a valid string."),
        };
        if text.contains('\0') {
            return fail("Null characters are not allowed.");
        }
        let text = match trim {
            Trim::Yes => text.trim().to_owned(),
            Trim::No => text,
        };
        if text.is_empty() {
            return fail(BLANK);
        }
        Some(text)
    }
}

impl ApiForm {
    /// A text field as sent, or empty (for HTML forms, whose fields the page checks itself).
    pub fn text(&self, name: &str) -> String {
        match self.fields.get(name) {
            Some(Value::String(text)) => text.clone(),
            _ => String::new(),
        }
    }
}

/// Reads the body of `req` and returns the named text fields in order, or one 400 that lists
/// every missing or invalid field (as DRF reports all of a serializer's errors at once).
pub async fn read_fields<const N: usize>(
    req: &HttpRequest,
    payload: web::Payload,
    wanted: [(&str, Trim); N],
) -> Result<[String; N], ApiError> {
    let form = ApiForm::read(req, payload).await?;
    let mut errors = FieldErrors::new();
    let values =
        wanted.map(|(name, trim)| form.string(name, trim, &mut errors).unwrap_or_default());
    check(errors)?;
    Ok(values)
}

/// Returns the collected field errors as one 400, if there are any.
pub fn check(errors: FieldErrors) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Fields(errors))
    }
}

enum BodyKind {
    Json,
    Form,
    Missing,
    Other(String),
}

impl BodyKind {
    fn of(req: &HttpRequest) -> Self {
        let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
            return Self::Missing;
        };
        let media_type = value
            .to_str()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media_type.as_str() {
            "application/json" => Self::Json,
            "application/x-www-form-urlencoded" => Self::Form,
            "" => Self::Missing,
            _ => Self::Other(media_type.chars().take(100).collect()),
        }
    }
}

fn too_large() -> ApiError {
    ApiError::detail(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large.")
}

fn unsupported(media_type: &str) -> ApiError {
    ApiError::detail(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!("Unsupported media type \"{media_type}\" in request."),
    )
}

fn duplicate(name: &str) -> ApiError {
    ApiError::field(name, "This field may be given only once.")
}

fn parse_json(body: &[u8]) -> Result<ApiForm, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = deserializer
        .deserialize_any(TopLevel)
        .and_then(|parsed| deserializer.end().map(|()| parsed))
        .map_err(|err| {
            ApiError::detail(StatusCode::BAD_REQUEST, format!("JSON parse error - {err}"))
        })?;
    let entries = match parsed {
        Parsed::Object(entries) => entries,
        Parsed::Other(type_name) => {
            return Err(ApiError::field(
                "non_field_errors",
                format!("Invalid data. Expected a dictionary, but got {type_name}."),
            ))
        }
    };
    let mut fields = BTreeMap::new();
    for (name, value) in entries {
        if fields.contains_key(&name) {
            return Err(duplicate(&name));
        }
        fields.insert(name, value);
    }
    Ok(ApiForm { fields })
}

fn parse_form(body: &[u8]) -> Result<ApiForm, ApiError> {
    let mut fields = BTreeMap::new();
    for pair in body
        .split(|byte| *byte == b'&')
        .filter(|pair| !pair.is_empty())
    {
        let (name, value) = match pair.iter().position(|byte| *byte == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &b""[..]),
        };
        let name = form_decode(name)?;
        if fields.contains_key(&name) {
            return Err(duplicate(&name));
        }
        fields.insert(name, Value::String(form_decode(value)?));
    }
    Ok(ApiForm { fields })
}

/// `+` is a space, then percent-decoding; the result must be UTF-8.
fn form_decode(raw: &[u8]) -> Result<String, ApiError> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|byte| if *byte == b'+' { b' ' } else { *byte })
        .collect();
    percent_encoding::percent_decode(&spaced)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| ApiError::detail(StatusCode::BAD_REQUEST, "Form data is not valid UTF-8."))
}

/// The top level of a JSON body: an object's entries in order (duplicates kept, so they can
/// be refused), or the name DRF gives any other type.
enum Parsed {
    Object(Vec<(String, Value)>),
    Other(&'static str),
}

struct TopLevel;

impl<'de> de::DeserializeSeed<'de> for TopLevel {
    type Value = Parsed;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Parsed, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel {
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let mut entries = Vec::new();
        while let Some((name, value)) = map.next_entry::<String, Value>()? {
            entries.push((name, value));
        }
        Ok(Parsed::Object(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Parsed, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Parsed::Other("list"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Parsed, E> {
        Ok(Parsed::Other("str"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Parsed, E> {
        Ok(Parsed::Other("int"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Parsed, E> {
        Ok(Parsed::Other("int"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Parsed, E> {
        Ok(Parsed::Other("float"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Parsed, E> {
        Ok(Parsed::Other("bool"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Parsed, E> {
        Ok(Parsed::Other("NoneType"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(form: &ApiForm, name: &str, trim: Trim) -> Result<String, Vec<String>> {
        let mut errors = FieldErrors::new();
        form.string(name, trim, &mut errors)
            .ok_or_else(|| errors.remove(name).unwrap())
    }

    #[test]
    fn json_fields_follow_drf_charfield_rules() {
        let form =
            parse_json(br#"{"a": " x ", "b": null, "c": 12, "d": [1], "e": "", "f": "a\u0000"}"#)
                .unwrap();
        assert_eq!(field(&form, "a", Trim::Yes), Ok("x".into()));
        assert_eq!(field(&form, "a", Trim::No), Ok(" x ".into()));
        assert_eq!(
            field(&form, "b", Trim::Yes),
            Err(vec!["This field may not be null.".into()])
        );
        assert_eq!(field(&form, "c", Trim::Yes), Ok("12".into()));
        assert_eq!(
            field(&form, "d", Trim::Yes),
            Err(vec!["Not a valid string.".into()])
        );
        assert_eq!(
            field(&form, "e", Trim::Yes),
            Err(vec!["This field may not be blank.".into()])
        );
        assert_eq!(
            field(&form, "f", Trim::Yes),
            Err(vec!["Null characters are not allowed.".into()])
        );
        assert_eq!(field(&form, "g", Trim::Yes), Err(vec![REQUIRED.into()]));
    }

    #[test]
    fn duplicates_and_non_objects_are_refused() {
        assert!(parse_json(br#"{"email": "a@x.io", "email": "b@x.io"}"#).is_err());
        assert!(parse_form(b"email=a%40x.io&email=b%40x.io").is_err());
        assert!(
            matches!(parse_json(b"[]"), Err(ApiError::Fields(f)) if f.contains_key("non_field_errors"))
        );
        assert!(parse_json(b"{\"a\":1} trailing").is_err());
        assert!(parse_json(b"\xef\xbb\xbf{}").is_err());
    }

    #[test]
    fn form_data_must_be_utf8() {
        let form = parse_form(b"password=a+b%2Bc&token=x").unwrap();
        assert_eq!(field(&form, "password", Trim::No), Ok("a b+c".into()));
        assert!(parse_form(b"email=%FF%FE").is_err());
    }
}
