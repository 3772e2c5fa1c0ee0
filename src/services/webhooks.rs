//! Webhooks, through the same durable outbox and delivery workers as mail (one pipeline).
//!
//! * **Publishing.** Every audit row is written waiting for the publisher. A worker thread
//!   takes waiting rows (on PostgreSQL `FOR UPDATE SKIP LOCKED`, so several instances never
//!   publish one row twice), queues one outbox message per row (`kind = webhook`) and marks the
//!   rows published, in one transaction. With webhooks off the rows are only marked. The
//!   `password_reset_token_created` event is queued directly by the resolver, in the token's
//!   transaction (see [`queue_event`]).
//! * **The message.** Its `message_id` is the Standard Webhooks `webhook-id` (`msg_` + 128
//!   random bits), fixed when it is queued, so a retry carries the same id and a receiver can
//!   drop the rare duplicate after a crash. Its body is the JSON document
//!   `{"type", "timestamp", "data"}`, sealed at rest like a mail body (the reset event carries
//!   a live token).
//! * **Sending.** A POST signed the Standard Webhooks way: `webhook-id`, `webhook-timestamp`
//!   (the attempt's Unix time) and `webhook-signature: v1,<base64 HMAC-SHA256 of
//!   "{id}.{timestamp}.{body}">` under the decoded `whsec_` key. 2xx is sent; 408, 429, 5xx
//!   and connection errors are retried with the mail's backoff until the mail's attempt limit;
//!   any other answer is dead at once. Every request ends within the send deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::config::WebhookConfig;
use crate::db::audit::{self as audit_table, AuditRow};
use crate::db::outbox::NewOutboxMessage;
use crate::db::{self, Db, DbConnection, DbError};
use crate::email::SendError;
use crate::secrets::Sealer;
use crate::services::audit::rfc3339;

/// `kind` of a webhook in the outbox.
pub const KIND_WEBHOOK: &str = "webhook";
/// The event that carries a reset token to a product that sends its own message.
pub const PASSWORD_RESET_TOKEN_CREATED: &str = "password_reset_token_created";
/// Audit rows published per transaction.
const BATCH: i64 = 100;
/// Longest single webhook request, whatever the remaining send budget.
const MAX_REQUEST: Duration = Duration::from_secs(10);

/// A new `webhook-id`.
fn new_webhook_id() -> String {
    format!("msg_{}", hex::encode(crate::domain::random_bytes::<16>()))
}

/// The `data` of an audit event's webhook: the event's row, never a secret.
fn audit_data(row: &AuditRow) -> Value {
    let detail: Value = serde_json::from_str(&row.detail).unwrap_or_else(|_| json!({}));
    json!({
        "id": row.id,
        "user_id": row.user_id,
        "ip_address": row.ip_address,
        "user_agent": row.user_agent,
        "detail": detail,
    })
}

/// Queues one webhook (inside the caller's transaction): `{"type", "timestamp", "data"}` to
/// `url`, its body sealed. A message with `expires_at` is never sent after it.
pub fn queue_event(
    conn: &mut DbConnection,
    bodies: &Sealer,
    url: &str,
    event_type: &str,
    at: NaiveDateTime,
    data: Value,
    expires_at: Option<NaiveDateTime>,
) -> diesel::QueryResult<i64> {
    let body = json!({ "type": event_type, "timestamp": rfc3339(at), "data": data }).to_string();
    let now = db::now();
    NewOutboxMessage {
        kind: KIND_WEBHOOK,
        user_id: None,
        recipient: url,
        subject: event_type,
        body_text: &bodies.seal(&body),
        body_html: "",
        message_id: &new_webhook_id(),
        next_attempt_at: now,
        expires_at,
        created_at: now,
        language: None,
    }
    .insert(conn)
}

