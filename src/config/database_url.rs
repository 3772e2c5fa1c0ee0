//! `DATABASE_URL`: which backend to use, decided by the URL's scheme and nothing else.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where the data lives. The scheme picks the backend, so an unreachable PostgreSQL server is
/// reported as exactly that instead of being retried as a SQLite file name.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite database file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL, passed to libpq as given.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses `sqlite://PATH`, `sqlite:PATH`, a plain path, or `postgres://…`/`postgresql://…`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let expected = || "sqlite://PATH, a file path, or postgres://USER@HOST/DB".to_owned();
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return url::Url::parse(raw)
                .map(|_| Self::Postgres(raw.to_owned()))
                .map_err(|_| expected());
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path.is_empty() || path.contains("://") || path.contains('\0') {
            return Err(expected());
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    /// The directory that holds the SQLite file; the generated secret key file goes beside it.
    pub fn sqlite_dir(&self) -> Option<&Path> {
        match self {
            Self::Sqlite(path) => Some(match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent,
                _ => Path::new("."),
            }),
            Self::Postgres(_) => None,
        }
    }

    /// True for PostgreSQL, where several instances may share the database.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }
}

/// Prints the URL without its password, so it can appear in errors and logs.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(raw) => match url::Url::parse(raw) {
                Ok(mut url) => {
                    if url.password().is_some() {
                        let _ = url.set_password(Some("***"));
                    }
                    write!(f, "{url}")
                }
                Err(_) => f.write_str("postgres://…"),
            },
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_forms_all_name_a_path() {
        for raw in ["sqlite://data/app.db", "sqlite:data/app.db", "data/app.db"] {
            assert_eq!(
                DatabaseUrl::parse(raw).unwrap(),
                DatabaseUrl::Sqlite(PathBuf::from("data/app.db"))
            );
        }
        let url = DatabaseUrl::parse("sqlite://latchkey.db").unwrap();
        assert_eq!(url.sqlite_dir(), Some(Path::new(".")));
    }

    #[test]
    fn postgres_urls_hide_their_password_when_printed() {
        let url = DatabaseUrl::parse("postgres://app:hunter2@db.internal/latchkey").unwrap();
        assert!(url.is_postgres());
        assert_eq!(url.to_string(), "postgres://app:***@db.internal/latchkey");
    }

    #[test]
    fn other_schemes_are_refused() {
        assert!(DatabaseUrl::parse("mysql://root@localhost/db").is_err());
        assert!(DatabaseUrl::parse("").is_err());
    }
}
