//! Administering the outbox (`latchkey outbox list|status|retry`): what is queued, in which
//! state, and putting failed mail back in the queue.
//!
//! A dead message's body was cleared, so a retry rebuilds it from its kind and account; a reset
//! mail gets a fresh token from the [`ResetService`].

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;

use crate::config::PublicUrl;
use crate::db::outbox::{self, Requeue};
use crate::db::reset_tokens;
use crate::db::users;
use crate::db::{self, Db, DbConnection, DbError};
use crate::email::templates::PasswordResetMail;
use crate::services::outbox::{seal_body, Outbox, KIND_PASSWORD_CHANGED, KIND_PASSWORD_RESET};
use crate::services::reset::ResetService;
use crate::services::ClientInfo;

/// Counts per state, for `latchkey outbox status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxStatus {
    /// Every state, including those with no messages.
    pub counts: BTreeMap<&'static str, i64>,
    /// Dead messages that expired before they could be sent.
    pub expired: i64,
    /// Enqueue time of the oldest pending message.
    pub oldest_pending: Option<NaiveDateTime>,
}

/// Reads the outbox's state.
pub fn status(db: &Db) -> Result<OutboxStatus, DbError> {
    let mut conn = db.get()?;
    let mut counts: BTreeMap<&'static str, i64> =
        [outbox::PENDING, outbox::SENDING, outbox::SENT, outbox::DEAD]
            .into_iter()
            .map(|state| (state, 0))
            .collect();
    for (state, count) in outbox::count_by_state(&mut conn)? {
        if let Some(slot) = counts.iter_mut().find(|(known, _)| **known == state) {
            *slot.1 = count;
        }
    }
    Ok(OutboxStatus {
        counts,
        expired: outbox::count_expired(&mut conn)?,
        oldest_pending: outbox::oldest_pending(&mut conn)?,
    })
}

/// The newest `limit` messages (of `state`, when given), newest first, without their bodies.
pub fn list(
    db: &Db,
    state: Option<&str>,
    limit: u32,
) -> Result<Vec<outbox::OutboxListing>, DbError> {
    let mut conn = db.get()?;
    Ok(outbox::list(&mut conn, state, i64::from(limit))?)
}

/// What `latchkey outbox retry` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RetryReport {
    /// Pending messages waiting for a backoff that were made due now.
    pub due_now: usize,
    /// Dead messages put back in the queue (re-rendered, since their body was cleared).
    pub requeued: usize,
    /// Dead reset mails not re-sent because something newer replaces them (a live reset token
    /// issued after the mail, or a newer dead reset mail of the same account), with the reason.
    pub superseded: Vec<(i64, String)>,
    /// Dead messages that could not be requeued, with the reason.
    pub skipped: Vec<(i64, String)>,
}

/// What became of one dead message.
enum DeadOutcome {
    Requeued,
    Superseded(String),
    Skipped(String),
}

/// What re-rendering a dead message needs.
#[derive(Debug, Clone, Copy)]
pub struct RetryContext<'a> {
    /// For links in re-rendered messages.
    pub public_url: &'a PublicUrl,
    /// Issues the fresh token a re-sent reset mail carries (the old one was never seen).
    pub reset: &'a ResetService,
}

/// Makes failed pending messages due now and, with `include_dead`, re-renders and requeues
/// dead ones. Bodies of dead messages were cleared, so a message is rebuilt from its kind and
/// account; a kind that cannot be rebuilt is reported, not sent empty.
///
/// A re-rendered reset mail carries a new token, which replaces the account's current one. So
/// of several dead reset mails of one account only the newest is re-sent (one new token per
/// account, not one per mail, each killing the previous link), and none is re-sent when the
/// account holds a live token issued after that mail (the user already has a newer working
/// link, which a re-send would kill).
#[tracing::instrument(skip(db, outbox_handle, context))]
pub fn retry(
    db: &Db,
    outbox_handle: &Outbox,
    context: RetryContext<'_>,
    include_dead: bool,
) -> Result<RetryReport, DbError> {
    let mut conn = db.get()?;
    let now = db::now();
    let mut report = RetryReport {
        due_now: conn.write(|conn| outbox::retry_pending_now(conn, now))?,
        ..RetryReport::default()
    };
    if include_dead {
        let dead = outbox::list_dead(&mut conn)?;
        let mut newest_reset: HashMap<i64, i64> = HashMap::new();
        for message in dead.iter().filter(|m| m.kind == KIND_PASSWORD_RESET) {
            if let Some(user_id) = message.user_id {
                let newest = newest_reset.entry(user_id).or_insert(message.id);
                *newest = (*newest).max(message.id);
            }
        }
        for message in dead {
            let newer = message
                .user_id
                .and_then(|user_id| newest_reset.get(&user_id))
                .filter(|newest| message.kind == KIND_PASSWORD_RESET && **newest != message.id);
            let outcome = match newer {
                Some(newest) => DeadOutcome::Superseded(format!(
                    "superseded by message {newest}, a newer dead reset mail of the same account"
                )),
                // Rebuilt in the language it was first written in.
                None => crate::i18n::with(&message_language(&message), || {
                    conn.write(|conn| requeue_dead(conn, &message, context, outbox_handle, now))
                })?,
            };
            match outcome {
                DeadOutcome::Requeued => report.requeued += 1,
                DeadOutcome::Superseded(reason) => report.superseded.push((message.id, reason)),
                DeadOutcome::Skipped(reason) => report.skipped.push((message.id, reason)),
            }
        }
    }
    outbox_handle.notify();
    Ok(report)
}

