//! Domains (tenants), accounts and aliases.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use yubin_proto::Address;
use yubin_proto::address::is_valid_domain;

use super::mailbox::DEFAULT_MAILBOXES;
use super::{MailStore, get_record, now, scan_all, tx_record};
use crate::backend::decode_counter;
use crate::error::{Error, ErrorKind, Result};
use crate::keys;
use crate::records::{AccountRecord, AliasRecord, DomainRecord, ServiceLimits, encode};

/// A domain as shown to administrators.
#[derive(Debug, Clone)]
pub struct DomainInfo {
    /// Domain name.
    pub name: String,
    /// Stored settings.
    pub record: DomainRecord,
    /// Number of accounts.
    pub accounts: u64,
    /// Bytes stored by all its accounts.
    pub used: u64,
}

/// An account as shown to administrators and used by authentication.
#[derive(Debug, Clone)]
pub struct AccountInfo {
    /// Normalized address.
    pub address: String,
    /// Stored settings.
    pub record: AccountRecord,
    /// Bytes stored.
    pub used: u64,
    /// Messages stored.
    pub messages: u64,
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidData, message)
}

/// Lowercases and validates a domain name given by an administrator.
pub(crate) fn normalize_domain(name: &str) -> Result<String> {
    let lower = name.trim_end_matches('.').to_lowercase();
    if is_valid_domain(&lower) {
        Ok(lower)
    } else {
        Err(invalid(format!("'{name}' is not a valid domain name")))
    }
}

/// Parses and normalizes an address given by an administrator.
pub(crate) fn normalize_address(address: &str) -> Result<(String, String)> {
    let parsed = Address::parse(address)
        .map_err(|e| invalid(format!("'{address}' is not a valid address: {e}")))?;
    Ok((parsed.normalized(), parsed.domain().to_string()))
}

fn hash_password(password: &str) -> Result<String> {
    if password.is_empty() {
        return Err(invalid("the password must not be empty".into()));
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::internal("hashing the password", e))
}

fn counter(view: &dyn crate::backend::ReadView, key: &[u8]) -> Result<u64> {
    Ok(decode_counter(view.get(key)?.as_deref()).max(0) as u64)
}

