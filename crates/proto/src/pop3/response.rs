//! POP3 status lines (RFC 1939 §3) and response codes (RFC 2449 §8, RFC 3206).

/// Response codes for `-ERR [CODE]` (RFC 2449 §8.1, RFC 3206 §4-§5).
pub mod code {
    /// The maildrop is locked by another session (RFC 2449 §8.1.1).
    pub const IN_USE: &str = "IN-USE";
    /// Logged in too soon after the last login (RFC 2449 §8.1.2).
    pub const LOGIN_DELAY: &str = "LOGIN-DELAY";
    /// A temporary server problem; try again later (RFC 3206 §4).
    pub const SYS_TEMP: &str = "SYS/TEMP";
    /// A permanent server problem (RFC 3206 §4).
    pub const SYS_PERM: &str = "SYS/PERM";
    /// The failure is about the credentials (RFC 3206 §5).
    pub const AUTH: &str = "AUTH";
}

/// Appends `+OK text\r\n` (`+OK\r\n` when `text` is empty).
pub fn ok(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b"+OK");
    write_text(out, text);
}

/// Appends `-ERR [CODE] text\r\n`, or `-ERR text\r\n` without a code.
pub fn err(out: &mut Vec<u8>, code: Option<&str>, text: &str) {
    out.extend_from_slice(b"-ERR");
    if let Some(code) = code {
        out.extend_from_slice(b" [");
        push_clean(out, code);
        out.push(b']');
    }
    write_text(out, text);
}

/// Appends an AUTH continuation, `+ challenge\r\n` (RFC 5034 §4); `challenge` is base64,
/// empty for mechanisms such as PLAIN whose first challenge is empty.
pub fn continuation(out: &mut Vec<u8>, challenge: &str) {
    out.extend_from_slice(b"+ ");
    push_clean(out, challenge);
    out.extend_from_slice(b"\r\n");
}

fn write_text(out: &mut Vec<u8>, text: &str) {
    if !text.is_empty() {
        out.push(b' ');
        push_clean(out, text);
    }
    out.extend_from_slice(b"\r\n");
}

/// Copies `text`, turning CR and LF into spaces: a status line stays one line even when its
/// text quotes something a client sent.
fn push_clean(out: &mut Vec<u8>, text: &str) {
    out.extend(
        text.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).expect("test texts are UTF-8")
    }

    #[test]
    fn status_lines() {
        // RFC 1939 §5 STAT example and §4 greeting-style text.
        assert_eq!(written(|o| ok(o, "2 320")), "+OK 2 320\r\n");
        assert_eq!(written(|o| ok(o, "")), "+OK\r\n");
        assert_eq!(
            written(|o| err(o, None, "no such message")),
            "-ERR no such message\r\n"
        );
        // RFC 2449 §8.1.1 example.
        assert_eq!(
            written(|o| err(
                o,
                Some(code::IN_USE),
                "Do you have another POP session running?"
            )),
            "-ERR [IN-USE] Do you have another POP session running?\r\n"
        );
        assert_eq!(
            written(|o| err(o, Some(code::SYS_TEMP), "")),
            "-ERR [SYS/TEMP]\r\n"
        );
        assert_eq!(written(|o| continuation(o, "")), "+ \r\n");
        assert_eq!(written(|o| continuation(o, "YWJj")), "+ YWJj\r\n");
    }

    #[test]
    fn text_cannot_add_a_line() {
        assert_eq!(
            written(|o| err(o, None, "bad\r\n+OK sneaky")),
            "-ERR bad  +OK sneaky\r\n"
        );
        assert_eq!(written(|o| ok(o, "a\nb")), "+OK a b\r\n");
    }
}
