//! The groups of settings in [`Config`](super::Config), each parsed from its own variables.

use std::path::PathBuf;
use std::time::Duration;

use super::values;
use super::{ConfigError, TokenGeneratorConfig, Vars};

/// The password-reset settings (django-rest-passwordreset's, under `LATCHKEY_` names).
#[derive(Debug, Clone)]
pub struct ResetConfig {
    /// How long an emailed token stays usable.
    pub token_ttl: Duration,
    /// `false` restores the package's 400 for an unknown address (an enumeration oracle).
    pub no_information_leakage: bool,
    /// `true` adds `username` and `email` to a successful `validate_token/` answer.
    pub user_details_on_validation: bool,
    /// Which account field the request's `email` value is matched against.
    pub lookup_field: LookupField,
    /// Whether accounts without a usable password may reset one.
    pub require_usable_password: bool,
    /// How reset tokens are generated.
    pub token_generator: TokenGeneratorConfig,
    /// Whether `validate_token/` and `confirm/` take the account's `email` beside the code.
    pub account_binding: AccountBinding,
}

/// Whether a presented code must name its account. A short number code checked against every
/// live token is a lottery (each guess wins if it matches anyone's code); checked against one
/// account's token, whose fifth wrong guess kills it, it is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountBinding {
    /// String tokens: an `email` field is ignored, as the package ignores unknown fields.
    Ignored,
    /// Number codes with `LATCHKEY_NUMBER_TOKEN_REQUIRES_EMAIL=false`: `email` is optional;
    /// without it the package's token-only check and the global limit apply.
    Accepted,
    /// Number codes (the default): a code without `email` is refused with a field error.
    Required,
}

/// The account field a reset request is looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupField {
    /// Canonical email address (case-folded local part, IDNA domain).
    Email,
    /// Username: exact spelling first, else ignoring case and compatibility forms.
    Username,
}

impl ResetConfig {
    pub(super) fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let token_generator = TokenGeneratorConfig::from_vars(vars)?;
        Ok(Self {
            token_ttl: vars.parse(
                "LATCHKEY_RESET_TOKEN_TTL",
                Duration::from_secs(3600),
                values::duration,
            )?,
            no_information_leakage: vars.parse(
                "LATCHKEY_NO_INFORMATION_LEAKAGE",
                true,
                values::boolean,
            )?,
            user_details_on_validation: vars.parse(
                "LATCHKEY_USER_DETAILS_ON_VALIDATION",
                false,
                values::boolean,
            )?,
            lookup_field: vars.parse("LATCHKEY_LOOKUP_FIELD", LookupField::Email, |raw| {
                Ok(match values::one_of(raw, &["email", "username"])? {
                    "username" => LookupField::Username,
                    _ => LookupField::Email,
                })
            })?,
            require_usable_password: vars.parse(
                "LATCHKEY_REQUIRE_USABLE_PASSWORD",
                true,
                values::boolean,
            )?,
            token_generator,
            account_binding: AccountBinding::from_vars(vars, token_generator)?,
        })
    }
}

impl AccountBinding {
    fn from_vars(vars: &Vars<'_>, generator: TokenGeneratorConfig) -> Result<Self, ConfigError> {
        if !matches!(generator, TokenGeneratorConfig::Number { .. }) {
            return Ok(Self::Ignored);
        }
        let required = vars.parse(
            "LATCHKEY_NUMBER_TOKEN_REQUIRES_EMAIL",
            true,
            values::boolean,
        )?;
        Ok(if required {
            Self::Required
        } else {
            Self::Accepted
        })
    }
}

impl TokenGeneratorConfig {
    pub(super) fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let kind = vars.parse("LATCHKEY_TOKEN_GENERATOR", "string", |raw| {
            values::one_of(raw, &["string", "number"])
        })?;
        if kind == "number" {
            let min = vars.parse("LATCHKEY_TOKEN_MIN_NUMBER", 100_000, |raw| {
                values::integer_in(raw, 0, u64::MAX / 2)
            })?;
            let max = vars.parse("LATCHKEY_TOKEN_MAX_NUMBER", 999_999.max(min), |raw| {
                values::integer_in(raw, min, u64::MAX / 2)
            })?;
            return Ok(Self::Number { min, max });
        }
        let min_length = vars.parse("LATCHKEY_TOKEN_MIN_LENGTH", 64, |raw| {
            values::integer_in(raw, 8, 128)
        })?;
        let max_length = vars.parse("LATCHKEY_TOKEN_MAX_LENGTH", 64.max(min_length), |raw| {
            values::integer_in(raw, min_length, 128)
        })?;
        Ok(Self::String {
            min_length,
            max_length,
        })
    }

    /// The variable to name in a start-up warning when tokens could be guessed online without
    /// the brute-force limits (fewer than 112 bits, the floor for unthrottled secrets).
    pub fn weakness(&self) -> Option<&'static str> {
        match *self {
            Self::String { min_length, .. } if min_length < 28 => Some("LATCHKEY_TOKEN_MIN_LENGTH"),
            Self::String { .. } => None,
            Self::Number { .. } => Some("LATCHKEY_TOKEN_GENERATOR"),
        }
    }
}

/// Rules for new passwords, and the cost of hashing them.
#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    /// Minimum length in characters (Unicode scalar values).
    pub min_length: usize,
    /// argon2id cost.
    pub argon2: Argon2Cost,
}

