//! Every POST page route refuses a form without its CSRF token, or from another site, with 403
//! and changes nothing, whoever is logged in.

use reqwest::Method;

use crate::fixtures::{app_with_mail, seed, ALICE_PASSWORD, NEW_PASSWORD};
use crate::helpers::Backend;
use crate::on_both_backends;
use crate::web_client::Browser;

on_both_backends!(every_post_page_route_refuses_a_form_without_its_csrf_token);

/// Every route a page form posts to (the table in `src/http/pages.rs`).
const POST_ROUTES: [&str; 8] = [
    "/login",
    "/logout",
    "/forgot-password",
    "/reset-password",
    "/reset-password/Zq3xV9sP2mKd7TfWb8LrN4cY/cancel",
    "/wasnt-me/Zq3xV9sP2mKd7TfWb8LrN4cY",
    "/account/password",
    "/account/sessions",
];

async fn every_post_page_route_refuses_a_form_without_its_csrf_token(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let mut browser = Browser::new(&app);
    assert_eq!(browser.log_in("alice", ALICE_PASSWORD).await.status, 303);
    let token = browser.get("/account").await.csrf();
    let fields = [
        ("username", "alice"),
        ("password", NEW_PASSWORD),
        ("old_password", ALICE_PASSWORD),
        ("confirm_password", NEW_PASSWORD),
        ("email", "alice@example.com"),
        ("id", "any"),
    ];
    for path in POST_ROUTES {
        for (csrf, site) in [("", "same-origin"), (token.as_str(), "cross-site")] {
            let mut form = vec![("csrf_token", csrf)];
            form.extend_from_slice(&fields);
            let page = browser
                .send(Method::POST, path, Some(&form), &[("Sec-Fetch-Site", site)])
                .await;
            assert_eq!(page.status, 403, "{path} with {csrf:?} from {site}");
        }
    }
    assert_eq!(browser.get("/account").await.status, 200, "still logged in");
    app.settle().await;
    assert_eq!(sink.count(), 0, "no mail for a forged form");
    assert_eq!(
        app.login("alice", ALICE_PASSWORD).await.status(),
        200,
        "password unchanged"
    );
}
