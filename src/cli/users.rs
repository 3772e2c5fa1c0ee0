//! `latchkey users …`

use std::io::Write;

use clap::Subcommand;

use super::{connect, read_password_stdin};
use crate::config::Config;
use crate::domain::{EmailAddress, PasswordRules, Username};
use crate::passwords::PasswordHasher;
use crate::services::users::{self, ImportedAccount, NewAccount};
use secrecy::SecretString;

/// Account administration.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create an account (without --password-stdin it has no usable password until a reset).
    Create {
        /// Login name.
        #[arg(long)]
        username: String,
        /// Email address; reset links are sent here.
        #[arg(long)]
        email: String,
        /// Read the initial password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (read from standard input); older sessions and tokens stop working.
    SetPassword {
        /// The user.
        username: String,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Create many accounts from JSON lines on standard input, in one transaction:
    /// `{"username": "…", "email": "…", "password": "…"}` (or `"password_hash": "$argon2id$…"`,
    /// or neither for no usable password).
    Import,
    /// Rename an account (the new name follows the same rules as at creation).
    Rename {
        /// The user.
        username: String,
        /// The new username.
        new_username: String,
    },
    /// Change an account's email address (reset links go there from now on).
    SetEmail {
        /// The user.
        username: String,
        /// The new address.
        email: String,
    },
    /// List every account.
    List,
    /// Allow an account to log in and reset again.
    Activate {
        /// The user.
        username: String,
    },
    /// Stop an account from logging in or resetting.
    Deactivate {
        /// The user.
        username: String,
    },
}

pub(super) fn run(command: UsersCommand, config: &Config) -> anyhow::Result<()> {
    let rules = PasswordRules {
        min_length: config.passwords.min_length,
    };
    match command {
        UsersCommand::Create {
            username,
            email,
            password_stdin,
        } => {
            let account = NewAccount {
                username: Username::parse(&username)?,
                email: EmailAddress::parse(&email)
                    .map_err(|_| anyhow::anyhow!("{email:?} is not a valid email address"))?,
                password: password_stdin.then(read_password_stdin).transpose()?,
            };
            let db = connect(config)?;
            let hasher = PasswordHasher::with_permits(config.passwords.argon2, 1)?;
            let user = users::create_user(&db, &hasher, rules, account)?;
            println!("created user {} (id {})", user.username, user.id);
        }
        UsersCommand::SetPassword { username, .. } => {
            let password = read_password_stdin()?;
            let db = connect(config)?;
            let hasher = PasswordHasher::with_permits(config.passwords.argon2, 1)?;
            users::set_password(&db, &hasher, rules, &username, password)?;
            println!("password set for {username}");
        }
        UsersCommand::Import => {
            let records = read_import(std::io::stdin().lock())?;
            let db = connect(config)?;
            let hasher = PasswordHasher::new(config.passwords.argon2)?;
            let count = users::import_users(&db, &hasher, rules, records)?;
            println!("imported {count} user(s)");
        }
        UsersCommand::Rename {
            username,
            new_username,
        } => {
            let new_name = Username::parse(&new_username)?;
            let user = users::rename_user(&connect(config)?, &username, new_name)?;
            println!("renamed {username} to {} (id {})", user.username, user.id);
        }
        UsersCommand::SetEmail { username, email } => {
            let address = EmailAddress::parse(&email)
                .map_err(|_| anyhow::anyhow!("{email:?} is not a valid email address"))?;
            let user = users::set_email(&connect(config)?, &username, address)?;
            println!("email of {} set to {}", user.username, user.email);
        }
        UsersCommand::List => {
            let db = connect(config)?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "id\tusername\temail\tactive\tpassword\tcreated_at")?;
            for user in users::list_users(&db)? {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    user.id,
                    user.username,
                    user.email,
                    if user.is_active { "yes" } else { "no" },
                    if user.password_hash.is_some() {
                        "set"
                    } else {
                        "none"
                    },
                    user.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
                )?;
            }
        }
        UsersCommand::Activate { username } => {
            users::set_active(&connect(config)?, &username, true)?;
            println!("activated {username}");
        }
        UsersCommand::Deactivate { username } => {
            users::set_active(&connect(config)?, &username, false)?;
            println!("deactivated {username}");
        }
    }
    Ok(())
}

/// One line of `users import`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportLine {
    username: String,
    email: String,
    password: Option<String>,
    password_hash: Option<String>,
}

fn read_import(input: impl std::io::BufRead) -> anyhow::Result<Vec<ImportedAccount>> {
    let mut records = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let line_number = index + 1;
        let line = line.map_err(|err| anyhow::anyhow!("cannot read standard input: {err}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: ImportLine = serde_json::from_str(&line)
            .map_err(|err| anyhow::anyhow!("line {line_number}: {err}"))?;
        let invalid = |reason: String| anyhow::anyhow!("line {line_number}: {reason}");
        records.push(ImportedAccount {
            account: NewAccount {
                username: Username::parse(&parsed.username)
                    .map_err(|err| invalid(err.to_string()))?,
                email: EmailAddress::parse(&parsed.email).map_err(|_| {
                    invalid(format!("{:?} is not a valid email address", parsed.email))
                })?,
                password: parsed.password.map(SecretString::from),
            },
            password_hash: parsed.password_hash,
        });
    }
    Ok(records)
}