fn message_language(message: &outbox::OutboxMessage) -> unic_langid::LanguageIdentifier {
    message
        .language
        .as_deref()
        .and_then(crate::i18n::supported)
        .unwrap_or_else(crate::i18n::english)
}

fn requeue_dead(
    conn: &mut DbConnection,
    message: &outbox::OutboxMessage,
    context: RetryContext<'_>,
    outbox: &Outbox,
    now: NaiveDateTime,
) -> Result<DeadOutcome, diesel::result::Error> {
    let bodies = outbox.bodies();
    let user = match message.user_id {
        Some(id) => {
            // The account's row first, as every token writer does: no second live token.
            users::lock_in_id_order(conn, &[id])?;
            users::find_by_id(conn, id)?
        }
        None => None,
    };
    let mut expires_at = None;
    let content = match (message.kind.as_str(), &user) {
        (KIND_PASSWORD_RESET, Some(user)) if context.reset.may_request(user) => {
            // Checked in this transaction, right before the new token would replace it.
            if let Some(token) = reset_tokens::find_live_for_user(conn, user.id, now)? {
                // The mail's own token (same expiry) was never delivered: replacing it is fine.
                let own = message.expires_at == Some(token.expires_at);
                if !own && token.created_at > message.created_at {
                    return Ok(DeadOutcome::Superseded(format!(
                        "superseded by a live reset token issued after it ({})",
                        token.created_at.format("%Y-%m-%dT%H:%M:%SZ")
                    )));
                }
            }
            let created = context
                .reset
                .create_token(conn, user, &ClientInfo::default(), false)?;
            expires_at = Some(created.expires_at);
            let mail = PasswordResetMail {
                product: outbox.product(),
                username: &user.username,
                link: &created.link,
                expires_at: created.expires_at,
                lifetime: context.reset.token_ttl(),
                cancel_link: &created.cancel_link,
            };
            match mail.render() {
                Ok(content) => content,
                Err(err) => return Ok(DeadOutcome::Skipped(format!("cannot render: {err}"))),
            }
        }
        (KIND_PASSWORD_RESET, Some(_)) => {
            return Ok(DeadOutcome::Skipped(
                "its account can no longer reset its password".to_owned(),
            ))
        }
        (KIND_PASSWORD_CHANGED, Some(user)) => {
            let changed_at = user.password_changed_at.unwrap_or(message.created_at);
            // A fresh "This wasn't me" link: the one of the dead mail was never delivered.
            let notice = context.reset.notices().password_changed_email(
                conn,
                outbox.product(),
                user,
                changed_at,
                None,
            );
            match notice? {
                Ok(content) => content,
                Err(err) => return Ok(DeadOutcome::Skipped(format!("cannot render: {err}"))),
            }
        }
        (_, None) if message.user_id.is_some() => {
            return Ok(DeadOutcome::Skipped(
                "its account no longer exists".to_owned(),
            ))
        }
        (kind, _) => {
            return Ok(DeadOutcome::Skipped(format!(
                "a {kind} message cannot be rebuilt"
            )))
        }
    };
    outbox::requeue_dead(
        conn,
        message.id,
        &Requeue {
            body_text: &seal_body(bodies, &content.text),
            body_html: &seal_body(bodies, &content.html),
            expires_at,
        },
        now,
    )?;
    tracing::info!(outbox_id = message.id, kind = %message.kind, "dead email requeued");
    Ok(DeadOutcome::Requeued)
}
