//! Account administration (`latchkey users …`): create, set a password, list, activate and
//! deactivate here; show, rename, change the address and delete in [`edit`], with their
//! notices and audit events, under the same name rules (`check_names`); many accounts at once
//! in [`import`].
//!
//! One account per mailbox and per name: addresses are compared on their canonical key (the
//! domain in IDNA form, so `bücher.example` = `xn--bcher-kva.example`), usernames on theirs (NFKC
//! and case folding, so `BOB` = `bob`), and a username that has the form of an email address
//! must be the account's own address, so an address typed into a login form means one account.

pub mod edit;
pub mod import;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use secrecy::SecretString;

use crate::db::users::{self, NewUser, User};
use crate::db::DbConnection;
use crate::db::{self, Db, DbError};
use crate::domain::{
    email_form_key, EmailAddress, NewPassword, PasswordRules, Username, Violation,
};
use crate::error::Failure;
use crate::passwords::PasswordHasher;
use crate::services::account::sessions::{self, Keep};
use crate::services::audit::{self, Event};

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

/// A name or address another account already has, by the comparison rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameConflict {
    /// The username is another account's, exactly or after NFKC and case folding.
    #[error(
        "a user named {existing:?} already exists{}",
        same_as(requested, existing, "usernames are compared ignoring case and width")
    )]
    DuplicateUsername {
        /// As asked for.
        requested: String,
        /// As the other account has it.
        existing: String,
    },
    /// The address is another account's, ignoring case and the IDNA spelling of the domain.
    #[error(
        "a user with the email address {existing} already exists{}",
        same_as(
            requested,
            existing,
            "addresses are compared ignoring case and the spelling of the domain"
        )
    )]
    DuplicateEmail {
        /// As asked for.
        requested: String,
        /// As the other account has it.
        existing: String,
    },
    /// The username has the form of an email address that is not the account's own.
    #[error("the username {username:?} has the form of an email address other than the account's own ({email}); use the account's own address or a name that is not an address")]
    UsernameIsOtherEmail {
        /// The username.
        username: String,
        /// The account's address.
        email: String,
    },
    /// The address is another account's email-shaped username.
    #[error("the email address {email} is the username of another account ({username:?})")]
    EmailIsOtherUsername {
        /// The address.
        email: String,
        /// The other account's username.
        username: String,
    },
}

