"""A small authoritative DNS server for the tests (Python standard library only).

It answers A, AAAA, MX (including the null MX "."), TXT (strings longer than 255 bytes are
split into 255-byte chunks, as DKIM keys need) and SOA from a dict, over UDP and TCP on one
port of 127.0.0.1. Names not in the zone get NXDOMAIN; a name that exists (or has names below
it) without records of the asked type gets an empty NOERROR answer (NODATA). Negative answers
carry an SOA with a minimum TTL of 0 and every record has TTL 0, so a resolver's cache never
hides a change made with `set`.

    with DnsServer({"example.test": {"MX": [(10, "mx.example.test")]},
                    "mx.example.test": {"A": ["127.0.0.1"]}}) as dns:
        dns.port                       # where to send queries
        dns.set("example.test", "MX", [(0, ".")])   # a null MX from now on
        dns.set("broken.test", "SERVFAIL", True)    # answer SERVFAIL for that name

UDP answers bigger than the client's limit (512 bytes, or its EDNS0 size) are sent truncated
(TC set, no records), so the client retries over TCP. `dns.queries` lists (name, type,
"udp"/"tcp") in the order they came.

Run as a program (`python3 tests/dnsserver.py ZONE.json`) it prints its port on one line and
serves until standard input is closed; in the JSON, MX values are [preference, exchange] pairs.
"""

import ipaddress
import json
import socket
import socketserver
import struct
import sys
import threading

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "OPT": 41}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP = 0, 1, 2, 3, 4


def _norm(name):
    return name.rstrip(".").lower()


def encode_name(name):
    """Wire form of a name, uncompressed; "" and "." are the root."""
    out = b""
    for label in _norm(name).split(".") if _norm(name) else []:
        raw = label.encode("idna") if not label.isascii() else label.encode()
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad label in {name!r}")
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def decode_name(msg, pos):
    """(name, position after it), following compression pointers."""
    labels, end, jumps = [], None, 0
    while True:
        if pos >= len(msg):
            raise ValueError("name runs past the message")
        length = msg[pos]
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(msg) or jumps > 20:
                raise ValueError("bad compression pointer")
            if end is None:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | msg[pos + 1]
            jumps += 1
            continue
        if length == 0:
            name = ".".join(labels)
            return name, (end if end is not None else pos + 1)
        labels.append(msg[pos + 1:pos + 1 + length].decode("latin-1"))
        pos += 1 + length


def _rdata(rtype, value, origin):
    if rtype == "A":
        return ipaddress.IPv4Address(value).packed
    if rtype == "AAAA":
        return ipaddress.IPv6Address(value).packed
    if rtype == "MX":
        preference, exchange = value
        return struct.pack("!H", preference) + encode_name(exchange)
    if rtype == "TXT":
        data = value.encode() if isinstance(value, str) else bytes(value)
        chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]
        return b"".join(bytes([len(c)]) + c for c in chunks)
    if rtype == "SOA":
        return _soa(origin)
    raise ValueError(f"unsupported record type {rtype}")


def _soa(origin):
    return (encode_name("ns." + origin) + encode_name("hostmaster." + origin)
            + struct.pack("!IIIII", 1, 3600, 600, 86400, 0))


def _record(name, rtype, rdata):
    return encode_name(name) + struct.pack("!HHIH", TYPES[rtype], 1, 0, len(rdata)) + rdata


