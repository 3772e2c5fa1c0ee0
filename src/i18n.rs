//! The user's language: Fluent catalogues (`templates/i18n/{language}/latchkey.ftl`, compiled
//! into the binary by `fluent-templates`), the language negotiated for a request, and the
//! lookups templates and handlers call.
//!
//! A page request's language lives in a task-local for the whole request (set by
//! `crate::http::language`), so templates ask for `crate::i18n::t("key")` without every page
//! struct carrying it; [`crate::http::blocking::run`] carries it onto the blocking thread, where
//! mails caused by the request are rendered. Mails rendered later by the workers (a reset mail
//! from a queued request) are rendered inside [`with`] the language stored with the request.
//! English is the source: a key missing elsewhere falls back to it (and a test fails).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{Datelike, NaiveDateTime, Timelike};
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::Loader;
use unic_langid::LanguageIdentifier;

fluent_templates::static_loader! {
    static CATALOGUES = {
        locales: "./templates/i18n",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: they would end up in mail subjects.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// Every language with a catalogue, English (the source) first.
pub const SUPPORTED: [&str; 5] = ["en", "de", "fr", "es", "pt-BR"];

/// The source language.
pub fn english() -> LanguageIdentifier {
    parse_supported("en")
}

fn parse_supported(tag: &str) -> LanguageIdentifier {
    tag.parse().unwrap_or_default()
}

/// One of [`SUPPORTED`], matched case-insensitively (`pt-br` is `pt-BR`); `None` for others.
pub fn supported(tag: &str) -> Option<LanguageIdentifier> {
    SUPPORTED
        .iter()
        .find(|known| known.eq_ignore_ascii_case(tag.trim()))
        .map(|known| parse_supported(known))
}

/// The best offered language for an `Accept-Language` header (RFC 4647 lookup with
/// fallbacks: `de-AT` gets `de`, `pt` gets `pt-BR`), else the default.
pub fn negotiate(
    accept_language: Option<&str>,
    offered: &[LanguageIdentifier],
    default: &LanguageIdentifier,
) -> LanguageIdentifier {
    let requested = fluent_langneg::accepted_languages::parse(accept_language.unwrap_or(""));
    let chosen = fluent_langneg::negotiate_languages(
        &requested,
        offered,
        Some(default),
        fluent_langneg::NegotiationStrategy::Lookup,
    );
    chosen
        .first()
        .map_or_else(|| default.clone(), |&language| language.clone())
}

/// A request's language, and whether the API's messages are translated into it.
#[derive(Debug, Clone)]
struct RequestLanguage {
    language: LanguageIdentifier,
    api_messages: bool,
}

tokio::task_local! {
    static REQUEST_LANGUAGE: RequestLanguage;
}

thread_local! {
    static THREAD_LANGUAGE: RefCell<Option<LanguageIdentifier>> = const { RefCell::new(None) };
}

/// The language of what is being rendered now: the request's, else the one [`with`] set on
/// this thread, else English.
pub fn current() -> LanguageIdentifier {
    REQUEST_LANGUAGE
        .try_with(|request| request.language.clone())
        .ok()
        .or_else(|| THREAD_LANGUAGE.with(|language| language.borrow().clone()))
        .unwrap_or_else(english)
}

/// Runs `work` with `language` as this thread's language (restoring the previous one after).
pub fn with<T>(language: &LanguageIdentifier, work: impl FnOnce() -> T) -> T {
    let previous = THREAD_LANGUAGE.with(|slot| slot.replace(Some(language.clone())));
    let result = work();
    THREAD_LANGUAGE.with(|slot| *slot.borrow_mut() = previous);
    result
}

/// Runs `work` with `language` as the request's language (see `crate::http::language`,
/// which negotiates it); `api_messages` says whether the API's messages follow it too.
pub async fn scope<F: std::future::Future>(
    language: LanguageIdentifier,
    api_messages: bool,
    work: F,
) -> F::Output {
    let request = RequestLanguage {
        language,
        api_messages,
    };
    REQUEST_LANGUAGE.scope(request, work).await
}

/// The message `key` in the current language.
pub fn t(key: &str) -> String {
    CATALOGUES.lookup(&current(), key)
}

/// The message `key` with one argument.
pub fn t1(key: &str, name: &'static str, value: impl ToString) -> String {
    lookup_with(&current(), key, &[(name, value.to_string())])
}

/// The message `key` with a number `count` (plural forms choose by it).
pub fn count(key: &str, count: impl Count) -> String {
    let count = count.value();
    let args: HashMap<Cow<'static, str>, FluentValue<'_>> =
        HashMap::from([(Cow::Borrowed("count"), FluentValue::from(count))]);
    CATALOGUES.lookup_with_args(&current(), key, &args)
}

/// A number a message's plural forms choose by (templates pass references).
pub trait Count {
    /// The number.
    fn value(&self) -> u64;
}

impl Count for u64 {
    fn value(&self) -> u64 {
        *self
    }
}

impl Count for usize {
    fn value(&self) -> u64 {
        u64::try_from(*self).unwrap_or(u64::MAX)
    }
}

impl<T: Count> Count for &T {
    fn value(&self) -> u64 {
        (**self).value()
    }
}

/// A wait for people: whole minutes (rounded up) below an hour, then whole hours (rounded
/// up): "a minute", "10 minutes", "an hour".
pub fn human_wait(seconds: u64) -> String {
    let minutes = seconds.div_ceil(60).max(1);
    if minutes < 60 {
        count("wait-minutes", minutes)
    } else {
        count("wait-hours", minutes.div_ceil(60))
    }
}

/// A lifetime as configured ("60 minutes", "2 hours", "7 days"): the largest unit that
/// divides it.
pub fn format_lifetime(lifetime: std::time::Duration) -> String {
    match lifetime.as_secs().max(1) {
        s if s % 86_400 == 0 && s >= 2 * 86_400 => count("lifetime-days", s / 86_400),
        s if s % 3_600 == 0 && s >= 2 * 3_600 => count("lifetime-hours", s / 3_600),
        s if s % 60 == 0 => count("lifetime-minutes", s / 60),
        s => count("lifetime-seconds", s),
    }
}

/// The message `key` with two arguments.
pub fn t2(
    key: &str,
    first: &'static str,
    first_value: impl ToString,
    second: &'static str,
    second_value: impl ToString,
) -> String {
    lookup_with(
        &current(),
        key,
        &[
            (first, first_value.to_string()),
            (second, second_value.to_string()),
        ],
    )
}

/// The message `key` in `language` with `args`.
pub fn lookup_with(
    language: &LanguageIdentifier,
    key: &str,
    args: &[(&'static str, String)],
) -> String {
    let args: HashMap<Cow<'static, str>, FluentValue<'_>> = args
        .iter()
        .map(|(name, value)| (Cow::Borrowed(*name), FluentValue::from(value.clone())))
        .collect();
    CATALOGUES.lookup_with_args(language, key, &args)
}

/// The message `key` in `language`, only if that catalogue has it (for the completeness test).
pub fn lookup_exact(language: &LanguageIdentifier, key: &str) -> Option<String> {
    let args: HashMap<&str, FluentValue<'_>> = ARGUMENTS
        .iter()
        .map(|name| (*name, FluentValue::from(2)))
        .collect();
    CATALOGUES.lookup_no_default_fallback(language, key, Some(&args))
}

/// Every argument name the catalogues use.
const ARGUMENTS: [&str; 11] = [
    "count",
    "wait",
    "lifetime",
    "product",
    "username",
    "day",
    "month",
    "year",
    "time",
    "expires_at",
    "changed_at",
];

/// The language the API's messages are translated into for this request: only under
/// `LATCHKEY_API_LANGUAGE=negotiate`, and never for English (the package's own words).
pub fn api_language() -> Option<LanguageIdentifier> {
    REQUEST_LANGUAGE
        .try_with(|request| request.api_messages.then(|| request.language.clone()))
        .ok()
        .flatten()
        .filter(|language| *language != english())
}

/// The current language's tag, for `<html lang>` and `Content-Language`.
pub fn tag() -> String {
    current().to_string()
}

/// A UTC time the way the current language writes it (`1 December 2026, 14:05 UTC`,
/// `1. Dezember 2026, 14:05 UTC`, …): the pattern and month names are catalogue messages.
pub fn format_datetime(at: NaiveDateTime) -> String {
    let month = t(&format!("month-{}", at.month()));
    lookup_with(
        &current(),
        "datetime-format",
        &[
            ("day", at.day().to_string()),
            ("month", month),
            ("year", at.year().to_string()),
            ("time", format!("{:02}:{:02}", at.hour(), at.minute())),
        ],
    )
}

/// Translates one of the API's English messages (Django's wording) for a page, or for the API
/// under `LATCHKEY_API_LANGUAGE=negotiate`; a message without a translation stays English.
pub fn translate_api_message(english: &str) -> String {
    let key = match english {
        "This field is required." => "api-field-required",
        "This field may not be blank." => "api-field-blank",
        "Enter a valid email address." => "api-invalid-email",
        "The two password fields didn\u{2019}t match." => "api-password-mismatch",
        "Invalid username/password" => "api-invalid-login",
        "The OTP password entered is not valid. Please check and try again." => "api-invalid-token",
        "The password is too similar to the username." => "api-too-similar-username",
        "The password is too similar to the email address." => "api-too-similar-email",
        "This password is too long." => "api-too-long",
        "This password is too common." => "api-too-common",
        "This password is entirely numeric." => "api-entirely-numeric",
        "Your old password was entered incorrectly. Please enter it again." => "api-old-password",
        "Not found." => "api-not-found",
        "Authentication credentials were not provided." => "api-no-credentials",
        "Invalid token." => "api-invalid-bearer",
        "Request body is too large." => "api-too-large",
        _ => return translate_patterned(english),
    };
    t(key)
}

/// Messages with a number in them.
fn translate_patterned(english: &str) -> String {
    const SHORT: &str = "This password is too short. It must contain at least ";
    const THROTTLED: &str = "Request was throttled. Expected available in ";
    if let Some(seconds) = english
        .strip_prefix(THROTTLED)
        .and_then(|rest| rest.strip_suffix(" seconds."))
        .and_then(|seconds| seconds.parse::<u64>().ok())
    {
        return count("api-throttled", seconds);
    }
    if let Some(rest) = english.strip_prefix(SHORT) {
        let number = rest
            .strip_suffix(" characters.")
            .or_else(|| rest.strip_suffix(" character."))
            .and_then(|number| number.parse::<u64>().ok());
        if let Some(number) = number {
            return count("api-too-short", number);
        }
    }
    english.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_takes_the_best_offered_language() {
        let all: Vec<_> = SUPPORTED.iter().filter_map(|tag| supported(tag)).collect();
        for (header, expected) in [
            (Some("de-DE,de;q=0.9,en;q=0.8"), "de"),
            (Some("de-AT"), "de"),
            (Some("fr-CA, en;q=0.5"), "fr"),
            (Some("pt-BR"), "pt-BR"),
            (Some("pt"), "pt-BR"),
            (Some("es-419"), "es"),
            (Some("ja, zh;q=0.8"), "en"),
            (Some("en-GB"), "en"),
            (None, "en"),
            (Some("*"), "en"),
        ] {
            let chosen = negotiate(header, &all, &english());
            assert_eq!(chosen.to_string(), expected, "{header:?}");
        }
        let german = supported("de").unwrap();
        let chosen = negotiate(Some("fr"), std::slice::from_ref(&german), &german);
        assert_eq!(chosen.to_string(), "de");
    }

    #[test]
    fn with_sets_the_language_for_the_thread_only_while_it_runs() {
        let german = supported("de").unwrap();
        assert_eq!(current().to_string(), "en");
        let inside = with(&german, || (current().to_string(), t("month-3")));
        assert_eq!(inside, ("de".to_owned(), "März".to_owned()));
        assert_eq!(current().to_string(), "en");
    }

    #[test]
    fn dates_follow_the_language() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(14, 5, 0)
            .unwrap();
        let expected = [
            ("en", "1 December 2026, 14:05 UTC"),
            ("de", "1. Dezember 2026, 14:05 UTC"),
            ("fr", "1 décembre 2026 à 14:05 UTC"),
            ("es", "1 de diciembre de 2026, 14:05 UTC"),
            ("pt-BR", "1 de dezembro de 2026, 14:05 UTC"),
        ];
        for (tag, text) in expected {
            let language = supported(tag).unwrap();
            assert_eq!(with(&language, || format_datetime(at)), text, "{tag}");
        }
    }

    #[test]
    fn api_messages_translate_and_unknown_ones_stay_english() {
        let german = supported("de").unwrap();
        with(&german, || {
            assert_eq!(
                translate_api_message("This field is required."),
                "Dieses Feld ist zwingend erforderlich."
            );
            assert_eq!(
                translate_api_message(
                    "This password is too short. It must contain at least 12 characters."
                ),
                "Dieses Passwort ist zu kurz. Es muss mindestens 12 Zeichen enthalten."
            );
            assert_eq!(translate_api_message("Something else."), "Something else.");
        });
    }
}
