"""Outbound delivery end to end: two Yubin instances on loopback serving a.test and b.test, a
local authoritative DNS server (tests/dnsserver.py) publishing their MX, SPF, DKIM and DMARC
records.

Alice at a.test sends over submission with smtplib; a.test's queue runner looks up b.test's MX
and delivers to the other instance. Unknown users bounce with a DSN, an unreachable destination
gets a delay warning and then a bounce (shortened retry schedule), and SIGKILL of the sender
loses nothing and re-sends nothing that was already delivered. b.test checks what arrives:
a.test's mail passes DKIM and DMARC, a forged a.test sender fails DMARC and is refused.

a.test's SPF record allows only 127.0.0.2, an address the sending instance does not use, so its
mail passes DMARC through its DKIM signature alone; c.test (no DKIM key) allows 127.0.0.1 and
passes through SPF.
"""

import email
import email.policy
import re
import time

import smtplib

import pytest

from dnsserver import DnsServer
from yubintest import PASSWORD, make_message

ALICE = "alice@a.test"
IN_FLIGHT = 4  # [queue] destination_concurrency in these tests
BOB = "bob@b.test"


def parsed(stored: bytes):
    return email.message_from_bytes(stored, policy=email.policy.default)


def wait_for(what, predicate, timeout=30.0, every=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def queue_ids(server) -> list[str]:
    out = server.admin("queue", "list").stdout
    return [line.split("\t")[0] for line in out.splitlines() if line.strip()]


@pytest.fixture
def pair(make_server):
    zone = {
        "a.test": {"MX": [(10, "mx.a.test")], "TXT": ["v=spf1 ip4:127.0.0.2 -all"]},
        "mx.a.test": {"A": ["127.0.0.1"]},
        "_dmarc.a.test": {"TXT": ["v=DMARC1; p=reject"]},
        "b.test": {"MX": [(10, "mx.b.test")]},
        "mx.b.test": {"A": ["127.0.0.1"]},
        "c.test": {"MX": [(10, "mx.a.test")], "TXT": ["v=spf1 ip4:127.0.0.1 -all"]},
        "_dmarc.c.test": {"TXT": ["v=DMARC1; p=reject"]},
        # nothing listens on 127.0.0.2 at the peer's port: connection refused
        "down.test": {"MX": [(10, "mx.down.test")]},
        "mx.down.test": {"A": ["127.0.0.2"]},
        "nomail.test": {"MX": [(0, ".")]},
    }
    with DnsServer(zone) as dns:
        resolver = {"nameservers": [f"127.0.0.1:{dns.port}"], "timeout_ms": 2000}
        b = make_server({"server": {"hostname": "mx.b.test"}, "dns": resolver,
                         "checks": {"enabled": True}})
        b.admin("domain", "add", "b.test")
        b.admin("account", "add", BOB, "--password", PASSWORD)
        a = make_server({
            "server": {"hostname": "mx.a.test"},
            "dns": resolver,
            "outbound": {"port": b.smtp_port, "connect_timeout_secs": 5},
            "queue": {"min_backoff_secs": 1, "max_backoff_secs": 2, "delay_warning_secs": 3,
                      "lifetime_secs": 9, "destination_concurrency": IN_FLIGHT},
        })
        a.admin("domain", "add", "a.test")
        a.admin("account", "add", ALICE, "--password", PASSWORD)
        publish_dkim(a, dns, "a.test")
        yield a, b, dns


RECORD_RE = re.compile(r'^(?P<name>\S+)\. IN TXT (?P<strings>(?:"[^"]*" ?)+)$')


def publish_dkim(server, dns, domain):
    """`yubin admin dkim generate DOMAIN`, and its printed records into the DNS zone."""
    out = server.admin("dkim", "generate", domain).stdout
    published = 0
    for line in out.splitlines():
        m = RECORD_RE.match(line.strip())
        if m:
            dns.set(m["name"], "TXT", ["".join(re.findall(r'"([^"]*)"', m["strings"]))])
            published += 1
    assert published == 2, out  # RSA and Ed25519


def auth_results(stored: bytes) -> str:
    fields = parsed(stored).get_all("Authentication-Results") or []
    assert len(fields) == 1, fields
    return " ".join(str(fields[0]).split())


def send(a, recipients, subject, msgid=None):
    s = a.submission(ALICE)
    m = make_message(ALICE, recipients[0], subject=subject, msgid=msgid)
    assert s.sendmail(ALICE, recipients, m) == {}
    s.quit()


def test_submission_to_another_domain_is_delivered_by_mx(pair):
    a, b, dns = pair
    send(a, [BOB], "across domains", msgid="<x1@a.test>")
    rows = wait_for("bob's copy", lambda: b.messages(BOB))
    stored = b.show(BOB, rows[0].uid)
    msg = parsed(stored)
    assert msg["Subject"] == "across domains" and msg["Message-ID"] == "<x1@a.test>"
    assert msg["Return-Path"] == f"<{ALICE}>"
    received = msg.get_all("Received")
    assert any("by mx.b.test" in r and "ESMTPS" in r for r in received), received  # STARTTLS
    assert any("by mx.a.test" in r and "ESMTPSA" in r for r in received), received
    assert any(q[0] == "b.test" and q[1] == "MX" for q in dns.queries), dns.queries
    wait_for("an empty queue", lambda: not queue_ids(a))
    assert a.messages(ALICE) == []  # no bounce
    # b.test checked it: signed by a.test (RSA and Ed25519), aligned, so DMARC passes although
    # SPF fails.
    results = auth_results(stored)
    assert results.startswith("mx.b.test;"), results
    assert re.search(r"dkim=pass[^;]*header\.d=a\.test", results), results
    assert "dmarc=pass" in results and "spf=fail" in results, results
    assert len(msg.get_all("DKIM-Signature")) == 2


def test_forged_sender_fails_dmarc_and_is_refused(pair):
    _, b, _ = pair
    s = b.smtp()
    s.ehlo("forger.test")
    forged = make_message(ALICE, BOB, subject="I am not alice")
    with pytest.raises(smtplib.SMTPDataError) as e:
        s.sendmail(ALICE, [BOB], forged)
    assert e.value.smtp_code == 550 and b"5.7.1" in e.value.smtp_error, e.value
    assert b"DMARC" in e.value.smtp_error
    # A domain that authorizes this address by SPF passes DMARC without DKIM; a forged
    # Authentication-Results claiming to be b.test's is removed.
    m = make_message("news@c.test", BOB, subject="spf only",
                     extra_headers="Authentication-Results: mx.b.test; dmarc=pass\r\n")
    assert s.sendmail("news@c.test", [BOB], m) == {}
    s.quit()
    stored = b.show(BOB, b.messages(BOB)[0].uid)
    results = auth_results(stored)
    assert "spf=pass" in results and "dmarc=pass" in results and "dkim=none" in results, results
    assert len(b.messages(BOB)) == 1, "the forged message was not stored"


def test_unknown_remote_user_bounces_with_a_dsn(pair):
    a, b, _ = pair
    send(a, ["nobody@b.test", BOB], "half wrong")
    bounces = wait_for("the bounce", lambda: a.messages(ALICE))
    dsn = parsed(a.show(ALICE, bounces[0].uid))
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    assert dsn["Return-Path"] == "<>"
    assert dsn["Auto-Submitted"] == "auto-replied"
    assert "MAILER-DAEMON@mx.a.test" in dsn["From"]
    status = next(p for p in dsn.walk() if p.get_content_type() == "message/delivery-status")
    text = status.as_string()
    assert "Final-Recipient: rfc822; nobody@b.test" in text
    assert "Action: failed" in text and "Status: 5.1.1" in text
    assert BOB not in text  # bob got his copy, he is not in the report
    headers = next(p for p in dsn.walk() if p.get_content_type() == "text/rfc822-headers")
    assert "Subject: half wrong" in headers.as_string()
    wait_for("bob's copy", lambda: b.messages(BOB))
    wait_for("an empty queue", lambda: not queue_ids(a))


def test_unreachable_destination_warns_then_bounces(pair):
    a, _, _ = pair
    send(a, ["someone@down.test"], "nobody listens")
    ids = queue_ids(a)
    assert len(ids) == 1
    show = a.admin("queue", "show", ids[0]).stdout
    assert "someone@down.test" in show
    delay = wait_for("the delay warning", lambda: a.messages(ALICE), timeout=20)
    warning = parsed(a.show(ALICE, delay[0].uid))
    assert warning["Subject"] == "Delayed Mail (still being retried)"
    assert "Action: delayed" in warning.as_string()
    assert "Will-Retry-Until:" in warning.as_string()
    assert "refused" in warning.as_string()
    both = wait_for("the bounce", lambda: len(a.messages(ALICE)) >= 2 and a.messages(ALICE),
                    timeout=30)
    assert len(both) == 2
    bounce = parsed(a.show(ALICE, both[1].uid))
    assert bounce["Subject"] == "Undelivered Mail Returned to Sender"
    assert "Action: failed" in bounce.as_string() and "Status: 5.4.7" in bounce.as_string()
    assert not queue_ids(a)
    a.admin("check")


def test_null_mx_bounces_at_once(pair):
    a, _, _ = pair
    send(a, ["x@nomail.test"], "null mx")
    bounce = wait_for("the bounce", lambda: a.messages(ALICE), timeout=15)
    text = parsed(a.show(ALICE, bounce[0].uid)).as_string()
    assert "Status: 5.1.10" in text


def test_no_bounce_for_the_null_sender(pair):
    a, b, _ = pair
    s = a.submission(ALICE)
    m = make_message(ALICE, "nobody@b.test", subject="a notification")
    assert s.sendmail("", ["nobody@b.test"], m) == {}
    s.quit()
    wait_for("the failed message to leave the queue", lambda: not queue_ids(a))
    time.sleep(1)
    assert a.messages(ALICE) == [], "a DSN must never go to the null sender"


def test_sigkill_while_sending_loses_and_duplicates_nothing(pair):
    a, b, _ = pair
    n = 60
    s = a.submission(ALICE)
    ids = [f"<kill.{i}@a.test>" for i in range(n)]
    for i, msgid in enumerate(ids):
        assert s.sendmail(ALICE, [BOB], make_message(ALICE, BOB, subject=f"k{i}",
                                                     msgid=msgid)) == {}
    s.quit()
    # kill the sender while it is delivering
    wait_for("some deliveries", lambda: len(b.messages(BOB)) >= 5, timeout=30, every=0.02)
    a.kill9()
    a.start()
    wait_for("an empty queue", lambda: not queue_ids(a), timeout=60)
    rows = b.messages(BOB)
    got = [r.message_id for r in rows]
    assert set(got) == set(ids), "every acknowledged message arrives"
    dupes = {m for m in got if got.count(m) > 1}
    # Only a transaction in flight at the kill can arrive twice: the remote side may have
    # accepted it before the sender recorded that (RFC 5321 §6.1). Every recorded delivery
    # stays delivered.
    print(f"\nSIGKILL while sending {n}: {len(dupes)} sent twice (limit {IN_FLIGHT})")
    assert len(dupes) <= IN_FLIGHT, dupes
    # Killed when idle, nothing is sent again.
    count = len(rows)
    a.kill9()
    a.start()
    time.sleep(3)
    assert len(b.messages(BOB)) == count
    a.admin("check")


def test_smart_host_with_auth(make_server):
    # The smart host is another Yubin's submission port: it wants STARTTLS, then AUTH, and
    # the sender must be its account's own address, so it hosts a.test with alice too.
    relay = make_server({"server": {"hostname": "relay.test"}})
    for domain in ("a.test", "b.test"):
        relay.admin("domain", "add", domain)
    relay.admin("account", "add", ALICE, "--password", PASSWORD)
    relay.admin("account", "add", BOB, "--password", PASSWORD)
    a = make_server({
        "server": {"hostname": "mx.a.test"},
        "outbound": {"relay": f"127.0.0.1:{relay.submission_port}", "relay_user": ALICE,
                     "relay_password": PASSWORD, "tls": "required"},
        "queue": {"min_backoff_secs": 1, "max_backoff_secs": 1},
    })
    a.admin("domain", "add", "a.test")
    a.admin("account", "add", ALICE, "--password", PASSWORD)
    send(a, [BOB], "via the smart host", msgid="<relay.1@a.test>")
    try:
        rows = wait_for("bob's copy at the relay", lambda: relay.messages(BOB), timeout=15)
    except AssertionError:
        raise AssertionError(a.admin("queue", "list").stdout)
    msg = parsed(relay.show(BOB, rows[0].uid))
    assert msg["Message-ID"] == "<relay.1@a.test>"
    assert any("by relay.test" in r and "ESMTPSA" in r for r in msg.get_all("Received"))
    wait_for("an empty queue", lambda: not queue_ids(a))
    # A wrong password at the relay is a temporary failure: the mail waits, nothing bounces.
    a.stop()
    a.config["outbound"]["relay_password"] = "wrong"
    a.write_config()
    a.start()
    send(a, [BOB], "wrong relay password")
    time.sleep(3)
    ids = queue_ids(a)
    assert len(ids) == 1
    show = a.admin("queue", "show", ids[0]).stdout
    assert "status=pending" in show and "535" in show, show
    assert a.messages(ALICE) == []


def test_tls_policy_per_destination(pair, make_server):
    _, b, dns = pair
    resolver = {"nameservers": [f"127.0.0.1:{dns.port}"], "timeout_ms": 2000}

    def sender(outbound):
        srv = make_server({"server": {"hostname": "mx.a.test"}, "dns": resolver,
                           "outbound": {"port": b.smtp_port, **outbound}})
        srv.admin("domain", "add", "a.test")
        srv.admin("account", "add", ALICE, "--password", PASSWORD)
        publish_dkim(srv, dns, "a.test")  # b.test enforces a.test's DMARC policy
        return srv

    def protocol_at_b(srv, subject):
        send(srv, [BOB], subject)
        rows = wait_for(subject, lambda: [r for r in b.messages(BOB)
                                          if subject in parsed(b.show(BOB, r.uid))["Subject"]])
        received = parsed(b.show(BOB, rows[0].uid)).get_all("Received")
        return next(r.split(" with ")[1].split()[0] for r in received if "by mx.b.test" in r)

    plain = sender({"tls": "none"})
    assert protocol_at_b(plain, "no tls") == "ESMTP"
    plain.stop()
    # TLS off in general, but required for b.test
    required = sender({"tls": "none", "tls_domains": {"b.test": "required"}})
    assert protocol_at_b(required, "tls for b.test") == "ESMTPS"
