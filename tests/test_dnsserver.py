"""tests/dnsserver.py answers as a DNS server should: checked with dig (an independent
client, over UDP and TCP) and with a raw TCP query."""

import shutil
import socket
import struct
import subprocess

import pytest

from dnsserver import DnsServer, decode_name, encode_name

ZONE = {
    "example.test": {
        "MX": [(10, "mx1.example.test"), (20, "mx2.example.test")],
        "TXT": ["v=spf1 ip4:127.0.0.1 -all"],
    },
    "mx1.example.test": {"A": ["127.0.0.1"], "AAAA": ["::1"]},
    "mx2.example.test": {"A": ["127.0.0.2"]},
    "nullmx.test": {"MX": [(0, ".")]},
    "deep.sub.example.test": {"A": ["127.0.0.9"]},
}

needs_dig = pytest.mark.skipif(shutil.which("dig") is None, reason="dig (bind9-dnsutils) missing")


def dig(port, name, rtype, *options):
    out = subprocess.run(
        ["dig", "@127.0.0.1", "-p", str(port), "+tries=1", "+time=2", *options, name, rtype],
        capture_output=True, text=True, timeout=20, check=True,
    ).stdout
    status = next(line for line in out.splitlines() if "status:" in line)
    status = status.split("status:")[1].split(",")[0].strip()
    answers = [line.split("\t")[-1] for line in out.splitlines()
               if line and not line.startswith(";") and f"\t{rtype}\t" in line]
    return status, answers, out


@pytest.fixture
def dns():
    with DnsServer(ZONE) as server:
        yield server


@needs_dig
def test_answers_a_aaaa_mx_and_txt(dns):
    assert dig(dns.port, "mx1.example.test", "A")[:2] == ("NOERROR", ["127.0.0.1"])
    assert dig(dns.port, "MX1.Example.TEST", "AAAA")[:2] == ("NOERROR", ["::1"])
    status, answers, _ = dig(dns.port, "example.test", "MX")
    assert status == "NOERROR"
    assert sorted(answers) == ["10 mx1.example.test.", "20 mx2.example.test."]
    assert dig(dns.port, "example.test", "TXT")[:2] == ("NOERROR", ['"v=spf1 ip4:127.0.0.1 -all"'])


@needs_dig
def test_null_mx_is_a_root_exchange(dns):
    assert dig(dns.port, "nullmx.test", "MX")[:2] == ("NOERROR", ["0 ."])


@needs_dig
def test_unknown_names_are_nxdomain_and_missing_types_nodata(dns):
    status, answers, out = dig(dns.port, "nowhere.test", "MX")
    assert (status, answers) == ("NXDOMAIN", [])
    assert "\tSOA\t" in out, "negative answers carry an SOA for negative caching"
    assert dig(dns.port, "mx2.example.test", "AAAA")[:2] == ("NOERROR", [])
    # An empty non-terminal exists (RFC 8020): NODATA, not NXDOMAIN.
    assert dig(dns.port, "sub.example.test", "A")[:2] == ("NOERROR", [])


@needs_dig
def test_changes_at_runtime_are_seen_at_once(dns):
    dns.set("example.test", "MX", [(0, ".")])
    assert dig(dns.port, "example.test", "MX")[:2] == ("NOERROR", ["0 ."])
    dns.set("new.test", "A", ["127.0.0.5"])
    assert dig(dns.port, "new.test", "A")[:2] == ("NOERROR", ["127.0.0.5"])
    dns.remove("new.test")
    assert dig(dns.port, "new.test", "A")[0] == "NXDOMAIN"
    dns.set("broken.test", "SERVFAIL", True)
    assert dig(dns.port, "broken.test", "MX")[0] == "SERVFAIL"


@needs_dig
def test_long_txt_is_split_and_big_answers_go_over_tcp(dns):
    key = "v=DKIM1; k=rsa; p=" + "A" * 600
    dns.set("sel._domainkey.example.test", "TXT", [key])
    status, answers, _ = dig(dns.port, "sel._domainkey.example.test", "TXT", "+noedns", "+ignore")
    assert status == "NOERROR"
    assert answers == [], "over 512 bytes without EDNS: truncated, no records"
    status, answers, _ = dig(dns.port, "sel._domainkey.example.test", "TXT", "+noedns")
    assert status == "NOERROR"
    strings = answers[0].strip('"').split('" "')
    assert [len(s) for s in strings] == [255, 255, len(key) - 510]
    assert "".join(strings) == key
    assert ("sel._domainkey.example.test", "TXT", "tcp") in dns.queries
    assert dig(dns.port, "example.test", "MX", "+tcp")[0] == "NOERROR"


def test_tcp_query_with_python_sockets(dns):
    query = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + encode_name("mx2.example.test")
    query += struct.pack("!HH", 1, 1)
    with socket.create_connection(("127.0.0.1", dns.port), timeout=5) as conn:
        conn.sendall(struct.pack("!H", len(query)) + query)
        length = struct.unpack("!H", conn.recv(2))[0]
        reply = b""
        while len(reply) < length:
            reply += conn.recv(length - len(reply))
    ident, flags, qd, an, _, _ = struct.unpack("!HHHHHH", reply[:12])
    assert (ident, flags & 0x000F, qd, an) == (0x1234, 0, 1, 1)
    assert flags & 0x8400 == 0x8400, "a response, authoritative"
    _, pos = decode_name(reply, 12)
    name, pos = decode_name(reply, pos + 4)
    rtype, _, _, rdlen = struct.unpack("!HHIH", reply[pos:pos + 10])
    assert (name, rtype, reply[pos + 10:pos + 10 + rdlen]) == ("mx2.example.test", 1, bytes([127, 0, 0, 2]))
