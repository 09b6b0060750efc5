//! `yubin admin`: the commands, and running them against the store.
//!
//! A command runs inside the server when one is up (over DATA/admin.sock, see `socket`), so the
//! server's single writer stays the only one; otherwise the CLI opens the store itself.

pub mod dkim;
pub mod limits;
pub mod queue;
pub mod socket;
pub mod token;
mod transfer;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde::{Deserialize, Serialize};
use yubin_store::MailStore;

use limits::{Defaults, ServiceArgs};

/// An administrative command.
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum AdminCommand {
    /// Hosted domains (tenants).
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Mail accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Aliases and catch-alls.
    #[command(subcommand)]
    Alias(AliasCommand),
    /// Mailboxes of an account.
    #[command(subcommand)]
    Mailbox(MailboxCommand),
    /// Stored messages.
    #[command(subcommand)]
    Message(MessageCommand),
    /// Verify the store's consistency (rows, blobs, counters).
    Check,
    /// The background purger: backlog and pace, or a full purge now.
    #[command(subcommand)]
    Purge(PurgeCommand),
    /// The outbound queue: list, show, retry or remove queued messages.
    #[command(subcommand)]
    Queue(queue::QueueCommand),
    /// DKIM signing keys of hosted domains and their DNS records.
    #[command(subcommand)]
    Dkim(dkim::DkimCommand),
    /// Bearer tokens for the admin REST API: create (shown once), list, revoke.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Print the running server's metrics (Prometheus text format).
    Metrics,
    /// SMTP transactions since the server started: count, share under 7 s, p50/p99/p99.9, max.
    Sla,
    /// Fault injection for tests (needs a server started with YUBIN_FAULT_INJECTION=1).
    #[command(subcommand)]
    Fault(FaultCommand),
}

impl AdminCommand {
    /// Whether the command only means something inside a running server (its metrics, its
    /// faults), so the CLI must not run it against a store it opened itself.
    pub fn needs_server(&self) -> bool {
        matches!(self, Self::Metrics | Self::Fault(_))
    }

