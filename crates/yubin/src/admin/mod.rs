//! `yubin admin`: the commands, and running them against the store.
//!
//! A command runs inside the server when one is up (over DATA/admin.sock, see `socket`), so the
//! server's single writer stays the only one; otherwise the CLI opens the store itself.

pub mod socket;

use std::fmt::Write as _;

use clap::Subcommand;
use serde::{Deserialize, Serialize};
use yubin_store::MailStore;

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
    /// Change a domain's quota and account limit.
    Limits {
        /// Domain name.
        domain: String,
        /// Storage quota in bytes (0 = unlimited).
        #[arg(long)]
        quota: u64,
        /// Most accounts (0 = unlimited).
        #[arg(long)]
        max_accounts: u64,
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
    /// Remove an account and all its mail.
    Remove {
        /// Address.
        address: String,
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

/// Runs a command; the output is what the CLI prints on stdout, the error what it prints after
/// `error: `.
pub async fn execute(store: &MailStore, command: &AdminCommand) -> Result<Vec<u8>, String> {
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
                    "domain: {}\nquota: {}\nmax_accounts: {}\naccounts: {}\nused: {}\n",
                    d.name, d.record.quota, d.record.max_accounts, d.accounts, d.used
                ))
            }
            DomainCommand::Limits {
                domain,
                quota,
                max_accounts,
            } => {
                store
                    .set_domain_limits(domain, *quota, *max_accounts)
                    .await
                    .map_err(err)?;
                text(format!("updated domain {domain}\n"))
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
                text(format!(
                    "address: {}\nenabled: {}\nquota: {}\nused: {}\nmessages: {}\n",
                    a.address, a.record.enabled, a.record.quota, a.used, a.messages
                ))
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
