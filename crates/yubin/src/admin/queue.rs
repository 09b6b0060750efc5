//! `yubin admin queue`: the outbound queue as an operator sees it.

use std::fmt::Write as _;

use clap::Subcommand;
use serde::{Deserialize, Serialize};
use yubin_store::{MailStore, QueuedMessage};

/// `yubin admin queue ...`
#[derive(Debug, Clone, Subcommand, Serialize, Deserialize)]
pub enum QueueCommand {
    /// One line per queued message: id, age, sender, size, pending/total recipients,
    /// attempts, next attempt, last reply.
    List,
    /// Every field of a queued message, and each recipient's status and last reply.
    Show {
        /// Queue id.
        id: u64,
    },
    /// Try a queued message now, or every queued message when no id is given.
    Retry {
        /// Queue id.
        id: Option<u64>,
    },
    /// Remove a message from the queue without delivering it (no bounce is sent).
    Remove {
        /// Queue id.
        id: u64,
    },
}

/// Runs a queue command; output and errors as [`super::execute`].
pub async fn execute(store: &MailStore, command: &QueueCommand) -> Result<Vec<u8>, String> {
    let err = |e: yubin_store::Error| e.to_string();
    let now = now();
    let out = match command {
        QueueCommand::List => {
            let mut out = String::new();
            for m in store.queue_list().map_err(err)? {
                list_line(&mut out, &m, now);
            }
            out
        }
        QueueCommand::Show { id } => match store.queued(*id).map_err(err)? {
            Some(m) => show(&m, now),
            None => return Err(not_queued(*id)),
        },
        QueueCommand::Retry { id: Some(id) } => {
            store.queue_retry(Some(*id)).await.map_err(err)?;
            format!("queued message {id} will be tried now\n")
        }
        QueueCommand::Retry { id: None } => {
            let moved = store.queue_retry(None).await.map_err(err)?;
            let queued = store.queue_list().map_err(err)?.len();
            format!("{queued} queued message(s) will be tried now ({moved} moved forward)\n")
        }
        QueueCommand::Remove { id } => {
            if !store.queue_remove(*id).await.map_err(err)? {
                return Err(not_queued(*id));
            }
            format!("removed queued message {id}\n")
        }
    };
    Ok(out.into_bytes())
}

fn not_queued(id: u64) -> String {
    format!("no queued message {id}")
}

/// `ID<TAB>age=..<TAB>from=<..><TAB>size=..<TAB>pending=P/T<TAB>attempts=..<TAB>next=..<TAB>reply=..`
fn list_line(out: &mut String, m: &QueuedMessage, now: i64) {
    let pending = m.pending().count();
    let reply = last_reply(m).unwrap_or("-");
    let _ = writeln!(
        out,
        "{}\tage={}\tfrom=<{}>\tsize={}\tpending={pending}/{}\tattempts={}\tnext={}\treply={}",
        m.id,
        span(now - m.created),
        m.from,
        m.size,
        m.recipients.len(),
        m.attempts,
        when(m.next_attempt, now),
        one_line(reply)
    );
}

fn show(m: &QueuedMessage, now: i64) -> String {
    let mut out = String::new();
    let account = m.account.map_or_else(|| "-".to_string(), |a| a.to_string());
    let _ = write!(
        out,
        "id: {}\nfrom: <{}>\nsize: {}\naccount: {account}\ncreated: {} ({} ago)\n\
         next_attempt: {} ({})\nattempts: {}\ndelay_warned: {}\nblob: {}\nrecipients: {}\n",
        m.id,
        m.from,
        m.size,
        utc(m.created),
        span(now - m.created),
        utc(m.next_attempt),
        when(m.next_attempt, now),
        m.attempts,
        m.delay_warned,
        m.blob,
        m.recipients.len()
    );
    for r in &m.recipients {
        let last = r.last_attempt.map_or_else(|| "-".to_string(), utc);
        let _ = writeln!(
            out,
            "recipient: {} status={} attempts={} last_attempt={last} reply={}",
            r.address,
            r.status.as_str(),
            r.attempts,
            one_line(r.last_reply.as_deref().unwrap_or("-"))
        );
    }
    out
}

