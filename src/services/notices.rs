//! The "your password was changed" notice and its "This wasn't me" link, queued into the
//! outbox by [`Notices::queue_password_changed`].
//!
//! Every notice carries a fresh single-use token of its own (32 random bytes, hex), stored only
//! as its HMAC under a purpose key of its own, valid `LATCHKEY_WASNT_ME_TTL`. The token is made
//! in the transaction that queues the notice, so a notice never points at a token that was not
//! committed, and a rolled-back change leaves no token behind.

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::config::PublicUrl;
use crate::db::users::User;
use crate::db::wasnt_me_tokens::NewWasntMeToken;
use crate::db::{self, DbConnection};
use crate::domain::random_bytes;
use crate::email::templates::PasswordChangedMail;
use crate::email::{HeaderInjection, RenderedEmail};
use crate::error::Failure;
use crate::secrets::TokenHasher;
use crate::services::outbox::{EnqueueError, NewEmail, Outbox, KIND_PASSWORD_CHANGED};
use crate::services::ClientInfo;

/// Random bytes in a "This wasn't me" token (hex-encoded: 64 characters).
const TOKEN_BYTES: usize = 32;

/// Why a notice could not be queued (the change that caused it is rolled back with it).
#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    /// A statement failed.
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    /// The template failed to render.
    #[error("cannot render the notice: {0}")]
    Render(#[from] askama::Error),
    /// A header value was refused.
    #[error(transparent)]
    Header(#[from] HeaderInjection),
}

impl From<EnqueueError> for NoticeError {
    fn from(err: EnqueueError) -> Self {
        match err {
            EnqueueError::Database(err) => Self::Database(err),
            EnqueueError::Header(err) => Self::Header(err),
        }
    }
}

/// A statement failure is the database's; a template or a header is a bug.
impl From<NoticeError> for Failure {
    fn from(err: NoticeError) -> Self {
        match err {
            NoticeError::Database(err) => err.into(),
            err => Self::Unexpected(err.into()),
        }
    }
}

/// Issues "This wasn't me" tokens and renders the notices that carry them.
#[derive(Debug, Clone)]
pub struct Notices {
    hasher: TokenHasher,
    ttl: Duration,
    public_url: PublicUrl,
}

impl Notices {
    /// Tokens hashed by `hasher` (its own purpose key), valid `ttl`, linked under `public_url`.
    pub fn new(hasher: TokenHasher, ttl: Duration, public_url: PublicUrl) -> Self {
        Self {
            hasher,
            ttl,
            public_url,
        }
    }

    /// The stored form of a token.
    pub fn hash(&self, token: &str) -> String {
        self.hasher.hash(token)
    }

    /// Whether `token` has the shape of a token issued here (checked before any look-up).
    pub fn could_be_token(token: &str) -> bool {
        token.len() == 2 * TOKEN_BYTES && token.bytes().all(|b| b.is_ascii_hexdigit())
    }

    /// Renders the notice for `user` with a fresh "This wasn't me" link, whose token is stored
    /// in the caller's transaction.
    pub fn password_changed_email(
        &self,
        conn: &mut DbConnection,
        product: &str,
        user: &User,
        changed_at: NaiveDateTime,
        client: Option<&ClientInfo>,
    ) -> diesel::QueryResult<Result<RenderedEmail, askama::Error>> {
        let token = hex::encode(random_bytes::<TOKEN_BYTES>());
        let now = db::now();
        let expires_at = chrono::Duration::from_std(self.ttl)
            .ok()
            .and_then(|ttl| now.checked_add_signed(ttl))
            .unwrap_or(chrono::NaiveDateTime::MAX);
        NewWasntMeToken {
            user_id: user.id,
            token_hash: &self.hash(&token),
            created_at: now,
            expires_at,
        }
        .insert(conn)?;
        let link = self.public_url.join(&format!("/wasnt-me/{token}"));
        let ip = client.and_then(ClientInfo::ip_text);
        Ok(PasswordChangedMail {
            product,
            username: &user.username,
            changed_at,
            ip_address: ip.as_deref(),
            user_agent: client.and_then(|client| client.user_agent.as_deref()),
            wasnt_me_link: &link,
            wasnt_me_expires_at: expires_at,
            wasnt_me_lifetime: self.ttl,
        }
        .render())
    }

    /// Queues the "your password was changed" notice, with its fresh "This wasn't me" link, to
    /// the account's stored address (in the caller's transaction; [`Outbox::notify`] after the
    /// commit).
    pub fn queue_password_changed(
        &self,
        conn: &mut DbConnection,
        outbox: &Outbox,
        user: &User,
        changed_at: NaiveDateTime,
        client: Option<&ClientInfo>,
    ) -> Result<i64, NoticeError> {
        let content =
            self.password_changed_email(conn, outbox.product(), user, changed_at, client)??;
        Ok(outbox.enqueue(
            conn,
            &NewEmail {
                kind: KIND_PASSWORD_CHANGED,
                user_id: Some(user.id),
                recipient: &user.email,
                content: &content,
                expires_at: None,
            },
        )?)
    }
}
