//! A minimal blocking POP3 client (RFC 1939): one command at a time, single-line replies and
//! dot-stuffed multi-line replies read in full.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

pub type Result<T> = std::result::Result<T, String>;

fn io_err(what: &str, e: io::Error) -> String {
    format!("{what}: {e}")
}

/// One connection. Writes go to the inner stream (`get_mut`): BufReader buffers only reads.
pub struct Conn {
    reader: BufReader<TcpStream>,
    line: Vec<u8>,
}

impl Conn {
    /// Connects and reads the greeting, which must be `+OK`.
    pub fn connect(addr: SocketAddr) -> Result<Self> {
        if !addr.ip().is_loopback() {
            return Err(format!("refusing a non-loopback target {addr}"));
        }
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .map_err(|e| io_err("connect", e))?;
        stream.set_nodelay(true).map_err(|e| io_err("nodelay", e))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .map_err(|e| io_err("timeout", e))?;
        let mut conn = Conn {
            reader: BufReader::with_capacity(64 * 1024, stream),
            line: Vec::with_capacity(1024),
        };
        let greeting = conn.status_line()?;
        if !greeting.starts_with("+OK") {
            return Err(format!("greeting: {greeting}"));
        }
        Ok(conn)
    }

    /// Connects and logs in with USER and PASS.
    pub fn login(addr: SocketAddr, user: &str, pass: &str) -> Result<Self> {
        let mut conn = Self::connect(addr)?;
        conn.must(&format!("USER {user}"))?;
        conn.must(&format!("PASS {pass}"))
            .map_err(|e| format!("{user}: {e}"))?;
        Ok(conn)
    }

    fn send(&mut self, command: &str) -> Result<()> {
        let mut out = Vec::with_capacity(command.len() + 2);
        out.extend_from_slice(command.as_bytes());
        out.extend_from_slice(b"\r\n");
        self.reader
            .get_mut()
            .write_all(&out)
            .map_err(|e| io_err("write", e))
    }

    fn status_line(&mut self) -> Result<String> {
        self.line.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.line)
            .map_err(|e| io_err("read", e))?;
        if n == 0 {
            return Err("connection closed by server".into());
        }
        Ok(String::from_utf8_lossy(&self.line)
            .trim_end_matches(['\r', '\n'])
            .to_string())
    }

    /// Sends a command whose reply is one line; `Err` unless it is `+OK`. Returns the line.
    /// (PASS is the only command with a secret, and it is never echoed in an error.)
    pub fn must(&mut self, command: &str) -> Result<String> {
        self.send(command)?;
        let reply = self.status_line()?;
        if reply.starts_with("+OK") {
            Ok(reply)
        } else {
            let shown = if command.starts_with("PASS ") {
                "PASS"
            } else {
                command
            };
            Err(format!("{shown}: {reply}"))
        }
    }

    /// Sends a command with a multi-line reply; each unstuffed line (CRLF kept) goes to
    /// `line`. `Err` unless the status line is `+OK`.
    pub fn multi(&mut self, command: &str, line: impl FnMut(&[u8])) -> Result<String> {
        let status = self.must(command)?;
        read_multiline(&mut self.reader, &mut self.line, line)?;
        Ok(status)
    }

    /// QUIT and its `+OK`.
    pub fn quit(mut self) -> Result<()> {
        self.must("QUIT").map(|_| ())
    }
}

/// Reads the lines of a multi-line reply up to the terminating `.CRLF`, removing the
/// dot-stuffing (RFC 1939 §3): a line starting with `.` has that first `.` taken off.
pub fn read_multiline(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    mut line: impl FnMut(&[u8]),
) -> Result<()> {
    loop {
        buf.clear();
        let n = r.read_until(b'\n', buf).map_err(|e| io_err("read", e))?;
        if n == 0 || !buf.ends_with(b"\n") {
            return Err("connection closed inside a multi-line reply".into());
        }
        if buf == b".\r\n" || buf == b".\n" {
            return Ok(());
        }
        match buf.strip_prefix(b".") {
            Some(rest) => line(rest),
            None => line(buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn collect(wire: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut out = Vec::new();
        read_multiline(&mut Cursor::new(wire), &mut Vec::new(), |l| {
            out.push(l.to_vec())
        })?;
        Ok(out)
    }

    #[test]
    fn unstuffs_and_stops_at_the_terminator() {
        let lines = collect(b"Subject: a\r\n\r\n..dot line\r\n.\r\nnext reply\r\n").unwrap();
        assert_eq!(
            lines,
            vec![
                b"Subject: a\r\n".to_vec(),
                b"\r\n".to_vec(),
                b".dot line\r\n".to_vec()
            ]
        );
        // The octets LIST counts: the unstuffed lines with their CRLFs.
        assert_eq!(lines.iter().map(Vec::len).sum::<usize>(), 12 + 2 + 11);
    }

    #[test]
    fn a_reply_cut_short_is_an_error() {
        assert!(collect(b"1 100\r\n2 200\r\n").is_err());
        assert!(collect(b"1 100\r\n.").is_err());
    }
}
