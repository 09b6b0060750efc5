//! [`RawText`]: header bytes kept exactly as received.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Header text kept byte for byte as the message carries it (unfolded, not decoded).
///
/// Mail headers are meant to be ASCII, but raw 8-bit text (Shift_JIS, Latin-1) is common and
/// IMAP sends it back unchanged in a literal. Serialized as a JSON string when the bytes are
/// UTF-8 (almost always), else as an array of numbers, so the cached structure stays exact.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct RawText(Vec<u8>);

impl RawText {
    /// Wraps `bytes`.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        RawText(bytes.into())
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text, with invalid UTF-8 replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for RawText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&String::from_utf8_lossy(&self.0), f)
    }
}

impl From<&str> for RawText {
    fn from(s: &str) -> Self {
        RawText(s.as_bytes().to_vec())
    }
}

impl Serialize for RawText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => self.0.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for RawText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Text(String),
            Bytes(Vec<u8>),
        }
        Ok(match Repr::deserialize(deserializer)? {
            Repr::Text(text) => RawText(text.into_bytes()),
            Repr::Bytes(bytes) => RawText(bytes),
        })
    }
}
