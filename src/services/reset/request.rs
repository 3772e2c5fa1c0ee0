//! Accepting a reset request: the request path does the same work for every valid request,
//! whatever the account. It stores a [`reset request`](crate::db::reset_requests) (batched with
//! concurrent ones by [`queue`]) and returns; the workers resolve it
//! ([`resolve`](super::resolve)).

pub mod queue;

use super::{ResetIdentifier, ResetService};
use crate::error::Failure;
use crate::services::ClientInfo;
use queue::{QueueError, QueuedRequest, RequestQueue};

/// Why a reset request was refused.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// No eligible account (reported only with `LATCHKEY_NO_INFORMATION_LEAKAGE=false`).
    #[error("no eligible account matches")]
    NoAccount,
    /// The database, the hasher or something unexpected failed.
    #[error(transparent)]
    Failed(#[from] Failure),
}

crate::failure_conversions!(RequestError);

impl ResetService {
    /// With `LATCHKEY_NO_INFORMATION_LEAKAGE=false` only: refuses an address no eligible
    /// account has (the package's legacy 400). Never called otherwise, so it cannot leak.
    #[tracing::instrument(skip_all)]
    pub fn check_eligible(&self, identifier: &ResetIdentifier) -> Result<(), RequestError> {
        let mut conn = self.db.get()?;
        let user = self.find_by_lookup_key(&mut conn, &identifier.lookup_key())?;
        if user.is_some_and(|user| self.may_request(&user)) {
            Ok(())
        } else {
            Err(RequestError::NoAccount)
        }
    }

    /// Accepts a reset request: its row is stored (batched with concurrent requests into one
    /// transaction) and the workers do the rest. The same work for every account.
    #[tracing::instrument(skip_all)]
    pub async fn accept(
        &self,
        identifier: &ResetIdentifier,
        client: &ClientInfo,
    ) -> Result<(), RequestError> {
        let queue = match self.queue.get() {
            Some(queue) => queue,
            None => {
                let outbox = self.outbox.clone();
                let started = RequestQueue::start(self.db.clone(), move || outbox.notify())
                    .map_err(|err| {
                        anyhow::Error::new(err).context("cannot start the request queue")
                    })?;
                self.queue.get_or_init(|| started)
            }
        };
        queue
            .store(QueuedRequest {
                lookup_key: identifier.lookup_key(),
                ip_address: client.ip_text(),
                user_agent: client.user_agent.clone(),
                language: Some(crate::i18n::tag()),
            })
            .await
            .map_err(|err| match err {
                QueueError::Database(err) => RequestError::from(err),
                QueueError::Unavailable => RequestError::Failed(Failure::Busy),
            })
    }
}
