//! A cookie-keeping HTTP client that plays one browser without JavaScript (as the pages need),
//! and the pages it gets back. Shared by every test that walks the HTML pages, directly or
//! through nginx.

use std::collections::HashMap;

use reqwest::header::HeaderMap;
use reqwest::Method;

use crate::helpers::TestApp;

/// A cookie-keeping client for one browser.
pub struct Browser {
    /// The client it sends with (for a request the test builds itself).
    pub client: reqwest::Client,
    /// `scheme://host:port` its paths are relative to.
    pub base: String,
    /// The cookies it holds, by name (a test may copy or replace them: a stolen session).
    pub cookies: HashMap<String, String>,
    /// The raw `Set-Cookie` values seen, for their attributes.
    pub set_cookies: Vec<String>,
    /// Sent with every request (a `User-Agent` the test recognises).
    headers: Vec<(String, String)>,
}

/// An answer to a [`Browser`].
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// `Location`, or empty.
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .map_or("", |v| v.to_str().unwrap())
    }

    /// The value of the page's `csrf_token` field.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf_token\" value=\"";
        let start = self.body.find(marker).expect("a CSRF field") + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }

    /// One header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// Every `href`, `action` and `src` attribute on the page.
    pub fn links(&self) -> Vec<String> {
        let pattern = regex::Regex::new(r#"(?:href|action|src)="([^"]*)""#).unwrap();
        pattern
            .captures_iter(&self.body)
            .map(|c| c[1].to_owned())
            .collect()
    }
}

impl Browser {
    /// A browser with no cookies, talking to `app` directly.
    pub fn new(app: &TestApp) -> Self {
        Self::at(app.client.clone(), app.address.clone())
    }

    /// A browser holding `cookies` (a copy of another browser's, or a captured session).
    pub fn with_cookies(app: &TestApp, cookies: HashMap<String, String>) -> Self {
        Self {
            cookies,
            ..Self::new(app)
        }
    }

    /// A browser using `client` (which must not follow redirects) against `base`.
    pub fn at(client: reqwest::Client, base: String) -> Self {
        Self {
            client,
            base,
            cookies: HashMap::new(),
            set_cookies: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Sends `name: value` with every request.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The `Cookie` header this browser sends.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// One request with this browser's cookies, `extra` headers and an optional form; keeps
    /// the cookies the answer sets (and forgets those it clears).
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
        extra: &[(&str, &str)],
    ) -> Page {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header());
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        if let Some(form) = form {
            request = request.form(form);
        }
        let response = request.send().await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let text = set.to_str().unwrap();
            self.set_cookies.push(text.to_owned());
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") || value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form), &[]).await
    }

    /// Logs in through the form at `/login`; returns the response to the POST.
    pub async fn log_in(&mut self, username: &str, password: &str) -> Page {
        let csrf = self.get("/login").await.csrf();
        self.post(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }
}
