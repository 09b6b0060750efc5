//! Wire-encoding helpers for server responses (RFC 9051 §4, §9), writing into a `Vec<u8>`.
//!
//! Everything the server sends that came from a client or a message (mailbox names, header
//! values, flags) goes through these, so a CR, LF or quote in the data can never end a
//! response line early or break its syntax.

use super::command::Flag;
use super::parse::is_astring_char;

/// Writes `bytes` as a quoted string when that is safe (7-bit, no CR, LF or NUL; `\` and `"`
/// escaped), else as a `{n}\r\n` literal.
pub fn quoted_or_literal(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.iter().all(|&b| quotable(b) && b < 0x80) {
        quoted(out, bytes);
    } else {
        literal(out, bytes);
    }
}

/// Like [`quoted_or_literal`], but valid UTF-8 may stay quoted: for IMAP4rev2 sessions and
/// after `ENABLE UTF8=ACCEPT` (RFC 9051 §9 `QUOTED-CHAR` includes UTF8-2..4, RFC 6855).
pub fn quoted_or_literal_utf8(out: &mut Vec<u8>, bytes: &[u8]) {
    if std::str::from_utf8(bytes).is_ok() && bytes.iter().all(|&b| quotable(b)) {
        quoted(out, bytes);
    } else {
        literal(out, bytes);
    }
}

/// Writes an astring: an atom when `bytes` is non-empty and all ASTRING-CHARs, else as
/// [`quoted_or_literal`].
pub fn astring(out: &mut Vec<u8>, bytes: &[u8]) {
    if !bytes.is_empty() && bytes.iter().all(|&b| is_astring_char(b)) {
        out.extend_from_slice(bytes);
    } else {
        quoted_or_literal(out, bytes);
    }
}

/// Writes an nstring: `NIL` for `None`, else as [`quoted_or_literal`].
pub fn nstring(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        Some(bytes) => quoted_or_literal(out, bytes),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// Writes numbers as a sequence set, joining ascending runs: `[1, 2, 3, 5, 7, 8, 9]` is
/// `1:3,5,7:9`. The order given is kept (COPYUID's two sets must correspond, RFC 4315), so
/// sort first where order does not matter. Writes nothing for an empty slice, which is not a
/// valid set: callers send a different response then.
pub fn write_sequence_set(out: &mut Vec<u8>, numbers: &[u32]) {
    let mut rest = numbers;
    let mut first = true;
    while let Some((&start, tail)) = rest.split_first() {
        let run = tail
            .iter()
            .zip(1u32..)
            .take_while(|&(&n, k)| start.checked_add(k) == Some(n))
            .count();
        if !first {
            out.push(b',');
        }
        first = false;
        let end = tail.get(run.wrapping_sub(1)).copied().filter(|_| run > 0);
        write_run(out, start, end.unwrap_or(start));
        rest = tail.get(run..).unwrap_or_default();
    }
}

fn write_run(out: &mut Vec<u8>, start: u32, end: u32) {
    out.extend_from_slice(start.to_string().as_bytes());
    if end != start {
        out.push(b':');
        out.extend_from_slice(end.to_string().as_bytes());
    }
}

/// Writes a flag list: `(\Seen $Junk)`.
pub fn write_flags(out: &mut Vec<u8>, flags: &[Flag]) {
    out.push(b'(');
    for (i, flag) in flags.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(flag.0.as_bytes());
    }
    out.push(b')');
}

/// Writes a quoted `date-time` (RFC 9051 §9): `"17-Jul-1996 02:44:25 -0700"` for the instant
/// `timestamp` (seconds since the Unix epoch, UTC) shown in the zone `offset_minutes` east of
/// UTC. Offsets beyond ±23:59 are clamped, since the syntax has only two digits of hours.
pub fn date_time(out: &mut Vec<u8>, timestamp: i64, offset_minutes: i32) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let offset = offset_minutes.clamp(-(24 * 60 - 1), 24 * 60 - 1);
    let local = timestamp.saturating_add(i64::from(offset) * 60);
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.unsigned_abs();
    let text = format!(
        "\"{day:02}-{}-{year:04} {:02}:{:02}:{:02} {sign}{:02}{:02}\"",
        MONTHS[usize::from(month - 1)],
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        abs / 60,
        abs % 60,
    );
    out.extend_from_slice(text.as_bytes());
}

/// Allowed inside a quoted string at all (before the 7-bit question).
fn quotable(b: u8) -> bool {
    !matches!(b, b'\r' | b'\n' | 0)
}

fn quoted(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for &b in bytes {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

fn literal(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
}

/// Calendar date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`), as
/// (year, month 1..=12, day 1..=31).
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // month is 1..=12 and day 1..=31 by construction.
    (year, month as u8, day as u8)
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
