//! `latchkey users import`: many accounts in one transaction, all or none.
//!
//! Records come from JSON lines or a Django `dumpdata` document (parsed by the CLI) and are
//! checked completely before anything is written: every username and address valid and free,
//! every plain password within the rules, every password hash one Latchkey can verify
//! ([`foreign::check`]); the first problem is reported with its line or record number and
//! nothing is imported. Plain passwords are then hashed on every core (the hasher's permits),
//! reporting progress, and the rows are written in multi-row statements in one transaction.
//! Foreign hashes are stored as they are and replaced by argon2id at the first login.

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::NaiveDateTime;
use secrecy::SecretString;

use super::{describe, NameConflict};
use crate::db::users::{self as user_rows};
use crate::db::users_admin::{self, NewImportedUser};
use crate::db::{self, Db};
use crate::domain::{EmailAddress, NewPassword, PasswordRules, Username};
use crate::error::Failure;
use crate::passwords::{foreign, HashError, PasswordHasher};

/// Where a record came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// A JSON line (1-based).
    Line(usize),
    /// An element of a dumpdata document (1-based), with its primary key if it had one.
    Record {
        /// Position in the array.
        number: usize,
        /// Django's `pk`.
        pk: Option<String>,
    },
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Line(line) => write!(f, "line {line}"),
            Self::Record { number, pk: None } => write!(f, "record {number}"),
            Self::Record {
                number,
                pk: Some(pk),
            } => write!(f, "record {number} (pk {pk})"),
        }
    }
}

/// The password of an imported account.
#[derive(Debug)]
pub enum ImportedPassword {
    /// In clear: checked against the rules and hashed here.
    Plain(SecretString),
    /// Hashed by Latchkey or another system (checked by [`foreign::check`]).
    Hash(String),
    /// None, or Django's unusable `!…`: the account can only get one through a reset.
    Unusable,
}

/// One account to import.
#[derive(Debug)]
pub struct ImportRecord {
    /// Where it came from.
    pub position: Position,
    /// Login name.
    pub username: Username,
    /// Address.
    pub email: EmailAddress,
    /// Its password.
    pub password: ImportedPassword,
    /// Whether it may log in.
    pub is_active: bool,
    /// When the account was made (Django's `date_joined`); now when unknown.
    pub date_joined: Option<NaiveDateTime>,
    /// When it last logged in elsewhere.
    pub last_login: Option<NaiveDateTime>,
}

/// Why an import was refused; nothing is created then.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A record broke a rule.
    #[error("{position}: {reason}")]
    Invalid {
        /// Where.
        position: Position,
        /// What.
        reason: String,
    },
    /// A username or email is taken (by an existing account or an earlier record).
    #[error("{position}: {reason}")]
    Duplicate {
        /// Where.
        position: Position,
        /// What.
        reason: String,
    },
    /// An account with one of these names appeared while the import ran.
    #[error("a username or email address was taken while the import ran; nothing was imported")]
    Raced,
    /// The database, the hasher or something unexpected failed.
    #[error(transparent)]
    Failed(#[from] Failure),
}

crate::failure_conversions!(ImportError);

/// Told how the hashing of plain passwords advances (a progress bar, or nothing).
pub trait Progress: Sync {
    /// `total` passwords are about to be hashed.
    fn start(&self, total: u64);
    /// One more is done.
    fn advance(&self);
    /// Hashing is over.
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _total: u64) {}
    fn advance(&self) {}
    fn finish(&self) {}
}

/// A record that passed every check.
struct Checked {
    record: ImportRecord,
    email_key: String,
    username_key: String,
    plain: Option<NewPassword>,
}

