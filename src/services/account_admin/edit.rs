//! The admin commands on one account: `users show`, `set-email`, `rename` and `delete`.
//!
//! They follow the rules of `users create`: a username or address taken by another account
//! (addresses compared on their canonical key) is refused, and a username may not have the form
//! of an email address other than the account's own, so a login by "email in the username
//! field" can never mean two accounts. Each change is one transaction with its audit event
//! (`user_updated`, `user_deleted`), which records the account's id and never the old or new
//! name or address.

use chrono::NaiveDateTime;

use super::{check_names, NameConflict};
use crate::db::users::{self, User};
use crate::db::users_admin;
use crate::db::{self, reset_tokens, Db, DbConnection, DbError};
use crate::domain::{EmailAddress, Username};
use crate::email::templates::EmailChangedMail;
use crate::error::Failure;
use crate::services::account::sessions::{self, Keep};
use crate::services::outbox::{EnqueueError, NewEmail, Outbox};

/// `kind` of the "your email address was changed" notice (sent to the old address).
pub const KIND_EMAIL_CHANGED: &str = "email_changed";

/// What `users show` prints.
#[derive(Debug, Clone)]
pub struct AccountDetails {
    /// The account row.
    pub user: User,
    /// The last successful login (written at every login; imported from Django until then).
    pub last_login: Option<NaiveDateTime>,
    /// Live browser sessions.
    pub browser_sessions: i64,
    /// Live bearer tokens.
    pub api_tokens: i64,
}

/// Why an admin command changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No account has that username.
    #[error("no user named {0:?}")]
    UnknownUser(String),
    /// Another account has that username.
    #[error("a user named {0:?} already exists")]
    DuplicateUsername(String),
    /// Another account has that address.
    #[error("a user with the email address {0} already exists")]
    DuplicateEmail(String),
    /// The new name or address breaks the rules of `users create`.
    #[error(transparent)]
    Taken(#[from] NameConflict),
    /// The notice could not be queued.
    #[error("cannot queue the notice: {0}")]
    Notice(String),
    /// The database or something unexpected failed.
    #[error(transparent)]
    Failed(#[from] Failure),
}

crate::failure_conversions!(AdminError);

fn find(conn: &mut DbConnection, username: &str) -> Result<User, AdminError> {
    users::find_by_username(conn, username)?
        .ok_or_else(|| AdminError::UnknownUser(username.to_owned()))
}

fn audit(conn: &mut DbConnection, user_id: i64, event: &'static str) -> Result<(), AdminError> {
    crate::services::audit::record(
        conn,
        &crate::services::audit::Event::new(event, user_id, None),
    )?;
    Ok(())
}

/// Everything `users show` prints about one account.
#[tracing::instrument(skip(db))]
pub fn show(db: &Db, username: &str) -> Result<AccountDetails, AdminError> {
    let mut conn = db.get()?;
    let user = find(&mut conn, username)?;
    let last_login = users_admin::last_login(&mut conn, user.id)?;
    let (browser_sessions, api_tokens) =
        users_admin::live_credentials(&mut conn, user.id, db::now())?;
    Ok(AccountDetails {
        user,
        last_login,
        browser_sessions,
        api_tokens,
    })
}

/// Changes an account's address: the notice goes to the *old* address (so its owner hears of
/// a change they did not make), and every reset token of the account is revoked (a link mailed
/// to the old address must not outlive it). Returns the old address.
#[tracing::instrument(skip_all)]
pub fn set_email(
    db: &Db,
    outbox: &Outbox,
    username: &str,
    email: &EmailAddress,
) -> Result<String, AdminError> {
    let key = email.canonical();
    let mut conn = db.get()?;
    let user = find(&mut conn, username)?;
    check_names(&mut conn, &user.username, email, Some(user.id))??;
    let now = db::now();
    let content = EmailChangedMail {
        product: outbox.product(),
        username: &user.username,
        changed_at: now,
    }
    .render()
    .map_err(|err| AdminError::Notice(err.to_string()))?;
    conn.write(|conn| {
        // Checked again inside the write: a change made since the first check wins.
        check_names(conn, &user.username, email, Some(user.id))??;
        if users::set_email(conn, user.id, email.as_str(), &key, now)? == 0 {
            return Err(AdminError::UnknownUser(username.to_owned()));
        }
        reset_tokens::delete_for_user(conn, user.id)?;
        audit(conn, user.id, "user_updated")?;
        let notice = NewEmail {
            kind: KIND_EMAIL_CHANGED,
            user_id: Some(user.id),
            recipient: &user.email,
            content: &content,
            expires_at: None,
        };
        outbox.enqueue(conn, &notice).map_err(|err| match err {
            EnqueueError::Database(err) => AdminError::from(err),
            EnqueueError::Header(err) => AdminError::Notice(err.to_string()),
        })?;
        Ok::<_, AdminError>(())
    })
    .map_err(|err| unique_to(err, || AdminError::DuplicateEmail(email.to_string())))?;
    outbox.notify();
    tracing::info!(
        user_id = user.id,
        "email address changed by an administrator"
    );
    Ok(user.email)
}

/// Renames an account (the stored key follows: NFKC and case folded).
#[tracing::instrument(skip_all)]
pub fn rename(db: &Db, username: &str, new: &Username) -> Result<(), AdminError> {
    let mut conn = db.get()?;
    let user = find(&mut conn, username)?;
    let email = EmailAddress::parse(&user.email).map_err(|_| {
        AdminError::from(anyhow::anyhow!(
            "user {} has an invalid stored email address",
            user.id
        ))
    })?;
    let now = db::now();
    conn.write(|conn| {
        check_names(conn, new.as_str(), &email, Some(user.id))??;
        if users::rename(conn, user.id, new.as_str(), &new.key(), now)? == 0 {
            return Err(AdminError::UnknownUser(username.to_owned()));
        }
        audit(conn, user.id, "user_updated")
    })
    .map_err(|err| unique_to(err, || AdminError::DuplicateUsername(new.to_string())))?;
    tracing::info!(user_id = user.id, "account renamed by an administrator");
    Ok(())
}

/// Deletes an account with its reset tokens, bearer tokens, browser sessions and queued mail.
/// Its audit rows stay, with its id (the `user_deleted` event among them). Returns the id.
#[tracing::instrument(skip(db))]
pub fn delete(db: &Db, username: &str) -> Result<i64, AdminError> {
    let mut conn = db.get()?;
    let user = find(&mut conn, username)?;
    conn.write(|conn| {
        users::lock_in_id_order(conn, &[user.id])?;
        reset_tokens::delete_for_user(conn, user.id)?;
        sessions::revoke_sessions_and_tokens(conn, user.id, Keep::NOTHING)?;
        if users_admin::delete(conn, user.id)? == 0 {
            return Err(AdminError::UnknownUser(username.to_owned()));
        }
        audit(conn, user.id, "user_deleted")
    })?;
    tracing::info!(user_id = user.id, "account deleted by an administrator");
    Ok(user.id)
}

/// A unique violation at commit time (another command won a race) as the duplicate it is.
fn unique_to(err: AdminError, duplicate: impl FnOnce() -> AdminError) -> AdminError {
    match err {
        AdminError::Failed(Failure::Unavailable(DbError::Query(
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ),
        ))) => duplicate(),
        other => other,
    }
}
