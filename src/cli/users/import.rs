//! `latchkey users import [--format jsonl|django] [--quiet]`: reading the records, and the
//! progress bar.

use std::io::{BufRead, IsTerminal};

use chrono::NaiveDateTime;
use clap::{Args, ValueEnum};
use secrecy::SecretString;
use serde::de::{Deserializer as _, Error as _, SeqAccess, Visitor};

use crate::config::Config;
use crate::domain::{EmailAddress, PasswordRules, Username};
use crate::passwords::PasswordHasher;
use crate::services::account_admin::import::{
    self, ImportRecord, ImportedPassword, Position, Progress,
};

/// The input format of `users import`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line: username, email, and password or password_hash (optional:
    /// is_active, date_joined, last_login).
    #[default]
    Jsonl,
    /// A Django `manage.py dumpdata auth.user` document (a JSON array).
    Django,
}

/// Options of `users import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What standard input holds.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// No progress bar and no summary line (errors are still reported).
    #[arg(long, short)]
    pub quiet: bool,
}

pub(super) fn run(args: &ImportArgs, config: &Config, rules: PasswordRules) -> anyhow::Result<()> {
    let input = std::io::stdin().lock();
    let records = match args.format {
        Format::Jsonl => read_jsonl(input)?,
        Format::Django => read_django(input)?,
    };
    let db = crate::cli::connect(config)?;
    let hasher = PasswordHasher::new(config.passwords.argon2)?;
    let bar = Bar::new(!args.quiet && std::io::stderr().is_terminal());
    let count = import::import_users(&db, &hasher, rules, records, &bar)?;
    if !args.quiet {
        println!("imported {count} user(s)");
    }
    Ok(())
}

/// indicatif's bar on standard error: count, rate and time left. Hidden on a pipe (and with
/// `--quiet`), so logs and scripts get no control characters.
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn new(visible: bool) -> Self {
        let bar = if visible {
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr())
        } else {
            indicatif::ProgressBar::hidden()
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "hashing passwords [{bar:30}] {human_pos}/{human_len} · {rate} · {eta} left",
        ) {
            bar.set_style(style.progress_chars("=> ").with_key(
                "rate",
                |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                    let _ = write!(out, "{:.0}/s", state.per_sec());
                },
            ));
        }
        Self(bar)
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
        self.0.reset();
    }
    fn advance(&self) {
        self.0.inc(1);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// One line of the JSON-lines format.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportLine {
    username: String,
    email: String,
    password: Option<String>,
    password_hash: Option<String>,
    is_active: Option<bool>,
    date_joined: Option<String>,
    last_login: Option<String>,
}

fn read_jsonl(input: impl BufRead) -> anyhow::Result<Vec<ImportRecord>> {
    let mut records = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let position = Position::Line(index + 1);
        let line = line.map_err(|err| anyhow::anyhow!("cannot read standard input: {err}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: ImportLine =
            serde_json::from_str(&line).map_err(|err| anyhow::anyhow!("{position}: {err}"))?;
        let password = match (parsed.password, parsed.password_hash) {
            (Some(_), Some(_)) => {
                anyhow::bail!("{position}: give password or password_hash, not both")
            }
            (Some(raw), None) => ImportedPassword::Plain(SecretString::from(raw)),
            (None, Some(hash)) => stored_password(hash),
            (None, None) => ImportedPassword::Unusable,
        };
        records.push(record(
            position,
            &parsed.username,
            &parsed.email,
            password,
            parsed.is_active,
            parsed.date_joined.as_deref(),
            parsed.last_login.as_deref(),
        )?);
    }
    Ok(records)
}

/// One element of a dumpdata document; fields Latchkey has no use for (names, staff flags,
/// groups) are ignored.
#[derive(serde::Deserialize)]
struct DjangoRecord {
    pk: Option<serde_json::Value>,
    fields: DjangoFields,
}

#[derive(serde::Deserialize)]
struct DjangoFields {
    username: String,
    #[serde(default)]
    email: String,
    password: String,
    is_active: Option<bool>,
    date_joined: Option<String>,
    last_login: Option<String>,
}

/// Reads the array one record at a time, naming the record whose shape is wrong.
struct DjangoRecords;

impl<'de> Visitor<'de> for DjangoRecords {
    type Value = Vec<(usize, DjangoRecord)>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array of auth.user records (manage.py dumpdata auth.user)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut records = Vec::new();
        loop {
            let number = records.len() + 1;
            match seq.next_element::<DjangoRecord>() {
                Ok(Some(record)) => records.push((number, record)),
                Ok(None) => return Ok(records),
                Err(err) => return Err(A::Error::custom(format!("record {number}: {err}"))),
            }
        }
    }
}

