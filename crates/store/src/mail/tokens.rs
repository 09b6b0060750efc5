//! Bearer tokens for the admin REST API.
//!
//! Only the SHA-256 of a token is stored (`keys.rs` 0x60), keyed by that hash: checking a
//! presented token is one point read of its hash, so no comparison of secrets happens at all,
//! and a copy of the store does not give anyone a usable token. Tokens are long random strings
//! (the CLI makes 32 random bytes), so a plain hash is enough; a slow password hash would only
//! slow every API request. Kept in the store rather than a file so a token made with the CLI
//! works at once on every node that shares the store.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{MailStore, get_record, now, scan_all, tx_scan_all};
use crate::error::{Error, ErrorKind, Result};
use crate::keys;
use crate::records::{Record, decode, encode};

/// The longest token name.
const MAX_NAME: usize = 64;
/// The shortest secret accepted: anything shorter could be guessed.
const MIN_SECRET: usize = 20;

/// An admin API token as listed: never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// The operator's name for it (unique).
    pub name: String,
    /// Creation time, seconds since the Unix epoch.
    pub created: i64,
    /// The secret's last four characters, to tell tokens apart.
    pub hint: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct ApiTokenRecord {
    name: String,
    created: i64,
    hint: String,
}

impl Record for ApiTokenRecord {}

impl From<ApiTokenRecord> for ApiToken {
    fn from(r: ApiTokenRecord) -> Self {
        Self {
            name: r.name,
            created: r.created,
            hint: r.hint,
        }
    }
}

/// The stored form of a token's secret.
pub fn api_token_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn valid_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidData,
            format!(
                "'{name}' is not a valid token name: 1 to {MAX_NAME} letters, digits, '-', '_' or '.'"
            ),
        ))
    }
}

impl MailStore {
    /// Stores a new token `secret` under `name`.
    ///
    /// Errors: `InvalidData` (bad name, secret shorter than 20 characters), `AlreadyExists`
    /// (the name is taken, or the same secret is already stored).
    pub async fn add_api_token(&self, name: &str, secret: &str) -> Result<ApiToken> {
        valid_name(name)?;
        if secret.chars().count() < MIN_SECRET {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("an API token must have at least {MIN_SECRET} characters"),
            ));
        }
        let hint: String = {
            let tail: Vec<char> = secret.chars().rev().take(4).collect();
            tail.into_iter().rev().collect()
        };
        let record = ApiTokenRecord {
            name: name.to_string(),
            created: now(),
            hint,
        };
        let key = keys::api_token(&api_token_hash(secret));
        let stored = record.clone();
        self.write(move |tx| {
            if tx.get(&key)?.is_some() {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    "that token is already stored",
                ));
            }
            for (_, v) in tx_scan_all(tx, &keys::api_tokens())? {
                let other: ApiTokenRecord = decode(&v)?;
                if other.name == stored.name {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!("API token {} already exists", stored.name),
                    ));
                }
            }
            tx.set(key, encode(&stored)?);
            Ok(())
        })
        .await?;
        Ok(record.into())
    }

    /// Every token, sorted by name.
    pub fn list_api_tokens(&self) -> Result<Vec<ApiToken>> {
        let view = self.read()?;
        let mut out = scan_all(&*view, &keys::api_tokens())?
            .iter()
            .map(|(_, v)| decode::<ApiTokenRecord>(v).map(ApiToken::from))
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Revokes the token called `name`; requests with it fail from the moment this returns.
    ///
    /// Errors: `NotFound`.
    pub async fn remove_api_token(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        self.write(move |tx| {
            for (k, v) in tx_scan_all(tx, &keys::api_tokens())? {
                let record: ApiTokenRecord = decode(&v)?;
                if record.name == name {
                    tx.clear(k);
                    return Ok(());
                }
            }
            Err(Error::new(
                ErrorKind::NotFound,
                format!("no such API token: {name}"),
            ))
        })
        .await
    }

    /// The token whose secret hashes to `hash` ([`api_token_hash`]), if one is stored.
    pub fn api_token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<ApiToken>> {
        let view = self.read()?;
        Ok(get_record::<ApiTokenRecord>(&*view, &keys::api_token(hash))?.map(ApiToken::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "yubin_0123456789abcdefghijklmnop";

    #[tokio::test]
    async fn a_token_is_found_by_its_hash_until_revoked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = MailStore::open(dir.path()).await.expect("open");
        let added = store.add_api_token("ci", SECRET).await.expect("add");
        assert_eq!(added.hint, "mnop");
        let found = store
            .api_token_by_hash(&api_token_hash(SECRET))
            .expect("lookup");
        assert_eq!(found, Some(added.clone()));
        assert_eq!(
            store
                .api_token_by_hash(&api_token_hash("yubin_something_else_entirely"))
                .expect("lookup"),
            None
        );
        assert_eq!(store.list_api_tokens().expect("list"), vec![added]);
        let again = store
            .add_api_token("ci", "yubin_another_secret_of_enough_length")
            .await
            .expect_err("duplicate name");
        assert_eq!(again.kind(), ErrorKind::AlreadyExists);
        for (name, secret) in [("", SECRET), ("a b", SECRET), ("short", "tooshort")] {
            let e = store.add_api_token(name, secret).await.expect_err(name);
            assert_eq!(e.kind(), ErrorKind::InvalidData, "{name}");
        }
        store.remove_api_token("ci").await.expect("revoke");
        assert_eq!(
            store
                .api_token_by_hash(&api_token_hash(SECRET))
                .expect("lookup"),
            None
        );
        let gone = store.remove_api_token("ci").await.expect_err("gone");
        assert_eq!(gone.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn the_stored_hash_is_sha256() {
        // echo -n abc | sha256sum
        let hex: String = api_token_hash("abc")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
