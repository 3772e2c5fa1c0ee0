//! `latchkey users show | set-email | rename | delete`.

use std::io::{BufRead, IsTerminal, Write};

use crate::config::Config;
use crate::domain::{EmailAddress, Username};
use crate::services::account_admin::edit;

fn time(at: chrono::NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(super) fn show(config: &Config, username: &str) -> anyhow::Result<()> {
    let details = edit::show(&crate::cli::connect(config)?, username)?;
    let user = &details.user;
    let password = match user.password_hash.as_deref() {
        None => "none".to_owned(),
        Some(hash) if hash.starts_with("$argon2id$") => "set".to_owned(),
        Some(hash) => format!(
            "set (imported {}; becomes argon2id at the next login)",
            scheme_of(hash)
        ),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "id: {}", user.id)?;
    writeln!(out, "username: {}", user.username)?;
    writeln!(out, "email: {}", user.email)?;
    writeln!(out, "active: {}", if user.is_active { "yes" } else { "no" })?;
    writeln!(out, "password: {password}")?;
    writeln!(out, "created: {}", time(user.created_at))?;
    writeln!(
        out,
        "last login: {}",
        details.last_login.map_or_else(|| "never".to_owned(), time)
    )?;
    writeln!(
        out,
        "sessions: {} ({} browser, {} API token{})",
        details.browser_sessions + details.api_tokens,
        details.browser_sessions,
        details.api_tokens,
        if details.api_tokens == 1 { "" } else { "s" }
    )?;
    Ok(())
}

/// The scheme name of a stored hash, never any of its secret parts.
fn scheme_of(hash: &str) -> &str {
    let name = hash.trim_start_matches('$');
    name.split('$').next().unwrap_or("unknown")
}

pub(super) fn set_email(config: &Config, username: &str, email: &str) -> anyhow::Result<()> {
    let address = EmailAddress::parse(email)
        .map_err(|_| anyhow::anyhow!("{email:?} is not a valid email address"))?;
    let db = crate::cli::connect(config)?;
    let outbox = crate::composition::Core::for_command(config, db.clone())?.outbox;
    edit::set_email(&db, &outbox, username, &address)?;
    println!("email of {username} changed to {address}; the old address was notified");
    Ok(())
}

pub(super) fn rename(config: &Config, username: &str, new_username: &str) -> anyhow::Result<()> {
    let new = Username::parse(new_username)?;
    edit::rename(&crate::cli::connect(config)?, username, &new)?;
    println!("renamed {username} to {new}");
    Ok(())
}

pub(super) fn delete(config: &Config, username: &str, yes: bool) -> anyhow::Result<()> {
    let db = crate::cli::connect(config)?;
    if !yes {
        // An unknown name is reported before anything is asked.
        edit::show(&db, username)?;
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            anyhow::bail!(
                "refusing to delete {username:?} without --yes (standard input is not a terminal)"
            );
        }
        eprint!("Delete {username:?} with its tokens and sessions? This cannot be undone. [y/N] ");
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            anyhow::bail!("not deleted");
        }
    }
    let id = edit::delete(&db, username)?;
    println!("deleted {username} (id {id})");
    Ok(())
}
