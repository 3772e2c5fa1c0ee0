//! `Authorization: Bearer <token>`: the only way the API authenticates (never a cookie or a
//! query parameter, so a cross-site form post can never act as a logged-in user).

use actix_web::http::header;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::{blocking, ApiError, AppState};
use crate::services::account::login::{AuthError, Authenticated};

/// The account behind a valid bearer token.
#[derive(Debug)]
pub struct Bearer(pub Authenticated);

/// DRF's message when no credentials came with the request.
const NOT_PROVIDED: &str = "Authentication credentials were not provided.";

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|value| value.to_str().ok().and_then(parse_bearer));
        Box::pin(async move {
            let state = state.ok_or(ApiError::Internal)?;
            let token = match token {
                None => return Err(ApiError::Unauthorized(NOT_PROVIDED.to_owned())),
                Some(None) => {
                    return Err(ApiError::Unauthorized("Invalid token header.".to_owned()))
                }
                Some(Some(token)) => token,
            };
            let accounts = state.accounts.clone();
            match blocking::run(move || accounts.authenticate(&token)).await? {
                Ok(authenticated) => Ok(Self(authenticated)),
                Err(AuthError::Invalid) => Err(ApiError::Unauthorized("Invalid token.".to_owned())),
                Err(AuthError::Failed(err)) => Err(err.into()),
            }
        })
    }
}

/// The token of a `Bearer <token>` header (scheme case-insensitive, one token).
pub(crate) fn parse_bearer(value: &str) -> Option<String> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    let valid = scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && !token.contains(char::is_whitespace);
    valid.then(|| token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::parse_bearer;

    #[test]
    fn only_the_bearer_scheme_with_one_token_is_accepted() {
        assert_eq!(parse_bearer("Bearer abc"), Some("abc".to_owned()));
        assert_eq!(parse_bearer("bearer  abc "), Some("abc".to_owned()));
        assert_eq!(parse_bearer("Basic abc"), None);
        assert_eq!(parse_bearer("Bearer a b"), None);
        assert_eq!(parse_bearer("Bearer"), None);
    }
}
