//! `LATCHKEY_DEFAULT_LANGUAGE`, `LATCHKEY_LANGUAGES` and `LATCHKEY_API_LANGUAGE`.

use unic_langid::LanguageIdentifier;

use super::{ConfigError, Vars};
use crate::i18n;

/// Which languages a deployment offers, which one it falls back to, and whether the JSON API
/// translates its messages (by default it keeps the package's English byte for byte, because
/// clients match on it).
#[derive(Debug, Clone)]
pub struct LanguageConfig {
    /// The fallback when nothing in `Accept-Language` matches; always offered.
    pub default: LanguageIdentifier,
    /// The languages pages and mails may use.
    pub offered: Vec<LanguageIdentifier>,
    /// `LATCHKEY_API_LANGUAGE=negotiate`: the API's messages follow `Accept-Language` too.
    pub api_negotiates: bool,
}

impl Default for LanguageConfig {
    fn default() -> Self {
        Self {
            default: i18n::english(),
            offered: i18n::SUPPORTED
                .iter()
                .filter_map(|tag| i18n::supported(tag))
                .collect(),
            api_negotiates: false,
        }
    }
}

impl LanguageConfig {
    pub(crate) fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let known = || i18n::SUPPORTED.join(", ");
        let offered = vars.parse("LATCHKEY_LANGUAGES", Self::default().offered, |raw| {
            raw.split(',')
                .filter(|tag| !tag.trim().is_empty())
                .map(|tag| {
                    i18n::supported(tag)
                        .ok_or_else(|| format!("a comma-separated list of {}", known()))
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        let default = vars.parse("LATCHKEY_DEFAULT_LANGUAGE", i18n::english(), |raw| {
            i18n::supported(raw).ok_or_else(|| format!("one of {}", known()))
        })?;
        let mut offered = offered;
        if !offered.contains(&default) {
            offered.push(default.clone());
        }
        let api_negotiates = vars.parse("LATCHKEY_API_LANGUAGE", false, |raw| match raw {
            "en" => Ok(false),
            "negotiate" => Ok(true),
            _ => Err("`en` (the package's English messages) or `negotiate`".to_owned()),
        })?;
        Ok(Self {
            default,
            offered,
            api_negotiates,
        })
    }
}