/// Imports every record or none (module docs). Returns how many accounts were created.
#[tracing::instrument(skip_all)]
pub fn import_users(
    db: &Db,
    hasher: &PasswordHasher,
    rules: PasswordRules,
    records: Vec<ImportRecord>,
    progress: &dyn Progress,
) -> Result<usize, ImportError> {
    let checked = check_records(records, rules)?;
    check_free(db, &checked)?;
    let plain: Vec<Option<&NewPassword>> = checked.iter().map(|c| c.plain.as_ref()).collect();
    progress.start(plain.iter().flatten().count() as u64);
    let hashes = hash_all(hasher, &plain, progress);
    progress.finish();
    let hashes = hashes?;
    let now = db::now();
    let rows: Vec<NewImportedUser<'_>> = checked
        .iter()
        .zip(&hashes)
        .map(|(entry, hashed)| {
            let password_hash = match (&entry.record.password, hashed) {
                (_, Some(hash)) => Some(hash.as_str()),
                (ImportedPassword::Hash(hash), None) => Some(hash.as_str()),
                _ => None,
            };
            NewImportedUser {
                username: entry.record.username.as_str(),
                username_key: Some(entry.username_key.as_str()),
                email: entry.record.email.as_str(),
                email_key: &entry.email_key,
                password_hash,
                is_active: entry.record.is_active,
                password_changed_at: password_hash.map(|_| now),
                created_at: entry.record.date_joined.unwrap_or(now),
                updated_at: now,
                last_login: entry.record.last_login,
            }
        })
        .collect();
    let mut conn = db.get()?;
    let count = conn.write(|conn| {
        users_admin::insert_imported(conn, &rows).map_err(|err| match err {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => ImportError::Raced,
            other => ImportError::from(other),
        })
    })?;
    tracing::info!(count, "accounts imported");
    Ok(count)
}

/// Every rule a record can break on its own or against an earlier record.
fn check_records(
    records: Vec<ImportRecord>,
    rules: PasswordRules,
) -> Result<Vec<Checked>, ImportError> {
    let mut usernames = std::collections::HashMap::new();
    let mut emails = std::collections::HashMap::new();
    let mut checked = Vec::with_capacity(records.len());
    for mut record in records {
        let email_key = record.email.canonical();
        let username_key = record.username.key();
        let position = record.position.clone();
        let repeats = |earlier: &Position, what: &str| ImportError::Duplicate {
            position: position.clone(),
            reason: format!("repeats the {what} of {earlier}"),
        };
        // Names are compared as `users create` compares them: NFKC and case folded.
        if let Some(earlier) = usernames.get(&username_key) {
            return Err(repeats(earlier, "username"));
        }
        if let Some(earlier) = emails.get(&email_key) {
            return Err(repeats(earlier, "email address"));
        }
        if record
            .username
            .email_form_key()
            .is_some_and(|form| form != email_key)
        {
            return Err(ImportError::Invalid {
                position: position.clone(),
                reason: NameConflict::UsernameIsOtherEmail {
                    username: record.username.to_string(),
                    email: record.email.to_string(),
                }
                .to_string(),
            });
        }
        usernames.insert(username_key.clone(), position.clone());
        emails.insert(email_key.clone(), position.clone());
        let password = std::mem::replace(&mut record.password, ImportedPassword::Unusable);
        let plain = match password {
            ImportedPassword::Plain(raw) => Some(
                NewPassword::parse(raw, rules, record.username.as_str(), record.email.as_str())
                    .map_err(|violations| ImportError::Invalid {
                        position: position.clone(),
                        reason: describe(&violations),
                    })?,
            ),
            ImportedPassword::Hash(hash) => {
                foreign::check(&hash).map_err(|err| ImportError::Invalid {
                    position: position.clone(),
                    reason: err.to_string(),
                })?;
                record.password = ImportedPassword::Hash(hash);
                None
            }
            ImportedPassword::Unusable => None,
        };
        checked.push(Checked {
            record,
            email_key,
            username_key,
            plain,
        });
    }
    Ok(checked)
}

