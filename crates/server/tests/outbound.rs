//! The outbound SMTP client against a real Yubin MX listener (in-process, on 127.0.0.1:0, with
//! its own store), sometimes through a recording proxy that shows what went over the wire.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use yubin_server::dns::{Dns, DnsConfig, LookupError};
use yubin_server::net::{self, ShutdownTrigger, tls::TlsConfig};
use yubin_server::smtp::outbound::{
    Envelope, Hop, OutboundConfig, Outcome, TlsPolicy, deliver_domain, deliver_to_hops, transaction,
};
use yubin_server::smtp::{Mode, Service, SmtpConfig};
use yubin_store::MailStore;

const MESSAGE: &[u8] = b"From: sender@remote.test\r\nTo: alice@example.test\r\nSubject: hi\r\n\r\nHello.\r\n.hidden dot line\nbare LF line\r\n";

struct Mx {
    addr: SocketAddr,
    store: MailStore,
    dir: TempDir,
    _shutdown: ShutdownTrigger,
}

/// A Yubin MX for example.test with accounts alice and bob; STARTTLS when `tls`.
async fn start_mx(tls: bool) -> Mx {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = MailStore::open(dir.path()).await.expect("store");
    store
        .add_domain("example.test", 0, 0)
        .await
        .expect("domain");
    for user in ["alice", "bob"] {
        store
            .add_account(&format!("{user}@example.test"), "pw", 0)
            .await
            .expect("account");
    }
    let acceptor = tls.then(|| {
        net::tls::acceptor(&TlsConfig::default(), dir.path(), "mx.example.test")
            .expect("self-signed certificate")
    });
    let service = Service::new(
        Mode::Mx,
        SmtpConfig::default(),
        "mx.example.test".to_string(),
        store.clone(),
        acceptor,
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (trigger, shutdown) = net::shutdown_pair();
    net::spawn_accept_loop(listener, shutdown, move |stream, peer, down| {
        service.clone().handle(stream, peer, down)
    });
    Mx {
        addr,
        store,
        dir,
        _shutdown: trigger,
    }
}

fn hop(addr: SocketAddr) -> Hop {
    Hop {
        host: "[127.0.0.1]".to_string(),
        addr,
    }
}

fn config(tls: TlsPolicy) -> OutboundConfig {
    OutboundConfig {
        helo_name: "client.remote.test".to_string(),
        tls,
        ..OutboundConfig::default()
    }
}

fn rcpts(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn inbox(store: &MailStore, account: &str) -> usize {
    store.list_messages(account, "INBOX").expect("inbox").len()
}

async fn only_message(store: &MailStore, account: &str) -> Vec<u8> {
    let list = store.list_messages(account, "INBOX").expect("inbox");
    assert_eq!(list.len(), 1, "one message in {account}'s INBOX");
    store
        .read_message(account, "INBOX", list[0].uid)
        .await
        .expect("message")
}

fn assert_delivered(outcome: &Outcome) {
    assert!(
        matches!(outcome, Outcome::Delivered(t) if t.starts_with("250 ")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn delivers_with_dots_and_line_endings_intact() {
    let mx = start_mx(false).await;
    let to = rcpts(&["alice@example.test"]);
    let envelope = Envelope {
        mail_from: "sender@remote.test",
        recipients: &to,
        message: MESSAGE,
    };
    let attempt = transaction(&config(TlsPolicy::None), &hop(mx.addr), None, &envelope).await;
    assert_eq!(attempt.host, format!("[127.0.0.1]:{}", mx.addr.port()));
    assert_eq!(attempt.recipients.len(), 1);
    assert_delivered(&attempt.recipients[0].1);
    let stored = only_message(&mx.store, "alice@example.test").await;
    let text = String::from_utf8(stored).expect("utf-8");
    assert!(
        text.starts_with("Return-Path: <sender@remote.test>\r\n"),
        "{text}"
    );
    assert!(
        text.ends_with("\r\n\r\nHello.\r\n.hidden dot line\r\nbare LF line\r\n"),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_recipient_is_permanent_and_the_others_are_delivered() {
    let mx = start_mx(false).await;
    let to = rcpts(&[
        "alice@example.test",
        "nobody@example.test",
        "bob@example.test",
    ]);
    let envelope = Envelope {
        mail_from: "sender@remote.test",
        recipients: &to,
        message: MESSAGE,
    };
    let attempt = transaction(&config(TlsPolicy::None), &hop(mx.addr), None, &envelope).await;
    let names: Vec<&str> = attempt.recipients.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(names, to.iter().map(String::as_str).collect::<Vec<_>>());
    assert_delivered(&attempt.recipients[0].1);
    let refused = &attempt.recipients[1].1;
    assert!(matches!(refused, Outcome::Permanent(_)), "{refused:?}");
    assert_eq!(refused.status(), "5.1.1");
    assert_delivered(&attempt.recipients[2].1);
    assert_eq!(inbox(&mx.store, "alice@example.test"), 1);
    assert_eq!(inbox(&mx.store, "bob@example.test"), 1);
}

#[tokio::test]
async fn no_message_is_sent_when_every_recipient_is_refused() {
    let mx = start_mx(false).await;
    let proxy = Proxy::start(mx.addr, Tamper::Nothing).await;
    let to = rcpts(&["nobody@example.test", "ghost@example.test"]);
    let envelope = Envelope {
        mail_from: "sender@remote.test",
        recipients: &to,
        message: MESSAGE,
    };
    let attempt = transaction(&config(TlsPolicy::None), &hop(proxy.addr), None, &envelope).await;
    assert!(
        attempt
            .recipients
            .iter()
            .all(|(_, o)| matches!(o, Outcome::Permanent(_))),
        "{attempt:?}"
    );
    let sent = proxy.client_text();
    assert!(!sent.contains("DATA\r\n"), "{sent}");
    assert!(sent.ends_with("QUIT\r\n"), "{sent}");
}

#[tokio::test]
async fn mail_and_rcpts_are_pipelined_with_size_8bitmime_and_smtputf8() {
    let mx = start_mx(false).await;
    let proxy = Proxy::start(mx.addr, Tamper::Nothing).await;
    let to = rcpts(&[
        "alice@example.test",
        "bob@example.test",
        "nobody@example.test",
    ]);
    let message = "Subject: caf\u{e9}\r\n\r\nd\u{e9}j\u{e0} vu\r\n".as_bytes();
    let envelope = Envelope {
        mail_from: "j\u{f6}rg@remote.test",
        recipients: &to,
        message,
    };
    let attempt = transaction(&config(TlsPolicy::None), &hop(proxy.addr), None, &envelope).await;
    assert_delivered(&attempt.recipients[0].1);
    assert_delivered(&attempt.recipients[1].1);
    assert!(matches!(attempt.recipients[2].1, Outcome::Permanent(_)));

    let log = proxy.log();
    let mail = log
        .iter()
        .position(|(dir, bytes)| *dir == Dir::Client && contains(bytes, "MAIL FROM:"))
        .expect("MAIL FROM sent");
    let last_rcpt = log
        .iter()
        .rposition(|(dir, bytes)| *dir == Dir::Client && contains(bytes, "RCPT TO:"))
        .expect("RCPT TO sent");
    assert!(
        log[mail..=last_rcpt]
            .iter()
            .all(|(dir, _)| *dir == Dir::Client),
        "the client waited for a reply between MAIL and the last RCPT"
    );
    let sent = proxy.client_text();
    let expected = format!(
        "MAIL FROM:<j\u{f6}rg@remote.test> SIZE={} BODY=8BITMIME SMTPUTF8\r\n\
         RCPT TO:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\n\
         RCPT TO:<nobody@example.test>\r\n",
        message.len()
    );
    assert!(sent.contains(&expected), "{sent}");
    let stored = only_message(&mx.store, "bob@example.test").await;
    assert!(stored.ends_with(message));
}

#[tokio::test]
async fn without_pipelining_each_command_waits_for_its_reply() {
    let mx = start_mx(false).await;
    let proxy = Proxy::start(mx.addr, Tamper::Rename("PIPELINING", "XPIPELINE")).await;
    let to = rcpts(&["alice@example.test", "bob@example.test"]);
    let envelope = Envelope {
        mail_from: "sender@remote.test",
        recipients: &to,
        message: MESSAGE,
    };
    let attempt = transaction(&config(TlsPolicy::None), &hop(proxy.addr), None, &envelope).await;
    assert!(
        attempt
            .recipients
            .iter()
            .all(|(_, o)| matches!(o, Outcome::Delivered(_)))
    );
    let log = proxy.log();
    let commands: Vec<&(Dir, Vec<u8>)> = log
        .iter()
        .filter(|(dir, bytes)| {
            *dir == Dir::Client && (contains(bytes, "MAIL FROM:") || contains(bytes, "RCPT TO:"))
        })
        .collect();
    assert_eq!(commands.len(), 3, "MAIL and two RCPT, one write each");
}

#[tokio::test]
async fn a_peer_without_smtputf8_refuses_only_the_utf8_recipient() {
    let mx = start_mx(false).await;
    let proxy = Proxy::start(mx.addr, Tamper::Rename("SMTPUTF8", "XUTF8SMTP")).await;
    let to = rcpts(&[
        "\u{30e6}\u{30fc}\u{30b6}@example.test",
        "alice@example.test",
    ]);
    let envelope = Envelope {
        mail_from: "sender@remote.test",
        recipients: &to,
        message: MESSAGE,
    };
    let attempt = transaction(&config(TlsPolicy::None), &hop(proxy.addr), None, &envelope).await;
    let refused = &attempt.recipients[0].1;
    assert!(matches!(refused, Outcome::Permanent(_)), "{refused:?}");
    assert_eq!(refused.status(), "5.6.7");
    assert_delivered(&attempt.recipients[1].1);
    let sent = proxy.client_text();
    assert!(!sent.contains("SMTPUTF8"), "{sent}");
    assert!(!sent.contains("\u{30e6}"), "{sent}");
}

#[tokio::test]
async fn starttls_is_used_when_offered_without_checking_the_certificate() {
    let mx = start_mx(true).await;
    let proxy = Proxy::start(mx.addr, Tamper::Nothing).await;
    let to = rcpts(&["alice@example.test"]);
    let envelope = Envelope {
        mail_from: "sender@remote.test",
        recipients: &to,
        message: MESSAGE,
    };
    let cfg = config(TlsPolicy::Opportunistic);
    let attempt = transaction(&cfg, &hop(proxy.addr), None, &envelope).await;
    assert_delivered(&attempt.recipients[0].1);
    let sent = proxy.client_text();
    assert!(sent.contains("STARTTLS\r\n"), "{sent}");
    assert!(
        !sent.contains("MAIL FROM"),
        "the envelope went in clear text: {sent}"
    );
    let stored =
        String::from_utf8(only_message(&mx.store, "alice@example.test").await).expect("utf-8");
    assert!(stored.contains("with ESMTPS"), "{stored}");
}

#[tokio::test]
async fn a_failed_opportunistic_handshake_is_retried_in_clear_text() {
    let mx = start_mx(true).await;
    let proxy = Proxy::start(mx.addr, Tamper::CutTls).await;
    let to = rcpts(&["alice@example.test"]);
    let envelope = Envelope {
        mail_from: "sender@remote.test",
        recipients: &to,
        message: MESSAGE,
    };
    let attempt = transaction(
        &config(TlsPolicy::Required),
        &hop(proxy.addr),
        None,
        &envelope,
    )
    .await;
    assert_eq!(attempt.recipients[0].1.status(), "4.7.5", "{attempt:?}");
    assert_eq!(inbox(&mx.store, "alice@example.test"), 0);

    let cfg = config(TlsPolicy::Opportunistic);
    let attempt = transaction(&cfg, &hop(proxy.addr), None, &envelope).await;
    assert_delivered(&attempt.recipients[0].1);
    let sent = proxy.client_text();
    assert_eq!(sent.matches("STARTTLS\r\n").count(), 2, "{sent}");
    assert!(sent.contains("MAIL FROM:<sender@remote.test>"), "{sent}");
    let stored =
        String::from_utf8(only_message(&mx.store, "alice@example.test").await).expect("utf-8");
    assert!(stored.contains("with ESMTP "), "{stored}");
}

#[tokio::test]
async fn verify_checks_the_certificate_against_the_configured_ca() {
    let mx = start_mx(true).await;
    let to = rcpts(&["alice@example.test"]);
    let envelope = Envelope {
        mail_from: "sender@remote.test",
        recipients: &to,
        message: MESSAGE,
    };
    let named = Hop {
        host: "mx.example.test".to_string(),
        addr: mx.addr,
    };
    // The built-in roots do not know the self-signed certificate.
    let attempt = transaction(&config(TlsPolicy::Verify), &named, None, &envelope).await;
    let failed = &attempt.recipients[0].1;
    assert!(matches!(failed, Outcome::Temporary(_)), "{failed:?}");
    assert_eq!(failed.status(), "4.7.5");
    assert_eq!(inbox(&mx.store, "alice@example.test"), 0);

    let cfg = OutboundConfig {
        ca_file: mx.dir.path().join("tls/cert.pem").display().to_string(),
        ..config(TlsPolicy::Verify)
    };
    cfg.validate().expect("the CA file loads");
    let attempt = transaction(&cfg, &named, None, &envelope).await;
    assert_delivered(&attempt.recipients[0].1);

    // Trusted, but issued for another name.
    let wrong = Hop {
        host: "other.example.test".to_string(),
        addr: mx.addr,
    };
    let attempt = transaction(&cfg, &wrong, None, &envelope).await;
    assert_eq!(attempt.recipients[0].1.status(), "4.7.5");
    assert_eq!(inbox(&mx.store, "alice@example.test"), 1);
}

#[tokio::test]
async fn required_tls_without_starttls_is_temporary_and_sends_nothing() {
    let mx = start_mx(false).await;
    let to = rcpts(&["alice@example.test"]);
    let envelope = Envelope {
        mail_from: "sender@remote.test",
        recipients: &to,
        message: MESSAGE,
    };
    let attempt = transaction(&config(TlsPolicy::Required), &hop(mx.addr), None, &envelope).await;
    let failed = &attempt.recipients[0].1;
    assert!(matches!(failed, Outcome::Temporary(_)), "{failed:?}");
    assert_eq!(failed.status(), "4.7.4");
    assert_eq!(inbox(&mx.store, "alice@example.test"), 0);
    // Opportunistic falls back to clear text with the same server.
    let attempt = transaction(
        &config(TlsPolicy::Opportunistic),
        &hop(mx.addr),
        None,
        &envelope,
    )
    .await;
    assert_delivered(&attempt.recipients[0].1);
}

#[tokio::test]
async fn connection_refused_is_temporary_and_the_next_address_is_tried() {
    let mx = start_mx(false).await;
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("addr")
    };
    let to = rcpts(&["alice@example.test", "nobody@example.test"]);
    let envelope = Envelope {
        mail_from: "sender@remote.test",
        recipients: &to,
        message: MESSAGE,
    };
    let down = Hop {
        host: "mx1.example.test".to_string(),
        addr: closed,
    };
    let attempt = transaction(&config(TlsPolicy::None), &down, None, &envelope).await;
    for (_, outcome) in &attempt.recipients {
        assert_eq!(
            outcome,
            &Outcome::Temporary(format!(
                "4.4.1 connect to mx1.example.test[127.0.0.1]:{}: Connection refused (os error 111)",
                closed.port()
            ))
        );
    }
    let hops = [down, hop(mx.addr)];
    let results = deliver_to_hops(&config(TlsPolicy::None), &hops, None, &envelope).await;
    assert_delivered(&results[0].1);
    assert!(matches!(results[1].1, Outcome::Permanent(_)), "{results:?}");
    assert_eq!(inbox(&mx.store, "alice@example.test"), 1);
}

#[tokio::test]
async fn deliver_domain_takes_an_address_literal_and_the_port_from_the_config() {
    let mx = start_mx(false).await;
    // Never asked: an address literal needs no DNS.
    let dns = Dns::new(&DnsConfig {
        nameservers: vec!["127.0.0.1:9".to_string()],
        timeout_ms: 100,
    })
    .expect("resolver");
    let cfg = OutboundConfig {
        port: mx.addr.port(),
        ..config(TlsPolicy::Opportunistic)
    };
    let to = rcpts(&["alice@example.test"]);
    let results = deliver_domain(&dns, &cfg, "[127.0.0.1]", "", &to, MESSAGE).await;
    assert_delivered(&results[0].1);
    let stored = only_message(&mx.store, "alice@example.test").await;
    assert!(stored.starts_with(b"Return-Path: <>\r\n"));
}

#[tokio::test]
async fn a_relay_replaces_the_mx_lookup() {
    let mx = start_mx(false).await;
    let dns = Dns::new(&DnsConfig {
        nameservers: vec!["127.0.0.1:9".to_string()],
        timeout_ms: 100,
    })
    .expect("resolver");
    let cfg = OutboundConfig {
        relay: format!("[127.0.0.1]:{}", mx.addr.port()),
        ..config(TlsPolicy::Opportunistic)
    };
    let to = rcpts(&["bob@example.test"]);
    let results = deliver_domain(&dns, &cfg, "example.test", "a@remote.test", &to, MESSAGE).await;
    assert_delivered(&results[0].1);
    assert_eq!(inbox(&mx.store, "bob@example.test"), 1);
}

#[tokio::test]
async fn a_dns_failure_is_temporary_for_every_recipient() {
    // Nothing answers on the discard port: the lookup times out.
    let dns = Dns::new(&DnsConfig {
        nameservers: vec!["127.0.0.1:9".to_string()],
        timeout_ms: 200,
    })
    .expect("resolver");
    let to = rcpts(&["a@nowhere.test", "b@nowhere.test"]);
    let cfg = config(TlsPolicy::Opportunistic);
    let results = deliver_domain(&dns, &cfg, "nowhere.test", "x@remote.test", &to, MESSAGE).await;
    assert_eq!(results.len(), 2);
    for (_, outcome) in &results {
        assert!(matches!(outcome, Outcome::Temporary(_)), "{outcome:?}");
        assert_eq!(outcome.status(), "4.4.3");
    }
}

/// What passed the proxy, in order.
type Log = Arc<Mutex<Vec<(Dir, Vec<u8>)>>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Client,
    Server,
}

/// A TCP relay that records every chunk in the order it passed, and can rename one EHLO
/// keyword in the server's replies so the client believes an extension is missing.
struct Proxy {
    addr: SocketAddr,
    log: Log,
}

/// What the proxy changes.
#[derive(Clone, Copy)]
enum Tamper {
    Nothing,
    /// Renames an EHLO keyword in the server's replies.
    Rename(&'static str, &'static str),
    /// Hangs up when the client starts a TLS handshake.
    CutTls,
}

impl Proxy {
    async fn start(upstream: SocketAddr, tamper: Tamper) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = log.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let up = pump(
                    client_read,
                    server_write,
                    Dir::Client,
                    shared.clone(),
                    tamper,
                );
                let down = pump(
                    server_read,
                    client_write,
                    Dir::Server,
                    shared.clone(),
                    tamper,
                );
                tokio::join!(up, down);
            }
        });
        Proxy { addr, log }
    }

    fn log(&self) -> Vec<(Dir, Vec<u8>)> {
        self.log.lock().expect("log").clone()
    }

    fn client_text(&self) -> String {
        let bytes: Vec<u8> = self
            .log()
            .into_iter()
            .filter(|(dir, _)| *dir == Dir::Client)
            .flat_map(|(_, b)| b)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    dir: Dir,
    log: Log,
    tamper: Tamper,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut chunk = buf[..n].to_vec();
        match tamper {
            Tamper::Rename(old, new) if dir == Dir::Server => {
                let text = String::from_utf8_lossy(&chunk);
                if text.contains(old) {
                    chunk = text.replace(old, new).into_bytes();
                }
            }
            // 0x16: a TLS handshake record.
            Tamper::CutTls if dir == Dir::Client && chunk.first() == Some(&0x16) => break,
            _ => {}
        }
        log.lock().expect("log").push((dir, chunk.clone()));
        if to.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

fn contains(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// tests/dnsserver.py serving `zone` (JSON as that script reads it); stops when dropped.
struct ZoneServer {
    port: u16,
    _child: tokio::process::Child,
    _dir: TempDir,
}

async fn start_dns(zone: serde_json::Value) -> ZoneServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("zone.json");
    std::fs::write(&path, zone.to_string()).expect("zone file");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/dnsserver.py");
    let mut child = tokio::process::Command::new("python3")
        .arg(script)
        .arg(&path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs tests/dnsserver.py");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut line = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut tokio::io::BufReader::new(stdout), &mut line)
        .await
        .expect("port line");
    let port = line.trim().parse().expect("dnsserver.py prints its port");
    ZoneServer {
        port,
        _child: child,
        _dir: dir,
    }
}

fn resolver(zone: &ZoneServer) -> Dns {
    Dns::new(&DnsConfig {
        nameservers: vec![format!("127.0.0.1:{}", zone.port)],
        timeout_ms: 2000,
    })
    .expect("resolver")
}

#[tokio::test]
async fn dns_answers_are_classified() {
    let zone = start_dns(serde_json::json!({
        "example.test": {"MX": [[20, "mx2.example.test"], [10, "MX1.example.test"]]},
        "mx1.example.test": {"A": ["127.0.0.2"], "AAAA": ["::1"]},
        "nullmx.test": {"MX": [[0, "."]]},
        "plain.test": {"A": ["127.0.0.3"]},
        "broken.test": {"SERVFAIL": true},
    }))
    .await;
    let dns = resolver(&zone);
    let mut mx = dns.mx("example.test").await.expect("MX");
    mx.sort();
    assert_eq!(
        mx,
        [
            (10, "mx1.example.test".to_string()),
            (20, "mx2.example.test".to_string())
        ]
    );
    assert_eq!(dns.mx("nullmx.test").await, Ok(vec![(0, String::new())]));
    assert_eq!(dns.mx("plain.test").await, Ok(vec![]), "NODATA");
    assert_eq!(dns.mx("nowhere.test").await, Err(LookupError::NoSuchName));
    assert!(matches!(
        dns.mx("broken.test").await,
        Err(LookupError::Temporary(_))
    ));
    assert_eq!(
        dns.addresses("mx1.example.test").await,
        Ok(vec![
            "127.0.0.2".parse().expect("ip"),
            "::1".parse().expect("ip")
        ])
    );
    assert_eq!(
        dns.addresses("plain.test").await,
        Ok(vec!["127.0.0.3".parse().expect("ip")])
    );
    assert_eq!(
        dns.addresses("mx2.example.test").await,
        Err(LookupError::NoSuchName)
    );
}

#[tokio::test]
async fn mail_goes_to_the_next_mx_when_the_first_is_busy() {
    let mx = start_mx(false).await;
    // The preferred MX, on 127.0.0.2 at the same port, greets with 421 and hangs up.
    let busy = TcpListener::bind(SocketAddr::from(([127, 0, 0, 2], mx.addr.port())))
        .await
        .expect("bind 127.0.0.2");
    let greeted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = greeted.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = busy.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = conn.write_all(b"421 4.3.2 busy, try later\r\n").await;
        }
    });
    let zone = start_dns(serde_json::json!({
        "example.test": {"MX": [[10, "mx1.example.test"], [20, "mx2.example.test"]]},
        "mx1.example.test": {"A": ["127.0.0.2"]},
        "mx2.example.test": {"A": ["127.0.0.1"]},
        "implicit.test": {"A": ["127.0.0.1"]},
        "nullmx.test": {"MX": [[0, "."]]},
    }))
    .await;
    let dns = resolver(&zone);
    let cfg = OutboundConfig {
        port: mx.addr.port(),
        ..config(TlsPolicy::Opportunistic)
    };
    let to = rcpts(&["alice@example.test", "nobody@example.test"]);
    let results = deliver_domain(&dns, &cfg, "example.test", "s@remote.test", &to, MESSAGE).await;
    assert_delivered(&results[0].1);
    assert_eq!(results[1].1.status(), "5.1.1", "{results:?}");
    assert_eq!(inbox(&mx.store, "alice@example.test"), 1);
    assert_eq!(
        greeted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "mx1 tried first"
    );

    // No MX: the domain's own address (the MX only checks the recipient's account).
    let to = rcpts(&["bob@example.test"]);
    let results = deliver_domain(&dns, &cfg, "implicit.test", "s@remote.test", &to, MESSAGE).await;
    assert_delivered(&results[0].1);

    let results = deliver_domain(&dns, &cfg, "nullmx.test", "s@remote.test", &to, MESSAGE).await;
    assert!(matches!(results[0].1, Outcome::Permanent(_)), "{results:?}");
    assert_eq!(results[0].1.status(), "5.1.10");
    let results = deliver_domain(&dns, &cfg, "nowhere.test", "s@remote.test", &to, MESSAGE).await;
    assert!(matches!(results[0].1, Outcome::Permanent(_)), "{results:?}");
    assert_eq!(results[0].1.status(), "5.1.2");
    assert_eq!(inbox(&mx.store, "bob@example.test"), 1);
}
