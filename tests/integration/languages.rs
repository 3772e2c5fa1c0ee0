//! The user's language: pages negotiated from `Accept-Language`, `<html lang>`, the
//! deployment's choice of languages, complete catalogues, and an API that keeps the package's
//! English unless told to translate.

use crate::fixtures::{app_with_mail, body, mailed_token, seed};
use crate::helpers::Backend;
use crate::on_both_backends;
use crate::web_client::Browser;
use latchkey::i18n;

on_both_backends!(
    pages_speak_the_language_the_browser_asks_for,
    the_deployment_limits_the_languages_and_sets_the_default,
    the_api_keeps_the_packages_english_unless_told_to_negotiate,
    mails_speak_the_language_of_the_request_that_caused_them,
);

/// The page at `path` asked for in `accept`: its `Content-Language` and HTML.
async fn page_in(app: &crate::helpers::TestApp, path: &str, accept: &str) -> (String, String) {
    let response = app
        .client
        .get(app.url(path))
        .header("Accept-Language", accept)
        .send()
        .await
        .unwrap();
    let language = response.headers()["content-language"]
        .to_str()
        .unwrap()
        .to_owned();
    (language, response.text().await.unwrap())
}

async fn pages_speak_the_language_the_browser_asks_for(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    for (accept, tag, heading) in [
        ("de-DE,de;q=0.9,en;q=0.5", "de", "Anmelden"),
        ("fr-CH, fr;q=0.9", "fr", "Connexion"),
        ("es-MX", "es", "Iniciar sesión"),
        ("pt-BR,pt;q=0.9", "pt-BR", "Entrar"),
        ("ja", "en", "Log in"),
        ("", "en", "Log in"),
    ] {
        let (language, html) = page_in(&app, "/login", accept).await;
        assert_eq!(language, tag, "{accept}");
        assert!(html.contains(&format!("<html lang=\"{tag}\">")), "{accept}");
        assert!(
            html.contains(&format!("<h1>{heading}</h1>")),
            "{accept}: {html}"
        );
    }

    // A whole flow in German: the form, its errors and the reset form.
    let mut browser = Browser::new(&app);
    let german = [("Accept-Language", "de")];
    let login = browser
        .send(reqwest::Method::GET, "/login", None, &german)
        .await;
    let wrong = browser
        .send(
            reqwest::Method::POST,
            "/login",
            Some(&[
                ("csrf_token", &login.csrf()),
                ("username", "alice"),
                ("password", "not the right one at all"),
            ]),
            &german,
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong
        .body
        .contains("Benutzername oder Passwort stimmen nicht."));
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    browser
        .send(
            reqwest::Method::GET,
            &format!("/reset-password/{token}"),
            None,
            &german,
        )
        .await;
    let form = browser
        .send(reqwest::Method::GET, "/reset-password", None, &german)
        .await;
    assert!(
        form.body.contains("<h1>Neues Passwort wählen</h1>"),
        "{}",
        form.body
    );
    assert!(form.body.contains("Mindestens 12 Zeichen"));
    let short = browser
        .send(
            reqwest::Method::POST,
            "/reset-password",
            Some(&[
                ("csrf_token", &form.csrf()),
                ("password", "kurz"),
                ("confirm_password", "kurz"),
            ]),
            &german,
        )
        .await;
    assert_eq!(short.status, 400);
    assert!(
        short
            .body
            .contains("Dieses Passwort ist zu kurz. Es muss mindestens 12 Zeichen enthalten."),
        "{}",
        short.body
    );
}

async fn the_deployment_limits_the_languages_and_sets_the_default(backend: Backend) {
    let (app, _sink) = app_with_mail(
        backend,
        &[
            ("LATCHKEY_LANGUAGES", "en,de"),
            ("LATCHKEY_DEFAULT_LANGUAGE", "de"),
        ],
    )
    .await;
    for (accept, tag) in [("fr", "de"), ("", "de"), ("en-US", "en"), ("de-AT", "de")] {
        let (language, _) = page_in(&app, "/forgot-password", accept).await;
        assert_eq!(language, tag, "{accept:?}");
    }
}