/// Hands one batch of waiting audit rows to the outbox (or, with webhooks off, marks them
/// done). `true` when there were rows.
pub fn publish_pending(
    db: &Db,
    bodies: &Sealer,
    webhook: Option<&WebhookConfig>,
) -> Result<bool, DbError> {
    let mut conn = db.get()?;
    if !audit_table::any_pending(&mut conn)? {
        return Ok(false);
    }
    let Some(webhook) = webhook else {
        conn.write(audit_table::clear_pending)?;
        return Ok(true);
    };
    let published = conn.write(|conn| {
        let rows = audit_table::take_pending(conn, BATCH)?;
        for row in &rows {
            queue_event(
                conn,
                bodies,
                &webhook.url,
                &row.event,
                row.created_at,
                audit_data(row),
                None,
            )?;
        }
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        audit_table::mark_published(conn, &ids)?;
        Ok::<_, diesel::result::Error>(rows.len())
    })?;
    if published > 0 {
        tracing::debug!(published, "audit events queued as webhooks");
    }
    Ok(published > 0)
}

/// Called after webhooks were queued: wakes the delivery workers.
pub type Wake = Box<dyn Fn() + Send + Sync>;

/// The worker task that publishes audit rows (one thread per process).
pub struct Publisher {
    db: Db,
    bodies: Sealer,
    webhook: Option<WebhookConfig>,
    signal: Wake,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("webhook", &self.webhook)
            .finish_non_exhaustive()
    }
}

impl Publisher {
    /// A publisher on `db` (background priority), waking the delivery workers with `signal`.
    pub fn new(db: Db, bodies: Sealer, webhook: Option<WebhookConfig>, signal: Wake) -> Self {
        Self {
            db,
            bodies,
            webhook,
            signal,
        }
    }

    /// One round; wakes the delivery workers when webhooks were queued.
    pub fn publish(&self) -> Result<bool, DbError> {
        let did = publish_pending(&self.db, &self.bodies, self.webhook.as_ref())?;
        if did && self.webhook.is_some() {
            (self.signal)();
        }
        Ok(did)
    }
}

/// Signs and POSTs webhooks.
#[derive(Clone)]
pub struct WebhookSender {
    agent: ureq::Agent,
    secret: Vec<u8>,
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSender(…)")
    }
}

/// The Standard Webhooks signature header value of one attempt.
pub fn signature(secret: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

impl WebhookSender {
    /// A sender signing with the decoded `whsec_` key.
    pub fn new(secret: &[u8]) -> anyhow::Result<Self> {
        let tls = native_tls::TlsConnector::new()
            .map_err(|err| anyhow::anyhow!("cannot set up TLS for webhooks: {err}"))?;
        let agent = ureq::AgentBuilder::new()
            .tls_connector(Arc::new(tls))
            .redirects(0)
            .user_agent(concat!("Latchkey/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Self {
            agent,
            secret: secret.to_vec(),
        })
    }

    /// POSTs `body` to `url` as webhook `id`, finishing by `deadline`.
    pub fn send(
        &self,
        url: &str,
        id: &str,
        body: &str,
        deadline: Instant,
    ) -> Result<(), SendError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(SendError::Transient(
                "no time left before the send deadline".to_owned(),
            ));
        }
        let timestamp = chrono::Utc::now().timestamp();
        let answer = self
            .agent
            .post(url)
            .timeout(left.min(MAX_REQUEST))
            .set("content-type", "application/json")
            .set("webhook-id", id)
            .set("webhook-timestamp", &timestamp.to_string())
            .set(
                "webhook-signature",
                &signature(&self.secret, id, timestamp, body),
            )
            .send_string(body);
        match answer {
            Ok(response) if (200..300).contains(&response.status()) => Ok(()),
            Ok(response) => Err(refusal(response.status())),
            Err(ureq::Error::Status(status, _)) => Err(refusal(status)),
            Err(ureq::Error::Transport(err)) => Err(SendError::Transient(format!(
                "webhook receiver unreachable: {}",
                err.kind()
            ))),
        }
    }
}

/// 408, 429 and 5xx may pass; any other non-2xx answer will not.
fn refusal(status: u16) -> SendError {
    let reason = format!("webhook receiver answered {status}");
    if status == 408 || status == 429 || status >= 500 {
        SendError::Transient(reason)
    } else {
        SendError::Permanent(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification's reference libraries.
        let secret = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn only_408_429_and_5xx_are_retried() {
        for status in [408, 429, 500, 503] {
            assert!(
                matches!(refusal(status), SendError::Transient(_)),
                "{status}"
            );
        }
        for status in [300, 400, 401, 404, 410] {
            assert!(
                matches!(refusal(status), SendError::Permanent(_)),
                "{status}"
            );
        }
    }
}
