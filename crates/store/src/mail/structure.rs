//! The MIME structure cache: `MessageStructure` (ENVELOPE, BODYSTRUCTURE, part offsets) computed
//! once when a body is first stored and kept next to it, keyed by the blob hash like the body
//! itself, so a copy or a broadcast to many recipients shares one entry. FETCH ENVELOPE or
//! BODYSTRUCTURE over a large mailbox then reads small records instead of every message body.

use yubin_proto::mime::MessageStructure;

use super::MailStore;
use crate::blob::BlobHash;
use crate::commit::Tx;
use crate::error::{Error, Result};
use crate::keys;

/// Largest structure record cached; a message with thousands of parts is analysed on demand
/// instead, so no value comes near the backend's value limit.
const MAX_CACHED: usize = 64 * 1024;

/// The encoded structure of `message`, or `None` when too large to cache.
pub(crate) fn encode(message: &[u8]) -> Option<Vec<u8>> {
    let structure = MessageStructure::analyze(message);
    serde_json::to_vec(&structure)
        .ok()
        .filter(|json| json.len() <= MAX_CACHED)
}

/// Stores the structure for `hash` unless it is already there (identical bytes were stored
/// before). Called in the same unit that adds the blob reference.
pub(crate) fn remember(tx: &mut Tx<'_>, hash: &BlobHash, encoded: Option<Vec<u8>>) -> Result<()> {
    let Some(encoded) = encoded else {
        return Ok(());
    };
    let key = keys::blob_structure(hash);
    if tx.get(&key)?.is_none() {
        tx.set(key, encoded);
    }
    Ok(())
}

impl MailStore {
    /// The cached MIME structure of a message body (`MessageMeta::blob`); `None` when nothing is
    /// cached (large structures, or bodies stored before the cache existed): the caller then
    /// analyses the bytes itself.
    ///
    /// Errors: `InvalidData` for a malformed blob address, `Internal` for an unreadable record.
    pub fn message_structure(&self, blob: &BlobHash) -> Result<Option<MessageStructure>> {
        let hash = *blob;
        let Some(bytes) = self.read()?.get(&keys::blob_structure(&hash))? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::internal("decoding a cached structure", e))
    }
}
