//! Message flags as stored: system flags in canonical case, keywords as given, sorted and
//! deduplicated, never `\Recent` (a session property, RFC 3501 §2.3.2).

use crate::error::{Error, ErrorKind, Result};

/// The system flags of RFC 9051 §2.3.2 that a message may carry, in canonical case.
pub const SYSTEM_FLAGS: [&str; 5] = ["\\Answered", "\\Deleted", "\\Draft", "\\Flagged", "\\Seen"];

/// The `\Seen` flag.
pub const SEEN: &str = "\\Seen";
/// The `\Deleted` flag.
pub const DELETED: &str = "\\Deleted";

/// Longest keyword accepted, in bytes.
const MAX_FLAG: usize = 128;

/// How `store_flags` combines the given flags with a message's flags (RFC 9051 §6.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagMode {
    /// Replace the flags (`FLAGS`).
    Set,
    /// Add to them (`+FLAGS`).
    Add,
    /// Remove from them (`-FLAGS`).
    Remove,
}

/// Validates and normalizes a flag list: system flags in canonical case, `\Recent` dropped,
/// keywords deduplicated case-insensitively (RFC 9051 §2.3.2: flag names are case-insensitive),
/// the result sorted.
///
/// Errors: `InvalidData` for an empty or overlong flag, a keyword with characters outside IMAP
/// `atom` (`( ) { % * " \ ]`, space, controls), or an unknown `\` flag.
pub fn normalize(flags: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(flags.len());
    for flag in flags {
        let Some(flag) = canonical(flag)? else {
            continue;
        };
        if !out.iter().any(|f| f.eq_ignore_ascii_case(&flag)) {
            out.push(flag);
        }
    }
    sort(&mut out);
    Ok(out)
}

/// Combines `current` (already normalized) with `given` (normalized) under `mode`.
pub fn apply(current: &[String], mode: FlagMode, given: &[String]) -> Vec<String> {
    let mut out: Vec<String> = match mode {
        FlagMode::Set => given.to_vec(),
        FlagMode::Add => {
            let mut v = current.to_vec();
            for f in given {
                if !v.iter().any(|c| c.eq_ignore_ascii_case(f)) {
                    v.push(f.clone());
                }
            }
            v
        }
        FlagMode::Remove => current
            .iter()
            .filter(|c| !given.iter().any(|f| f.eq_ignore_ascii_case(c)))
            .cloned()
            .collect(),
    };
    sort(&mut out);
    out
}

/// Whether a normalized flag list holds `flag` (canonical spelling).
pub fn has(flags: &[String], flag: &str) -> bool {
    flags.iter().any(|f| f == flag)
}

fn sort(flags: &mut [String]) {
    flags.sort_by_key(|f| f.to_ascii_lowercase());
}

fn canonical(flag: &str) -> Result<Option<String>> {
    if flag.is_empty() || flag.len() > MAX_FLAG {
        return Err(invalid(format!(
            "flag '{flag}' must be 1 to {MAX_FLAG} bytes"
        )));
    }
    if let Some(name) = flag.strip_prefix('\\') {
        if name.eq_ignore_ascii_case("Recent") {
            return Ok(None);
        }
        return SYSTEM_FLAGS
            .iter()
            .find(|s| s[1..].eq_ignore_ascii_case(name))
            .map(|s| Some((*s).to_string()))
            .ok_or_else(|| invalid(format!("{flag} is not a flag a message can carry")));
    }
    // RFC 9051 §9: flag-keyword = atom; ATOM-CHAR excludes atom-specials.
    let bad = |c: char| c.is_control() || c == ' ' || "(){%*\"\\]".contains(c) || !c.is_ascii();
    if flag.chars().any(bad) {
        return Err(invalid(format!("'{flag}' is not a valid keyword")));
    }
    Ok(Some(flag.to_string()))
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn system_flags_take_canonical_case_and_recent_is_dropped() {
        let got = normalize(&strings(&[
            "\\SEEN",
            "$Junk",
            "\\recent",
            "\\seen",
            "$junk",
            "\\deleted",
        ]));
        assert_eq!(got.ok(), Some(strings(&["$Junk", "\\Deleted", "\\Seen"])));
    }

    #[test]
    fn bad_flags_are_refused() {
        for bad in ["", "\\Bogus", "a b", "x(y", "ü"] {
            assert!(normalize(&strings(&[bad])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn modes() {
        let cur = strings(&["\\Seen", "a"]);
        assert_eq!(
            apply(&cur, FlagMode::Add, &strings(&["b", "A"])),
            strings(&["\\Seen", "a", "b"])
        );
        assert_eq!(
            apply(&cur, FlagMode::Remove, &strings(&["\\Seen"])),
            strings(&["a"])
        );
        assert_eq!(
            apply(&cur, FlagMode::Set, &strings(&["z"])),
            strings(&["z"])
        );
    }
}
