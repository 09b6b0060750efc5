//! Body section specifiers (RFC 9051 §6.4.5), shared by the grammar and the FETCH encoders.

/// A body section specifier (RFC 9051 §6.4.5 `section`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Part numbers: `1.2.3` is `[1, 2, 3]`; empty means the whole message.
    pub part: Vec<u32>,
    /// Which piece of that part; `None` is the part itself (for an empty `part`, the whole message).
    pub text: Option<SectionText>,
}

/// The text part of a section specifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    /// `HEADER`
    Header,
    /// `HEADER.FIELDS (names)`
    HeaderFields(Vec<String>),
    /// `HEADER.FIELDS.NOT (names)`
    HeaderFieldsNot(Vec<String>),
    /// `TEXT`
    Text,
    /// `MIME` (only with a part number)
    Mime,
}
