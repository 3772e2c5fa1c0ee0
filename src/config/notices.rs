//! Security notices, the audit log and webhooks: `LATCHKEY_WASNT_ME_TTL`,
//! `LATCHKEY_AUDIT_RETENTION`, `LATCHKEY_WEBHOOK_URL`, `LATCHKEY_WEBHOOK_SECRET` and
//! `LATCHKEY_RESET_DELIVERY`.

use std::time::Duration;

use base64::Engine;

use super::values;
use super::{ConfigError, Vars};

/// Where audit events (and, on request, reset tokens) are POSTed.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// The receiver: an absolute http(s) URL.
    pub url: String,
    /// The decoded signing key of `whsec_…` (Standard Webhooks).
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// How a reset token reaches its owner (`LATCHKEY_RESET_DELIVERY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetDelivery {
    /// The reset mail (default).
    Email,
    /// A `password_reset_token_created` webhook only: the product sends its own message.
    Webhook,
    /// Both.
    Both,
}

impl ResetDelivery {
    /// Whether the reset mail is sent.
    pub fn mails(self) -> bool {
        matches!(self, Self::Email | Self::Both)
    }

    /// Whether the `password_reset_token_created` webhook is sent.
    pub fn hooks(self) -> bool {
        matches!(self, Self::Webhook | Self::Both)
    }
}

/// The settings of this group.
#[derive(Debug, Clone)]
pub struct NoticeConfig {
    /// Lifetime of a "This wasn't me" link.
    pub wasnt_me_ttl: Duration,
    /// Audit rows older than this are purged.
    pub audit_retention: Duration,
    /// Webhooks, when `LATCHKEY_WEBHOOK_URL` is set.
    pub webhook: Option<WebhookConfig>,
    /// How reset tokens are delivered.
    pub reset_delivery: ResetDelivery,
}

impl NoticeConfig {
    pub(super) fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let url = vars.parse("LATCHKEY_WEBHOOK_URL", None, |raw| parse_url(raw).map(Some))?;
        let secret = vars.parse("LATCHKEY_WEBHOOK_SECRET", None, |raw| match &url {
            None => Err("to be set only together with LATCHKEY_WEBHOOK_URL".to_owned()),
            Some(_) => parse_secret(raw).map(Some),
        })?;
        let webhook = match (url, secret) {
            (Some(url), Some(secret)) => Some(WebhookConfig { url, secret }),
            (Some(_), None) => {
                return Err(ConfigError {
                    variable: "LATCHKEY_WEBHOOK_SECRET",
                    expected:
                        "whsec_ followed by base64 (required when LATCHKEY_WEBHOOK_URL is set)"
                            .to_owned(),
                })
            }
            _ => None,
        };
        let reset_delivery =
            vars.parse("LATCHKEY_RESET_DELIVERY", ResetDelivery::Email, |raw| {
                let delivery = match raw.to_ascii_lowercase().as_str() {
                    "email" => ResetDelivery::Email,
                    "webhook" => ResetDelivery::Webhook,
                    "both" => ResetDelivery::Both,
                    _ => return Err("email, webhook or both".to_owned()),
                };
                if delivery.hooks() && webhook.is_none() {
                    return Err(format!(
                        "email unless LATCHKEY_WEBHOOK_URL is set (got {raw:?} without a webhook)"
                    ));
                }
                Ok(delivery)
            })?;
        Ok(Self {
            wasnt_me_ttl: vars.parse(
                "LATCHKEY_WASNT_ME_TTL",
                Duration::from_secs(7 * 86_400),
                values::duration,
            )?,
            audit_retention: vars.parse(
                "LATCHKEY_AUDIT_RETENTION",
                Duration::from_secs(90 * 86_400),
                values::duration,
            )?,
            webhook,
            reset_delivery,
        })
    }
}

fn parse_url(raw: &str) -> Result<String, String> {
    let expected = || "an absolute http:// or https:// URL".to_owned();
    let url = url::Url::parse(raw).map_err(|_| expected())?;
    if matches!(url.scheme(), "http" | "https") && url.host().is_some() {
        Ok(url.to_string())
    } else {
        Err(expected())
    }
}

fn parse_secret(raw: &str) -> Result<Vec<u8>, String> {
    let expected = || "whsec_ followed by base64 of at least 24 bytes".to_owned();
    let encoded = raw.strip_prefix("whsec_").ok_or_else(expected)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| expected())?;
    if bytes.len() < 24 {
        return Err(expected());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<NoticeConfig, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let lookup = move |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        NoticeConfig::from_vars(&Vars(&lookup, Default::default()))
    }

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn defaults_and_webhook_rules() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.wasnt_me_ttl, Duration::from_secs(7 * 86_400));
        assert_eq!(config.audit_retention, Duration::from_secs(90 * 86_400));
        assert!(config.webhook.is_none());
        assert_eq!(config.reset_delivery, ResetDelivery::Email);
        let url = ("LATCHKEY_WEBHOOK_URL", "http://127.0.0.1:9/hook");
        assert_eq!(
            parse(&[url]).unwrap_err().variable,
            "LATCHKEY_WEBHOOK_SECRET"
        );
        assert_eq!(
            parse(&[("LATCHKEY_WEBHOOK_SECRET", SECRET)])
                .unwrap_err()
                .variable,
            "LATCHKEY_WEBHOOK_SECRET"
        );
        assert!(parse(&[url, ("LATCHKEY_WEBHOOK_SECRET", "secret")]).is_err());
        let ok = parse(&[url, ("LATCHKEY_WEBHOOK_SECRET", SECRET)]).unwrap();
        assert_eq!(ok.webhook.unwrap().secret.len(), 24);
        assert_eq!(
            parse(&[("LATCHKEY_RESET_DELIVERY", "webhook")])
                .unwrap_err()
                .variable,
            "LATCHKEY_RESET_DELIVERY"
        );
        let both = parse(&[
            url,
            ("LATCHKEY_WEBHOOK_SECRET", SECRET),
            ("LATCHKEY_RESET_DELIVERY", "both"),
        ])
        .unwrap();
        assert!(both.reset_delivery.mails() && both.reset_delivery.hooks());
    }
}