/// argon2id parameters; values below OWASP's minimum (19 MiB, 2 passes, 1 lane) are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Cost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl PasswordPolicy {
    pub(super) fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            min_length: vars.parse("LATCHKEY_PASSWORD_MIN_LENGTH", 12, |raw| {
                values::integer_in(raw, 1, 256)
            })?,
            argon2: Argon2Cost {
                memory_kib: vars.parse("LATCHKEY_ARGON2_MEMORY_KIB", 19_456, |raw| {
                    values::integer_in(raw, 19_456, 4 * 1024 * 1024)
                })?,
                iterations: vars.parse("LATCHKEY_ARGON2_ITERATIONS", 2, |raw| {
                    values::integer_in(raw, 2, 100)
                })?,
                parallelism: vars.parse("LATCHKEY_ARGON2_PARALLELISM", 1, |raw| {
                    values::integer_in(raw, 1, 16)
                })?,
            },
        })
    }
}

/// Where outbox messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailBackend {
    /// SMTP through lettre's blocking transport.
    Smtp,
    /// One `.eml` file per message in the mail directory.
    File,
    /// The message is written to the log.
    Log,
}

/// Outbox delivery settings.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// Which backend sends.
    pub backend: EmailBackend,
    /// lettre's URL form: `smtp://host:port`, `smtp://host:587?tls=required`, `smtps://host:465`.
    pub smtp_url: String,
    /// Directory of the `file` backend.
    pub mail_dir: PathBuf,
    /// The `From:` mailbox.
    pub from: String,
    /// Worker threads draining the outbox; 0 makes an instance that only enqueues (another
    /// instance sharing the database sends).
    pub workers: u32,
    /// Deadline of one SMTP send attempt as a whole (connect to final reply), however slowly
    /// the server answers; a claim's lease is this plus a margin and is never renewed past it.
    pub smtp_timeout: Duration,
    /// Attempts before a message is given up (`dead`).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled (with jitter) for each further one, up to 15 min.
    pub retry_base: Duration,
    /// How often idle workers look for due retries and other instances' work.
    pub poll_interval: Duration,
}

impl EmailConfig {
    pub(super) fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            backend: vars.parse("LATCHKEY_EMAIL_BACKEND", EmailBackend::File, |raw| {
                Ok(match values::one_of(raw, &["smtp", "file", "log"])? {
                    "smtp" => EmailBackend::Smtp,
                    "log" => EmailBackend::Log,
                    _ => EmailBackend::File,
                })
            })?,
            smtp_url: vars.parse(
                "LATCHKEY_SMTP_URL",
                "smtp://127.0.0.1:25".to_owned(),
                parse_smtp_url,
            )?,
            mail_dir: vars.parse("LATCHKEY_MAIL_DIR", PathBuf::from("mail"), |raw| {
                Ok(PathBuf::from(raw))
            })?,
            from: vars.parse(
                "LATCHKEY_EMAIL_FROM",
                "Latchkey <no-reply@localhost>".to_owned(),
                parse_mailbox,
            )?,
            workers: vars.parse("LATCHKEY_EMAIL_WORKERS", 4, |raw| {
                values::integer_in(raw, 0, 64)
            })?,
            smtp_timeout: vars.parse(
                "LATCHKEY_SMTP_TIMEOUT",
                Duration::from_secs(10),
                values::duration,
            )?,
            max_attempts: vars.parse("LATCHKEY_EMAIL_MAX_ATTEMPTS", 10, |raw| {
                values::integer_in(raw, 1, 100)
            })?,
            retry_base: vars.parse(
                "LATCHKEY_EMAIL_RETRY_BASE",
                Duration::from_secs(2),
                values::duration,
            )?,
            poll_interval: vars.parse(
                "LATCHKEY_EMAIL_POLL_INTERVAL",
                Duration::from_secs(1),
                values::duration,
            )?,
        })
    }
}

fn parse_smtp_url(raw: &str) -> Result<String, String> {
    let expected =
        || "smtp://HOST:PORT, smtp://HOST:587?tls=required or smtps://HOST:465".to_owned();
    let url = url::Url::parse(raw).map_err(|_| expected())?;
    if !matches!(url.scheme(), "smtp" | "smtps") || url.host().is_none() {
        return Err(expected());
    }
    Ok(raw.to_owned())
}

fn parse_mailbox(raw: &str) -> Result<String, String> {
    let expected = || "a mailbox such as Latchkey <no-reply@example.com>".to_owned();
    let address = match (raw.rfind('<'), raw.ends_with('>')) {
        (Some(open), true) => &raw[open + 1..raw.len() - 1],
        _ => raw,
    };
    let valid = !raw.chars().any(char::is_control)
        && address.contains('@')
        && !address.contains(char::is_whitespace);
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(expected())
    }
}

/// Log output settings.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// A tracing `EnvFilter` directive, e.g. `info,latchkey=debug`.
    pub filter: String,
    /// Human-readable lines or JSON lines.
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogConfig {
    pub(super) fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            filter: vars.parse("LATCHKEY_LOG", "info".to_owned(), |raw| {
                tracing_subscriber::EnvFilter::try_new(raw)
                    .map(|_| raw.to_owned())
                    .map_err(|_| "a log filter such as info or warn,latchkey=debug".to_owned())
            })?,
            format: vars.parse("LATCHKEY_LOG_FORMAT", LogFormat::Text, |raw| {
                Ok(match values::one_of(raw, &["text", "json"])? {
                    "json" => LogFormat::Json,
                    _ => LogFormat::Text,
                })
            })?,
        })
    }
}