/// `"; X is the same …"` when the two spellings differ, else nothing.
fn same_as(requested: &str, existing: &str, rule: &str) -> String {
    if requested == existing {
        String::new()
    } else {
        format!(" ({requested:?} is the same: {rule})")
    }
}

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// The username or address is taken.
    #[error(transparent)]
    Taken(#[from] NameConflict),
    /// The password broke at least one rule.
    #[error("the password is not acceptable: {}", describe(.0))]
    WeakPassword(Vec<Violation>),
    /// The database, the hasher or something unexpected failed.
    #[error(transparent)]
    Failed(#[from] Failure),
}

/// Why an existing account could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// No account has that username.
    #[error("no user named {0:?}")]
    UnknownUser(String),
    /// The new name or address is taken.
    #[error(transparent)]
    Taken(#[from] NameConflict),
    /// The new password broke at least one rule.
    #[error("the password is not acceptable: {}", describe(.0))]
    WeakPassword(Vec<Violation>),
    /// The database, the hasher or something unexpected failed.
    #[error(transparent)]
    Failed(#[from] Failure),
}

crate::failure_conversions!(CreateUserError, AccountError);

/// Every message on one line, as the CLI prints them.
pub fn describe(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Creates an account; the password, if any, must meet the same rules as everywhere else.
#[tracing::instrument(skip_all)]
pub fn create_user(
    db: &Db,
    hasher: &PasswordHasher,
    rules: PasswordRules,
    account: NewAccount,
) -> Result<User, CreateUserError> {
    {
        let mut conn = db.get()?;
        check_names(&mut conn, account.username.as_str(), &account.email, None)
            .map_err(DbError::from)??;
    }
    let NewAccount {
        username,
        email,
        password,
    } = account;
    let password_hash = match password {
        Some(raw) => {
            let password = NewPassword::parse(raw, rules, username.as_str(), email.as_str())
                .map_err(CreateUserError::WeakPassword)?;
            Some(hasher.hash(&password)?)
        }
        None => None,
    };
    let now = db::now();
    let (email_key, username_key) = (email.canonical(), username.key());
    let row = NewUser {
        username: username.as_str(),
        username_key: &username_key,
        email: email.as_str(),
        email_key: &email_key,
        password_hash: password_hash.as_deref(),
        password_changed_at: password_hash.as_ref().map(|_| now),
        created_at: now,
        updated_at: now,
    };
    let mut conn = db.get()?;
    conn.write(|conn| {
        // Checked again inside the write: an account created since the first check wins.
        check_names(conn, username.as_str(), &email, None)??;
        let user = row.insert(conn).map_err(|err| match unique_column(&err) {
            Some(column) => CreateUserError::Taken(taken(column, &username, &email)),
            None => CreateUserError::from(err),
        })?;
        audit::record(
            conn,
            &Event::new(audit::USER_CREATED, user.id, None)
                .with(serde_json::json!({ "password_set": user.password_hash.is_some() })),
        )?;
        Ok(user)
    })
}

/// The conflict a unique index reported, when the checks before the insert could not see it.
fn taken(column: &str, username: &Username, email: &EmailAddress) -> NameConflict {
    if column == "username" {
        NameConflict::DuplicateUsername {
            requested: username.to_string(),
            existing: username.to_string(),
        }
    } else {
        NameConflict::DuplicateEmail {
            requested: email.to_string(),
            existing: email.to_string(),
        }
    }
}

/// Checks a username and address against the other accounts (all but `own`) and against the
/// rule that an email-shaped username is the account's own address (also for the admin
/// commands that rename an account or change its address).
pub(crate) fn check_names(
    conn: &mut DbConnection,
    username: &str,
    email: &EmailAddress,
    own: Option<i64>,
) -> Result<Result<(), NameConflict>, DieselError> {
    let other = |user: &User| Some(user.id) != own;
    if let Some(existing) = users::find_by_username(conn, username)?.filter(other) {
        return Ok(Err(NameConflict::DuplicateUsername {
            requested: username.to_string(),
            existing: existing.username,
        }));
    }
    let email_key = email.canonical();
    if let Some(existing) = users::find_by_email_key(conn, &email_key)?.filter(other) {
        return Ok(Err(NameConflict::DuplicateEmail {
            requested: email.to_string(),
            existing: existing.email,
        }));
    }
    if email_form_key(username).is_some_and(|form| form != email_key) {
        return Ok(Err(NameConflict::UsernameIsOtherEmail {
            username: username.to_string(),
            email: email.to_string(),
        }));
    }
    // A legacy account may already have this address as its username.
    if let Some(existing) = users::find_by_username(conn, email.as_str())?.filter(other) {
        if email_form_key(&existing.username).is_some_and(|form| form == email_key) {
            return Ok(Err(NameConflict::EmailIsOtherUsername {
                email: email.to_string(),
                username: existing.username,
            }));
        }
    }
    Ok(Ok(()))
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
#[tracing::instrument(skip_all)]
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
        sessions::revoke_after_password_change(conn, user.id, Keep::NOTHING)?;
        audit::record(
            conn,
            &Event::new(audit::PASSWORD_SET_BY_ADMIN, user.id, None),
        )
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
#[tracing::instrument(skip(db))]
pub fn set_active(db: &Db, username: &str, active: bool) -> Result<User, AccountError> {
    let user = find(db, username)?;
    let mut conn = db.get()?;
    let event = if active {
        audit::USER_ACTIVATED
    } else {
        audit::USER_DEACTIVATED
    };
    conn.write(|conn| {
        users::set_active(conn, user.id, active, db::now())?;
        audit::record(conn, &Event::new(event, user.id, None))
    })?;
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
