//! `yubin admin account export|import`: an account's mail as a directory of message files plus
//! their flags, dates and POP3 UIDLs, so a move to another server (or a restore) keeps what
//! clients know of it.
//!
//! The directory: `messages/NNNNNNNN.eml` (each message as stored), `messages.jsonl` (one line
//! per message: mailbox, file, flags, INTERNALDATE, UIDL) and `export.json` (format, account,
//! mailboxes), written last, so an export that was cut short has none and is refused.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use yubin_store::{ImportOutcome, ImportedMessage, MailStore};

/// `export.json`'s `format`, and the version this code writes and reads.
const FORMAT: &str = "yubin-account-export";
const VERSION: u32 = 1;
/// Messages per import commit: bounded, so one commit stays small and quick.
const IMPORT_BATCH: usize = 100;
/// Bytes per import commit, whichever comes first.
const IMPORT_BATCH_BYTES: usize = 16 << 20;

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    account: String,
    mailboxes: Vec<MailboxEntry>,
    messages: u64,
}

#[derive(Serialize, Deserialize)]
struct MailboxEntry {
    name: String,
    special_use: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct MessageLine {
    mailbox: String,
    file: String,
    flags: Vec<String>,
    received: i64,
    uidl: u64,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> String {
    format!("{what} {}: {e}", path.display())
}

/// Writes every mailbox and message of `address` under `dir`, which must be new or empty.
pub async fn export(store: &MailStore, address: &str, dir: &Path) -> Result<String, String> {
    let mailboxes = store.list_mailboxes(address).map_err(|e| e.to_string())?;
    if let Ok(mut entries) = tokio::fs::read_dir(dir).await
        && entries.next_entry().await.ok().flatten().is_some()
    {
        return Err(format!("{} is not empty", dir.display()));
    }
    let files = dir.join("messages");
    tokio::fs::create_dir_all(&files)
        .await
        .map_err(|e| io("cannot create", &files, e))?;
    let list_path = dir.join("messages.jsonl");
    let mut list = tokio::io::BufWriter::new(
        tokio::fs::File::create(&list_path)
            .await
            .map_err(|e| io("cannot create", &list_path, e))?,
    );
    let mut count = 0u64;
    for mailbox in &mailboxes {
        let messages = store
            .list_messages(address, &mailbox.name)
            .map_err(|e| e.to_string())?;
        for m in messages {
            // A message expunged since the listing is simply not exported.
            let bytes = match store.read_message(address, &mailbox.name, m.uid).await {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == yubin_store::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.to_string()),
            };
            count += 1;
            let file = format!("messages/{count:08}.eml");
            let path = dir.join(&file);
            tokio::fs::write(&path, &bytes)
                .await
                .map_err(|e| io("cannot write", &path, e))?;
            let line = MessageLine {
                mailbox: mailbox.name.clone(),
                file,
                flags: m.record.flags,
                received: m.record.received,
                uidl: m.record.gid,
            };
            let mut json = serde_json::to_vec(&line).map_err(|e| e.to_string())?;
            json.push(b'\n');
            list.write_all(&json)
                .await
                .map_err(|e| io("cannot write", &list_path, e))?;
        }
    }
    list.flush()
        .await
        .map_err(|e| io("cannot write", &list_path, e))?;
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        account: address.to_string(),
        mailboxes: mailboxes
            .iter()
            .map(|m| MailboxEntry {
                name: m.name.clone(),
                special_use: m.record.special_use.clone(),
            })
            .collect(),
        messages: count,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    let (tmp, done) = (dir.join("export.json.tmp"), dir.join("export.json"));
    tokio::fs::write(&tmp, json)
        .await
        .map_err(|e| io("cannot write", &tmp, e))?;
    tokio::fs::rename(&tmp, &done)
        .await
        .map_err(|e| io("cannot write", &done, e))?;
    Ok(format!(
        "exported {count} messages in {} mailboxes of {address} to {}\n",
        mailboxes.len(),
        dir.display()
    ))
}

/// Adds what `export` wrote under `dir` to `address`: missing mailboxes are created, each
/// message keeps its flags, INTERNALDATE and UIDL (a new UIDL only where the account already
/// has that one). Commits go in bounded batches; if one fails, the batches before it stay.
pub async fn import(store: &MailStore, address: &str, dir: &Path) -> Result<String, String> {
    let manifest_path = dir.join("export.json");
    let manifest: Manifest = match tokio::fs::read(&manifest_path).await {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not an export: {e}", manifest_path.display()))?,
        Err(e) => {
            return Err(format!(
                "{}: {e} (not an export, or one that did not finish)",
                manifest_path.display()
            ));
        }
    };
    if manifest.format != FORMAT || manifest.version != VERSION {
        return Err(format!(
            "{}: format {} version {}; this yubin reads {FORMAT} version {VERSION}",
            manifest_path.display(),
            manifest.format,
            manifest.version
        ));
    }
    let account = store.account(address).map_err(|e| e.to_string())?;
    let existing: HashSet<String> = store
        .list_mailboxes(address)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|m| m.name)
        .collect();
    for mailbox in &manifest.mailboxes {
        if !existing.contains(&mailbox.name) {
            store
                .create_mailbox(
                    account.record.id,
                    &mailbox.name,
                    mailbox.special_use.as_deref(),
                )
                .await
                .map_err(|e| format!("creating mailbox {}: {e}", mailbox.name))?;
        }
    }
    let list_path = dir.join("messages.jsonl");
    let list = tokio::fs::read_to_string(&list_path)
        .await
        .map_err(|e| io("cannot read", &list_path, e))?;
    let mut taken = store.account_gids(address).map_err(|e| e.to_string())?;
    let mut total = ImportOutcome::default();
    let mut batch: Vec<ImportedMessage> = Vec::new();
    let mut batch_mailbox = String::new();
    let mut batch_bytes = 0;
    for (n, line) in list.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let line: MessageLine = serde_json::from_str(line)
            .map_err(|e| format!("{} line {}: {e}", list_path.display(), n + 1))?;
        let full = in_export(dir, &line.file)
            .ok_or_else(|| format!("{} line {}: bad file name", list_path.display(), n + 1))?;
        let bytes = tokio::fs::read(&full)
            .await
            .map_err(|e| io("cannot read", &full, e))?;
        let full_batch = batch.len() >= IMPORT_BATCH || batch_bytes >= IMPORT_BATCH_BYTES;
        if !batch.is_empty() && (line.mailbox != batch_mailbox || full_batch) {
            let done = std::mem::take(&mut batch);
            add(&mut total, store, address, &batch_mailbox, done, &mut taken).await?;
            batch_bytes = 0;
        }
        batch_mailbox = line.mailbox;
        batch_bytes += bytes.len();
        batch.push(ImportedMessage {
            bytes,
            flags: line.flags,
            received: line.received,
            uidl: line.uidl,
        });
    }
    if !batch.is_empty() {
        add(
            &mut total,
            store,
            address,
            &batch_mailbox,
            batch,
            &mut taken,
        )
        .await?;
    }
    Ok(format!(
        "imported {} messages into {address}: {} kept their UIDL, {} got a new one (the account \
         already had theirs)\n",
        total.kept + total.renumbered,
        total.kept,
        total.renumbered
    ))
}

