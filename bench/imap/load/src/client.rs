//! A minimal blocking IMAP client: enough to log in, send tagged commands (with LITERAL+
//! literals for APPEND) and read their responses, literals included.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How a tagged command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
}

/// One connection; commands are sent one at a time (no pipelining), as a client that waits
/// for each answer does, so throughput is sessions / latency.
pub struct Conn {
    /// Writes go to the inner stream (`get_mut`): BufReader buffers only reads, and one
    /// descriptor per connection lets 10,000 connections fit a 20,000-descriptor limit.
    reader: BufReader<TcpStream>,
    next_tag: u64,
    line: Vec<u8>,
    /// Last `* n EXISTS` seen (kept up to date by `* n EXPUNGE` too).
    pub exists: u32,
}

pub type Result<T> = std::result::Result<T, String>;

fn io_err(what: &str, e: io::Error) -> String {
    format!("{what}: {e}")
}

impl Conn {
    /// Connects and reads the greeting.
    pub fn connect(addr: SocketAddr) -> Result<Self> {
        if !addr.ip().is_loopback() {
            return Err(format!("refusing a non-loopback target {addr}"));
        }
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .map_err(|e| io_err("connect", e))?;
        stream.set_nodelay(true).map_err(|e| io_err("nodelay", e))?;
        // Long enough for SEARCH on a big mailbox; a wedged server still ends the run.
        stream
            .set_read_timeout(Some(Duration::from_secs(300)))
            .map_err(|e| io_err("timeout", e))?;
        let mut conn = Conn {
            reader: BufReader::with_capacity(16 * 1024, stream),
            next_tag: 1,
            line: Vec::with_capacity(4096),
            exists: 0,
        };
        let greeting = conn.read_item()?;
        if !greeting.starts_with(b"* OK") {
            return Err(format!("greeting: {}", String::from_utf8_lossy(&greeting)));
        }
        Ok(conn)
    }

    /// Connects and logs in with LOGIN.
    pub fn login(addr: SocketAddr, user: &str, pass: &str) -> Result<Self> {
        let mut conn = Self::connect(addr)?;
        let (status, text) = conn.command(&format!("LOGIN \"{user}\" \"{pass}\""), |_| {})?;
        if status != Status::Ok {
            return Err(format!("LOGIN failed: {text}"));
        }
        Ok(conn)
    }

    /// Reads one response line, with any literals it contains, into `self.line` (CRLF kept off).
    fn read_item(&mut self) -> Result<Vec<u8>> {
        let mut item = Vec::new();
        loop {
            self.line.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.line)
                .map_err(|e| io_err("read", e))?;
            if n == 0 {
                return Err("connection closed by server".into());
            }
            let mut l = &self.line[..];
            if l.ends_with(b"\r\n") {
                l = &l[..l.len() - 2];
            } else if l.ends_with(b"\n") {
                l = &l[..l.len() - 1];
            }
            item.extend_from_slice(l);
            match literal_len(l) {
                Some(len) => {
                    let start = item.len();
                    item.resize(start + len, 0);
                    self.reader
                        .read_exact(&mut item[start..])
                        .map_err(|e| io_err("read literal", e))?;
                }
                None => return Ok(item),
            }
        }
    }

    fn tag(&mut self) -> String {
        let t = format!("a{}", self.next_tag);
        self.next_tag += 1;
        t
    }

    /// Sends `text` as a tagged command and reads to its tagged reply; every untagged or
    /// continuation line goes to `untagged`. Returns the status and the tagged line's text.
    pub fn command(&mut self, text: &str, untagged: impl FnMut(&[u8])) -> Result<(Status, String)> {
        let tag = self.tag();
        let mut out = Vec::with_capacity(tag.len() + text.len() + 3);
        out.extend_from_slice(tag.as_bytes());
        out.push(b' ');
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"\r\n");
        self.send(&out)?;
        self.finish(&tag, untagged)
    }

    /// APPEND with a non-synchronizing literal (RFC 7888 LITERAL+): one round trip.
    pub fn append(
        &mut self,
        mailbox: &str,
        flags: &str,
        message: &[u8],
    ) -> Result<(Status, String)> {
        let tag = self.tag();
        let mut out = Vec::with_capacity(message.len() + 64);
        out.extend_from_slice(
            format!(
                "{tag} APPEND \"{mailbox}\" ({flags}) {{{}+}}\r\n",
                message.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(message);
        out.extend_from_slice(b"\r\n");
        self.send(&out)?;
        self.finish(&tag, |_| {})
    }

    /// IDLE, wait for the continuation, DONE, wait for the tagged reply.
    pub fn idle_roundtrip(&mut self) -> Result<(Status, String)> {
        let tag = self.tag();
        self.send(format!("{tag} IDLE\r\n").as_bytes())?;
        loop {
            let item = self.read_item()?;
            if item.starts_with(b"+") {
                break;
            }
            self.track(&item);
            if item.starts_with(tag.as_bytes()) {
                return Ok((Status::No, String::from_utf8_lossy(&item).into_owned()));
            }
        }
        self.send(b"DONE\r\n")?;
        self.finish(&tag, |_| {})
    }

    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.reader
            .get_mut()
            .write_all(bytes)
            .map_err(|e| io_err("write", e))
    }

    fn finish(&mut self, tag: &str, mut untagged: impl FnMut(&[u8])) -> Result<(Status, String)> {
        loop {
            let item = self.read_item()?;
            if let Some(rest) = item
                .strip_prefix(tag.as_bytes())
                .and_then(|r| r.strip_prefix(b" "))
            {
                let text = String::from_utf8_lossy(rest).into_owned();
                let status = if rest.starts_with(b"OK") {
                    Status::Ok
                } else if rest.starts_with(b"NO") {
                    Status::No
                } else {
                    Status::Bad
                };
                return Ok((status, text));
            }
            self.track(&item);
            untagged(&item);
        }
    }

    /// Keeps `exists` current from `* n EXISTS` and `* n EXPUNGE`.
    fn track(&mut self, item: &[u8]) {
        let Some(rest) = item.strip_prefix(b"* ") else {
            return;
        };
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return;
        }
        let Ok(n) = std::str::from_utf8(&rest[..digits])
            .unwrap_or("")
            .parse::<u32>()
        else {
            return;
        };
        let word = &rest[digits..];
        if word.starts_with(b" EXISTS") {
            self.exists = n;
        } else if word.starts_with(b" EXPUNGE") {
            self.exists = self.exists.saturating_sub(1);
        }
    }

    /// A command that must succeed.
    pub fn must(&mut self, text: &str) -> Result<()> {
        let (status, reply) = self.command(text, |_| {})?;
        if status != Status::Ok {
            return Err(format!("{text}: {reply}"));
        }
        Ok(())
    }
}

/// `{n}` or `{n+}` at the end of a line announces a literal of n octets.
fn literal_len(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let mut digits = &body[open + 1..];
    if let Some(d) = digits.strip_suffix(b"+") {
        digits = d;
    }
    if let Some(d) = digits.strip_prefix(b"~") {
        digits = d;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::literal_len;

    #[test]
    fn literal_lengths() {
        assert_eq!(literal_len(b"* 1 FETCH (BODY[] {12}"), Some(12));
        assert_eq!(literal_len(b"* 1 FETCH (FLAGS ())"), None);
        assert_eq!(literal_len(b"{0}"), Some(0));
    }
}
