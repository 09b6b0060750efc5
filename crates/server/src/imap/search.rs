//! SEARCH, SORT and THREAD (RFC 9051 §6.4.4, RFC 4731 ESEARCH, RFC 5182 SEARCHRES, RFC 5256,
//! RFC 5267 ESORT, RFC 5032 WITHIN, RFC 7162 MODSEQ).
//!
//! Criteria that look only at metadata (flags, UIDs, sizes, dates, MODSEQ) are answered from the
//! session's view; header and text criteria read each candidate message once. Text matching is
//! case-insensitive substring matching on decoded UTF-8 (encoded words and charsets decoded), so
//! `SEARCH CHARSET UTF-8 SUBJECT "日本"` finds an ISO-2022-JP subject.

use std::collections::BTreeSet;

use mail_parser::HeaderValue;
use mail_parser::parsers::MessageStream;
use yubin_proto::imap::command::{
    Date, SearchKey, SearchReturn, SortCriterion, SortKey, ThreadAlgorithm,
};
use yubin_proto::imap::response::write_sequence_set;
use yubin_proto::mime::MessageStructure;
use yubin_proto::mime::search as mime;
use yubin_store::MessageMeta;

use super::errors::Failure;
use super::selected::set_contains;
use super::session::{Done, Outcome, Session};

/// Charsets SEARCH accepts; others get NO [BADCHARSET (...)].
const CHARSETS: [&str; 2] = ["US-ASCII", "UTF-8"];

/// What one message offers the criteria.
struct Candidate<'a> {
    seq: u32,
    meta: &'a MessageMeta,
    recent: bool,
    content: Option<Content>,
}

/// The parts of a message the content criteria need, read once.
struct Content {
    /// Empty when only the structure was asked for (SORT).
    bytes: Vec<u8>,
    structure: MessageStructure,
    body_text: Option<String>,
}

/// How much of each message a command needs.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Load {
    /// Metadata only.
    Nothing,
    /// The MIME structure (cached at delivery): SORT keys.
    Structure,
    /// The bytes too: header and text criteria, THREAD's references.
    Bytes,
}

/// Whether a key needs the message content.
fn needs_content(key: &SearchKey) -> bool {
    use SearchKey as K;
    match key {
        K::And(keys) => keys.iter().any(needs_content),
        K::Or(a, b) => needs_content(a) || needs_content(b),
        K::Not(a) => needs_content(a),
        K::Bcc(_)
        | K::Cc(_)
        | K::From(_)
        | K::To(_)
        | K::Subject(_)
        | K::Header(..)
        | K::Body(_)
        | K::Text(_)
        | K::SentBefore(_)
        | K::SentOn(_)
        | K::SentSince(_) => true,
        _ => false,
    }
}

fn has_modseq(key: &SearchKey) -> bool {
    match key {
        SearchKey::ModSeq(_) => true,
        SearchKey::And(keys) => keys.iter().any(has_modseq),
        SearchKey::Or(a, b) => has_modseq(a) || has_modseq(b),
        SearchKey::Not(a) => has_modseq(a),
        _ => false,
    }
}

