//! FETCH (items, body sections, partials, modifiers) and STORE.

use super::{PResult, Parser};
use crate::imap::command::{CommandBody, FetchAttr, Section, SectionText, StoreMode};

impl Parser<'_> {
    /// RFC 9051 §6.4.5, RFC 7162 §3.1.4.1, §3.2.6: "FETCH" SP sequence-set SP ("ALL" / "FULL" /
    /// "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")") [fetch-modifiers]
    pub(super) fn fetch(&mut self, uid: bool) -> PResult<CommandBody> {
        self.sp("a sequence set")?;
        let set = self.sequence_set()?;
        self.sp("fetch items")?;
        let items = if self.peek() == Some(b'(') {
            self.list("a fetch item", false, Parser::fetch_att)?
        } else if self.keyword("ALL") {
            vec![
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
                FetchAttr::Envelope,
            ]
        } else if self.keyword("FAST") {
            vec![
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
            ]
        } else if self.keyword("FULL") {
            vec![
                FetchAttr::Flags,
                FetchAttr::InternalDate,
                FetchAttr::Rfc822Size,
                FetchAttr::Envelope,
                FetchAttr::Body,
            ]
        } else {
            vec![self.fetch_att()?]
        };
        let mut changed_since = None;
        let mut vanished = false;
        if self.eat(b' ') {
            self.list("a FETCH modifier", false, |p| {
                if p.keyword("CHANGEDSINCE") {
                    p.sp("a mod-sequence")?;
                    changed_since = Some(p.number64("a mod-sequence")?);
                } else if p.keyword("VANISHED") {
                    vanished = true;
                } else {
                    return Err("unknown FETCH modifier".into());
                }
                Ok(())
            })?;
        }
        // RFC 7162 §3.2.6: VANISHED without CHANGEDSINCE, or outside UID FETCH, is a BAD.
        if vanished && !uid {
            return Err("VANISHED is only allowed in UID FETCH".into());
        }
        if vanished && changed_since.is_none() {
            return Err("VANISHED requires CHANGEDSINCE".into());
        }
        Ok(CommandBody::Fetch {
            uid,
            set,
            items,
            changed_since,
            vanished,
        })
    }

    fn fetch_att(&mut self) -> PResult<FetchAttr> {
        // The name runs up to `[`, `<` or the end of the atom (`[` and `<` are ATOM-CHARs).
        let name = self
            .take_while(|b| super::is_atom_char(b) && b != b'[' && b != b'<')
            .to_ascii_uppercase();
        let simple = match name.as_slice() {
            b"ENVELOPE" => Some(FetchAttr::Envelope),
            b"FLAGS" => Some(FetchAttr::Flags),
            b"INTERNALDATE" => Some(FetchAttr::InternalDate),
            b"RFC822.SIZE" => Some(FetchAttr::Rfc822Size),
            b"RFC822" => Some(FetchAttr::Rfc822),
            b"RFC822.HEADER" => Some(FetchAttr::Rfc822Header),
            b"RFC822.TEXT" => Some(FetchAttr::Rfc822Text),
            b"BODYSTRUCTURE" => Some(FetchAttr::BodyStructure),
            b"UID" => Some(FetchAttr::Uid),
            b"MODSEQ" => Some(FetchAttr::ModSeq),
            b"BODY" if self.peek() != Some(b'[') => Some(FetchAttr::Body),
            _ => None,
        };
        if let Some(att) = simple {
            return Ok(att);
        }
        match name.as_slice() {
            b"BODY" | b"BODY.PEEK" => {
                let section = self.section()?;
                Ok(FetchAttr::BodySection {
                    peek: name.len() > 4,
                    section,
                    partial: self.partial()?,
                })
            }
            b"BINARY" | b"BINARY.PEEK" => {
                let part = self.section_binary()?;
                Ok(FetchAttr::Binary {
                    peek: name.len() > 6,
                    part,
                    partial: self.partial()?,
                })
            }
            b"BINARY.SIZE" => Ok(FetchAttr::BinarySize {
                part: self.section_binary()?,
            }),
            _ => Err("expected a fetch item".into()),
        }
    }

    /// section = "[" [section-spec] "]"
    fn section(&mut self) -> PResult<Section> {
        self.expect(b'[', "[ starting a body section")?;
        let mut part = Vec::new();
        let mut text = None;
        if !self.eat(b']') {
            if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                part = self.section_part()?;
                if self.eat(b'.') {
                    text = Some(self.section_text(true)?);
                }
            } else {
                text = Some(self.section_text(false)?);
            }
            self.expect(b']', "] closing a body section")?;
        }
        Ok(Section { part, text })
    }

    /// section-part = nz-number *("." nz-number); stops before a `.` not followed by a digit.
    fn section_part(&mut self) -> PResult<Vec<u32>> {
        let mut part = vec![self.nz_number("a part number")?];
        while self.peek() == Some(b'.') && self.rest().get(1).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
            part.push(self.nz_number("a part number")?);
        }
        Ok(part)
    }

    /// section-msgtext, or with a part number also "MIME" (section-text).
    fn section_text(&mut self, after_part: bool) -> PResult<SectionText> {
        if self.keyword_in_section("HEADER.FIELDS.NOT") {
            self.sp("a list of header field names")?;
            return Ok(SectionText::HeaderFieldsNot(self.header_list()?));
        }
        if self.keyword_in_section("HEADER.FIELDS") {
            self.sp("a list of header field names")?;
            return Ok(SectionText::HeaderFields(self.header_list()?));
        }
        if self.keyword_in_section("HEADER") {
            return Ok(SectionText::Header);
        }
        if self.keyword_in_section("TEXT") {
            return Ok(SectionText::Text);
        }
        if after_part && self.keyword_in_section("MIME") {
            return Ok(SectionText::Mime);
        }
        Err("expected HEADER, HEADER.FIELDS, TEXT or MIME in a body section".into())
    }

    /// `word` case-insensitively, when followed by `]` or SP (the only things that may follow
    /// a section keyword).
    fn keyword_in_section(&mut self, word: &str) -> bool {
        let rest = self.rest();
        let n = word.len();
        let ok = rest
            .get(..n)
            .is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()))
            && matches!(rest.get(n), Some(b']' | b' '));
        if ok {
            self.pos += n;
        }
        ok
    }

    /// header-list = "(" header-fld-name *(SP header-fld-name) ")", names as ASCII text.
    fn header_list(&mut self) -> PResult<Vec<String>> {
        self.list("a header field name", false, Parser::header_name)
    }

    /// header-fld-name = astring, restricted to the printable ASCII a field name can hold.
    pub(super) fn header_name(&mut self) -> PResult<String> {
        let raw = self.astring()?;
        if raw.is_empty() || !raw.iter().all(|b| b.is_ascii_graphic() && *b != b':') {
            return Err("bad header field name".into());
        }
        Ok(String::from_utf8_lossy(&raw).into_owned())
    }

    /// section-binary = "[" [section-part] "]"
    fn section_binary(&mut self) -> PResult<Vec<u32>> {
        self.expect(b'[', "[ starting a binary section")?;
        if self.eat(b']') {
            return Ok(Vec::new());
        }
        let part = self.section_part()?;
        self.expect(b']', "] closing a binary section")?;
        Ok(part)
    }

    /// partial = "<" number "." nz-number ">"
    fn partial(&mut self) -> PResult<Option<(u32, u32)>> {
        if !self.eat(b'<') {
            return Ok(None);
        }
        let offset = self.number("a partial offset")?;
        self.expect(b'.', ". in a partial <offset.count>")?;
        let count = self.nz_number("a partial length")?;
        self.expect(b'>', "> closing a partial")?;
        Ok(Some((offset, count)))
    }

    /// RFC 9051 §6.4.6, RFC 7162 §3.1.3: "STORE" SP sequence-set [SP "(" "UNCHANGEDSINCE" SP
    /// mod-sequence-valzer ")"] SP (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list /
    /// (flag *(SP flag)))
    pub(super) fn store(&mut self, uid: bool) -> PResult<CommandBody> {
        self.sp("a sequence set")?;
        let set = self.sequence_set()?;
        self.sp("FLAGS, +FLAGS or -FLAGS")?;
        let mut unchanged_since = None;
        if self.peek() == Some(b'(') {
            self.list("a STORE modifier", false, |p| {
                if !p.keyword("UNCHANGEDSINCE") {
                    return Err("unknown STORE modifier".into());
                }
                p.sp("a mod-sequence")?;
                unchanged_since = Some(p.number64("a mod-sequence")?);
                Ok(())
            })?;
            self.sp("FLAGS, +FLAGS or -FLAGS")?;
        }
        let mode = if self.eat(b'+') {
            StoreMode::Add
        } else if self.eat(b'-') {
            StoreMode::Remove
        } else {
            StoreMode::Replace
        };
        let silent = if self.keyword("FLAGS.SILENT") {
            true
        } else if self.keyword("FLAGS") {
            false
        } else {
            return Err("expected FLAGS, +FLAGS or -FLAGS".into());
        };
        self.sp("a flag list")?;
        let flags = if self.peek() == Some(b'(') {
            self.flag_list()?
        } else {
            let mut flags = vec![self.flag()?];
            while self.eat(b' ') {
                flags.push(self.flag()?);
            }
            flags
        };
        Ok(CommandBody::Store {
            uid,
            set,
            unchanged_since,
            mode,
            silent,
            flags,
        })
    }
}
