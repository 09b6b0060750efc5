//! `yubin serve`: open the store, start every listener, run until SIGTERM/SIGINT.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;
use yubin_server::auth::PasswordChecker;
use yubin_server::dns::Dns;
use yubin_server::limits::Limits;
use yubin_server::mailauth::DkimSigner;
use yubin_server::net::{self, tls};
use yubin_server::smtp::inbound::InboundChecks;
use yubin_server::smtp::queue::runner::QueueRunner;
use yubin_server::smtp::submission::Submission;
use yubin_server::smtp::{Mode, Service, SmtpConfig};
use yubin_server::{imap, pop3};
use yubin_store::MailStore;

use crate::admin;
use crate::config::Config;

/// Runs the server until a termination signal; returns once shut down.
pub async fn run(config: Config) -> Result<(), String> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.server.log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let data = config.server.data_dir.clone();
    let store = MailStore::open(&data).await.map_err(|e| e.to_string())?;
    store.set_purge_grace(Duration::from_secs(config.server.purge_grace_secs));
    store.set_purge_rate(config.server.purge_rate as f64);
    store.configure_admission(
        Duration::from_millis(config.server.store_slow_ms),
        Duration::from_millis(config.server.store_deadline_ms),
        config.server.tenant_store_slots,
    );
    let tls = tls::acceptor(&config.tls, &data, &config.server.hostname)?;
    let (trigger, shutdown) = net::shutdown_pair();

    let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;

    // One resolver (and cache) for MX lookups and sender authentication.
    let dns = Arc::new(Dns::new(&config.dns)?);
    // One set of limits for every protocol: connections per IP count across them all.
    let limits = Limits::new(config.limits.clone(), Some(store.clone()));
    for (name, mode, smtp) in [
        ("smtp", Mode::Mx, &config.smtp),
        ("lmtp", Mode::Lmtp, &config.lmtp),
    ] {
        let service = match mode {
            Mode::Mx => Service::mx(
                smtp.clone(),
                config.server.hostname.clone(),
                store.clone(),
                Some(tls.clone()),
                InboundChecks::new(&config.checks, dns.clone()),
                limits.clone(),
            ),
            _ => Service::lmtp(
                smtp.clone(),
                config.server.hostname.clone(),
                store.clone(),
                Some(tls.clone()),
                limits.clone(),
            ),
        };
        start_listeners(name, service, smtp, &shutdown).await?;
    }
    // One pool of password checkers for every protocol, so a login storm on one cannot take
    // more than the machine's cores.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let passwords = PasswordChecker::start(store.clone(), cores);
    let clients = Clients {
        passwords,
        limits: limits.clone(),
    };
    start_imap(&config, &store, &tls, &clients, &shutdown).await?;
    start_pop3(&config, &store, &tls, &clients, &shutdown).await?;
    start_submission(&config, &store, &tls, &clients, &shutdown).await?;
    admin::socket::listen(
        &data,
        store.clone(),
        admin::defaults(&config),
        shutdown.clone(),
    )?;
    start_http(&config, &store, &tls, &shutdown).await?;
    let runner = QueueRunner::new(
        store.clone(),
        dns,
        outbound_with_helo(&config),
        config.queue.clone(),
        config.server.hostname.clone(),
    );
    tokio::spawn(runner.run(shutdown.clone()));
    say("yubin: ready");

    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    tracing::info!("shutting down");
    let left = trigger
        .shutdown(Duration::from_secs(config.server.shutdown_grace_secs))
        .await;
    if left > 0 {
        tracing::warn!(
            sessions = left,
            "grace period over; closing the remaining sessions"
        );
    }
    let _ = std::fs::remove_file(admin::socket::path(&data));
    Ok(())
}

async fn start_listeners(
    name: &str,
    service: Arc<Service>,
    smtp: &SmtpConfig,
    shutdown: &net::Shutdown,
) -> Result<(), String> {
    for listener in net::bind_all(&smtp.listen).await? {
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        say(&format!("yubin: listening {name} {addr}"));
        let service: Arc<Service> = service.clone();
        net::spawn_accept_loop(listener, shutdown.clone(), move |stream, peer, shutdown| {
            service.clone().handle(stream, peer, shutdown)
        });
    }
    Ok(())
}

/// What the protocols that log users in share.
struct Clients {
    passwords: PasswordChecker,
    limits: Arc<Limits>,
}

