//! Account administration: create, rename, change the address, set a password, list,
//! activate and deactivate.
//!
//! One account per mailbox and per name: addresses are compared on their canonical key (the
//! domain in IDNA form, so `bücher.example` = `xn--bcher-kva.example`), usernames on theirs (NFKC
//! and case folding, so `BOB` = `bob`), and a username that has the form of an email address
//! must be the account's own address, so an address typed into a login form means one account.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use secrecy::SecretString;

use crate::db::users::{self, NewUser, User};
use crate::db::DbConnection;
use crate::db::{self, Db, DbError};
use crate::domain::{
    email_form_key, EmailAddress, NewPassword, PasswordRules, Username, Violation,
};
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
    /// The new name or address is taken.
    #[error(transparent)]
    Taken(#[from] NameConflict),
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
        row.insert(conn).map_err(|err| match unique_column(&err) {
            Some(column) => CreateUserError::Taken(taken(column, &username, &email)),
            None => CreateUserError::Database(err.into()),
        })
    })
}

impl From<DieselError> for CreateUserError {
    fn from(err: DieselError) -> Self {
        Self::Database(err.into())
    }
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
/// rule that an email-shaped username is the account's own address.
fn check_names(
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

/// Renames an account; the new name obeys the same rules as at creation.
pub fn rename_user(db: &Db, username: &str, new_name: Username) -> Result<User, AccountError> {
    let user = find(db, username)?;
    let email = EmailAddress::parse(&user.email).map_err(|_| {
        AccountError::Database(DbError::Unavailable(format!(
            "user {} has an invalid stored email address",
            user.id
        )))
    })?;
    let key = new_name.key();
    let mut conn = db.get()?;
    let now = db::now();
    conn.write(|conn| {
        check_names(conn, new_name.as_str(), &email, Some(user.id))??;
        users::rename(conn, user.id, new_name.as_str(), &key, now).map_err(
            |err| match unique_column(&err) {
                Some(_) => AccountError::Taken(NameConflict::DuplicateUsername {
                    requested: new_name.to_string(),
                    existing: new_name.to_string(),
                }),
                None => err.into(),
            },
        )
    })?;
    tracing::info!(user_id = user.id, "account renamed by an administrator");
    Ok(User {
        username: new_name.to_string(),
        username_key: Some(key),
        ..user
    })
}

/// Changes an account's address; the new one obeys the same rules as at creation.
pub fn set_email(db: &Db, username: &str, email: EmailAddress) -> Result<User, AccountError> {
    let user = find(db, username)?;
    let key = email.canonical();
    let mut conn = db.get()?;
    let now = db::now();
    conn.write(|conn| {
        check_names(conn, &user.username, &email, Some(user.id))??;
        users::set_email(conn, user.id, email.as_str(), &key, now).map_err(
            |err| match unique_column(&err) {
                Some(_) => AccountError::Taken(NameConflict::DuplicateEmail {
                    requested: email.to_string(),
                    existing: email.to_string(),
                }),
                None => err.into(),
            },
        )
    })?;
    tracing::info!(
        user_id = user.id,
        "account address changed by an administrator"
    );
    Ok(User {
        email: email.to_string(),
        email_key: key,
        ..user
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

/// One account of an import (`latchkey users import`).
#[derive(Debug)]
pub struct ImportedAccount {
    /// The account.
    pub account: NewAccount,
    /// An argon2id PHC hash carried over from another system, instead of a password.
    pub password_hash: Option<String>,
}

/// Why an import was refused; nothing is created then.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A record broke a rule; `line` is 1-based.
    #[error("line {line}: {reason}")]
    Invalid {
        /// Where.
        line: usize,
        /// What.
        reason: String,
    },
    /// A username or email is taken (by an existing account or an earlier line).
    #[error("line {line}: {reason}")]
    Duplicate {
        /// Where.
        line: usize,
        /// What.
        reason: String,
    },
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
}

/// Creates many accounts in one transaction: all or none. Passwords are checked against the
/// rules and hashed on every core; imported hashes must be argon2id PHC strings (they are
/// upgraded at the next login if their cost is lower than configured).
pub fn import_users(
    db: &Db,
    hasher: &PasswordHasher,
    rules: PasswordRules,
    records: Vec<ImportedAccount>,
) -> Result<usize, ImportError> {
    let mut seen_usernames = std::collections::HashMap::new();
    let mut seen_emails = std::collections::HashMap::new();
    let mut pending = Vec::with_capacity(records.len());
    for (index, record) in records.into_iter().enumerate() {
        let line = index + 1;
        let email_key = record.account.email.canonical();
        if let Some(earlier) = seen_usernames.insert(record.account.username.key(), line) {
            return Err(ImportError::Duplicate {
                line,
                reason: format!(
                    "the username {:?} repeats line {earlier} (usernames are compared ignoring case and width)",
                    record.account.username.as_str()
                ),
            });
        }
        if let Some(earlier) = seen_emails.insert(email_key.clone(), line) {
            return Err(ImportError::Duplicate {
                line,
                reason: format!(
                    "the email address {} repeats line {earlier} (addresses are compared ignoring case and the spelling of the domain)",
                    record.account.email
                ),
            });
        }
        if record
            .account
            .username
            .email_form_key()
            .is_some_and(|form| form != email_key)
        {
            return Err(ImportError::Duplicate {
                line,
                reason: NameConflict::UsernameIsOtherEmail {
                    username: record.account.username.to_string(),
                    email: record.account.email.to_string(),
                }
                .to_string(),
            });
        }
        let password = match (record.account.password, &record.password_hash) {
            (Some(raw), None) => Some(
                NewPassword::parse(
                    raw,
                    rules,
                    record.account.username.as_str(),
                    record.account.email.as_str(),
                )
                .map_err(|violations| ImportError::Invalid {
                    line,
                    reason: describe(&violations),
                })?,
            ),
            (None, Some(hash)) if hash.starts_with("$argon2id$") => None,
            (None, Some(_)) => {
                return Err(ImportError::Invalid {
                    line,
                    reason: "password_hash must be an argon2id PHC string".to_owned(),
                })
            }
            (Some(_), Some(_)) => {
                return Err(ImportError::Invalid {
                    line,
                    reason: "give password or password_hash, not both".to_owned(),
                })
            }
            (None, None) => None,
        };
        pending.push((
            line,
            record.account.username,
            record.account.email,
            email_key,
            password,
            record.password_hash,
        ));
    }
    let hashes = hash_all(
        hasher,
        pending.iter().map(|entry| entry.4.as_ref()).collect(),
    )?;
    let now = db::now();
    let mut conn = db.get()?;
    conn.write(|conn| {
        for ((line, username, email, email_key, _, imported), hash) in pending.iter().zip(&hashes) {
            let password_hash = hash.as_deref().or(imported.as_deref());
            if let Err(conflict) = check_names(conn, username.as_str(), email, None)? {
                let reason = match &conflict {
                    NameConflict::DuplicateUsername { .. } => {
                        format!("the username is taken: {conflict}")
                    }
                    NameConflict::DuplicateEmail { .. } => {
                        format!("the email address is taken: {conflict}")
                    }
                    _ => conflict.to_string(),
                };
                return Err(ImportError::Duplicate {
                    line: *line,
                    reason,
                });
            }
            let username_key = username.key();
            let row = NewUser {
                username: username.as_str(),
                username_key: &username_key,
                email: email.as_str(),
                email_key,
                password_hash,
                password_changed_at: password_hash.map(|_| now),
                created_at: now,
                updated_at: now,
            };
            row.insert(conn).map_err(|err| match unique_column(&err) {
                Some(column) => ImportError::Duplicate {
                    line: *line,
                    reason: format!("the {column} is taken"),
                },
                None => ImportError::Database(err.into()),
            })?;
        }
        Ok::<_, ImportError>(())
    })?;
    tracing::info!(count = pending.len(), "accounts imported");
    Ok(pending.len())
}

impl From<DieselError> for ImportError {
    fn from(err: DieselError) -> Self {
        Self::Database(err.into())
    }
}

/// Hashes every given password, spreading the work over the hasher's permits.
fn hash_all(
    hasher: &PasswordHasher,
    passwords: Vec<Option<&NewPassword>>,
) -> Result<Vec<Option<String>>, HashError> {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let chunk = passwords.len().div_ceil(cores).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = passwords
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|password| password.map(|p| hasher.hash(p)).transpose())
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut hashes = Vec::with_capacity(passwords.len());
        for worker in workers {
            hashes.extend(worker.join().unwrap_or(Err(HashError::Busy))?);
        }
        Ok(hashes)
    })
}
