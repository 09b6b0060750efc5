//! SEARCH (keys, RETURN options, CHARSET), SORT and THREAD.

use super::{MAX_DEPTH, PResult, Parser};
use crate::imap::command::{
    CommandBody, Date, Flag, SearchKey, SearchReturn, SortCriterion, SortKey, ThreadAlgorithm,
};

impl Parser<'_> {
    /// RFC 9051 §6.4.4, RFC 4731: "SEARCH" [SP "RETURN" SP "(" [search-return-opt *(SP
    /// search-return-opt)] ")"] SP ["CHARSET" SP charset SP] search-key *(SP search-key)
    pub(super) fn search(&mut self, uid: bool) -> PResult<CommandBody> {
        self.sp("search criteria")?;
        let returns = self.search_returns()?;
        let charset = if self.keyword("CHARSET") {
            self.sp("a charset")?;
            let charset = self.charset()?;
            self.sp("search criteria")?;
            Some(charset)
        } else {
            None
        };
        let criteria = self.search_keys()?;
        Ok(CommandBody::Search {
            uid,
            returns,
            charset,
            criteria,
        })
    }

    /// `RETURN (...) SP` if present. An empty list means ALL (RFC 9051 §6.4.4), so it comes out
    /// as `[All]`.
    fn search_returns(&mut self) -> PResult<Option<Vec<SearchReturn>>> {
        if !self.keyword("RETURN") {
            return Ok(None);
        }
        self.sp("a list of return options")?;
        let mut opts = self.list("a return option", true, |p| {
            let opt = p.atom_upper("a return option")?;
            Ok(match opt.as_str() {
                "MIN" => SearchReturn::Min,
                "MAX" => SearchReturn::Max,
                "ALL" => SearchReturn::All,
                "COUNT" => SearchReturn::Count,
                "SAVE" => SearchReturn::Save,
                _ => return Err(format!("unknown return option {}", super::printable(&opt))),
            })
        })?;
        if opts.is_empty() {
            opts.push(SearchReturn::All);
        }
        self.sp("search criteria")?;
        Ok(Some(opts))
    }

    /// charset = atom / quoted, upper-cased (charset names are ASCII, RFC 2978).
    fn charset(&mut self) -> PResult<String> {
        let raw = if self.peek() == Some(b'"') {
            self.quoted()?
        } else {
            self.atom("a charset")?.as_bytes().to_vec()
        };
        if raw.is_empty() || !raw.iter().all(u8::is_ascii_graphic) {
            return Err("bad charset name".into());
        }
        Ok(String::from_utf8_lossy(&raw).to_ascii_uppercase())
    }

    /// search-key *(SP search-key) up to the end of the command: one key stays itself, more
    /// are ANDed.
    fn search_keys(&mut self) -> PResult<SearchKey> {
        let mut keys = vec![self.search_key(0)?];
        while self.eat(b' ') {
            keys.push(self.search_key(0)?);
        }
        Ok(and(keys))
    }

    /// One search-key (RFC 9051 §9, with RFC 3501's NEW/OLD/RECENT, RFC 7162 MODSEQ and
    /// RFC 5032 OLDER/YOUNGER). `depth` counts the parentheses, NOTs and ORs around it.
    fn search_key(&mut self, depth: usize) -> PResult<SearchKey> {
        if depth >= MAX_DEPTH {
            return Err("search criteria nested too deeply".into());
        }
        match self.peek() {
            Some(b'(') => {
                let keys = self.list("a search key", false, |p| p.search_key(depth + 1))?;
                return Ok(and(keys));
            }
            Some(b'0'..=b'9' | b'*' | b'$') => {
                return Ok(SearchKey::SequenceSet(self.sequence_set()?));
            }
            _ => {}
        }
        let word = self.atom_upper("a search key")?;
        let flag = |name: &str| SearchKey::Flag(Flag(name.to_string()));
        let not = |key: SearchKey| SearchKey::Not(Box::new(key));
        use SearchKey as K;
        Ok(match word.as_str() {
            "ALL" => K::All,
            "ANSWERED" => flag("\\Answered"),
            "DELETED" => flag("\\Deleted"),
            "DRAFT" => flag("\\Draft"),
            "FLAGGED" => flag("\\Flagged"),
            "SEEN" => flag("\\Seen"),
            "UNANSWERED" => not(flag("\\Answered")),
            "UNDELETED" => not(flag("\\Deleted")),
            "UNDRAFT" => not(flag("\\Draft")),
            "UNFLAGGED" => not(flag("\\Flagged")),
            "UNSEEN" => not(flag("\\Seen")),
            "NEW" => K::New,
            "OLD" => K::Old,
            "RECENT" => K::Recent,
            "KEYWORD" | "UNKEYWORD" => {
                self.sp("a keyword")?;
                if self.peek() == Some(b'\\') {
                    return Err("expected a keyword, not a system flag".into());
                }
                let key = K::Flag(self.flag()?);
                if word == "KEYWORD" { key } else { not(key) }
            }
            "BCC" => K::Bcc(self.arg_astring()?),
            "CC" => K::Cc(self.arg_astring()?),
            "FROM" => K::From(self.arg_astring()?),
            "TO" => K::To(self.arg_astring()?),
            "SUBJECT" => K::Subject(self.arg_astring()?),
            "BODY" => K::Body(self.arg_astring()?),
            "TEXT" => K::Text(self.arg_astring()?),
            "HEADER" => {
                self.sp("a header field name")?;
                let name = self.header_name()?;
                K::Header(name, self.arg_astring()?)
            }
            "BEFORE" => K::Before(self.arg_date()?),
            "ON" => K::On(self.arg_date()?),
            "SINCE" => K::Since(self.arg_date()?),
            "SENTBEFORE" => K::SentBefore(self.arg_date()?),
            "SENTON" => K::SentOn(self.arg_date()?),
            "SENTSINCE" => K::SentSince(self.arg_date()?),
            "LARGER" => K::Larger(self.arg_number64("a size")?),
            "SMALLER" => K::Smaller(self.arg_number64("a size")?),
            "OLDER" => K::Older(self.arg_nz64("a number of seconds")?),
            "YOUNGER" => K::Younger(self.arg_nz64("a number of seconds")?),
            "UID" => {
                self.sp("a UID set")?;
                K::Uid(self.sequence_set()?)
            }
            "NOT" => {
                self.sp("a search key")?;
                not(self.search_key(depth + 1)?)
            }
            "OR" => {
                self.sp("a search key")?;
                let a = self.search_key(depth + 1)?;
                self.sp("a second search key")?;
                let b = self.search_key(depth + 1)?;
                K::Or(Box::new(a), Box::new(b))
            }
            "MODSEQ" => K::ModSeq(self.modseq_key()?),
            _ => return Err(format!("unknown search key {}", super::printable(&word))),
        })
    }

    fn arg_astring(&mut self) -> PResult<Vec<u8>> {
        self.sp("a string")?;
        self.astring()
    }

    fn arg_date(&mut self) -> PResult<Date> {
        self.sp("a date like 1-Feb-2024")?;
        self.date()
    }

    fn arg_number64(&mut self, what: &str) -> PResult<u64> {
        self.sp(what)?;
        self.number64(what)
    }

    fn arg_nz64(&mut self, what: &str) -> PResult<u64> {
        match self.arg_number64(what)? {
            0 => Err(format!("{what} must not be 0")),
            n => Ok(n),
        }
    }

    /// RFC 7162 §3.1.5: "MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer, where
    /// entry-name is a quoted "/flags/<flag>" and entry-type-req is priv / shared / all.
    fn modseq_key(&mut self) -> PResult<u64> {
        self.sp("a mod-sequence")?;
        if self.peek() == Some(b'"') {
            let entry = self.quoted()?;
            if !entry
                .get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"/flags/"))
            {
                return Err("expected a /flags/ entry name".into());
            }
            self.sp("an entry type")?;
            if !(self.keyword("PRIV") || self.keyword("SHARED") || self.keyword("ALL")) {
                return Err("expected priv, shared or all".into());
            }
            self.sp("a mod-sequence")?;
        }
        self.number64("a mod-sequence")
    }

    /// RFC 5256 §3, RFC 5267: "SORT" [search-return-opts] SP sort-criteria SP charset
    /// 1*(SP search-key)
    pub(super) fn sort(&mut self, uid: bool) -> PResult<CommandBody> {
        self.sp("sort criteria")?;
        let returns = self.search_returns()?;
        let criteria = self.list("a sort criterion", false, |p| {
            let reverse = p.keyword("REVERSE");
            if reverse {
                p.sp("a sort key")?;
            }
            let word = p.atom_upper("a sort key")?;
            let key = match word.as_str() {
                "ARRIVAL" => SortKey::Arrival,
                "CC" => SortKey::Cc,
                "DATE" => SortKey::Date,
                "FROM" => SortKey::From,
                "SIZE" => SortKey::Size,
                "SUBJECT" => SortKey::Subject,
                "TO" => SortKey::To,
                "DISPLAYFROM" => SortKey::DisplayFrom,
                "DISPLAYTO" => SortKey::DisplayTo,
                _ => return Err(format!("unknown sort key {}", super::printable(&word))),
            };
            Ok(SortCriterion { reverse, key })
        })?;
        self.sp("a charset")?;
        let charset = self.charset()?;
        self.sp("search criteria")?;
        let search = self.search_keys()?;
        Ok(CommandBody::Sort {
            uid,
            returns,
            criteria,
            charset,
            search,
        })
    }

    /// RFC 5256 §3: "THREAD" SP thread-alg SP search-criteria
    pub(super) fn thread(&mut self, uid: bool) -> PResult<CommandBody> {
        self.sp("a threading algorithm")?;
        let word = self.atom_upper("a threading algorithm")?;
        let algorithm = match word.as_str() {
            "ORDEREDSUBJECT" => ThreadAlgorithm::OrderedSubject,
            "REFERENCES" => ThreadAlgorithm::References,
            _ => {
                return Err(format!(
                    "unknown threading algorithm {}",
                    super::printable(&word)
                ));
            }
        };
        self.sp("a charset")?;
        let charset = self.charset()?;
        self.sp("search criteria")?;
        let search = self.search_keys()?;
        Ok(CommandBody::Thread {
            uid,
            algorithm,
            charset,
            search,
        })
    }
}

/// One key as itself, several as `And`.
fn and(mut keys: Vec<SearchKey>) -> SearchKey {
    if keys.len() == 1 {
        keys.pop().unwrap_or(SearchKey::All)
    } else {
        SearchKey::And(keys)
    }
}
