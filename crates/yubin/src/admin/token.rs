//! `yubin admin token`: bearer tokens for the admin REST API.
//!
//! A token is `yubin_` and 64 hex digits (32 bytes from the OS's random source), shown once at
//! creation; the store keeps only its SHA-256 with the name, creation time and last four
//! characters, so `list` can tell tokens apart without showing any.

use clap::Subcommand;
use serde::{Deserialize, Serialize};
use yubin_store::MailStore;

use super::queue::utc;

/// `yubin admin token ...`
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum TokenCommand {
    /// Make a new API token and print it (the only time it is shown).
    Create {
        /// A name for it: letters, digits, '-', '_', '.'.
        name: String,
    },
    /// One line per token: name, creation time, last four characters.
    List,
    /// Revoke a token; requests with it are refused at once.
    Revoke {
        /// Its name.
        name: String,
    },
}

/// Runs a token command; output and errors as [`super::execute`].
pub async fn execute(store: &MailStore, command: &TokenCommand) -> Result<Vec<u8>, String> {
    let err = |e: yubin_store::Error| e.to_string();
    let out = match command {
        TokenCommand::Create { name } => {
            let secret = new_secret()?;
            store.add_api_token(name, &secret).await.map_err(err)?;
            format!("{secret}\n")
        }
        TokenCommand::List => store
            .list_api_tokens()
            .map_err(err)?
            .iter()
            .map(|t| {
                format!(
                    "{}\tcreated={}\tends=...{}\n",
                    t.name,
                    utc(t.created),
                    t.hint
                )
            })
            .collect(),
        TokenCommand::Revoke { name } => {
            store.remove_api_token(name).await.map_err(err)?;
            format!("revoked API token {name}\n")
        }
    };
    Ok(out.into_bytes())
}

fn new_secret() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no random numbers from the OS: {e}"))?;
    Ok(format!(
        "yubin_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_created_token_is_listed_by_name_and_hint_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = MailStore::open(dir.path()).await.expect("open");
        let run = |c| {
            let store = store.clone();
            async move {
                execute(&store, &c)
                    .await
                    .map(|o| String::from_utf8(o).expect("utf-8"))
            }
        };
        let secret = run(TokenCommand::Create { name: "ci".into() })
            .await
            .expect("create");
        let secret = secret.trim_end();
        assert!(
            secret.starts_with("yubin_") && secret.len() == 70,
            "{secret}"
        );
        let other = run(TokenCommand::Create { name: "ops".into() })
            .await
            .expect("create");
        assert_ne!(secret, other.trim_end(), "two tokens must differ");
        let list = run(TokenCommand::List).await.expect("list");
        assert!(!list.contains(secret), "{list}");
        let first = list.lines().next().expect("a line");
        assert!(first.starts_with("ci\tcreated=20"), "{first}");
        assert!(
            first.ends_with(&format!("ends=...{}", &secret[66..])),
            "{first}"
        );
        run(TokenCommand::Revoke { name: "ci".into() })
            .await
            .expect("revoke");
        assert_eq!(
            run(TokenCommand::Revoke { name: "ci".into() })
                .await
                .expect_err("gone"),
            "no such API token: ci"
        );
    }
}
