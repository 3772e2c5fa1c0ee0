//! Builds a running Latchkey from a [`Config`]: secret key, pool, migrations, state, listener.
//!
//! The listener is bound before the server starts, so `LATCHKEY_BIND=127.0.0.1:0` gives tests a
//! free port that [`Application::address`] reports.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::composition::{self, Core};
use crate::config::Config;
use crate::db::{migrations, Db};
use crate::email::Transport;
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::passwords::PasswordHasher;
use crate::services::ip_limits::IpLimits;
use crate::services::reset::hooks::{DefaultResetHooks, ResetHooks};
use crate::services::webhooks::{Publisher, WebhookSender};
use crate::workers::delivery::{Delivery, RetryPolicy, LEASE_MARGIN};
use crate::workers::resolver::Resolver;
use crate::workers::{PoolSetup, WorkerPool};

/// How long in-flight requests get to finish after SIGINT/SIGTERM.
const SHUTDOWN_GRACE_SECS: u64 = 30;
/// Blocking threads (database and hashing work) per HTTP worker: more would only wait for a
/// pooled connection or a hashing permit, while each idle thread still costs memory.
const BLOCKING_THREADS_PER_WORKER: usize = 16;
/// How long in-flight writes to a local mail backend (file, log) get after the HTTP server
/// stopped; over SMTP the grace is the send budget plus the lease margin instead.
const LOCAL_WORKER_GRACE: Duration = Duration::from_secs(5);

/// A bound server with its email workers running.
pub struct Application {
    server: Server,
    metrics_server: Option<(Server, SocketAddr)>,
    address: SocketAddr,
    state: AppState,
    workers: WorkerPool,
    worker_grace: Duration,
}

impl Application {
    /// Resolves the secret key, connects, migrates (unless told not to) and binds.
    pub async fn build(config: Config, migrate: bool) -> anyhow::Result<Self> {
        Self::build_with_hooks(config, migrate, Arc::new(DefaultResetHooks)).await
    }