/// Days since the Unix epoch of a calendar date (proleptic Gregorian).
fn days(d: &Date) -> i64 {
    let (y, m) = if d.month <= 2 {
        (d.year as i64 - 1, d.month as i64 + 9)
    } else {
        (d.year as i64, d.month as i64 - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d.day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn day_of(timestamp: i64) -> i64 {
    timestamp.div_euclid(86_400)
}

fn contains(haystack: &str, needle: &[u8]) -> bool {
    let needle = String::from_utf8_lossy(needle).to_lowercase();
    needle.is_empty() || haystack.to_lowercase().contains(&needle)
}

struct Env<'a> {
    max_seq: u32,
    max_uid: u32,
    saved: &'a BTreeSet<u32>,
    now: i64,
}

fn header_matches(c: &mut Candidate<'_>, name: &str, needle: &[u8]) -> bool {
    let Some(content) = &c.content else {
        return false;
    };
    let values = mime::header_values(&content.bytes, name);
    if needle.is_empty() {
        return !values.is_empty();
    }
    values.iter().any(|v| contains(v, needle)) || address_matches(&content.structure, name, needle)
}

/// Address fields also match their parsed form, `name <mailbox@host>` without comments and
/// folding, so `FROM user@domain` finds `<user (comment)@ domain>` as Dovecot does.
fn address_matches(s: &MessageStructure, name: &str, needle: &[u8]) -> bool {
    let e = &s.envelope;
    let list = match name {
        "From" => &e.from,
        "To" => &e.to,
        "Cc" => &e.cc,
        "Bcc" => &e.bcc,
        _ => return false,
    };
    list.iter().filter(|a| !a.is_group_marker()).any(|a| {
        let text = |t: &Option<yubin_proto::mime::RawText>| {
            t.as_ref()
                .map(|r| mime::decode_header_value(r.as_bytes()))
                .unwrap_or_default()
        };
        let form = format!("{} <{}@{}>", text(&a.name), text(&a.mailbox), text(&a.host));
        contains(&form, needle)
    })
}

fn body_matches(c: &mut Candidate<'_>, needle: &[u8], with_headers: bool) -> bool {
    let Some(content) = &mut c.content else {
        return false;
    };
    if with_headers {
        // TEXT covers the header too (RFC 9051 §6.4.4), each field decoded.
        let headers = mime::header_text(&content.bytes, &content.structure);
        if contains(&headers, needle) {
            return true;
        }
    }
    let text = content.body_text.get_or_insert_with(|| {
        mime::search_text(&content.bytes, &content.structure, mime::SEARCH_TEXT_LIMIT)
    });
    contains(text, needle)
}

/// RFC 9051 §6.4.4: SENTBEFORE/SENTON/SENTSINCE look at the Date: header "disregarding time and
/// timezone", i.e. the calendar day as written there, not the UTC day of the instant.
fn sent_day(c: &Candidate<'_>) -> Option<i64> {
    let content = c.content.as_ref()?;
    let raw = content.structure.envelope.date.as_ref()?;
    let mut input = Vec::with_capacity(raw.as_bytes().len() + 2);
    input.push(b' '); // mail-parser's field parsers start after the colon, end at a line end
    input.extend_from_slice(raw.as_bytes());
    input.push(b'\n');
    match MessageStream::new(&input).parse_date() {
        HeaderValue::DateTime(dt) if dt.is_valid() => {
            let offset = i64::from(dt.tz_hour) * 3600 + i64::from(dt.tz_minute) * 60;
            let local = if dt.tz_before_gmt {
                dt.to_timestamp().checked_sub(offset)
            } else {
                dt.to_timestamp().checked_add(offset)
            };
            local.map(day_of)
        }
        _ => None,
    }
}

fn eval(key: &SearchKey, c: &mut Candidate<'_>, env: &Env<'_>) -> bool {
    use SearchKey as K;
    let m = c.meta;
    let has = |flag: &str| m.flags.iter().any(|f| f.eq_ignore_ascii_case(flag));
    match key {
        K::And(keys) => keys.iter().all(|k| eval(k, c, env)),
        K::Or(a, b) => eval(a, c, env) || eval(b, c, env),
        K::Not(a) => !eval(a, c, env),
        K::All => true,
        K::SequenceSet(set) => set_contains(set, c.seq, env.max_seq, env.saved, m.uid),
        K::Uid(set) => set_contains(set, m.uid, env.max_uid, env.saved, m.uid),
        K::Flag(f) => {
            if f.0.eq_ignore_ascii_case("\\Recent") {
                c.recent
            } else {
                has(&f.0)
            }
        }
        K::New => c.recent && !has("\\Seen"),
        K::Old => !c.recent,
        K::Recent => c.recent,
        K::Bcc(s) => header_matches(c, "Bcc", s),
        K::Cc(s) => header_matches(c, "Cc", s),
        K::From(s) => header_matches(c, "From", s),
        K::To(s) => header_matches(c, "To", s),
        K::Subject(s) => header_matches(c, "Subject", s),
        K::Header(name, s) => header_matches(c, name, s),
        K::Body(s) => body_matches(c, s, false),
        K::Text(s) => body_matches(c, s, true),
        K::Before(d) => day_of(m.received) < days(d),
        K::On(d) => day_of(m.received) == days(d),
        K::Since(d) => day_of(m.received) >= days(d),
        K::SentBefore(d) => sent_day(c).is_some_and(|x| x < days(d)),
        K::SentOn(d) => sent_day(c).is_some_and(|x| x == days(d)),
        K::SentSince(d) => sent_day(c).is_some_and(|x| x >= days(d)),
        K::Larger(n) => m.size > *n,
        K::Smaller(n) => m.size < *n,
        K::ModSeq(n) => m.modseq >= *n,
        K::Older(secs) => env.now.saturating_sub(m.received) >= *secs as i64,
        K::Younger(secs) => env.now.saturating_sub(m.received) <= *secs as i64,
    }
}

impl Session {
    /// Indices (into the view) of the messages matching `criteria`, in sequence order.
    async fn matching(
        &mut self,
        charset: Option<&str>,
        criteria: &SearchKey,
        load: Load,
    ) -> Result<Vec<(usize, Option<Content>)>, Failure> {
        if let Some(cs) = charset
            && !CHARSETS.iter().any(|c| c.eq_ignore_ascii_case(cs))
        {
            return Err(Failure::no(
                Some("BADCHARSET (US-ASCII UTF-8)"),
                format!("Charset {cs} is not supported"),
            ));
        }
        let store = self.service.store.clone();
        let rev2 = self.enabled.rev2;
        let Some(sel) = self.state.selected_mut() else {
            return Err(Failure::bad("No mailbox selected"));
        };
        let env = Env {
            max_seq: sel.messages.len() as u32,
            max_uid: sel.max_uid(),
            saved: &sel.saved,
            now: now(),
        };
        let load = if needs_content(criteria) {
            Load::Bytes
        } else {
            load
        };
        let mut out = Vec::new();
        for (i, meta) in sel.messages.iter().enumerate() {
            if sel.pending_expunge.contains(&meta.uid) {
                continue;
            }
            let content = match load {
                Load::Nothing => None,
                Load::Structure | Load::Bytes => {
                    let cached = store.message_structure(&meta.blob)?;
                    let bytes = if load == Load::Bytes || cached.is_none() {
                        store.message_bytes(&meta.blob).await?
                    } else {
                        Vec::new()
                    };
                    let structure = cached.unwrap_or_else(|| MessageStructure::analyze(&bytes));
                    Some(Content {
                        bytes,
                        structure,
                        body_text: None,
                    })
                }
            };
            let mut c = Candidate {
                seq: i as u32 + 1,
                meta,
                recent: !rev2 && sel.recent.contains(&meta.uid),
                content,
            };
            if eval(criteria, &mut c, &env) {
                out.push((i, c.content));
            }
        }
        Ok(out)
    }

    pub(crate) async fn search(
        &mut self,
        uid: bool,
        returns: Option<&[SearchReturn]>,
        charset: Option<&str>,
        criteria: &SearchKey,
    ) -> Outcome {
        let found = self.matching(charset, criteria, Load::Nothing).await?;
        let modseq_key = has_modseq(criteria);
        if modseq_key {
            self.enable_condstore();
        }
        let Some(sel) = self.state.selected_mut() else {
            return Err(Failure::bad("No mailbox selected"));
        };
        let ids: Vec<u32> = found
            .iter()
            .map(|(i, _)| {
                if uid {
                    sel.messages[*i].uid
                } else {
                    *i as u32 + 1
                }
            })
            .collect();
        // RFC 7162 §3.1.5: with only MIN and/or MAX, MODSEQ is that of the messages returned.
        let returned: Vec<usize> = match (returns, found.first(), found.last()) {
            (Some(r), Some(first), Some(last))
                if !r.is_empty()
                    && r.iter().all(|x| {
                        matches!(
                            x,
                            SearchReturn::Min | SearchReturn::Max | SearchReturn::Save
                        )
                    }) =>
            {
                let mut v = Vec::new();
                if r.contains(&SearchReturn::Min) {
                    v.push(first.0);
                }
                if r.contains(&SearchReturn::Max) {
                    v.push(last.0);
                }
                v
            }
            _ => found.iter().map(|(i, _)| *i).collect(),
        };
        let highest = returned.iter().map(|i| sel.messages[*i].modseq).max();
        let esearch = returns.is_some() || self.enabled.rev2;
        let returns: Vec<SearchReturn> = match returns {
            Some([]) | None => vec![SearchReturn::All],
            Some(r) => r.to_vec(),
        };
        if returns.contains(&SearchReturn::Save) {
            let uids: Vec<u32> = found.iter().map(|(i, _)| sel.messages[*i].uid).collect();
            // RFC 5182 §2.4: SAVE with only MIN and/or MAX saves just those; with ALL or
            // COUNT (or alone) it saves the whole result.
            let whole = returns
                .iter()
                .any(|r| matches!(r, SearchReturn::All | SearchReturn::Count))
                || !returns
                    .iter()
                    .any(|r| matches!(r, SearchReturn::Min | SearchReturn::Max));
            sel.saved = if whole {
                uids.into_iter().collect()
            } else {
                let mut v = Vec::new();
                if returns.contains(&SearchReturn::Min)
                    && let Some(u) = uids.first()
                {
                    v.push(*u);
                }
                if returns.contains(&SearchReturn::Max)
                    && let Some(u) = uids.last()
                    && !v.contains(u)
                {
                    v.push(*u);
                }
                v.into_iter().collect()
            };
        }
        let mut out = Vec::new();
        if !esearch {
            out.extend_from_slice(b"* SEARCH");
            for id in &ids {
                out.extend_from_slice(format!(" {id}").as_bytes());
            }
            if modseq_key && let Some(h) = highest {
                out.extend_from_slice(format!(" (MODSEQ {h})").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        } else if returns.iter().any(|r| *r != SearchReturn::Save) {
            esearch_line(
                &mut out,
                &self.current_tag,
                uid,
                &ids,
                &returns,
                modseq_key.then_some(highest).flatten(),
            );
        }
        self.out.extend_from_slice(&out);
        Ok(Done::ok(if uid {
            "UID SEARCH completed"
        } else {
            "SEARCH completed"
        }))
    }

    pub(crate) async fn sort(
        &mut self,
        uid: bool,
        returns: Option<&[SearchReturn]>,
        criteria: &[SortCriterion],
        charset: &str,
        search: &SearchKey,
    ) -> Outcome {
        let found = self
            .matching(Some(charset), search, Load::Structure)
            .await?;
        let Some(sel) = self.state.selected_mut() else {
            return Err(Failure::bad("No mailbox selected"));
        };
        let mut rows: Vec<(Vec<SortValue>, u32, u32)> = found
            .iter()
            .map(|(i, content)| {
                let m = &sel.messages[*i];
                let values = criteria
                    .iter()
                    .map(|c| sort_value(c.key, m, content.as_ref()))
                    .collect();
                (values, *i as u32 + 1, m.uid)
            })
            .collect();
        rows.sort_by(|a, b| {
            for (k, c) in criteria.iter().enumerate() {
                let ord = a.0[k].cmp(&b.0[k]);
                let ord = if c.reverse { ord.reverse() } else { ord };
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
            // RFC 5256 §3: ties are broken by sequence number.
            a.1.cmp(&b.1)
        });
        let ids: Vec<u32> = rows
            .iter()
            .map(|(_, seq, u)| if uid { *u } else { *seq })
            .collect();
        let mut out = Vec::new();
        match returns {
            None => {
                out.extend_from_slice(b"* SORT");
                for id in &ids {
                    out.extend_from_slice(format!(" {id}").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
            Some(r) => {
                let r: Vec<SearchReturn> = if r.is_empty() {
                    vec![SearchReturn::All]
                } else {
                    r.to_vec()
                };
                esearch_line(&mut out, &self.current_tag, uid, &ids, &r, None);
            }
        }
        self.out.extend_from_slice(&out);
        Ok(Done::ok("SORT completed"))
    }

    pub(crate) async fn thread(
        &mut self,
        uid: bool,
        algorithm: ThreadAlgorithm,
        charset: &str,
        search: &SearchKey,
    ) -> Outcome {
        let found = self.matching(Some(charset), search, Load::Bytes).await?;
        let Some(sel) = self.state.selected_mut() else {
            return Err(Failure::bad("No mailbox selected"));
        };
        let items: Vec<super::thread::Item> = found
            .iter()
            .map(|(i, content)| {
                let m = &sel.messages[*i];
                let id = if uid { m.uid } else { *i as u32 + 1 };
                super::thread::Item::new(
                    id,
                    m.received,
                    content.as_ref().map(|c| (c.bytes.as_slice(), &c.structure)),
                )
            })
            .collect();
        let threads = match algorithm {
            ThreadAlgorithm::OrderedSubject => super::thread::ordered_subject(items),
            ThreadAlgorithm::References => super::thread::references(items),
        };
        let mut out = b"* THREAD ".to_vec();
        super::thread::write(&mut out, &threads);
        out.extend_from_slice(b"\r\n");
        self.out.extend_from_slice(&out);
        Ok(Done::ok("THREAD completed"))
    }
}

/// `* ESEARCH (TAG "t") [UID] MIN .. MAX .. COUNT .. ALL ..` (RFC 4731 §3.1).
fn esearch_line(
    out: &mut Vec<u8>,
    tag: &str,
    uid: bool,
    ids: &[u32],
    returns: &[SearchReturn],
    modseq: Option<u64>,
) {
    out.extend_from_slice(format!("* ESEARCH (TAG \"{tag}\")").as_bytes());
    if uid {
        out.extend_from_slice(b" UID");
    }
    if !ids.is_empty() {
        for r in returns {
            match r {
                SearchReturn::Min => {
                    if let Some(v) = ids.iter().min() {
                        out.extend_from_slice(format!(" MIN {v}").as_bytes());
                    }
                }
                SearchReturn::Max => {
                    if let Some(v) = ids.iter().max() {
                        out.extend_from_slice(format!(" MAX {v}").as_bytes());
                    }
                }
                SearchReturn::Count => {
                    out.extend_from_slice(format!(" COUNT {}", ids.len()).as_bytes());
                }
                SearchReturn::All => {
                    out.extend_from_slice(b" ALL ");
                    // Keeps the order given (ESORT) and joins ascending runs.
                    write_sequence_set(out, ids);
                }
                SearchReturn::Save => {}
            }
        }
        if let Some(m) = modseq {
            out.extend_from_slice(format!(" MODSEQ {m}").as_bytes());
        }
    } else if returns.contains(&SearchReturn::Count) {
        out.extend_from_slice(b" COUNT 0");
    }
    out.extend_from_slice(b"\r\n");
}

/// A sort key value; strings compare by the i;ascii-casemap collation (RFC 5256 §2.2).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum SortValue {
    Number(i64),
    Text(String),
}

fn sort_value(key: SortKey, m: &MessageMeta, content: Option<&Content>) -> SortValue {
    let s = content.map(|c| &c.structure);
    match key {
        SortKey::Arrival => SortValue::Number(m.received),
        SortKey::Size => SortValue::Number(m.size as i64),
        // RFC 5256: a missing or unparsable Date sorts as the internal date.
        SortKey::Date => SortValue::Number(s.and_then(mime::sent_date).unwrap_or(m.received)),
        SortKey::Subject => SortValue::Text(
            s.map(|s| mime::base_subject(&subject(s)))
                .unwrap_or_default()
                .to_ascii_uppercase(),
        ),
        SortKey::From => SortValue::Text(sort_address(s, "From", false)),
        SortKey::To => SortValue::Text(sort_address(s, "To", false)),
        SortKey::Cc => SortValue::Text(sort_address(s, "Cc", false)),
        SortKey::DisplayFrom => SortValue::Text(sort_address(s, "From", true)),
        SortKey::DisplayTo => SortValue::Text(sort_address(s, "To", true)),
    }
}

fn sort_address(s: Option<&MessageStructure>, field: &str, display: bool) -> String {
    s.and_then(|s| {
        let list = match field {
            "From" => &s.envelope.from,
            "To" => &s.envelope.to,
            _ => &s.envelope.cc,
        };
        if display {
            // RFC 5957 §3: a group's display name is its name (the group marker's mailbox).
            match list.first() {
                Some(first) if first.is_group_marker() => {
                    first.mailbox.as_ref().map(|m| m.to_string_lossy())
                }
                _ => mime::display_address(list),
            }
        } else {
            // RFC 5256 §3: the first address's mailbox; a group's marker carries the group
            // name there, which is what Dovecot sorts by too.
            list.first()
                .and_then(|a| a.mailbox.as_ref())
                .map(|m| m.to_string_lossy())
        }
    })
    .unwrap_or_default()
    .to_ascii_uppercase()
}

/// The decoded Subject of a message.
pub(crate) fn subject(s: &MessageStructure) -> String {
    s.envelope
        .subject
        .as_ref()
        .map(|raw| mime::decode_header_value(raw.as_bytes()))
        .unwrap_or_default()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(
            days(&Date {
                year: 1970,
                month: 1,
                day: 1
            }),
            0
        );
        assert_eq!(
            days(&Date {
                year: 2000,
                month: 3,
                day: 1
            }),
            11_017
        );
        assert_eq!(
            days(&Date {
                year: 2024,
                month: 2,
                day: 29
            }),
            19_782
        );
    }
}