impl MailStore {
    /// Adds a hosted domain. `quota` (bytes) and `max_accounts` of 0 mean unlimited.
    ///
    /// Errors: `InvalidData` for a malformed name, `AlreadyExists`.
    pub async fn add_domain(&self, name: &str, quota: u64, max_accounts: u64) -> Result<String> {
        let name = normalize_domain(name)?;
        let record = DomainRecord {
            quota,
            max_accounts,
            created: now(),
            limits: ServiceLimits::default(),
        };
        let domain = name.clone();
        self.write(move |tx| {
            if tx.get(&keys::domain(&domain))?.is_some() {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("domain {domain} already exists"),
                ));
            }
            tx.set(keys::domain(&domain), encode(&record)?);
            Ok(())
        })
        .await?;
        Ok(name)
    }

    /// All domains, sorted by name.
    pub fn list_domains(&self) -> Result<Vec<String>> {
        let view = self.read()?;
        Ok(scan_all(&*view, &keys::domains())?
            .iter()
            .filter_map(|(k, _)| keys::domain_name(k).map(str::to_string))
            .collect())
    }

    /// Whether `domain` (already lowercase) is hosted here.
    pub fn is_local_domain(&self, domain: &str) -> Result<bool> {
        Ok(self.read()?.get(&keys::domain(domain))?.is_some())
    }

    /// One domain with its usage. Errors: `NotFound`.
    pub fn domain(&self, name: &str) -> Result<DomainInfo> {
        let name = normalize_domain(name)?;
        let view = self.read()?;
        let record: DomainRecord = get_record(&*view, &keys::domain(&name))?
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no such domain: {name}")))?;
        Ok(DomainInfo {
            accounts: counter(&*view, &keys::domain_accounts(&name))?,
            used: counter(&*view, &keys::domain_usage(&name))?,
            name,
            record,
        })
    }

    /// Changes a domain's quota and account limit.
    pub async fn set_domain_limits(&self, name: &str, quota: u64, max_accounts: u64) -> Result<()> {
        self.update_domain(name, move |r| {
            r.quota = quota;
            r.max_accounts = max_accounts;
        })
        .await
    }

    async fn update_domain(
        &self,
        name: &str,
        change: impl FnOnce(&mut DomainRecord) + Send + 'static,
    ) -> Result<()> {
        let name = normalize_domain(name)?;
        self.write(move |tx| {
            let mut record: DomainRecord =
                tx_record(tx, &keys::domain(&name))?.ok_or_else(|| {
                    Error::new(ErrorKind::NotFound, format!("no such domain: {name}"))
                })?;
            change(&mut record);
            tx.set(keys::domain(&name), encode(&record)?);
            Ok(())
        })
        .await
    }

    /// Replaces a tenant's service limits (unset ones inherit the server's `[limits]`).
    ///
    /// Errors: `InvalidData`, `NotFound`.
    pub async fn set_tenant_limits(&self, name: &str, limits: ServiceLimits) -> Result<()> {
        self.update_domain(name, move |r| r.limits = limits).await
    }

    /// Removes a domain. Without `force`, refuses while it has accounts or aliases; with it,
    /// removes them too.
    pub async fn remove_domain(&self, name: &str, force: bool) -> Result<()> {
        let name = normalize_domain(name)?;
        let suffix = format!("@{name}");
        let (accounts, aliases) = {
            let view = self.read()?;
            if view.get(&keys::domain(&name))?.is_none() {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("no such domain: {name}"),
                ));
            }
            let accounts: Vec<String> = scan_all(&*view, &keys::accounts())?
                .iter()
                .filter_map(|(k, _)| keys::address_of(k))
                .filter(|a| a.ends_with(&suffix))
                .map(str::to_string)
                .collect();
            let aliases: Vec<String> = scan_all(&*view, &keys::aliases())?
                .iter()
                .filter_map(|(k, _)| keys::address_of(k))
                .filter(|a| a.ends_with(&suffix))
                .map(str::to_string)
                .collect();
            (accounts, aliases)
        };
        let empty = accounts.is_empty() && aliases.is_empty();
        if !force && !empty {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "domain {name} still has {} account(s) and {} alias(es); remove them first or use --force",
                    accounts.len(),
                    aliases.len()
                ),
            ));
        }
        for account in accounts {
            self.remove_account(&account).await?;
        }
        self.write(move |tx| {
            for alias in aliases {
                tx.clear(keys::alias(&alias));
            }
            tx.clear(keys::domain(&name));
            tx.clear(keys::domain_usage(&name));
            tx.clear(keys::domain_accounts(&name));
            Ok(())
        })
        .await
    }

    /// Adds an account with its default mailboxes. `quota` of 0 = unlimited.
    ///
    /// Errors: `InvalidData` (address, empty password), `NotFound` (domain not hosted),
    /// `AlreadyExists` (account or alias with that address), `Limit` (domain's account limit).
    pub async fn add_account(&self, address: &str, password: &str, quota: u64) -> Result<String> {
        let (address, domain) = normalize_address(address)?;
        let hash = hash_password(password)?;
        let addr = address.clone();
        self.write(move |tx| {
            let dom: DomainRecord = tx_record(tx, &keys::domain(&domain))?.ok_or_else(|| {
                Error::new(ErrorKind::NotFound, format!("no such domain: {domain}"))
            })?;
            if tx.get(&keys::account(&addr))?.is_some() {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("account {addr} already exists"),
                ));
            }
            if tx.get(&keys::alias(&addr))?.is_some() {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("{addr} is already an alias"),
                ));
            }
            let count = tx.counter(&keys::domain_accounts(&domain))?;
            if dom.max_accounts > 0 && count as u64 >= dom.max_accounts {
                return Err(Error::new(
                    ErrorKind::Limit,
                    format!(
                        "domain {domain} has reached its limit of {} accounts",
                        dom.max_accounts
                    ),
                ));
            }
            let id = tx.counter(&keys::sequence("account"))? as u64 + 1;
            tx.add(keys::sequence("account"), 1);
            let mut record = AccountRecord {
                id,
                password: hash,
                quota,
                enabled: true,
                created: now(),
                next_mailbox: 1,
                limits: ServiceLimits::default(),
            };
            for (name, special) in DEFAULT_MAILBOXES {
                super::rows::create(tx, &mut record, name, special.map(str::to_string))?;
                tx.set(keys::subscription(id, name), Vec::new());
            }
            tx.set(keys::account(&addr), encode(&record)?);
            tx.set(keys::account_by_id(id), addr.as_bytes().to_vec());
            tx.add(keys::domain_accounts(&domain), 1);
            Ok(())
        })
        .await?;
        Ok(address)
    }

    /// Accounts, sorted, optionally only those of one domain.
    pub fn list_accounts(&self, domain: Option<&str>) -> Result<Vec<String>> {
        let suffix = domain
            .map(normalize_domain)
            .transpose()?
            .map(|d| format!("@{d}"));
        let view = self.read()?;
        let mut out: Vec<String> = scan_all(&*view, &keys::accounts())?
            .iter()
            .filter_map(|(k, _)| keys::address_of(k))
            .filter(|a| suffix.as_deref().is_none_or(|s| a.ends_with(s)))
            .map(str::to_string)
            .collect();
        out.sort_by(|a, b| split_domain(a).cmp(&split_domain(b)));
        Ok(out)
    }

    /// One account with its usage. Errors: `InvalidData`, `NotFound`.
    pub fn account(&self, address: &str) -> Result<AccountInfo> {
        let (address, _) = normalize_address(address)?;
        let view = self.read()?;
        let record: AccountRecord =
            get_record(&*view, &keys::account(&address))?.ok_or_else(|| {
                Error::new(ErrorKind::NotFound, format!("no such account: {address}"))
            })?;
        Ok(AccountInfo {
            used: counter(&*view, &keys::account_usage(record.id))?,
            messages: counter(&*view, &keys::account_messages_count(record.id))?,
            address,
            record,
        })
    }

    async fn update_account(
        &self,
        address: &str,
        change: impl FnOnce(&mut AccountRecord) + Send + 'static,
    ) -> Result<()> {
        let (address, _) = normalize_address(address)?;
        self.write(move |tx| {
            let mut record: AccountRecord =
                tx_record(tx, &keys::account(&address))?.ok_or_else(|| {
                    Error::new(ErrorKind::NotFound, format!("no such account: {address}"))
                })?;
            change(&mut record);
            tx.set(keys::account(&address), encode(&record)?);
            Ok(())
        })
        .await
    }

    /// Replaces an account's password.
    pub async fn set_password(&self, address: &str, password: &str) -> Result<()> {
        let hash = hash_password(password)?;
        self.update_account(address, move |r| r.password = hash)
            .await
    }

    /// Enables or disables an account.
    pub async fn set_enabled(&self, address: &str, enabled: bool) -> Result<()> {
        self.update_account(address, move |r| r.enabled = enabled)
            .await
    }

    /// Sets an account's quota in bytes (0 = unlimited).
    pub async fn set_quota(&self, address: &str, quota: u64) -> Result<()> {
        self.update_account(address, move |r| r.quota = quota).await
    }

    /// Replaces an account's service limits (unset ones inherit its domain's).
    ///
    /// Errors: `InvalidData`, `NotFound`.
    pub async fn set_account_limits(&self, address: &str, limits: ServiceLimits) -> Result<()> {
        self.update_account(address, move |r| r.limits = limits)
            .await
    }

    /// An account's effective overrides: its own limits over its domain's (a missing domain
    /// record counts as no overrides). The server's `[limits]` fill what is still unset.
    ///
    /// Errors: `InvalidData`, `NotFound` for the account.
    pub fn account_limits(&self, address: &str) -> Result<ServiceLimits> {
        let info = self.account(address)?;
        let domain = split_domain(&info.address).0.to_string();
        let tenant = self
            .domain(&domain)
            .map(|d| d.record.limits)
            .unwrap_or_default();
        Ok(info.record.limits.or(tenant))
    }

    /// Checks a password; `Ok(None)` for a wrong password, unknown or disabled account (the
    /// caller must not tell them apart to the client).
    pub fn verify_password(&self, address: &str, password: &str) -> Result<Option<AccountInfo>> {
        let Ok(info) = self.account(address) else {
            return Ok(None);
        };
        let Ok(hash) = PasswordHash::new(&info.record.password) else {
            return Ok(None);
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok();
        Ok((ok && info.record.enabled).then_some(info))
    }

    /// Removes an account and all its mail. Messages go in bounded batches; the blobs they were
    /// the last reference to are deleted after the rows, by draining the purge queue.
    pub async fn remove_account(&self, address: &str) -> Result<()> {
        let info = self.account(address)?;
        let id = info.record.id;
        let domain = split_domain(&info.address).0.to_string();
        let addr = info.address.clone();
        // First make the account disappear at once, then purge its rows.
        self.write(move |tx| {
            tx.clear(keys::account(&addr));
            tx.clear(keys::account_by_id(id));
            tx.add(keys::domain_accounts(&domain), -1);
            Ok(())
        })
        .await?;
        self.purge_account_rows(id, split_domain(&info.address).0)
            .await?;
        // An administrator removing an account expects its bodies gone when this returns.
        self.purge_now().await
    }

    /// Adds or replaces an alias. `address` may be `@domain` for the domain's catch-all.
    pub async fn add_alias(&self, address: &str, targets: &[String]) -> Result<String> {
        let (address, domain) = match address.strip_prefix('@') {
            Some(d) => {
                let d = normalize_domain(d)?;
                (format!("@{d}"), d)
            }
            None => normalize_address(address)?,
        };
        if targets.is_empty() {
            return Err(invalid("an alias needs at least one target".into()));
        }
        let targets = targets
            .iter()
            .map(|t| normalize_address(t.trim()).map(|(a, _)| a))
            .collect::<Result<Vec<_>>>()?;
        if targets.contains(&address) {
            return Err(invalid(format!("alias {address} must not point to itself")));
        }
        let addr = address.clone();
        self.write(move |tx| {
            if tx.get(&keys::domain(&domain))?.is_none() {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("no such domain: {domain}"),
                ));
            }
            if tx.get(&keys::account(&addr))?.is_some() {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("{addr} is already an account"),
                ));
            }
            if tx.get(&keys::alias(&addr))?.is_some() {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("alias {addr} already exists"),
                ));
            }
            tx.set(keys::alias(&addr), encode(&AliasRecord { targets })?);
            Ok(())
        })
        .await?;
        Ok(address)
    }

    /// Aliases with their targets, optionally only one domain's.
    pub fn list_aliases(&self, domain: Option<&str>) -> Result<Vec<(String, Vec<String>)>> {
        let suffix = domain
            .map(normalize_domain)
            .transpose()?
            .map(|d| format!("@{d}"));
        let view = self.read()?;
        let mut out = Vec::new();
        for (k, v) in scan_all(&*view, &keys::aliases())? {
            let Some(address) = keys::address_of(&k) else {
                continue;
            };
            if suffix.as_deref().is_some_and(|s| !address.ends_with(s)) {
                continue;
            }
            let record: AliasRecord = crate::records::decode(&v)?;
            out.push((address.to_string(), record.targets));
        }
        out.sort_by(|a, b| split_domain(&a.0).cmp(&split_domain(&b.0)));
        Ok(out)
    }

    /// Removes an alias. Errors: `NotFound`.
    pub async fn remove_alias(&self, address: &str) -> Result<()> {
        let address = match address.strip_prefix('@') {
            Some(d) => format!("@{}", normalize_domain(d)?),
            None => normalize_address(address)?.0,
        };
        self.write(move |tx| {
            if tx.get(&keys::alias(&address))?.is_none() {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("no such alias: {address}"),
                ));
            }
            tx.clear(keys::alias(&address));
            Ok(())
        })
        .await
    }
}

/// `(domain, local)` of a normalized address, for sorting by domain then local part.
pub(crate) fn split_domain(address: &str) -> (&str, &str) {
    match address.rsplit_once('@') {
        Some((local, domain)) => (domain, local),
        None => (address, ""),
    }
}
