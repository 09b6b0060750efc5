//! Values shared by many commands: mailbox names, sequence sets, flags, dates.

use super::{PResult, Parser, is_atom_char};
use crate::imap::command::{Date, DateTime, Flag, MailboxName, SeqNum, SequenceSet};

/// System flags in their canonical spelling (RFC 9051 §2.3.2); `\Recent` is rev1 only.
const SYSTEM_FLAGS: &[&str] = &[
    "\\Answered",
    "\\Flagged",
    "\\Deleted",
    "\\Seen",
    "\\Draft",
    "\\Recent",
];

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

impl Parser<'_> {
    /// mailbox = "INBOX" / astring (the name as sent; INBOX's case is the session's concern).
    pub(super) fn mailbox(&mut self) -> PResult<MailboxName> {
        self.astring()
            .map(MailboxName)
            .map_err(|_| "expected a mailbox name".into())
    }

    /// sequence-set (RFC 9051 §9), or `$` (RFC 5182 §2): no 0, `*` allowed.
    pub(super) fn sequence_set(&mut self) -> PResult<SequenceSet> {
        if self.eat(b'$') {
            return Ok(SequenceSet::Saved);
        }
        let mut ranges = Vec::new();
        loop {
            let a = self.seq_number()?;
            let b = if self.eat(b':') {
                self.seq_number()?
            } else {
                a
            };
            ranges.push((a, b));
            if !self.eat(b',') {
                return Ok(SequenceSet::Ranges(ranges));
            }
        }
    }

    fn seq_number(&mut self) -> PResult<SeqNum> {
        if self.eat(b'*') {
            return Ok(SeqNum::Star);
        }
        match self.peek() {
            Some(b'0'..=b'9') => {}
            _ => return Err("expected a sequence set".into()),
        }
        match self.number("a sequence number")? {
            0 => Err("0 is not a valid sequence number".into()),
            n => Ok(SeqNum::Value(n)),
        }
    }

    /// flag = "\Answered" / ... / flag-keyword / flag-extension. System flags come out in their
    /// canonical case, keywords as sent. `\*` (flag-perm) is never valid in a command.
    pub(super) fn flag(&mut self) -> PResult<Flag> {
        let start = self.pos;
        let backslash = self.eat(b'\\');
        if backslash && self.peek() == Some(b'*') {
            return Err("\\* is not a valid flag here".into());
        }
        let name = self.take_while(is_atom_char);
        if name.is_empty() {
            self.pos = start;
            return Err("expected a flag".into());
        }
        let text = String::from_utf8_lossy(name);
        if !backslash {
            return Ok(Flag(text.into_owned()));
        }
        let full = format!("\\{text}");
        let canonical = SYSTEM_FLAGS
            .iter()
            .find(|f| f.eq_ignore_ascii_case(&full))
            .map_or(full, |f| (*f).to_string());
        Ok(Flag(canonical))
    }

    /// flag-list = "(" [flag *(SP flag)] ")"
    pub(super) fn flag_list(&mut self) -> PResult<Vec<Flag>> {
        self.list("a flag", true, Parser::flag)
    }

    /// date = date-text / DQUOTE date-text DQUOTE; date-text = date-day "-" date-month "-"
    /// date-year.
    pub(super) fn date(&mut self) -> PResult<Date> {
        let quoted = self.eat(b'"');
        let date = self.date_text()?;
        if quoted {
            self.expect(b'"', "\" closing a date")?;
        }
        Ok(date)
    }

    fn date_text(&mut self) -> PResult<Date> {
        let err = || "expected a date like 1-Feb-2024".to_string();
        let day = self.digits(1, 2).ok_or_else(err)?;
        self.expect(b'-', "a date like 1-Feb-2024")?;
        let month = self.month().ok_or_else(err)?;
        self.expect(b'-', "a date like 1-Feb-2024")?;
        let year = self.digits(4, 4).ok_or_else(err)?;
        make_date(year, month, day).ok_or_else(|| "no such date".into())
    }

    /// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
    /// (RFC 9051 §9); a one-digit day without its leading SP is accepted too.
    pub(super) fn date_time(&mut self) -> PResult<DateTime> {
        let what = "a date-time like \"17-Jul-1996 02:44:25 -0700\"";
        let err = || format!("expected {what}");
        self.expect(b'"', what)?;
        self.eat(b' ');
        let day = self.digits(1, 2).ok_or_else(err)?;
        self.expect(b'-', what)?;
        let month = self.month().ok_or_else(err)?;
        self.expect(b'-', what)?;
        let year = self.digits(4, 4).ok_or_else(err)?;
        self.expect(b' ', what)?;
        let hour = self.digits(2, 2).ok_or_else(err)?;
        self.expect(b':', what)?;
        let minute = self.digits(2, 2).ok_or_else(err)?;
        self.expect(b':', what)?;
        let second = self.digits(2, 2).ok_or_else(err)?;
        self.expect(b' ', what)?;
        let sign = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(err()),
        };
        self.pos += 1;
        let zone_h = self.digits(2, 2).ok_or_else(err)?;
        let zone_m = self.digits(2, 2).ok_or_else(err)?;
        self.expect(b'"', what)?;
        let date = make_date(year, month, day).ok_or_else(|| "no such date".to_string())?;
        if hour > 23 || minute > 59 || second > 60 || zone_h > 23 || zone_m > 59 {
            return Err("no such time".into());
        }
        let offset_minutes = sign * i32::try_from(zone_h * 60 + zone_m).unwrap_or(0);
        let seconds = i64::from(hour * 3600 + minute * 60 + second);
        let timestamp = days_from_civil(date) * 86_400 + seconds - i64::from(offset_minutes) * 60;
        Ok(DateTime {
            timestamp,
            offset_minutes,
        })
    }

    /// Between `min` and `max` ASCII digits as a number (at most 4, so no overflow).
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let rest = self.rest();
        let n = rest
            .iter()
            .take(max)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if n < min {
            return None;
        }
        self.pos += n;
        Some(
            rest[..n]
                .iter()
                .fold(0, |v, &d| v * 10 + u32::from(d - b'0')),
        )
    }

    /// date-month, case-insensitive, as 1..=12.
    fn month(&mut self) -> Option<u8> {
        let word = self.rest().get(..3)?;
        let i = MONTHS
            .iter()
            .position(|m| m.as_bytes().eq_ignore_ascii_case(word))?;
        self.pos += 3;
        u8::try_from(i + 1).ok()
    }
}

fn make_date(year: u32, month: u8, day: u32) -> Option<Date> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days_in_month = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > days_in_month {
        return None;
    }
    Some(Date {
        year: i32::try_from(year).ok()?,
        month,
        day: u8::try_from(day).ok()?,
    })
}

/// Days since 1970-01-01 of a valid date (Howard Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(date: Date) -> i64 {
    let y = i64::from(date.year) - i64::from(date.month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(date.month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(date.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