fn read_django(input: impl std::io::Read) -> anyhow::Result<Vec<ImportRecord>> {
    let mut deserializer = serde_json::Deserializer::from_reader(input);
    let raw = deserializer
        .deserialize_seq(DjangoRecords)
        .and_then(|records| deserializer.end().map(|()| records))
        .map_err(|err| anyhow::anyhow!("the Django document is not valid: {err}"))?;
    raw.into_iter()
        .map(|(number, record)| {
            let pk = record.pk.map(|pk| match pk {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            });
            let fields = record.fields;
            let position = Position::Record { number, pk };
            record_from_django(position, fields)
        })
        .collect()
}

fn record_from_django(position: Position, fields: DjangoFields) -> anyhow::Result<ImportRecord> {
    if fields.email.trim().is_empty() {
        anyhow::bail!(
            "{position}: the account has no email address, which Latchkey needs (give it one in Django first)"
        );
    }
    record(
        position,
        &fields.username,
        &fields.email,
        stored_password(fields.password),
        fields.is_active,
        fields.date_joined.as_deref(),
        fields.last_login.as_deref(),
    )
}

/// A stored password: Django's unusable `!…` (and an empty one, which Django never matches)
/// means no usable password.
fn stored_password(hash: String) -> ImportedPassword {
    if hash.is_empty() || hash.starts_with('!') {
        ImportedPassword::Unusable
    } else {
        ImportedPassword::Hash(hash)
    }
}

fn record(
    position: Position,
    username: &str,
    email: &str,
    password: ImportedPassword,
    is_active: Option<bool>,
    date_joined: Option<&str>,
    last_login: Option<&str>,
) -> anyhow::Result<ImportRecord> {
    let invalid = |reason: String| anyhow::anyhow!("{position}: {reason}");
    Ok(ImportRecord {
        username: Username::parse(username).map_err(|err| invalid(err.to_string()))?,
        email: EmailAddress::parse(email)
            .map_err(|_| invalid(format!("{email:?} is not a valid email address")))?,
        password,
        is_active: is_active.unwrap_or(true),
        date_joined: date_joined
            .map(|text| parse_time(text).map_err(|reason| invalid(format!("date_joined {reason}"))))
            .transpose()?,
        last_login: last_login
            .map(|text| parse_time(text).map_err(|reason| invalid(format!("last_login {reason}"))))
            .transpose()?,
        position,
    })
}

/// An ISO 8601 time as Django's serializer writes it (`2024-05-01T12:00:00.123Z`, an offset,
/// or none: a time without offset is taken as UTC), to microseconds.
fn parse_time(text: &str) -> Result<NaiveDateTime, String> {
    use chrono::SubsecRound;
    let parsed = chrono::DateTime::parse_from_rfc3339(text)
        .map(|at| at.naive_utc())
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .map_err(|_| format!("{text:?} is not an ISO 8601 date and time"))?;
    Ok(parsed.trunc_subsecs(6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_times_with_z_offset_or_none_are_utc() {
        let expected = chrono::DateTime::from_timestamp(1_714_564_800, 123_000_000)
            .unwrap()
            .naive_utc();
        assert_eq!(parse_time("2024-05-01T12:00:00.123Z").unwrap(), expected);
        assert_eq!(
            parse_time("2024-05-01T14:00:00.123+02:00").unwrap(),
            expected
        );
        assert_eq!(parse_time("2024-05-01T12:00:00.123").unwrap(), expected);
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn a_record_of_the_wrong_shape_is_named_by_number() {
        let document = r#"[{"model": "auth.user", "pk": 1, "fields": {"username": "a", "email": "a@example.com", "password": "!x"}},
            {"model": "auth.user", "pk": 2, "fields": {"email": "b@example.com", "password": "!x"}}]"#;
        let err = read_django(document.as_bytes()).unwrap_err().to_string();
        assert!(
            err.contains("record 2") && err.contains("username"),
            "{err}"
        );
        let records = read_django(&document.as_bytes()[..document.find(",\n").unwrap()]);
        assert!(records.is_err(), "a cut-off document is refused");
    }

    #[test]
    fn unusable_and_empty_django_passwords_import_as_no_password() {
        assert!(matches!(
            stored_password("!abc".into()),
            ImportedPassword::Unusable
        ));
        assert!(matches!(
            stored_password(String::new()),
            ImportedPassword::Unusable
        ));
        assert!(matches!(
            stored_password("pbkdf2_sha256$1$a$b".into()),
            ImportedPassword::Hash(_)
        ));
    }
}