    /// The command with its directory arguments made absolute, so a server running it (in
    /// another working directory) finds the directory the admin meant.
    pub fn with_absolute_paths(mut self) -> Result<Self, String> {
        if let Self::Account(
            AccountCommand::Export { dir, .. } | AccountCommand::Import { dir, .. },
        ) = &mut self
        {
            *dir = std::path::absolute(&*dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        Ok(self)
    }
}

/// `yubin admin purge ...`
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum PurgeCommand {
    /// Show the purge backlog, progress and pace.
    Status,
    /// Purge everything queued now, ignoring the grace period and the pace.
    Now,
}

/// `yubin admin fault ...`
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum FaultCommand {
    /// Add MS milliseconds to every store read snapshot, scan and commit (0 = off).
    StoreLatency {
        /// Milliseconds.
        #[arg(value_name = "MS")]
        ms: u64,
    },
}

/// `yubin admin domain ...`
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum DomainCommand {
    /// Add a domain.
    Add {
        /// Domain name.
        domain: String,
        /// Storage quota for all its accounts in bytes (0 = unlimited).
        #[arg(long, default_value_t = 0)]
        quota: u64,
        /// Most accounts (0 = unlimited).
        #[arg(long, default_value_t = 0)]
        max_accounts: u64,
    },
    /// List domains.
    List,
    /// Show a domain's settings and usage.
    Show {
        /// Domain name.
        domain: String,
    },
    /// Change a domain's quota, account limit and service limits (only the options given).
    Limits {
        /// Domain name.
        domain: String,
        /// Storage quota in bytes (0 = unlimited).
        #[arg(long)]
        quota: Option<u64>,
        /// Most accounts (0 = unlimited).
        #[arg(long)]
        max_accounts: Option<u64>,
        /// Tenant-wide service limits.
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Remove a domain (refused while it has accounts or aliases, unless --force).
    Remove {
        /// Domain name.
        domain: String,
        /// Also remove its accounts, their mail, and its aliases.
        #[arg(long)]
        force: bool,
    },
}

/// `yubin admin account ...`
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum AccountCommand {
    /// Add an account (its domain must exist).
    Add {
        /// Address, user@domain.
        address: String,
        /// Password.
        #[arg(long)]
        password: String,
        /// Storage quota in bytes (0 = unlimited).
        #[arg(long, default_value_t = 0)]
        quota: u64,
    },
    /// List accounts, optionally of one domain.
    List {
        /// Only this domain.
        domain: Option<String>,
    },
    /// Show an account's settings and usage.
    Show {
        /// Address.
        address: String,
    },
    /// Set a new password.
    Passwd {
        /// Address.
        address: String,
        /// New password.
        #[arg(long)]
        password: String,
    },
    /// Disable an account: no delivery, no login.
    Disable {
        /// Address.
        address: String,
    },
    /// Enable a disabled account.
    Enable {
        /// Address.
        address: String,
    },
    /// Set an account's quota in bytes (0 = unlimited).
    Quota {
        /// Address.
        address: String,
        /// Quota in bytes.
        bytes: u64,
    },
    /// Change an account's quota and service limits (only the options given).
    Limits {
        /// Address.
        address: String,
        /// Storage quota in bytes (0 = unlimited).
        #[arg(long)]
        quota: Option<u64>,
        /// The account's own service limits.
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Remove an account and all its mail.
    Remove {
        /// Address.
        address: String,
    },
    /// Write the account's mailboxes and messages (with flags, dates and POP3 UIDLs) to a new
    /// directory, for `account import` here or on another server.
    Export {
        /// Address.
        address: String,
        /// Directory to create (or an empty one).
        dir: PathBuf,
    },
    /// Add the mail of an `account export` directory to an existing account, keeping each
    /// message's flags, date and POP3 UIDL (a new UIDL only where the account has that one).
    Import {
        /// Address.
        address: String,
        /// Directory written by `account export`.
        dir: PathBuf,
    },
}

/// `yubin admin alias ...`
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum AliasCommand {
    /// Add an alias; `@domain` makes the domain's catch-all.
    Add {
        /// Alias address, or @domain.
        address: String,
        /// Targets, comma-separated; local or remote.
        #[arg(value_delimiter = ',', required = true)]
        targets: Vec<String>,
    },
    /// List aliases, optionally of one domain.
    List {
        /// Only this domain.
        domain: Option<String>,
    },
    /// Remove an alias.
    Remove {
        /// Alias address, or @domain.
        address: String,
    },
}

/// `yubin admin mailbox ...`
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum MailboxCommand {
    /// List an account's mailboxes with counts.
    List {
        /// Account address.
        account: String,
    },
}

/// `yubin admin message ...`
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum MessageCommand {
    /// List a mailbox's messages: UID, size, Message-ID.
    List {
        /// Account address.
        account: String,
        /// Mailbox name.
        mailbox: String,
    },
    /// Print a stored message exactly as stored.
    Show {
        /// Account address.
        account: String,
        /// Mailbox name.
        mailbox: String,
        /// Message UID.
        uid: u32,
    },
}

/// The server defaults of `config` that `show` reports against.
pub fn defaults(config: &crate::config::Config) -> Defaults {
    Defaults {
        limits: config.limits.clone(),
        sending: config.sending.clone(),
    }
}

/// Runs a command against the store and the data directory it lives in; the output is what the
/// CLI prints on stdout, the error what it prints after `error: `.
pub async fn execute(
    store: &MailStore,
    data_dir: &Path,
    defaults: &Defaults,
    command: &AdminCommand,
) -> Result<Vec<u8>, String> {
    let text = |s: String| Ok(s.into_bytes());
    let lines = |items: Vec<String>| items.iter().map(|i| format!("{i}\n")).collect::<String>();
    let err = |e: yubin_store::Error| e.to_string();
    match command {
        AdminCommand::Domain(cmd) => match cmd {
            DomainCommand::Add {
                domain,
                quota,
                max_accounts,
            } => {
                let name = store
                    .add_domain(domain, *quota, *max_accounts)
                    .await
                    .map_err(err)?;
                text(format!("added domain {name}\n"))
            }
            DomainCommand::List => text(lines(store.list_domains().map_err(err)?)),
            DomainCommand::Show { domain } => {
                let d = store.domain(domain).map_err(err)?;
                text(format!(
                    "domain: {}\nquota: {}\nmax_accounts: {}\naccounts: {}\nused: {}\n{}",
                    d.name,
                    d.record.quota,
                    d.record.max_accounts,
                    d.accounts,
                    d.used,
                    limits::show_domain(&d.record.limits, defaults)
                ))
            }
            DomainCommand::Limits {
                domain,
                quota,
                max_accounts,
                service,
            } => {
                let d = store.domain(domain).map_err(err)?;
                let new = service.apply(d.record.limits)?;
                if quota.is_some() || max_accounts.is_some() {
                    store
                        .set_domain_limits(
                            &d.name,
                            quota.unwrap_or(d.record.quota),
                            max_accounts.unwrap_or(d.record.max_accounts),
                        )
                        .await
                        .map_err(err)?;
                }
                if service.any() {
                    store.set_tenant_limits(&d.name, new).await.map_err(err)?;
                }
                text(format!("updated domain {}\n", d.name))
            }
            DomainCommand::Remove { domain, force } => {
                store.remove_domain(domain, *force).await.map_err(err)?;
                text(format!("removed domain {domain}\n"))
            }
        },
        AdminCommand::Account(cmd) => match cmd {
            AccountCommand::Add {
                address,
                password,
                quota,
            } => {
                let a = store
                    .add_account(address, password, *quota)
                    .await
                    .map_err(err)?;
                text(format!("added account {a}\n"))
            }
            AccountCommand::List { domain } => {
                text(lines(store.list_accounts(domain.as_deref()).map_err(err)?))
            }
            AccountCommand::Show { address } => {
                let a = store.account(address).map_err(err)?;
                let domain = a.address.rsplit_once('@').map_or("", |(_, d)| d);
                let tenant = store
                    .domain(domain)
                    .map(|d| d.record.limits)
                    .unwrap_or_default();
                text(format!(
                    "address: {}\nenabled: {}\nquota: {}\nused: {}\nmessages: {}\n{}",
                    a.address,
                    a.record.enabled,
                    a.record.quota,
                    a.used,
                    a.messages,
                    limits::show_account(&a.record.limits, &tenant, defaults)
                ))
            }
            AccountCommand::Limits {
                address,
                quota,
                service,
            } => {
                if service.inbound_messages_per_hour.is_some() {
                    return Err("inbound messages are limited per domain: use \
                                `yubin admin domain limits DOMAIN --inbound-messages-per-hour`"
                        .into());
                }
                let a = store.account(address).map_err(err)?;
                let new = service.apply(a.record.limits)?;
                if let Some(quota) = quota {
                    store.set_quota(&a.address, *quota).await.map_err(err)?;
                }
                if service.any() {
                    store
                        .set_account_limits(&a.address, new)
                        .await
                        .map_err(err)?;
                }
                text(format!("updated account {}\n", a.address))
            }
            AccountCommand::Passwd { address, password } => {
                store.set_password(address, password).await.map_err(err)?;
                text(format!("changed the password of {address}\n"))
            }
            AccountCommand::Disable { address } => {
                store.set_enabled(address, false).await.map_err(err)?;
                text(format!("disabled {address}\n"))
            }
            AccountCommand::Enable { address } => {
                store.set_enabled(address, true).await.map_err(err)?;
                text(format!("enabled {address}\n"))
            }
            AccountCommand::Quota { address, bytes } => {
                store.set_quota(address, *bytes).await.map_err(err)?;
                text(format!("set the quota of {address} to {bytes} bytes\n"))
            }
            AccountCommand::Remove { address } => {
                store.remove_account(address).await.map_err(err)?;
                text(format!("removed account {address}\n"))
            }
            AccountCommand::Export { address, dir } => {
                text(transfer::export(store, address, dir).await?)
            }
            AccountCommand::Import { address, dir } => {
                text(transfer::import(store, address, dir).await?)
            }
        },
        AdminCommand::Alias(cmd) => match cmd {
            AliasCommand::Add { address, targets } => {
                let a = store.add_alias(address, targets).await.map_err(err)?;
                text(format!("added alias {a}\n"))
            }
            AliasCommand::List { domain } => {
                let mut out = String::new();
                for (alias, targets) in store.list_aliases(domain.as_deref()).map_err(err)? {
                    let _ = writeln!(out, "{alias} -> {}", targets.join(", "));
                }
                text(out)
            }
            AliasCommand::Remove { address } => {
                store.remove_alias(address).await.map_err(err)?;
                text(format!("removed alias {address}\n"))
            }
        },
        AdminCommand::Mailbox(MailboxCommand::List { account }) => {
            let mut out = String::new();
            for m in store.list_mailboxes(account).map_err(err)? {
                let _ = writeln!(
                    out,
                    "{}\tmessages={}\tsize={}\tuidnext={}\tuidvalidity={}",
                    m.name,
                    m.record.messages,
                    m.record.size,
                    m.record.uidnext,
                    m.record.uidvalidity
                );
            }
            text(out)
        }
        AdminCommand::Message(cmd) => match cmd {
            MessageCommand::List { account, mailbox } => {
                let mut out = String::new();
                for m in store.list_messages(account, mailbox).map_err(err)? {
                    let id = m.record.message_id.as_deref().unwrap_or("-");
                    let _ = writeln!(out, "{}\t{}\t{id}", m.uid, m.record.size);
                }
                text(out)
            }
            MessageCommand::Show {
                account,
                mailbox,
                uid,
            } => store
                .read_message(account, mailbox, *uid)
                .await
                .map_err(err),
        },
        AdminCommand::Purge(PurgeCommand::Status) => {
            let p = store.purge_stats().map_err(err)?;
            text(format!(
                "backlog_entries: {}\ndropped_mailboxes: {}\nremoved_total: {}\n\
                 current_rate_per_sec: {:.0}\nbacking_off: {}\nlast_batch_ms: {:.1}\n\
                 wake_lag_ms: {:.2}\nlow_priority: {}\n",
                p.backlog_entries,
                p.dropped_mailboxes,
                p.removed_total,
                p.current_rate_per_sec,
                p.backing_off,
                p.last_batch_ms,
                p.wake_lag_ms,
                p.low_priority
            ))
        }
        AdminCommand::Purge(PurgeCommand::Now) => {
            store.purge_now().await.map_err(err)?;
            let p = store.purge_stats().map_err(err)?;
            text(format!(
                "purged; backlog_entries: {}\ndropped_mailboxes: {}\n",
                p.backlog_entries, p.dropped_mailboxes
            ))
        }
        AdminCommand::Queue(cmd) => queue::execute(store, cmd).await,
        AdminCommand::Dkim(cmd) => dkim::execute(store, data_dir, cmd).await,
        AdminCommand::Token(cmd) => token::execute(store, cmd).await,
        AdminCommand::Metrics => crate::metrics::render(store)
            .map(String::into_bytes)
            .ok_or_else(|| "this process has no metrics recorder; is the server running?".into()),
        AdminCommand::Sla => crate::metrics::render(store)
            .map(|text| crate::sla::report(&text).into_bytes())
            .ok_or_else(|| "this process has no metrics recorder; is the server running?".into()),
        AdminCommand::Fault(FaultCommand::StoreLatency { ms }) => {
            store
                .set_store_latency(std::time::Duration::from_millis(*ms))
                .map_err(err)?;
            match store.store_latency().as_millis() {
                0 => text("store latency: off\n".into()),
                n => text(format!("store latency: {n} ms\n")),
            }
        }
        AdminCommand::Check => {
            let problems = store.check().await.map_err(err)?;
            if problems.is_empty() {
                text("ok\n".into())
            } else {
                Err(format!(
                    "{} problem(s) found:\n{}",
                    problems.len(),
                    lines(problems)
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use yubin_store::FaultSwitch;

    use super::*;

    async fn run(store: &MailStore, command: AdminCommand) -> Result<String, String> {
        execute(
            store,
            Path::new("/nonexistent"),
            &Defaults::default(),
            &command,
        )
        .await
        .map(|out| String::from_utf8_lossy(&out).into_owned())
    }

    #[tokio::test]
    async fn purge_status_prints_one_key_per_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = MailStore::open(dir.path()).await.expect("open");
        let out = run(&store, AdminCommand::Purge(PurgeCommand::Status))
            .await
            .expect("status");
        let keys: Vec<&str> = out
            .lines()
            .map(|l| l.split_once(": ").expect("key: value").0)
            .collect();
        assert_eq!(
            keys,
            [
                "backlog_entries",
                "dropped_mailboxes",
                "removed_total",
                "current_rate_per_sec",
                "backing_off",
                "last_batch_ms",
                "wake_lag_ms",
                "low_priority"
            ]
        );
        assert!(out.contains("backlog_entries: 0\n"));
        run(&store, AdminCommand::Purge(PurgeCommand::Now))
            .await
            .expect("purge now");
    }

    #[tokio::test]
    async fn store_latency_is_set_only_where_fault_injection_is_allowed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let set = |ms| AdminCommand::Fault(FaultCommand::StoreLatency { ms });
        let store = MailStore::open_with_faults(dir.path(), FaultSwitch::default())
            .await
            .expect("open");
        let refused = run(&store, set(250)).await.expect_err("refused");
        assert!(refused.contains("YUBIN_FAULT_INJECTION=1"), "{refused}");
        drop(store);
        let dir = tempfile::tempdir().expect("temp dir");
        let store = MailStore::open_with_faults(dir.path(), FaultSwitch::allowed())
            .await
            .expect("open");
        assert_eq!(
            run(&store, set(250)).await.expect("set"),
            "store latency: 250 ms\n"
        );
        assert_eq!(
            run(&store, set(0)).await.expect("off"),
            "store latency: off\n"
        );
        assert!(set(1).needs_server() && AdminCommand::Metrics.needs_server());
        assert!(!AdminCommand::Check.needs_server());
    }
}
