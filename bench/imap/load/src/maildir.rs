//! Writes corpus messages straight into a Maildir folder (Dovecot's fast fill for the big
//! mailboxes): byte-identical to what APPEND stores in the other server, indexed by Dovecot on
//! the first (untimed) SELECT.

use std::fs;
use std::path::Path;
use std::time::Instant;

use crate::corpus;

/// `imap-load maildir DIR --messages N --size S [--first I]`: DIR gets cur/, new/, tmp/.
pub fn fill(argv: &[String]) -> Result<(), String> {
    let [dir, rest @ ..] = argv else {
        return Err("usage: imap-load maildir DIR --messages N --size S [--first I]".into());
    };
    let mut messages = 1000u64;
    let mut size = 4096usize;
    let mut first = 0u64;
    let mut it = rest.iter();
    while let Some(k) = it.next() {
        let v = it.next().ok_or_else(|| format!("{k} needs a value"))?;
        let n: u64 = v.parse().map_err(|_| format!("{k}: not a number: {v}"))?;
        match k.as_str() {
            "--messages" => messages = n,
            "--size" => size = n as usize,
            "--first" => first = n,
            other => return Err(format!("unknown option {other}")),
        }
    }
    let dir = Path::new(dir);
    for sub in ["cur", "new", "tmp"] {
        fs::create_dir_all(dir.join(sub)).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let start = Instant::now();
    for i in first..first + messages {
        let m = corpus::message(i, size);
        // Maildir names: unique, with S= so Dovecot need not stat for the size; `:2,` = no flags.
        let name = format!("{}.M{i}P1.bench,S={}:2,", 1_780_000_000 + i, m.len());
        fs::write(dir.join("cur").join(name), &m).map_err(|e| format!("write: {e}"))?;
    }
    println!(
        "result workload=maildir messages={messages} elapsed={:.3}",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