async fn start_imap(
    config: &Config,
    store: &MailStore,
    tls: &tokio_rustls::TlsAcceptor,
    clients: &Clients,
    shutdown: &net::Shutdown,
) -> Result<(), String> {
    let service = imap::Service::new(
        config.imap.clone(),
        config.server.hostname.clone(),
        store.clone(),
        Some(tls.clone()),
        clients.passwords.clone(),
        clients.limits.clone(),
    );
    let listen = [&config.imap.listen, &config.imap.listen_tls];
    start_pair(
        ["imap", "imaps"],
        listen,
        shutdown,
        move |stream, peer, down, tls| service.clone().handle(stream, peer, down, tls),
    )
    .await
}

async fn start_pop3(
    config: &Config,
    store: &MailStore,
    tls: &tokio_rustls::TlsAcceptor,
    clients: &Clients,
    shutdown: &net::Shutdown,
) -> Result<(), String> {
    let service = pop3::Service::new(
        config.pop3.clone(),
        config.server.hostname.clone(),
        store.clone(),
        Some(tls.clone()),
        clients.passwords.clone(),
        clients.limits.clone(),
    );
    let listen = [&config.pop3.listen, &config.pop3.listen_tls];
    start_pair(
        ["pop3", "pop3s"],
        listen,
        shutdown,
        move |stream, peer, down, tls| service.clone().handle(stream, peer, down, tls),
    )
    .await
}

/// The probes on `[http] listen`, and the probes with the admin API over HTTPS on
/// `listen_tls`.
async fn start_http(
    config: &Config,
    store: &MailStore,
    tls: &tokio_rustls::TlsAcceptor,
    shutdown: &net::Shutdown,
) -> Result<(), String> {
    let plain = net::bind_all(&config.http.listen).await?;
    let secure = net::bind_all(&config.http.listen_tls).await?;
    if plain.is_empty() && secure.is_empty() {
        return Ok(());
    }
    let web = yubin_web::Web::new(
        store.clone(),
        config.server.data_dir.clone(),
        Arc::new(crate::metrics::render),
    );
    for listener in plain {
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        say(&format!("yubin: listening http {addr}"));
        web.clone().serve(listener, shutdown.clone());
    }
    for listener in secure {
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        say(&format!("yubin: listening https {addr}"));
        web.clone()
            .serve_tls(listener, tls.clone(), shutdown.clone())
            .map_err(|e| format!("HTTPS on {addr}: {e}"))?;
    }
    Ok(())
}

async fn start_submission(
    config: &Config,
    store: &MailStore,
    tls: &tokio_rustls::TlsAcceptor,
    clients: &Clients,
    shutdown: &net::Shutdown,
) -> Result<(), String> {
    let service = Service::submission(
        config.submission.clone(),
        config.server.hostname.clone(),
        store.clone(),
        Some(tls.clone()),
        clients.passwords.clone(),
        Submission::new(
            config.sending.clone(),
            Some(DkimSigner::new(&config.server.data_dir)),
        ),
        clients.limits.clone(),
    );
    let listen = [&config.submission.listen, &config.submission.listen_tls];
    start_pair(
        ["submission", "submissions"],
        listen,
        shutdown,
        move |stream, peer, down, implicit| {
            let service = service.clone();
            async move {
                if implicit {
                    service.handle_tls(stream, peer, down).await;
                } else {
                    service.handle(stream, peer, down).await;
                }
            }
        },
    )
    .await
}

/// Binds a protocol's plain (STARTTLS/STLS) and implicit-TLS addresses; `handle` gets `true`
/// for connections on the latter.
async fn start_pair<F, Fut>(
    names: [&str; 2],
    addrs: [&Vec<String>; 2],
    shutdown: &net::Shutdown,
    handle: F,
) -> Result<(), String>
where
    F: Fn(tokio::net::TcpStream, std::net::SocketAddr, net::Shutdown, bool) -> Fut
        + Clone
        + Send
        + Sync
        + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    for (i, (name, addrs)) in names.into_iter().zip(addrs).enumerate() {
        let implicit = i == 1;
        for listener in net::bind_all(addrs).await? {
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            say(&format!("yubin: listening {name} {addr}"));
            let handle = handle.clone();
            net::spawn_accept_loop(listener, shutdown.clone(), move |stream, peer, down| {
                handle(stream, peer, down, implicit)
            });
        }
    }
    Ok(())
}

/// The outbound settings, with our host name as EHLO name unless one is configured (RFC 5321
/// §4.1.4: the client's primary host name).
fn outbound_with_helo(config: &Config) -> yubin_server::smtp::outbound::OutboundConfig {
    let mut outbound = config.outbound.clone();
    if outbound.helo_name.is_empty() {
        outbound.helo_name = config.server.hostname.clone();
    }
    outbound
}

/// Status lines for operators and test harnesses go to stdout, flushed at once.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