/// Refuses the first record whose username or address an existing account has.
fn check_free(db: &Db, checked: &[Checked]) -> Result<(), ImportError> {
    let mut conn = db.get()?;
    for batch in checked.chunks(users_admin::IMPORT_BATCH) {
        let names: Vec<&str> = batch.iter().map(|c| c.record.username.as_str()).collect();
        let keys: Vec<&str> = batch.iter().map(|c| c.email_key.as_str()).collect();
        // Typed names that mean an existing account (exactly or by their key).
        let taken_names = user_rows::find_by_usernames(&mut conn, &names)?;
        let taken_keys: std::collections::HashMap<String, String> =
            user_rows::find_by_email_keys(&mut conn, &keys)?
                .into_iter()
                .map(|user| (user.email_key, user.email))
                .collect();
        for entry in batch {
            let requested = entry.record.username.as_str();
            let (what, conflict) = if let Some(existing) = taken_names.get(requested) {
                let conflict = NameConflict::DuplicateUsername {
                    requested: requested.to_owned(),
                    existing: existing.username.clone(),
                };
                ("username", conflict)
            } else if let Some(existing) = taken_keys.get(&entry.email_key) {
                let conflict = NameConflict::DuplicateEmail {
                    requested: entry.record.email.to_string(),
                    existing: existing.clone(),
                };
                ("email address", conflict)
            } else {
                continue;
            };
            return Err(ImportError::Duplicate {
                position: entry.record.position.clone(),
                reason: format!("the {what} is taken: {conflict}"),
            });
        }
    }
    Ok(())
}

/// Hashes every given password with one thread per core, each taking the next password as it
/// finishes one (so a slow thread never holds a share of the work).
fn hash_all(
    hasher: &PasswordHasher,
    passwords: &[Option<&NewPassword>],
    progress: &dyn Progress,
) -> Result<Vec<Option<String>>, HashError> {
    let todo: Vec<usize> = (0..passwords.len())
        .filter(|&index| passwords[index].is_some())
        .collect();
    let mut hashes: Vec<Option<String>> = vec![None; passwords.len()];
    if todo.is_empty() {
        return Ok(hashes);
    }
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let next = AtomicUsize::new(0);
    let results = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores.min(todo.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let claimed = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&index) = todo.get(claimed) else {
                            return Ok(done);
                        };
                        if let Some(password) = passwords[index] {
                            done.push((index, hasher.hash(password)?));
                            progress.advance();
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or(Err(HashError::Busy)))
            .collect::<Vec<Result<Vec<(usize, String)>, HashError>>>()
    });
    for result in results {
        for (index, hash) in result? {
            hashes[index] = Some(hash);
        }
    }
    Ok(hashes)
}

/// Sets the hasher's timing floor from the foreign hashes stored now (see the `passwords`
/// module docs), on a thread of its own so start-up does not wait for the measurement. Why at
/// start-up: so an imported account that has not logged in yet answers a wrong password no
/// slower than an unknown name from the first request on, not only after a first foreign login.
pub fn calibrate_login_timing(db: &Db, hasher: std::sync::Arc<PasswordHasher>) {
    let db = db.background();
    let spawned = std::thread::Builder::new()
        .name("latchkey-calibrate".to_owned())
        .spawn(move || {
            let stored = db
                .get()
                .and_then(|mut conn| Ok(users_admin::foreign_hashes(&mut conn)?));
            match stored.map(|hashes| hasher.calibrate(hashes.iter().map(String::as_str))) {
                Ok(Ok(floor)) if !floor.is_zero() => tracing::info!(
                    floor_ms = floor.as_millis() as u64,
                    "imported password hashes found: every login lasts at least their cost"
                ),
                Ok(Ok(_)) => {}
                Ok(Err(err)) => tracing::warn!(error = %err, "timing calibration failed"),
                Err(err) => tracing::warn!(error = %err, "timing calibration failed"),
            }
        });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "timing calibration not started");
    }
}
