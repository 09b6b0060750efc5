//! Mailbox names as the store keeps them: UTF-8, `/` between levels, `INBOX` in one spelling.

use crate::error::{Error, ErrorKind, Result};

/// The hierarchy separator (RFC 9051 §5.1.1), the same for every account.
pub const SEPARATOR: char = '/';

/// Longest mailbox name in bytes; keeps keys well below every backend's key limit.
pub const MAX_NAME: usize = 512;

/// Validates a mailbox name and returns its canonical form.
///
/// RFC 9051 §5.1: `INBOX` is case-insensitive, so a first level spelled `inbox` becomes `INBOX`
/// (children too: `inbox/x` is `INBOX/x`, as Dovecot does). Refused with `InvalidData`: the
/// empty name, empty levels (`a//b`, a leading or trailing `/`), control characters, and names
/// longer than [`MAX_NAME`] bytes.
pub fn canonical(name: &str) -> Result<String> {
    if name.is_empty() {
        return Err(invalid("a mailbox name must not be empty"));
    }
    if name.len() > MAX_NAME {
        return Err(invalid(format!(
            "a mailbox name must be at most {MAX_NAME} bytes"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(
            "a mailbox name must not contain control characters",
        ));
    }
    if name.split(SEPARATOR).any(str::is_empty) {
        return Err(invalid(format!(
            "mailbox name '{name}' has an empty level; '{SEPARATOR}' separates non-empty names"
        )));
    }
    let (first, rest) = match name.split_once(SEPARATOR) {
        Some((first, rest)) => (first, Some(rest)),
        None => (name, None),
    };
    if !first.eq_ignore_ascii_case("INBOX") {
        return Ok(name.to_string());
    }
    Ok(match rest {
        Some(rest) => format!("INBOX{SEPARATOR}{rest}"),
        None => "INBOX".to_string(),
    })
}

/// Whether a canonical name is `INBOX` itself.
pub fn is_inbox(name: &str) -> bool {
    name == "INBOX"
}

/// The ancestors of a canonical name, outermost first: `a/b/c` gives `a`, `a/b`.
pub fn parents(name: &str) -> Vec<&str> {
    name.match_indices(SEPARATOR)
        .filter_map(|(i, _)| name.get(..i))
        .collect()
}

/// Whether `name` lies below `parent` in the hierarchy.
pub fn is_child_of(name: &str, parent: &str) -> bool {
    name.len() > parent.len()
        && name.starts_with(parent)
        && name[parent.len()..].starts_with(SEPARATOR)
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_is_case_insensitive_at_the_first_level_only() {
        assert_eq!(canonical("inbox").ok().as_deref(), Some("INBOX"));
        assert_eq!(canonical("InBox/Sub").ok().as_deref(), Some("INBOX/Sub"));
        assert_eq!(canonical("a/inbox").ok().as_deref(), Some("a/inbox"));
        assert_eq!(canonical("INBOXES").ok().as_deref(), Some("INBOXES"));
    }

    #[test]
    fn malformed_names_are_refused() {
        for bad in ["", "/", "a//b", "/a", "a/", "a\u{7}b", "a\r\nb"] {
            assert!(canonical(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(canonical(&"x".repeat(MAX_NAME + 1)).is_err());
        assert_eq!(
            canonical("Ünïcödé/日本").ok().as_deref(),
            Some("Ünïcödé/日本")
        );
    }

    #[test]
    fn hierarchy_helpers() {
        assert_eq!(parents("a/b/c"), vec!["a", "a/b"]);
        assert!(parents("a").is_empty());
        assert!(is_child_of("a/b", "a"));
        assert!(!is_child_of("ab", "a"));
        assert!(!is_child_of("a", "a"));
    }
}