    /// Like [`Application::build`], with your own reset hooks (see
    /// [`ResetHooks`]).
    pub async fn build_with_hooks(
        config: Config,
        migrate: bool,
        hooks: Arc<dyn ResetHooks>,
    ) -> anyhow::Result<Self> {
        warn_about_weak_settings(&config);
        let secret = composition::secret_key(&config)?;
        let db = {
            let url = config.database_url.clone();
            let size = config.db_pool_size;
            web::block(move || -> anyhow::Result<Db> {
                let db = Db::connect(&url, size)?;
                if migrate {
                    for version in migrations::run_pending(&db)? {
                        tracing::info!(%version, "applied migration");
                    }
                }
                Ok(db)
            })
            .await??
        };
        let metrics = Arc::new(Metrics::new());
        let hasher = Arc::new(
            PasswordHasher::new(config.passwords.argon2)?
                .with_hash_histogram(metrics.hash_seconds.clone()),
        );
        crate::services::account_admin::import::calibrate_login_timing(&db, hasher.clone());
        let Core {
            db,
            keys,
            composer,
            outbox,
            hasher,
            reset,
            accounts,
        } = Core::assemble(&config, &secret, db, hasher, hooks)?;
        let delivery = Arc::new(
            Delivery::new(
                db.background(),
                Transport::from_config(&config.email)?,
                composer,
                keys.outbox_bodies.clone(),
                RetryPolicy::from_config(&config.email),
            )
            .with_webhooks(match &config.notices.webhook {
                Some(webhook) => Some(WebhookSender::new(&webhook.secret)?),
                None => None,
            })
            .counting_sent_resets(metrics.resets_sent()),
        );
        // A send in hand ends by its deadline and is recorded within the lease margin.
        let worker_grace = delivery
            .send_budget()
            .map_or(LOCAL_WORKER_GRACE, |budget| budget + LEASE_MARGIN);
        let publisher = Publisher::new(
            db.background(),
            keys.outbox_bodies.clone(),
            config.notices.webhook.clone(),
            {
                let signal = outbox.signal();
                Box::new(move || signal.notify())
            },
        );
        let workers = WorkerPool::start(PoolSetup {
            resolver: Some(Arc::new(Resolver::new(reset.clone()))),
            publisher: Some(Arc::new(publisher)),
            delivery,
            db: db.clone(),
            signal: outbox.signal(),
            session_ttl: config.session_ttl,
            audit_retention: config.notices.audit_retention,
            workers: config.email.workers,
            poll_interval: config.email.poll_interval,
        })?;
        let limits = Arc::new(ip_limits(&config, &db).counted_in(metrics.clone()));
        let state = AppState {
            db,
            hasher,
            keys,
            outbox,
            reset,
            accounts,
            limits,
            draining: Arc::new(AtomicBool::new(false)),
            metrics,
            config: Arc::new(config),
        };
        let listener = TcpListener::bind(state.config.bind)
            .with_context(|| format!("cannot listen on {}", state.config.bind))?;
        let address = listener.local_addr()?;
        let server_state = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(server_state.clone())
                .wrap(actix_web::middleware::from_fn(http::language::negotiate))
                .wrap(http::security_headers::headers(
                    &server_state.config.public_url,
                    &server_state.config.product.allowed_return_origins,
                ))
                .wrap(actix_web::middleware::from_fn({
                    let metrics = server_state.metrics.clone();
                    move |req, next| http::metrics::track(metrics.clone(), req, next)
                }))
                .wrap(http::request_span::middleware())
                .configure(http::routes(&server_state))
        })
        .workers(state.config.http_workers)
        // Signals are ours (see `run_until_stopped`): SIGTERM drains first.
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE_SECS)
        .worker_max_blocking_threads(BLOCKING_THREADS_PER_WORKER)
        .listen(listener)?
        .run();
        let metrics_server = match state.config.metrics_bind {
            Some(bind) => Some(metrics_server(bind, &state)?),
            None => None,
        };
        Ok(Self {
            server,
            metrics_server,
            address,
            state,
            workers,
            worker_grace,
        })
    }

    /// The address actually bound (the real port when `:0` was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where `GET /metrics` is served (`None` when `LATCHKEY_METRICS_BIND=off`).
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_server.as_ref().map(|(_, address)| *address)
    }

    /// The shared state, for tests that inspect the database directly.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or SIGINT. SIGTERM first drains: `/readyz` answers `draining` for
    /// `LATCHKEY_DRAIN_DELAY` (requests are still served meanwhile, so a load balancer can take
    /// the instance out without a failed request); SIGINT skips the delay. Then the server
    /// stops accepting, finishes in-flight requests, then in-flight sends: each of those ends
    /// by its send deadline (`LATCHKEY_SMTP_TIMEOUT` from its claim), so the drain waits at most
    /// that plus the lease margin, even on a tarpit SMTP server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let metrics_handle = self
            .metrics_server
            .as_ref()
            .map(|(server, _)| server.handle());
        if let Some((server, _)) = self.metrics_server {
            // Metrics are served until the process ends; a failure there is only logged.
            tokio::spawn(async move {
                if let Err(err) = server.await {
                    tracing::warn!(error = %err, "the metrics listener failed");
                }
            });
        }
        let draining = self.state.draining.clone();
        let delay = self.state.config.drain_delay;
        let stopper = tokio::spawn(async move {
            if stop_signal().await == Stop::Drain {
                draining.store(true, Ordering::Release);
                tracing::info!(
                    delay_ms = delay.as_millis() as u64,
                    "SIGTERM: draining (readiness answers 503), then stopping"
                );
                tokio::time::sleep(delay).await;
            }
            tracing::info!("stopping: no new connections; finishing in-flight requests");
            handle.stop(true).await;
            if let Some(metrics) = metrics_handle {
                metrics.stop(false).await;
            }
        });
        let served = self.server.await;
        stopper.abort();
        let (workers, grace) = (self.workers, self.worker_grace);
        let finished = web::block(move || workers.shutdown(grace))
            .await
            .unwrap_or(false);
        if !finished {
            tracing::warn!("some emails were still being sent at shutdown; their leases will expire and they will be sent again");
        }
        served
    }
}

/// The limits that answer `429`: in memory on SQLite, in the database on PostgreSQL (shared by
/// every instance of the deployment).
fn ip_limits(config: &Config, db: &Db) -> IpLimits {
    if db.is_postgres() {
        IpLimits::shared(&config.limits, config.reset.token_generator, db)
    } else {
        IpLimits::new(&config.limits, config.reset.token_generator)
    }
}

