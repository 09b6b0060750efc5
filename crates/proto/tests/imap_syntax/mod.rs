//! A tiny checker of IMAP response value syntax (RFC 9051 §4): parenthesized lists, atoms,
//! NIL and numbers, quoted strings with `\` escapes, `{n}\r\n` literals. Enough to prove the
//! FETCH writers produce one balanced, well-formed value.

/// Checks that `input` is exactly one value.
pub fn check_value(input: &[u8]) -> Result<(), String> {
    let end = value(input, 0)?;
    if end != input.len() {
        return Err(format!("trailing bytes at {end}"));
    }
    Ok(())
}

fn value(input: &[u8], pos: usize) -> Result<usize, String> {
    match input.get(pos) {
        Some(b'(') => {
            let mut pos = pos + 1;
            let mut first = true;
            loop {
                match input.get(pos) {
                    Some(b')') => return Ok(pos + 1),
                    None => return Err("unclosed list".into()),
                    // Bodies in a multipart follow each other without a space.
                    Some(b' ') if !first => pos += 1,
                    _ if !first && input.get(pos.wrapping_sub(1)) != Some(&b')') => {
                        return Err(format!("missing space at {pos}"));
                    }
                    _ => {}
                }
                pos = value(input, pos)?;
                first = false;
            }
        }
        Some(b'"') => {
            let mut pos = pos + 1;
            loop {
                match input.get(pos) {
                    Some(b'"') => return Ok(pos + 1),
                    Some(b'\\') => match input.get(pos + 1) {
                        Some(b'"' | b'\\') => pos += 2,
                        _ => return Err(format!("bad escape at {pos}")),
                    },
                    Some(b'\r' | b'\n' | 0) => return Err(format!("CR/LF/NUL in quoted at {pos}")),
                    Some(&b) if b >= 0x80 => return Err(format!("8-bit in quoted at {pos}")),
                    Some(_) => pos += 1,
                    None => return Err("unclosed quoted string".into()),
                }
            }
        }
        Some(b'{') => {
            let close = input
                .get(pos..)
                .and_then(|r| r.iter().position(|&b| b == b'}'))
                .ok_or("unclosed literal marker")?;
            let digits = input.get(pos + 1..pos + close).ok_or("bad literal")?;
            let n: usize = std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse().ok())
                .ok_or_else(|| format!("bad literal length at {pos}"))?;
            let data = pos + close + 1;
            if input.get(data..data + 2) != Some(b"\r\n") {
                return Err(format!("literal without CRLF at {pos}"));
            }
            let bytes = input.get(data + 2..data + 2 + n).ok_or("short literal")?;
            if bytes.contains(&0) {
                return Err("NUL in literal".into());
            }
            Ok(data + 2 + n)
        }
        Some(_) => {
            let len = input
                .get(pos..)
                .unwrap_or_default()
                .iter()
                .position(|&b| b == b' ' || b == b'(' || b == b')')
                .unwrap_or(input.len() - pos);
            let atom = input.get(pos..pos + len).unwrap_or_default();
            let ok = atom == b"NIL" || (!atom.is_empty() && atom.iter().all(u8::is_ascii_digit));
            if !ok {
                return Err(format!(
                    "unexpected atom {:?} at {pos}",
                    String::from_utf8_lossy(atom)
                ));
            }
            Ok(pos + len)
        }
        None => Err("value expected".into()),
    }
}