class DnsServer:
    """The zone and the two listeners; a context manager."""

    def __init__(self, zone=None, host="127.0.0.1"):
        self._lock = threading.Lock()
        self._zone = {}
        self.host = host
        self.port = None
        self.queries = []
        for name, records in (zone or {}).items():
            for rtype, values in records.items():
                self.set(name, rtype, values)
        self._servers = []

    def set(self, name, rtype, values):
        """Replaces `name`'s records of `rtype`; None or [] removes them. rtype "SERVFAIL"
        with a true value makes every query for the name fail."""
        rtype = rtype.upper()
        if rtype not in TYPES and rtype != "SERVFAIL":
            raise ValueError(f"unsupported record type {rtype}")
        if rtype == "MX":
            values = [tuple(v) for v in values or []]
        with self._lock:
            records = self._zone.setdefault(_norm(name), {})
            if values:
                records[rtype] = values if rtype == "SERVFAIL" else list(values)
            else:
                records.pop(rtype, None)

    def remove(self, name):
        """Removes the name and all its records (queries for it get NXDOMAIN again)."""
        with self._lock:
            self._zone.pop(_norm(name), None)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        for _ in range(50):
            udp = _UdpServer((self.host, 0), _UdpHandler, self)
            port = udp.server_address[1]
            try:
                tcp = _TcpServer((self.host, port), _TcpHandler, self)
            except OSError:
                udp.server_close()
                continue
            self.port = port
            self._servers = [udp, tcp]
            for server in self._servers:
                threading.Thread(target=server.serve_forever, daemon=True).start()
            return
        raise OSError("no port free for both UDP and TCP")

    def stop(self):
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []

    def answer(self, query, transport):
        """The response to one query message (bytes), or None to stay silent."""
        if len(query) < 12:
            return None
        ident, flags, qdcount, _, _, arcount = struct.unpack("!HHHHHH", query[:12])
        if flags & 0x8000:
            return None
        opcode = (flags >> 11) & 0xF
        rd = flags & 0x0100
        try:
            if qdcount != 1:
                raise ValueError("one question expected")
            qname, pos = decode_name(query, 12)
            qtype, qclass = struct.unpack("!HH", query[pos:pos + 4])
            question = query[12:pos + 4]
            udp_size, has_opt = 512, False
            pos += 4
            for _ in range(arcount):
                _, pos = decode_name(query, pos)
                rtype, rclass, _, rdlen = struct.unpack("!HHIH", query[pos:pos + 10])
                if rtype == TYPES["OPT"]:
                    udp_size, has_opt = max(512, rclass), True
                pos += 10 + rdlen
        except (ValueError, struct.error):
            return struct.pack("!HHHHHH", ident, 0x8000 | rd | FORMERR, 0, 0, 0, 0)
        with self._lock:
            self.queries.append((_norm(qname), TYPE_NAMES.get(qtype, str(qtype)), transport))
            rcode, answers, authority = self._lookup(_norm(qname), qtype, opcode, qclass)
        header_flags = 0x8000 | 0x0400 | rd | rcode  # QR, AA
        additional = [b"\0" + struct.pack("!HHIH", TYPES["OPT"], 4096, 0, 0)] if has_opt else []
        body = question + b"".join(answers) + b"".join(authority) + b"".join(additional)
        if transport == "udp" and 12 + len(body) > udp_size:
            header = struct.pack("!HHHHHH", ident, header_flags | 0x0200, 1, 0, 0, 0)
            return header + question
        header = struct.pack("!HHHHHH", ident, header_flags, 1, len(answers), len(authority),
                             len(additional))
        return header + body

    def _lookup(self, name, qtype, opcode, qclass):
        if opcode != 0 or qclass != 1:
            return NOTIMP, [], []
        records = self._zone.get(name)
        if records is None:
            below = any(n.endswith("." + name) for n in self._zone) or name == ""
            if not below:
                return NXDOMAIN, [], [_record(self._origin(name), "SOA", _soa(self._origin(name)))]
            records = {}
        if records.get("SERVFAIL"):
            return SERVFAIL, [], []
        rtype = TYPE_NAMES.get(qtype)
        values = records.get(rtype, []) if rtype else []
        if rtype == "SOA" and not values and name == self._origin(name):
            values = [None]
        if not values:
            origin = self._origin(name)
            return NOERROR, [], [_record(origin, "SOA", _soa(origin))]
        return NOERROR, [_record(name, rtype, _rdata(rtype, v, name)) for v in values], []

    def _origin(self, name):
        """The zone apex a name falls under: its last two labels."""
        return ".".join(name.split(".")[-2:]) if name else ""


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, address, handler, dns):
        self.dns = dns
        super().__init__(address, handler)


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, dns):
        self.dns = dns
        super().__init__(address, handler)


class _UdpHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        reply = self.server.dns.answer(data, "udp")
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _TcpHandler(socketserver.BaseRequestHandler):
    def handle(self):
        conn = self.request
        conn.settimeout(10)
        try:
            while True:
                head = _read_exact(conn, 2)
                if head is None:
                    return
                query = _read_exact(conn, struct.unpack("!H", head)[0])
                if query is None:
                    return
                reply = self.server.dns.answer(query, "tcp")
                if reply is not None:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return


def _read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def main(argv):
    zone = {}
    if len(argv) > 1:
        with open(argv[1], encoding="utf-8") as f:
            zone = json.load(f)
    with DnsServer(zone) as dns:
        print(dns.port, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv)