/// The metrics listener: `GET /metrics` only, one worker, on its own address (never the
/// public port).
fn metrics_server(bind: SocketAddr, state: &AppState) -> anyhow::Result<(Server, SocketAddr)> {
    let listener = TcpListener::bind(bind)
        .with_context(|| format!("cannot listen for metrics on {bind} (LATCHKEY_METRICS_BIND)"))?;
    let address = listener.local_addr()?;
    let scrape = web::Data::new(http::metrics::Scrape {
        metrics: state.metrics.clone(),
        db: state.db.clone(),
        hasher: state.hasher.clone(),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(scrape.clone())
            .route("/metrics", web::get().to(http::metrics::scrape))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    Ok((server, address))
}

/// How a stop was asked for.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    /// SIGTERM: drain first.
    Drain,
    /// SIGINT (Ctrl-C): stop gracefully at once.
    Now,
}

/// Waits for SIGTERM or SIGINT. A signal that cannot be listened for is logged and never comes
/// (the process can still be stopped by the other one, or killed).
async fn stop_signal() -> Stop {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = async {
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    term.recv().await;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot listen for SIGTERM");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            () = term => Stop::Drain,
            Ok(()) = tokio::signal::ctrl_c() => Stop::Now,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        Stop::Now
    }
}

/// Settings that work but weaken a guarantee are named at start-up.
fn warn_about_weak_settings(config: &Config) {
    if let Some(variable) = config.reset.token_generator.weakness() {
        tracing::warn!(
            variable,
            "reset tokens carry fewer than 112 bits: they are safe only behind the per-IP and global token-check limits"
        );
    }
    if !config.reset.no_information_leakage {
        tracing::warn!(
            variable = "LATCHKEY_NO_INFORMATION_LEAKAGE",
            "reset requests reveal whether an account exists"
        );
    }
}

/// The start-up line: where Latchkey answers and what it talks to, so a misconfiguration shows
/// at once. The database is named by kind and address, never with its password.
pub fn announce(config: &Config, bound: std::net::SocketAddr) {
    // Kind and where, never credentials (libpq also takes `?password=` in the query).
    let database = match &config.database_url {
        crate::config::DatabaseUrl::Sqlite(path) => format!("sqlite {}", path.display()),
        crate::config::DatabaseUrl::Postgres(raw) => match url::Url::parse(raw) {
            Ok(url) => format!(
                "postgresql {}{}",
                url.host_str().unwrap_or("(local socket)"),
                url.path()
            ),
            Err(_) => "postgresql".to_owned(),
        },
    };
    let email = match config.email.backend {
        crate::config::EmailBackend::Smtp => match url::Url::parse(&config.email.smtp_url) {
            Ok(url) => format!(
                "smtp {}:{}",
                url.host_str().unwrap_or("?"),
                url.port()
                    .map_or_else(|| "default port".to_owned(), |p| p.to_string())
            ),
            Err(_) => "smtp".to_owned(),
        },
        crate::config::EmailBackend::File => {
            format!("file {}", config.email.mail_dir.display())
        }
        crate::config::EmailBackend::Log => "log".to_owned(),
    };
    if let Some(port) = loopback_port(config) {
        if port != bound.port() {
            tracing::warn!(
                variable = "LATCHKEY_PUBLIC_URL",
                public_url = config.public_url.as_str(),
                bind = %bound,
                "the public URL points at this machine on port {port}, but Latchkey listens on port {}: links in mails and redirects will not reach it",
                bound.port()
            );
        }
    }
    tracing::info!(
        public_url = config.public_url.as_str(),
        bind = %bound,
        database = %database,
        email = %email,
        trusted_proxies = %crate::http::client::describe(config),
        "latchkey is listening"
    );
}

/// The port of the public URL when its host is a loopback address (`127.0.0.1`, `[::1]`,
/// `localhost`): only then can the bind port be compared with it (a proxy may sit between).
fn loopback_port(config: &Config) -> Option<u16> {
    let url = url::Url::parse(config.public_url.as_str()).ok()?;
    let loopback = match url.host()? {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    if loopback {
        url.port_or_known_default()
    } else {
        None
    }
}

/// Names each set `LATCHKEY_*` variable that no setting reads (a likely typo, which would
/// otherwise silently leave its setting at the default).
pub fn warn_about_unknown_variables(config: &Config, set: impl Iterator<Item = String>) {
    for variable in config.unknown_variables(set) {
        tracing::warn!(
            %variable,
            "{variable} is set but Latchkey does not know it (a typo?); it is ignored"
        );
    }
}
