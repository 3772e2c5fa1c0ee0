//! Account administration: create, set a password, list, activate and deactivate.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use secrecy::SecretString;

use crate::db::users::{self, NewUser, User};
use crate::db::{self, Db, DbError};
use crate::domain::{EmailAddress, NewPassword, PasswordRules, Username, Violation};
use crate::passwords::{HashError, PasswordHasher};
use crate::services::credentials;

/// What `users create` asks for.
#[derive(Debug)]
pub struct NewAccount {
    /// Login name.
    pub username: Username,
    /// Contact address; reset mail goes here.
    pub email: EmailAddress,
    /// Initial password; `None` creates an account that can only get one through a reset.
    pub password: Option<SecretString>,
}

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// The username is taken.
    #[error("a user named {0:?} already exists")]
    DuplicateUsername(String),
    /// The email address (compared case-insensitively) is taken.
    #[error("a user with the email address {0} already exists")]
    DuplicateEmail(String),
    /// The password broke at least one rule.
    #[error("the password is not acceptable: {}", describe(.0))]
    WeakPassword(Vec<Violation>),
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
}

/// Why an existing account could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// No account has that username.
    #[error("no user named {0:?}")]
    UnknownUser(String),
    /// The new password broke at least one rule.
    #[error("the password is not acceptable: {}", describe(.0))]
    WeakPassword(Vec<Violation>),
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<DieselError> for AccountError {
    fn from(err: DieselError) -> Self {
        Self::Database(err.into())
    }
}

/// Every message on one line, as the CLI prints them.
pub fn describe(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Creates an account; the password, if any, must meet the same rules as everywhere else.
pub fn create_user(
    db: &Db,
    hasher: &PasswordHasher,
    rules: PasswordRules,
    account: NewAccount,
) -> Result<User, CreateUserError> {
    let email_key = account.email.canonical();
    {
        let mut conn = db.get()?;
        if users::find_by_username(&mut conn, account.username.as_str())
            .map_err(DbError::from)?
            .is_some()
        {
            return Err(CreateUserError::DuplicateUsername(
                account.username.to_string(),
            ));
        }
        if users::find_by_email_key(&mut conn, &email_key)
            .map_err(DbError::from)?
            .is_some()
        {
            return Err(CreateUserError::DuplicateEmail(account.email.to_string()));
        }
    }
    let password_hash = match account.password {
        Some(raw) => {
            let password = NewPassword::parse(
                raw,
                rules,
                account.username.as_str(),
                account.email.as_str(),
            )
            .map_err(CreateUserError::WeakPassword)?;
            Some(hasher.hash(&password)?)
        }
        None => None,
    };
    let now = db::now();
    let row = NewUser {
        username: account.username.as_str(),
        email: account.email.as_str(),
        email_key: &email_key,
        password_hash: password_hash.as_deref(),
        password_changed_at: password_hash.as_ref().map(|_| now),
        created_at: now,
        updated_at: now,
    };
    let mut conn = db.get()?;
    conn.write(|conn| row.insert(conn))
        .map_err(|err| match unique_column(&err) {
            Some("username") => CreateUserError::DuplicateUsername(account.username.to_string()),
            Some(_) => CreateUserError::DuplicateEmail(account.email.to_string()),
            None => CreateUserError::Database(err.into()),
        })
}

/// Which unique column a failed insert collided on, if that is why it failed.
fn unique_column(err: &DieselError) -> Option<&'static str> {
    let DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = err else {
        return None;
    };
    let text = format!(
        "{} {}",
        info.message(),
        info.constraint_name().unwrap_or("")
    );
    Some(if text.contains("username") {
        "username"
    } else {
        "email"
    })
}

/// Sets a user's password (same rules as the API) and makes every older credential stale.
pub fn set_password(
    db: &Db,
    hasher: &PasswordHasher,
    rules: PasswordRules,
    username: &str,
    raw: SecretString,
) -> Result<(), AccountError> {
    let user = find(db, username)?;
    let password = NewPassword::parse(raw, rules, &user.username, &user.email)
        .map_err(AccountError::WeakPassword)?;
    let hash = hasher.hash(&password)?;
    let mut conn = db.get()?;
    conn.write(|conn| {
        users::set_password_hash(conn, user.id, &hash, db::now())?;
        credentials::revoke_after_password_change(conn, user.id, credentials::Keep::NOTHING)
    })?;
    tracing::info!(user_id = user.id, "password set by an administrator");
    Ok(())
}

/// Every account, oldest first.
pub fn list_users(db: &Db) -> Result<Vec<User>, DbError> {
    let mut conn = db.get()?;
    Ok(users::list(&mut conn)?)
}

/// Activates or deactivates an account.
pub fn set_active(db: &Db, username: &str, active: bool) -> Result<User, AccountError> {
    let user = find(db, username)?;
    let mut conn = db.get()?;
    conn.write(|conn| users::set_active(conn, user.id, active, db::now()))?;
    tracing::info!(user_id = user.id, active, "account activation changed");
    Ok(User {
        is_active: active,
        ..user
    })
}

fn find(db: &Db, username: &str) -> Result<User, AccountError> {
    let mut conn = db.get()?;
    users::find_by_username(&mut conn, username)?
        .ok_or_else(|| AccountError::UnknownUser(username.to_owned()))
}
