//! `latchkey users …`

mod admin;
mod import;

use std::io::Write;

use clap::Subcommand;

use super::{connect, read_password_stdin};
use crate::config::Config;
use crate::domain::{EmailAddress, PasswordRules, Username};
use crate::passwords::PasswordHasher;
use crate::services::account_admin::{self as users, NewAccount};

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
    /// Create many accounts from standard input, in one transaction (all or none): JSON lines
    /// `{"username": "…", "email": "…", "password": "…"}` (or `"password_hash": "…"` from
    /// Latchkey, Django, bcrypt or argon2, or neither for no usable password), or with
    /// `--format django` a `manage.py dumpdata auth.user` document.
    Import(import::ImportArgs),
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
    /// Show one account: id, username, email, active, password, created, last login, sessions.
    Show {
        /// The user.
        username: String,
    },
    /// Change an account's email address; a notice goes to the old address and every reset
    /// token of the account is revoked.
    SetEmail {
        /// The user.
        username: String,
        /// The new address.
        email: String,
    },
    /// Change an account's username.
    Rename {
        /// The user.
        username: String,
        /// The new username.
        new_username: String,
    },
    /// Delete an account with its tokens and sessions (its audit events stay, by id).
    Delete {
        /// The user.
        username: String,
        /// Do not ask for confirmation (required when standard input is not a terminal).
        #[arg(long)]
        yes: bool,
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
        UsersCommand::Import(args) => import::run(&args, config, rules)?,
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
        UsersCommand::Show { username } => admin::show(config, &username)?,
        UsersCommand::SetEmail { username, email } => admin::set_email(config, &username, &email)?,
        UsersCommand::Rename {
            username,
            new_username,
        } => admin::rename(config, &username, &new_username)?,
        UsersCommand::Delete { username, yes } => admin::delete(config, &username, yes)?,
    }
    Ok(())
}
