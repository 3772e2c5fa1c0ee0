//! Known and unknown reset requests take the same time, also at the tail, while the mail
//! workers are running: through the API and through the forgot-password form. A known address
//! makes the workers create a token and send a real SMTP message; that work must not land on
//! the request that caused it.
//!
//! It runs in the `timing` profile (optimised, `cargo test --profile timing --test timing`): in
//! a debug build the workers' work for one known address takes several times a request's own
//! time, and whichever later request it lands on swings the 90th percentile by more than the
//! bound. Timing is still noisy on a shared machine, so a measurement that misses the bounds is
//! repeated (up to five rounds); a real difference misses them every round. The figures for the
//! record come from `benches/enum_timing.sh`, not from here.

use std::time::Instant;

use crate::fixtures::app_with_mail;
use crate::helpers::{Backend, TestApp};

/// SQLite, then PostgreSQL: one after the other, never side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_and_unknown_reset_requests_take_the_same_time_on_both_backends() {
    known_and_unknown_reset_requests_take_the_same_time_with_workers_running(Backend::Sqlite).await;
    if let Some(backend) = Backend::postgres() {
        known_and_unknown_reset_requests_take_the_same_time_with_workers_running(backend).await;
    }
}

/// Known and unknown requests measured per round, as many as the security checks' own timing
/// check uses.
const PAIRS: usize = 500;
/// Pairs sent and not measured before the first round of a channel.
const WARM_UP_PAIRS: usize = 25;
const ROUNDS: usize = 5;

async fn known_and_unknown_reset_requests_take_the_same_time_with_workers_running(
    backend: Backend,
) {
    let database = match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres(_) => "PostgreSQL",
    };
    let (app, _sink) = app_with_mail(
        backend,
        &[
            ("LATCHKEY_RATE_LIMITS", "off"),
            ("LATCHKEY_REQUIRE_USABLE_PASSWORD", "false"),
        ],
    )
    .await;
    let accounts = (PAIRS * ROUNDS + WARM_UP_PAIRS) * 2;
    app.blocking(move |state| {
        for index in 0..accounts {
            latchkey::services::account_admin::create_user(
                &state.db,
                &state.hasher,
                latchkey::domain::PasswordRules { min_length: 12 },
                latchkey::services::account_admin::NewAccount {
                    username: latchkey::domain::Username::parse(&format!("user{index}")).unwrap(),
                    email: latchkey::domain::EmailAddress::parse(&format!(
                        "user{index}@example.com"
                    ))
                    .unwrap(),
                    password: None,
                },
            )
            .unwrap();
        }
    })
    .await;
    let form = FormSession::open(&app).await;
    let mut next_account = 0;
    for channel in [Channel::Api, Channel::Form] {
        measure(&app, &form, channel, WARM_UP_PAIRS, &mut next_account).await;
        let mut verdicts = Vec::new();
        for _ in 0..ROUNDS {
            let (known, unknown) = measure(&app, &form, channel, PAIRS, &mut next_account).await;
            let verdict = compare(&known, &unknown);
            eprintln!("{database} {channel:?}: {verdict:?}");
            if verdict.is_ok() {
                verdicts.clear();
                break;
            }
            verdicts.push(verdict);
        }
        assert!(
            verdicts.is_empty(),
            "{database} {channel:?}: known and unknown differ in every round: {verdicts:#?}"
        );
    }
}

#[derive(Debug, Clone, Copy)]
enum Channel {
    Api,
    Form,
}

/// A browser session on the forgot-password page: its cookie and CSRF token.
struct FormSession {
    cookie: String,
    csrf: String,
}

impl FormSession {
    async fn open(app: &TestApp) -> Self {
        let page = app.get("/forgot-password").await;
        let cookie = page.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let html = page.text().await.unwrap();
        let marker = "name=\"csrf_token\" value=\"";
        let start = html.find(marker).unwrap() + marker.len();
        let csrf = html[start..].split('"').next().unwrap().to_owned();
        Self { cookie, csrf }
    }
}

/// Milliseconds of `pairs` known and `pairs` unknown requests, interleaved, alternating which
/// kind goes first.
async fn measure(
    app: &TestApp,
    form: &FormSession,
    channel: Channel,
    pairs: usize,
    next_account: &mut usize,
) -> (Vec<f64>, Vec<f64>) {
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for pair in 0..pairs {
        let known_address = format!("user{next_account}@example.com");
        *next_account += 1;
        let unknown_address = format!("nobody-{pair}-{next_account}@example.net");
        let mut order = [(true, known_address), (false, unknown_address)];
        if pair % 2 == 1 {
            order.reverse();
        }
        for (is_known, address) in order {
            let started = Instant::now();
            let status = match channel {
                Channel::Api => app.request_reset(&address).await.status(),
                Channel::Form => app
                    .client
                    .post(app.url("/forgot-password"))
                    .header("Cookie", &form.cookie)
                    .form(&[("csrf_token", form.csrf.as_str()), ("email", &address)])
                    .send()
                    .await
                    .unwrap()
                    .status(),
            };
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(status, 200, "{channel:?} {address}");
            if is_known { &mut known } else { &mut unknown }.push(elapsed);
        }
    }
    (known, unknown)
}

fn percentile(values: &[f64], share: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[(share * (sorted.len() - 1) as f64) as usize]
}

/// The bounds: medians within max(5 %, 0.5 ms), 90th percentiles within max(10 %, 1 ms).
fn compare(known: &[f64], unknown: &[f64]) -> Result<String, String> {
    let (known_median, unknown_median) = (percentile(known, 0.5), percentile(unknown, 0.5));
    let (known_p90, unknown_p90) = (percentile(known, 0.9), percentile(unknown, 0.9));
    let median_ok = (known_median - unknown_median).abs() <= (0.05 * unknown_median).max(0.5);
    let p90_ok = (known_p90 - unknown_p90).abs() <= (0.10 * unknown_p90).max(1.0);
    let figures = format!(
        "median known {known_median:.3} ms vs unknown {unknown_median:.3} ms; \
         p90 known {known_p90:.3} ms vs unknown {unknown_p90:.3} ms"
    );
    if median_ok && p90_ok {
        Ok(figures)
    } else {
        Err(figures)
    }
}