/// Imports one batch and adds its outcome to `total`; an error says how far the import got.
async fn add(
    total: &mut ImportOutcome,
    store: &MailStore,
    address: &str,
    mailbox: &str,
    batch: Vec<ImportedMessage>,
    taken: &mut HashSet<u64>,
) -> Result<(), String> {
    let outcome = store
        .import_messages(address, mailbox, batch, taken)
        .await
        .map_err(|e| {
            format!(
                "importing into {mailbox}: {e} ({} messages were imported before this)",
                total.kept + total.renumbered
            )
        })?;
    total.kept += outcome.kept;
    total.renumbered += outcome.renumbered;
    Ok(())
}

/// `file` under `dir`, if it names a file inside it (a relative path without `..`).
fn in_export(dir: &Path, file: &str) -> Option<PathBuf> {
    let relative = Path::new(file);
    let inside = relative
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    (inside && !file.is_empty()).then(|| dir.join(relative))
}

#[cfg(test)]
mod tests {
    use super::in_export;
    use std::path::Path;

    #[test]
    fn only_files_inside_the_export_are_read() {
        let dir = Path::new("/exports/a");
        assert_eq!(
            in_export(dir, "messages/00000001.eml"),
            Some(dir.join("messages/00000001.eml"))
        );
        for bad in ["", "/etc/passwd", "../x", "messages/../../x", "./x"] {
            assert_eq!(in_export(dir, bad), None, "{bad}");
        }
    }
}
