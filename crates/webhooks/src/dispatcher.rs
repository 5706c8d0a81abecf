//! The delivery worker: claim due deliveries, send them, record outcomes.
use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::Utc;
use store::{
    Store, StoreError,
    deliveries::{AttemptOutcome, DisablePolicy, DueDelivery},
};
use tokio::{sync::watch, task::JoinSet};

use crate::{RetrySchedule, payload, signature};

/// An endpoint's signing secrets for a round, or why they could not be read.
type SigningSecrets = Result<Arc<Vec<store::Secret>>, String>;

/// How often finished deliveries past their retention are deleted.
const PURGE_INTERVAL: Duration = Duration::from_secs(600);

#[derive(Debug, Clone)]
pub struct DispatcherSettings {
    /// How often to look for due deliveries when there were none.
    pub poll_interval: Duration,
    /// Deliveries claimed per round.
    pub batch: u64,
    /// Deliveries sent at once.
    pub concurrency: usize,
    /// Per attempt: connect, send, and the receiver's answer.
    pub timeout: Duration,
    pub schedule: RetrySchedule,
    /// When an endpoint is disabled for failing.
    pub disable: DisablePolicy,
    /// Deliver to loopback and private addresses too (a laptop, tests);
    /// off in production: see [`crate::target`].
    pub allow_private_targets: bool,
    /// Delivered and dead deliveries are deleted after this long (their
    /// events stay and can be replayed).
    pub retention: Duration,
}

impl Default for DispatcherSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            batch: 64,
            concurrency: 16,
            timeout: Duration::from_secs(10),
            schedule: RetrySchedule::default(),
            disable: DisablePolicy {
                after_failures: 100,
                after_failing_for: Duration::from_secs(24 * 3600),
            },
            allow_private_targets: false,
            retention: Duration::from_secs(30 * 86400),
        }
    }
}

#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    http: reqwest::Client,
    settings: Arc<DispatcherSettings>,
}

