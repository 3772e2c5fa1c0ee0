//! The three signals of django-rest-passwordreset as a trait: a token was created, a reset is
//! about to happen, a reset happened. The default implementation mails the reset link.
//!
//! Add your own (an SMS, a webhook) without forking: implement [`ResetHooks`], keep the email
//! by calling [`send_reset_email`], and build the app with
//! [`Application::build_with_hooks`](crate::startup::Application::build_with_hooks).
//!
//! ```
//! use latchkey::services::reset::hooks::{send_reset_email, HookError, ResetHooks, TokenCreated};
//!
//! #[derive(Debug)]
//! struct EmailAndSms;
//!
//! impl ResetHooks for EmailAndSms {
//!     fn token_created(&self, event: &mut TokenCreated<'_>) -> Result<(), HookError> {
//!         send_reset_email(event)?;
//!         // e.g. queue an SMS with `event.link` in a table of your own, through `event.conn`,
//!         // so it commits together with the token.
//!         Ok(())
//!     }
//! }
//! ```

use std::time::Duration;

use chrono::NaiveDateTime;

use super::token::CreatedToken;
use crate::db::users::User;
use crate::db::{self, DbConnection};
use crate::email::templates::PasswordResetMail;
use crate::services::audit;
use crate::services::outbox::{NewEmail, Outbox, KIND_PASSWORD_RESET};
use crate::services::ClientInfo;

/// What a hook may fail with; the token (or reset) is then rolled back.
pub type HookError = anyhow::Error;

/// A reset token was created (`reset_password_token_created`). Runs inside the transaction
/// that stores the token, so whatever the hook writes commits with it.
pub struct TokenCreated<'a> {
    /// The open transaction.
    pub conn: &'a mut DbConnection,
    /// For enqueueing mail.
    pub outbox: &'a Outbox,
    /// The account.
    pub user: &'a User,
    /// The token in clear (only hooks ever see it).
    pub token: &'a str,
    /// `LATCHKEY_PUBLIC_URL/reset-password/{token}`.
    pub link: &'a str,
    /// The "I did not ask for this" link: `LATCHKEY_PUBLIC_URL/reset-password/{token}/cancel`.
    pub cancel_link: &'a str,
    /// When the token expires.
    pub expires_at: NaiveDateTime,
    /// The token's lifetime.
    pub lifetime: Duration,
    /// Who asked (no client for admin-issued tokens).
    pub client: &'a ClientInfo,
}

impl std::fmt::Debug for TokenCreated<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCreated")
            .field("user_id", &self.user.id)
            .finish_non_exhaustive()
    }
}

/// A reset of `user`'s password (`pre_password_reset` / `post_password_reset`).
#[derive(Debug)]
pub struct PasswordReset<'a> {
    /// The account.
    pub user: &'a User,
    /// Who presented the token.
    pub client: &'a ClientInfo,
}

/// Callbacks around the reset flow.
pub trait ResetHooks: Send + Sync + std::fmt::Debug {
    /// A token was created. The default mails the link to the account's stored address.
    fn token_created(&self, event: &mut TokenCreated<'_>) -> Result<(), HookError> {
        send_reset_email(event)
    }

    /// A valid token was presented, before the new password is checked.
    fn before_reset(&self, _event: &PasswordReset<'_>) {}

    /// The password was changed, inside the same transaction (`conn`).
    fn after_reset(
        &self,
        _conn: &mut DbConnection,
        _event: &PasswordReset<'_>,
    ) -> Result<(), HookError> {
        Ok(())
    }
}

/// The hooks Latchkey runs when none are given: the reset email only.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultResetHooks;

impl ResetHooks for DefaultResetHooks {}

/// Renders the reset email and enqueues it (same transaction as the token). It goes to the
/// address stored on the account, never to the one typed in the request, and is marked to
/// expire with the token so it is never sent late.
pub fn send_reset_email(event: &mut TokenCreated<'_>) -> Result<(), HookError> {
    let content = PasswordResetMail {
        product: event.outbox.product(),
        username: &event.user.username,
        link: event.link,
        expires_at: event.expires_at,
        lifetime: event.lifetime,
        cancel_link: event.cancel_link,
    }
    .render()?;
    event.outbox.enqueue(
        event.conn,
        &NewEmail {
            kind: KIND_PASSWORD_RESET,
            user_id: Some(event.user.id),
            recipient: &event.user.email,
            content: &content,
            expires_at: Some(event.expires_at),
        },
    )?;
    Ok(())
}

impl super::ResetService {
    /// Runs the `token_created` hooks (the reset mail by default).
    pub(crate) fn announce(
        &self,
        conn: &mut DbConnection,
        user: &User,
        created: &CreatedToken,
        client: &ClientInfo,
    ) -> Result<(), HookError> {
        let delivery = self.settings.reset_delivery;
        if delivery.hooks() {
            if let Some(url) = &self.settings.webhook_url {
                // The one webhook that carries a token: sealed at rest like a mail body,
                // never logged, never sent after the token expired.
                crate::services::webhooks::queue_event(
                    conn,
                    self.outbox.bodies(),
                    url,
                    crate::services::webhooks::PASSWORD_RESET_TOKEN_CREATED,
                    db::now(),
                    serde_json::json!({
                        "user_id": user.id,
                        "username": user.username,
                        "email": user.email,
                        "token": created.token,
                        "reset_url": created.link,
                        "expires_at": audit::rfc3339(created.expires_at),
                    }),
                    Some(created.expires_at),
                )?;
            }
        }
        if !delivery.mails() {
            return Ok(());
        }
        self.hooks.token_created(&mut TokenCreated {
            conn,
            outbox: &self.outbox,
            user,
            token: &created.token,
            link: &created.link,
            cancel_link: &created.cancel_link,
            expires_at: created.expires_at,
            lifetime: self.settings.token_ttl,
            client,
        })
    }
}