/// The reply of the recipient tried last.
fn last_reply(m: &QueuedMessage) -> Option<&str> {
    m.recipients
        .iter()
        .filter(|r| r.last_reply.is_some())
        .max_by_key(|r| r.last_attempt)
        .and_then(|r| r.last_reply.as_deref())
}

/// A multi-line SMTP reply on one line, so listings stay one line per message.
fn one_line(reply: &str) -> String {
    reply
        .split(['\r', '\n'])
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// `now`, or `in 5m` for a time to come.
fn when(at: i64, now: i64) -> String {
    if at <= now {
        "now".into()
    } else {
        format!("in {}", span(at - now))
    }
}

/// A duration in its largest whole unit: `42s`, `5m`, `3h`, `2d`.
fn span(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    }
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub(crate) fn utc(at: i64) -> String {
    let days = at.div_euclid(86400);
    let secs = at.rem_euclid(86400);
    // Civil date from days since 1970-01-01 (H. Hinnant, "chrono-compatible low-level date
    // algorithms").
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use yubin_store::{NewOutbound, QueueUpdate, RecipientResult};

    use super::*;

    #[test]
    fn times_and_spans_read_as_an_operator_expects() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_795_428_000), "2026-11-23T10:00:00Z");
        assert_eq!(utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(
            [span(5), span(300), span(7200), span(200_000), span(-3)],
            ["5s", "5m", "2h", "2d", "0s"]
        );
        assert_eq!((when(10, 10), when(70, 10)), ("now".into(), "in 1m".into()));
        assert_eq!(
            one_line("450-4.2.1 busy\r\n450 4.2.1 later"),
            "450-4.2.1 busy / 450 4.2.1 later"
        );
    }

    #[tokio::test]
    async fn list_and_show_give_status_and_the_last_reply() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = MailStore::open(dir.path()).await.expect("open");
        let id = store
            .enqueue(NewOutbound {
                message: b"\r\nhello\r\n".to_vec(),
                mail_from: String::new(),
                recipients: vec!["a@remote.test".into(), "b@remote.test".into()],
                account: None,
            })
            .await
            .expect("enqueue");
        store
            .queue_update(
                id,
                QueueUpdate {
                    results: vec![(
                        "a@remote.test".into(),
                        RecipientResult::Delivered {
                            reply: "250 2.0.0 ok".into(),
                        },
                    )],
                    next_attempt: Some(now() + 600),
                    delay_warned: None,
                },
            )
            .await
            .expect("update");
        let run = |c| {
            let store = store.clone();
            async move {
                execute(&store, &c)
                    .await
                    .map(|o| String::from_utf8(o).expect("utf-8"))
            }
        };
        let list = run(QueueCommand::List).await.expect("list");
        let fields: Vec<&str> = list.trim_end().split('\t').collect();
        assert_eq!(fields[0], id.to_string());
        assert_eq!(
            &fields[2..],
            [
                "from=<>",
                "size=9",
                "pending=1/2",
                "attempts=1",
                "next=in 10m",
                "reply=250 2.0.0 ok"
            ]
        );
        let show = run(QueueCommand::Show { id }).await.expect("show");
        assert!(show.contains("\nattempts: 1\n"), "{show}");
        assert!(
            show.contains("recipient: a@remote.test status=delivered attempts=1"),
            "{show}"
        );
        assert!(
            show.contains(
                "recipient: b@remote.test status=pending attempts=0 last_attempt=- reply=-"
            ),
            "{show}"
        );
        assert_eq!(
            run(QueueCommand::Show { id: 99 })
                .await
                .expect_err("unknown"),
            "no queued message 99"
        );
    }
}