impl Dispatcher {
    pub fn new(store: Store, settings: DispatcherSettings) -> Result<Self, reqwest::Error> {
        let mut http = reqwest::Client::builder();
        if !settings.allow_private_targets {
            http = http.dns_resolver(Arc::new(crate::target::PublicOnlyResolver));
        }
        let http = http
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            // A redirect is an answer to fix at the receiver, not to follow
            // with a signed body to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tpgate-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            store,
            http,
            settings: Arc::new(settings),
        })
    }

    /// Delivers until `stop` turns true; a round in progress (its requests
    /// in flight) finishes first, so a shutdown loses no attempt's outcome.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let mut purged_at: Option<tokio::time::Instant> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            if purged_at.is_none_or(|t| t.elapsed() >= PURGE_INTERVAL) {
                purged_at = Some(tokio::time::Instant::now());
                self.purge_finished().await;
            }
            let busy = match self.deliver_due(&stop).await {
                Ok(n) => n as u64 >= self.settings.batch,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook deliveries could not be claimed; retrying");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.poll_interval) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Deletes finished deliveries past their retention (any replica may;
    /// deleting twice is harmless).
    pub async fn purge_finished(&self) {
        let retention = chrono::Duration::from_std(self.settings.retention)
            .unwrap_or(chrono::Duration::days(30));
        match self
            .store
            .purge_finished_deliveries(Utc::now() - retention)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(deleted = n, "finished webhook deliveries purged"),
            Err(e) => tracing::warn!(error = %e, "could not purge finished webhook deliveries"),
        }
    }

    /// One round: claims due deliveries and sends them. Returns how many
    /// were claimed. Once `stop` turns true no new send starts: those in
    /// flight finish and record their outcome, the rest are given back.
    pub async fn deliver_due(&self, stop: &watch::Receiver<bool>) -> Result<usize, StoreError> {
        // The lease outlives the round's worst case, so no other worker
        // takes a delivery still being sent.
        let rounds = self
            .settings
            .batch
            .div_ceil(self.settings.concurrency.max(1) as u64);
        let lease = self.settings.timeout * (rounds as u32 + 2);
        let due = self
            .store
            .claim_due_deliveries(Utc::now(), self.settings.batch, lease)
            .await?;
        let n = due.len();
        // Each endpoint's secrets are read (and unsealed) once a round, not
        // once per delivery.
        let mut secrets: HashMap<String, SigningSecrets> = HashMap::new();
        for d in &due {
            let id = &d.delivery.endpoint_id;
            if !secrets.contains_key(id) {
                let read = self
                    .store
                    .webhook_signing_secrets(id)
                    .await
                    .map(Arc::new)
                    .map_err(|e| e.to_string());
                secrets.insert(id.clone(), read);
            }
        }
        let mut tasks = JoinSet::new();
        let mut unsent = Vec::new();
        for d in due {
            while tasks.len() >= self.settings.concurrency.max(1) {
                tasks.join_next().await;
            }
            if *stop.borrow() {
                unsent.push(d.delivery.id);
                continue;
            }
            let this = self.clone();
            let keys = secrets
                .get(&d.delivery.endpoint_id)
                .cloned()
                .unwrap_or_else(|| Err("signing secrets not read".into()));
            tasks.spawn(async move { this.deliver(d, keys).await });
        }
        while tasks.join_next().await.is_some() {}
        if let Err(e) = self.store.release_claims(&unsent).await {
            tracing::warn!(error = %e, "could not give back unsent webhook deliveries; they are due again when their lease ends");
        }
        Ok(n)
    }

    async fn deliver(&self, due: DueDelivery, secrets: SigningSecrets) {
        let outcome = self.attempt(&due, &secrets).await;
        let result = match &outcome {
            AttemptOutcome::Delivered { .. } => "delivered",
            AttemptOutcome::Failed {
                retry_at: Some(_), ..
            } => "retry",
            AttemptOutcome::Failed { retry_at: None, .. } => "dead",
        };
        ::metrics::counter!("tpgate_webhook_attempts_total", "result" => result).increment(1);
        if let AttemptOutcome::Failed {
            error, retry_at, ..
        } = &outcome
        {
            tracing::info!(
                webhook.id = %due.delivery.endpoint_id,
                delivery.id = %due.delivery.id,
                event.id = %due.event.id,
                attempt = due.delivery.attempts + 1,
                retry_at = ?retry_at,
                error = %error,
                "webhook delivery failed"
            );
        }
        if let Err(e) = self
            .store
            .finish_attempt(
                &due.delivery.id,
                due.delivery.lease_until_ms,
                &due.delivery.endpoint_id,
                &outcome,
                &self.settings.disable,
            )
            .await
        {
            // The lease ends and another round sends it again: at least once.
            tracing::warn!(error = %e, delivery.id = %due.delivery.id, "could not record a webhook attempt");
        }
    }

    async fn attempt(&self, due: &DueDelivery, secrets: &SigningSecrets) -> AttemptOutcome {
        let attempts = u32::try_from(due.delivery.attempts).unwrap_or(0) + 1;
        let failed = |status_code: Option<u16>, error: String| AttemptOutcome::Failed {
            status_code,
            error,
            retry_at: self.settings.schedule.next_attempt(attempts, Utc::now()),
        };
        if !self.settings.allow_private_targets
            && let Err(refused) = crate::target::refuse_literal(&due.endpoint_url)
        {
            return failed(None, refused);
        }
        let secrets = match secrets {
            Ok(s) => s,
            Err(e) => return failed(None, format!("signing secret unavailable: {e}")),
        };
        let secrets: Vec<&str> = secrets.iter().map(|s| s.expose()).collect();
        let body = payload::body(&due.event);
        let signature = signature::header_value(&secrets, Utc::now().timestamp(), &body);
        let sent = self
            .http
            .post(&due.endpoint_url)
            .header("Content-Type", "application/json")
            .header(signature::HEADER, signature)
            .header("Tpgate-Event-Id", &due.event.id)
            .header("Tpgate-Event-Type", &due.event.event_type)
            .header("Tpgate-Delivery-Id", &due.delivery.id)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => AttemptOutcome::Delivered {
                status_code: resp.status().as_u16(),
            },
            Ok(resp) => failed(
                Some(resp.status().as_u16()),
                format!("receiver answered {}", resp.status()),
            ),
            // No URL (or credentials in it) in the message; the causes, e.g.
            // the resolver's refusal, appended.
            Err(e) => {
                let e = e.without_url();
                let mut message = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    message.push_str(": ");
                    message.push_str(&cause.to_string());
                    source = cause.source();
                }
                failed(None, message)
            }
        }
    }
}
