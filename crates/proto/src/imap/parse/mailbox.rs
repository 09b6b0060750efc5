//! Commands about mailboxes: SELECT/EXAMINE, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, LIST, LSUB,
//! STATUS, APPEND and the QUOTA commands.

use super::{Literal, PResult, Parser};
use crate::imap::command::{
    AppendMessage, CommandBody, ListReturn, ListSelection, QresyncParams, SelectParams,
    SequenceSet, StatusItem,
};

use crate::imap::command::SPECIAL_USE;

impl Parser<'_> {
    pub(super) fn mailbox_command(&mut self, name: &str) -> PResult<CommandBody> {
        use CommandBody as C;
        if name == "LIST" {
            return self.list_command();
        }
        self.sp("a mailbox name")?;
        Ok(match name {
            "SELECT" => {
                let mailbox = self.mailbox()?;
                C::Select {
                    mailbox,
                    params: self.select_params()?,
                }
            }
            "EXAMINE" => {
                let mailbox = self.mailbox()?;
                C::Examine {
                    mailbox,
                    params: self.select_params()?,
                }
            }
            "CREATE" => self.create()?,
            "DELETE" => C::Delete(self.mailbox()?),
            "RENAME" => {
                let from = self.mailbox()?;
                self.sp("the new mailbox name")?;
                C::Rename {
                    from,
                    to: self.mailbox()?,
                }
            }
            "SUBSCRIBE" => C::Subscribe(self.mailbox()?),
            "UNSUBSCRIBE" => C::Unsubscribe(self.mailbox()?),
            "LSUB" => {
                let reference = self.astring()?;
                self.sp("a mailbox pattern")?;
                C::Lsub {
                    reference,
                    pattern: self.list_mailbox()?,
                }
            }
            "STATUS" => {
                let mailbox = self.mailbox()?;
                self.sp("a list of status items")?;
                C::Status {
                    mailbox,
                    items: self.status_items()?,
                }
            }
            "APPEND" => self.append()?,
            "GETQUOTA" => C::GetQuota(self.astring()?),
            "GETQUOTAROOT" => C::GetQuotaRoot(self.mailbox()?),
            // Only SETQUOTA is left: `body` routes every other name elsewhere.
            _ => self.setquota()?,
        })
    }

    /// RFC 7162 §3.1.8, §3.2.5: [SP "(" select-param *(SP select-param) ")"]
    fn select_params(&mut self) -> PResult<SelectParams> {
        let mut params = SelectParams::default();
        if !self.eat(b' ') {
            return Ok(params);
        }
        self.list("a SELECT parameter", false, |p| {
            if p.keyword("CONDSTORE") {
                params.condstore = true;
                Ok(())
            } else if p.keyword("QRESYNC") {
                p.sp("QRESYNC parameters")?;
                params.qresync = Some(p.qresync()?);
                Ok(())
            } else {
                Err("unknown SELECT parameter".into())
            }
        })?;
        Ok(params)
    }

    /// "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"
    fn qresync(&mut self) -> PResult<QresyncParams> {
        self.expect(b'(', "( starting QRESYNC parameters")?;
        let uidvalidity = self.nz_number("a UIDVALIDITY")?;
        self.sp("a mod-sequence")?;
        let modseq = self.number64("a mod-sequence")?;
        if modseq == 0 {
            return Err("a mod-sequence must not be 0".into());
        }
        let mut known_uids = None;
        let mut seq_match = None;
        if self.eat(b' ') {
            if self.peek() != Some(b'(') {
                known_uids = Some(self.sequence_set()?);
                if self.eat(b' ') {
                    seq_match = Some(self.seq_match()?);
                }
            } else {
                seq_match = Some(self.seq_match()?);
            }
        }
        self.expect(b')', ") closing QRESYNC parameters")?;
        Ok(QresyncParams {
            uidvalidity,
            modseq,
            known_uids,
            seq_match,
        })
    }

    fn seq_match(&mut self) -> PResult<(SequenceSet, SequenceSet)> {
        self.expect(b'(', "( starting known sequence numbers and UIDs")?;
        let seqs = self.sequence_set()?;
        self.sp("known UIDs")?;
        let uids = self.sequence_set()?;
        self.expect(b')', ") closing known sequence numbers and UIDs")?;
        Ok((seqs, uids))
    }

    /// RFC 6154 §3: mailbox [SP "(" "USE" SP "(" [use-attr *(SP use-attr)] ")" ")"]
    fn create(&mut self) -> PResult<CommandBody> {
        let mailbox = self.mailbox()?;
        let mut special_use = Vec::new();
        if self.eat(b' ') {
            self.list("a CREATE parameter", false, |p| {
                if !p.keyword("USE") {
                    return Err("unknown CREATE parameter".into());
                }
                p.sp("a list of special-use attributes")?;
                let attrs = p.list("a special-use attribute", true, |p| {
                    if p.peek() != Some(b'\\') {
                        return Err("expected a special-use attribute".into());
                    }
                    let flag = p.flag()?.0;
                    Ok(SPECIAL_USE
                        .iter()
                        .find(|a| a.eq_ignore_ascii_case(&flag))
                        .map_or(flag, |a| (*a).to_string()))
                })?;
                special_use.extend(attrs);
                Ok(())
            })?;
        }
        Ok(CommandBody::Create {
            mailbox,
            special_use,
        })
    }

    /// RFC 9051 §6.3.9, RFC 5258 §6: "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
    /// [SP list-return-opts]
    fn list_command(&mut self) -> PResult<CommandBody> {
        self.sp("a reference name")?;
        let mut selection = ListSelection::default();
        if self.peek() == Some(b'(') {
            self.list("a selection option", true, |p| {
                let opt = p.atom_upper("a selection option")?;
                match opt.as_str() {
                    "SUBSCRIBED" => selection.subscribed = true,
                    "REMOTE" => selection.remote = true,
                    "RECURSIVEMATCH" => selection.recursive_match = true,
                    "SPECIAL-USE" => selection.special_use = true,
                    _ => {
                        return Err(format!(
                            "unknown selection option {}",
                            super::printable(&opt)
                        ));
                    }
                }
                Ok(())
            })?;
            self.sp("a reference name")?;
        }
        // RFC 5258 §3: RECURSIVEMATCH alone is meaningless and MUST be refused with BAD.
        if selection.recursive_match && !(selection.subscribed || selection.special_use) {
            return Err("RECURSIVEMATCH needs another selection option".into());
        }
        let reference = self
            .astring()
            .map_err(|_| "expected a reference name".to_string())?;
        self.sp("a mailbox pattern")?;
        let patterns = if self.peek() == Some(b'(') {
            self.list("a mailbox pattern", false, Parser::list_mailbox)?
        } else {
            vec![self.list_mailbox()?]
        };
        let mut returns = ListReturn::default();
        if self.eat(b' ') {
            if !self.keyword("RETURN") {
                return Err("expected RETURN".into());
            }
            self.sp("a list of return options")?;
            self.list("a return option", true, |p| {
                let opt = p.atom_upper("a return option")?;
                match opt.as_str() {
                    "SUBSCRIBED" => returns.subscribed = true,
                    "CHILDREN" => returns.children = true,
                    "SPECIAL-USE" => returns.special_use = true,
                    "STATUS" => {
                        p.sp("a list of status items")?;
                        returns.status = Some(p.status_items()?);
                    }
                    _ => return Err(format!("unknown return option {}", super::printable(&opt))),
                }
                Ok(())
            })?;
        }
        Ok(CommandBody::List {
            reference,
            patterns,
            selection,
            returns,
        })
    }

    /// "(" status-att *(SP status-att) ")"
    fn status_items(&mut self) -> PResult<Vec<StatusItem>> {
        self.list("a status item", false, |p| {
            let item = p.atom_upper("a status item")?;
            Ok(match item.as_str() {
                "MESSAGES" => StatusItem::Messages,
                "RECENT" => StatusItem::Recent,
                "UIDNEXT" => StatusItem::UidNext,
                "UIDVALIDITY" => StatusItem::UidValidity,
                "UNSEEN" => StatusItem::Unseen,
                "DELETED" => StatusItem::Deleted,
                "SIZE" => StatusItem::Size,
                "HIGHESTMODSEQ" => StatusItem::HighestModSeq,
                "APPENDLIMIT" => StatusItem::AppendLimit,
                _ => return Err(format!("unknown status item {}", super::printable(&item))),
            })
        })
    }

    /// RFC 9051 §6.3.12, RFC 3502: "APPEND" SP mailbox 1*append-message, where
    /// append-message = [SP flag-list] [SP date-time] SP (literal / literal8).
    fn append(&mut self) -> PResult<CommandBody> {
        let mailbox = self.mailbox()?;
        let mut messages = Vec::new();
        loop {
            self.sp("a message literal")?;
            let mut flags = Vec::new();
            if self.peek() == Some(b'(') {
                flags = self.flag_list()?;
                self.sp("a message literal")?;
            }
            let mut date = None;
            if self.peek() == Some(b'"') {
                date = Some(self.date_time()?);
                self.sp("a message literal")?;
            }
            // RFC 6855 §4: append-data =/ "UTF8" SP "(" literal8 ")" (a message with UTF-8
            // headers, offered with UTF8=ACCEPT).
            let utf8 = self.keyword("UTF8");
            if utf8 {
                self.sp("\"(\" and a literal8 after UTF8")?;
                self.expect(b'(', "\"(\" and a literal8 after UTF8")?;
            }
            if !matches!(self.peek(), Some(b'{' | b'~')) {
                return Err("expected a message literal".into());
            }
            let (data, binary) = match self.literal()? {
                Literal::Plain(range) => (range, false),
                Literal::Binary(range) => (range, true),
            };
            if utf8 {
                self.expect(b')', "\")\" after the UTF8 message literal")?;
            }
            messages.push(AppendMessage {
                flags,
                date,
                data,
                binary,
            });
            if self.at_end() {
                return Ok(CommandBody::Append { mailbox, messages });
            }
        }
    }

    /// RFC 9208 §4.2: quota-root SP "(" [setquota-resource *(SP setquota-resource)] ")"
    fn setquota(&mut self) -> PResult<CommandBody> {
        let root = self.astring()?;
        self.sp("a list of resource limits")?;
        let limits = self.list("a resource limit", true, |p| {
            let name = p.atom_upper("a resource name")?;
            p.sp("a limit")?;
            Ok((name, p.number64("a limit")?))
        })?;
        Ok(CommandBody::SetQuota { root, limits })
    }
}
