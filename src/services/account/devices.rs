//! Devices: the live bearer tokens and browser sessions of an account, listed with where and
//! when they were used, and revoked one by one.
//!
//! An entry's id is opaque: the first 128 bits of an HMAC of its kind and row id under the
//! bearer-token key, so it reveals neither a token nor a session key, cannot be guessed for
//! another account's entries, and stays the same for as long as the entry lives. Revoking finds
//! the entry among the caller's own entries only, so another account's id is simply unknown
//! (`404`), exactly like an id that never existed.

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::db::{self, api_tokens, sessions, DbError};
use crate::services::account::AccountService;
use crate::services::audit::{self, Event};
use crate::services::ClientInfo;

/// What kind of credential an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// A login bearer token.
    ApiToken,
    /// A browser session.
    Browser,
}

impl DeviceKind {
    /// The name in the JSON answer (`api_token`, `browser`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiToken => "api_token",
            Self::Browser => "browser",
        }
    }
}

/// One entry of the device list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEntry {
    /// Opaque id (see the module docs).
    pub id: String,
    /// Token or browser.
    pub kind: DeviceKind,
    /// When it was issued.
    pub created_at: NaiveDateTime,
    /// Last use (to the minute), if any since it was issued.
    pub last_used_at: Option<NaiveDateTime>,
    /// Client address when it was issued.
    pub ip_address: Option<String>,
    /// Client user agent when it was issued.
    pub user_agent: Option<String>,
    /// The credential making this request.
    pub current: bool,
    row_id: i64,
}

/// Which credential is asking (so its entry is marked `current`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Current<'a> {
    /// A bearer token, by row id.
    ApiToken(i64),
    /// A browser session, by its login's device id.
    Browser(&'a str),
}

impl AccountService {
    fn device_id(&self, kind: DeviceKind, row_id: i64) -> String {
        let mut id = self
            .tokens
            .hash(&format!("device:{}:{row_id}", kind.as_str()));
        id.truncate(32);
        id
    }

    /// The account's live tokens and sessions, newest first within each kind (tokens first).
    #[tracing::instrument(skip_all)]
    pub fn devices(
        &self,
        user_id: i64,
        password_stamp: i64,
        current: Current<'_>,
        session_ttl: Duration,
    ) -> Result<Vec<DeviceEntry>, DbError> {
        let now = db::now();
        let born_after = chrono::Duration::from_std(session_ttl)
            .ok()
            .and_then(|ttl| now.checked_sub_signed(ttl))
            .unwrap_or(NaiveDateTime::MIN);
        let mut conn = self.db.get()?;
        let tokens = api_tokens::list_live_for_user(&mut conn, user_id, password_stamp, now)?;
        let browsers =
            sessions::list_live_for_user(&mut conn, user_id, sessions::Live { now, born_after })?;
        let mut devices: Vec<DeviceEntry> = tokens
            .into_iter()
            .map(|row| DeviceEntry {
                id: self.device_id(DeviceKind::ApiToken, row.id),
                kind: DeviceKind::ApiToken,
                created_at: row.created_at,
                last_used_at: row.last_used_at,
                ip_address: row.ip_address,
                user_agent: row.user_agent,
                current: current == Current::ApiToken(row.id),
                row_id: row.id,
            })
            .collect();
        devices.extend(browsers.into_iter().map(|row| DeviceEntry {
            id: self.device_id(DeviceKind::Browser, row.id),
            kind: DeviceKind::Browser,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            current: matches!(current, Current::Browser(device) if row.device_id.as_deref() == Some(device)),
            ip_address: row.ip_address,
            user_agent: row.user_agent,
            row_id: row.id,
        }));
        Ok(devices)
    }

    /// Revokes the entry `id` of the account; `Ok(None)` when the account has no such entry
    /// (unknown, expired, or another account's). Returns the revoked entry (`current` when it
    /// was the caller's own credential).
    #[tracing::instrument(skip_all)]
    pub fn revoke_device(
        &self,
        user_id: i64,
        password_stamp: i64,
        id: &str,
        current: Current<'_>,
        session_ttl: Duration,
        client: &ClientInfo,
    ) -> Result<Option<DeviceEntry>, DbError> {
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let devices = self.devices(user_id, password_stamp, current, session_ttl)?;
        let Some(device) = devices.into_iter().find(|device| device.id == id) else {
            return Ok(None);
        };
        let deleted = self.db.get()?.write(|conn| {
            let deleted = match device.kind {
                DeviceKind::ApiToken => {
                    api_tokens::delete_for_user_by_id(conn, user_id, device.row_id)?
                }
                DeviceKind::Browser => {
                    sessions::delete_for_user_by_id(conn, user_id, device.row_id)?
                }
            };
            if deleted > 0 {
                audit::record(
                    conn,
                    &Event::new(audit::SESSION_REVOKED, user_id, Some(client))
                        .with(serde_json::json!({ "kind": device.kind.as_str() })),
                )?;
            }
            Ok::<_, diesel::result::Error>(deleted)
        })?;
        if deleted == 0 {
            return Ok(None);
        }
        tracing::info!(
            user_id,
            kind = device.kind.as_str(),
            "session revoked from the device list"
        );
        Ok(Some(device))
    }
}