async fn the_api_keeps_the_packages_english_unless_told_to_negotiate(backend: Backend) {
    let again = backend.clone();
    let (app, _sink) = app_with_mail(backend, &[]).await;
    let invalid = app
        .client
        .post(app.url("/api/password_reset/validate_token/"))
        .header("Accept-Language", "de")
        .json(&serde_json::json!({ "token": "no-such-token" }))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 404);
    assert!(!invalid.headers().contains_key("content-language"));
    assert_eq!(
        invalid.text().await.unwrap(),
        r#"{"detail":"The OTP password entered is not valid. Please check and try again."}"#
    );
    let missing = app
        .client
        .post(app.url("/api/password_reset/"))
        .header("Accept-Language", "fr")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.text().await.unwrap(),
        r#"{"email":["This field is required."]}"#
    );

    let (negotiating, _sink) =
        app_with_mail(again, &[("LATCHKEY_API_LANGUAGE", "negotiate")]).await;
    let german = negotiating
        .client
        .post(negotiating.url("/api/password_reset/"))
        .header("Accept-Language", "de")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(german).await,
        serde_json::json!({ "email": ["Dieses Feld ist zwingend erforderlich."] })
    );
    let english = negotiating
        .client
        .post(negotiating.url("/api/password_reset/"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        english.text().await.unwrap(),
        r#"{"email":["This field is required."]}"#,
        "English stays the package's English"
    );
}

/// Every catalogue has every message English has, and no message English lacks.
#[test]
fn every_catalogue_has_every_english_message() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/i18n");
    let keys = |tag: &str| -> Vec<String> {
        std::fs::read_to_string(format!("{root}/{tag}/latchkey.ftl"))
            .unwrap()
            .lines()
            .filter(|line| {
                line.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && line.contains(" =")
            })
            .map(|line| line.split(" =").next().unwrap().trim().to_owned())
            .collect()
    };
    let english = keys("en");
    assert!(english.len() > 50, "{english:?}");
    for tag in i18n::SUPPORTED {
        let language = i18n::supported(tag).unwrap();
        let theirs = keys(tag);
        for key in &english {
            assert!(theirs.contains(key), "{tag} lacks {key}");
            assert!(
                i18n::lookup_exact(&language, key).is_some(),
                "{tag}: {key} does not load"
            );
        }
        for key in &theirs {
            assert!(
                english.contains(key),
                "{tag} has {key}, which English lacks"
            );
        }
    }
}

/// A received message's subject and plain-text part, decoded (non-English mail is encoded).
fn decoded(message: &crate::smtp_sink::Received) -> (String, String) {
    let parsed = mail_parser::MessageParser::default()
        .parse(message.data.as_bytes())
        .expect("a MIME message");
    (
        parsed.subject().unwrap_or_default().to_owned(),
        parsed.body_text(0).unwrap_or_default().into_owned(),
    )
}

async fn mails_speak_the_language_of_the_request_that_caused_them(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    // An API client asking in German gets a German mail, though the API answers in English.
    let asked = app
        .client
        .post(app.url("/api/password_reset/"))
        .header("Accept-Language", "de-CH, de;q=0.9")
        .json(&serde_json::json!({ "email": "alice@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.text().await.unwrap(), r#"{"status":"OK"}"#);
    let mail = sink.wait_for(1, crate::fixtures::WAIT).await;
    let (subject, text) = decoded(&mail[0]);
    assert_eq!(subject, "Setzen Sie Ihr Latchkey-Passwort zurück");
    assert!(text.contains("Hallo alice,"), "{text}");
    assert!(text.contains("läuft am "), "{text}");
    assert!(
        text.contains(" UTC ab (in 60 Minuten)."),
        "a German date: {text}"
    );
    let month_names = [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ];
    assert!(
        month_names.iter().any(|month| text.contains(month)),
        "{text}"
    );
    assert!(mail[0].data.contains("lang=\"de\"") || mail[0].data.contains("lang=3D\"de\""));

    // The page's form in French: the mail, and the notice after the reset, are French.
    let token = crate::fixtures::reset_link(&mail[0]).1;
    let mut browser = Browser::new(&app);
    let french = [("Accept-Language", "fr-FR")];
    browser
        .send(
            reqwest::Method::GET,
            &format!("/reset-password/{token}"),
            None,
            &french,
        )
        .await;
    let form = browser
        .send(reqwest::Method::GET, "/reset-password", None, &french)
        .await;
    let done = browser
        .send(
            reqwest::Method::POST,
            "/reset-password",
            Some(&[
                ("csrf_token", &form.csrf()),
                ("password", crate::fixtures::NEW_PASSWORD),
                ("confirm_password", crate::fixtures::NEW_PASSWORD),
            ]),
            &french,
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let notice = sink.wait_for(2, crate::fixtures::WAIT).await;
    let (subject, text) = decoded(&notice[1]);
    assert_eq!(subject, "Votre mot de passe Latchkey a été modifié");
    assert!(text.contains("Bonjour alice,"), "{text}");

    // Without a preference, English as before.
    let before = sink.count();
    assert_eq!(app.request_reset("bob@example.com").await.status(), 200);
    let english = sink.wait_for(before + 1, crate::fixtures::WAIT).await;
    let (subject, text) = decoded(english.last().unwrap());
    assert_eq!(subject, "Reset your Latchkey password");
    assert!(text.contains("Hello bob,"));
}
