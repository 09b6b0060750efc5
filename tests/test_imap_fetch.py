"""IMAP message commands: FETCH (every item, sections, partial, BINARY), STORE, COPY/MOVE,
EXPUNGE/UID EXPUNGE, CLOSE vs UNSELECT, CHECK, CONDSTORE and QRESYNC."""

import base64
import imaplib

from imapclient import Imap, fetch_map, parse, seqset
from yubintest import ALICE, make_message

PNG = bytes(range(256)) * 4  # binary attachment with NULs and high bytes

NESTED = (
    b"From: Bob Example <bob@example.test>\r\n"
    b"To: Alice <alice@example.test>, carol@example.test\r\n"
    b"Cc: =?UTF-8?B?5bGx55Sw?= <yamada@example.test>\r\n"
    b"Subject: =?UTF-8?B?5pel5pys6Kqe44Gu5Lu25ZCN?=\r\n"
    b"Date: Tue, 01 Dec 2026 09:30:00 +0900\r\n"
    b"Message-ID: <nested.1@client.test>\r\n"
    b"In-Reply-To: <parent@client.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    b"\r\n"
    b"preamble\r\n"
    b"--outer\r\n"
    b"Content-Type: multipart/alternative; boundary=\"inner\"\r\n"
    b"\r\n"
    b"--inner\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Caf=C3=A9 au lait\r\n"
    b"--inner\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<p>Caf\xc3\xa9</p>\r\n"
    b"--inner--\r\n"
    b"--outer\r\n"
    b"Content-Type: image/png; name=\"dots.png\"\r\n"
    b"Content-Disposition: attachment; filename=\"dots.png\"\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    + base64.encodebytes(PNG).replace(b"\n", b"\r\n")
    + b"--outer\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"From: inner@example.test\r\n"
    b"Subject: forwarded\r\n"
    b"\r\n"
    b"inner body\r\n"
    b"--outer--\r\n"
)


def msg(subject="hello", body="Hello.\r\n", **kw) -> bytes:
    return make_message("bob@example.test", ALICE, subject=subject, body=body, **kw)


def setup_inbox(server, *messages, flags=None):
    c = Imap(server)
    for m in messages:
        r = c.append("INBOX", m, flags=flags)
        assert r.status == "OK", r
    c.ok("SELECT INBOX")
    return c


# --------------------------------------------------------------------------
# FETCH
# --------------------------------------------------------------------------


def test_fetch_metadata_items(example):
    m = msg("meta")
    c = setup_inbox(example, m)
    f = c.fetch("FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE)")[1]
    assert f["UID"] == "1"
    assert list(f["FLAGS"]) in ([], ["\\Recent"])
    assert int(f["RFC822.SIZE"]) == len(m)
    assert isinstance(f["INTERNALDATE"], bytes) and len(f["INTERNALDATE"]) == 26
    # macros
    f = c.fetch("FETCH 1 ALL")[1]
    assert set(f) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}, f
    f = c.fetch("FETCH 1 FAST")[1]
    assert set(f) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}, f
    f = c.fetch("FETCH 1 FULL")[1]
    assert set(f) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"}, f
    # UID FETCH always includes UID
    f = c.fetch("UID FETCH 1 FLAGS")[1]
    assert f["UID"] == "1"


def test_fetch_envelope(example):
    c = setup_inbox(example, NESTED)
    env = c.fetch("FETCH 1 ENVELOPE")[1]["ENVELOPE"]
    date, subject, frm, sender, reply_to, to, cc, bcc, in_reply_to, message_id = env
    assert date == b"Tue, 01 Dec 2026 09:30:00 +0900"
    assert subject == b"=?UTF-8?B?5pel5pys6Kqe44Gu5Lu25ZCN?="
    assert frm == [[b"Bob Example", None, b"bob", b"example.test"]]
    # RFC 9051 §7.5.2: sender and reply-to default to from
    assert sender == frm and reply_to == frm
    assert to == [[b"Alice", None, b"alice", b"example.test"], [None, None, b"carol", b"example.test"]]
    assert cc == [[b"=?UTF-8?B?5bGx55Sw?=", None, b"yamada", b"example.test"]]
    assert bcc is None
    assert in_reply_to == b"<parent@client.test>"
    assert message_id == b"<nested.1@client.test>"


def test_fetch_bodystructure_nested(example):
    c = setup_inbox(example, NESTED)
    bs = c.fetch("FETCH 1 BODYSTRUCTURE")[1]["BODYSTRUCTURE"]
    alt, png, rfc822 = bs[0], bs[1], bs[2]
    assert str(bs[3]).upper() == "MIXED" or bs[3].upper() == b"MIXED"
    plain, html = alt[0], alt[1]
    assert [plain[0].upper(), plain[1].upper()] == [b"TEXT", b"PLAIN"]
    assert [x.upper() if isinstance(x, bytes) else x for x in plain[2]] == [b"CHARSET", b"UTF-8"]
    assert plain[5].upper() == b"QUOTED-PRINTABLE"
    assert html[1].upper() == b"HTML"
    assert alt[2].upper() == b"ALTERNATIVE"
    assert png[0].upper() == b"IMAGE" and png[1].upper() == b"PNG"
    assert png[5].upper() == b"BASE64"
    assert int(png[6]) > len(PNG)  # encoded size
    assert rfc822[0].upper() == b"MESSAGE" and rfc822[1].upper() == b"RFC822"
    # message/rfc822: envelope, body, lines follow the basic fields
    assert rfc822[7][1] == b"forwarded"
    # BODY (non-extensible) has no extension data
    body = c.fetch("FETCH 1 BODY")[1]["BODY"]
    assert len(body) == 4 and body[3].upper() == b"MIXED", body  # no params/disposition


def test_fetch_sections(example):
    c = setup_inbox(example, NESTED)
    head, _, _ = NESTED.partition(b"\r\n\r\n")
    f = c.fetch("FETCH 1 (BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1.1] BODY.PEEK[1.2.MIME] "
                "BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT] BODY.PEEK[4])")[1]
    assert f["BODY[HEADER]"] == head + b"\r\n\r\n"
    assert f["BODY[TEXT]"] == NESTED[len(head) + 4:]
    assert f["BODY[1.1]"] == b"Caf=C3=A9 au lait"
    assert f["BODY[1.2.MIME]"] == b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    assert f["BODY[3.HEADER]"] == b"From: inner@example.test\r\nSubject: forwarded\r\n\r\n"
    assert f["BODY[3.TEXT]"] == b"inner body"
    assert f["BODY[4]"] in (b"", None), "a part that does not exist is empty"
    f = c.fetch("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT message-id)] "
                "BODY.PEEK[HEADER.FIELDS.NOT (From To Cc Subject Date Message-ID In-Reply-To "
                "MIME-Version)])")[1]
    fields = [k for k in f if k.startswith("BODY[HEADER.FIELDS (")]
    assert len(fields) == 1, f
    assert f[fields[0]] == (b"Subject: =?UTF-8?B?5pel5pys6Kqe44Gu5Lu25ZCN?=\r\n"
                            b"Message-ID: <nested.1@client.test>\r\n\r\n")
    nots = [k for k in f if k.startswith("BODY[HEADER.FIELDS.NOT")]
    assert f[nots[0]] == b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'


def test_fetch_partial(example):
    m = msg("partial", body="0123456789" * 10)
    c = setup_inbox(example, m)
    r = c.ok("FETCH 1 BODY.PEEK[]<10.20>")
    assert b"BODY[]<10> {20}\r\n" in r.untagged[0], r
    assert fetch_map(r)[1]["BODY[]<10>"] == m[10:30]
    f = c.fetch(f"FETCH 1 BODY.PEEK[]<{len(m) - 5}.100>")[1]
    assert f[f"BODY[]<{len(m) - 5}>"] == m[-5:]
    f = c.fetch(f"FETCH 1 BODY.PEEK[]<{len(m) + 10}.5>")[1]
    assert f[f"BODY[]<{len(m) + 10}>"] == b""
    f = c.fetch("FETCH 1 BODY.PEEK[TEXT]<0.10>")[1]
    assert f["BODY[TEXT]<0>"] == b"0123456789"


def test_fetch_body_sets_seen_and_peek_does_not(example):
    c = setup_inbox(example, msg("a"), msg("b"), msg("c"))
    f = c.fetch("FETCH 1 BODY.PEEK[]")[1]
    assert "FLAGS" not in f
    assert "\\Seen" not in c.fetch("FETCH 1 FLAGS")[1]["FLAGS"]
    f = c.fetch("FETCH 1 BODY[]")[1]
    assert "\\Seen" in f["FLAGS"], "the new flags come with the FETCH that set them"
    f = c.fetch("FETCH 2 RFC822")[2]
    assert "\\Seen" in f["FLAGS"] and f["RFC822"].startswith(b"From: ")
    f = c.fetch("FETCH 3 (RFC822.HEADER RFC822.SIZE)")[3]
    assert f["RFC822.HEADER"].endswith(b"\r\n\r\n")
    assert "\\Seen" not in c.fetch("FETCH 3 FLAGS")[3]["FLAGS"]
    f = c.fetch("FETCH 3 RFC822.TEXT")[3]
    assert f["RFC822.TEXT"] == b"Hello.\r\n" and "\\Seen" in f["FLAGS"]
    # the change is durable and visible to other sessions
    st = Imap(example).ok("STATUS INBOX (UNSEEN)")
    assert b"UNSEEN 0" in st.named("STATUS")[0]


def test_fetch_binary(example):
    c = setup_inbox(example, NESTED)
    r = c.ok("FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[1.1] BINARY.SIZE[1.1])")
    f = fetch_map(r)[1]
    assert f["BINARY[2]"] == PNG
    assert int(f["BINARY.SIZE[2]"]) == len(PNG)
    assert b"~{%d}" % len(PNG) in r.untagged[0], "NUL-bearing data goes as literal8"
    assert f["BINARY[1.1]"] == "Café au lait".encode()
    assert int(f["BINARY.SIZE[1.1]"]) == len("Café au lait".encode())
    f = c.fetch("FETCH 1 BINARY.PEEK[2]<0.16>")[1]
    assert f["BINARY[2]<0>"] == PNG[:16]
    f = c.fetch("FETCH 1 FLAGS")[1]
    assert "\\Seen" not in f["FLAGS"]
    f = c.fetch("FETCH 1 BINARY[1.2]")[1]
    assert f["BINARY[1.2]"] == "<p>Café</p>".encode() and "\\Seen" in f["FLAGS"]


def test_fetch_unknown_cte(example):
    m = (b"From: a@example.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
         b"Content-Transfer-Encoding: x-rot13\r\n\r\nuryyb\r\n")
    c = setup_inbox(example, m)
    r = c.cmd("FETCH 1 BINARY.PEEK[1]")
    assert (r.status, r.code) == ("NO", "UNKNOWN-CTE"), r
    # a single-part message's part 1 is its body (RFC 9051 §6.4.5)
    assert c.fetch("FETCH 1 BODY.PEEK[1]")[1]["BODY[1]"] == b"uryyb\r\n"


def test_fetch_sequence_ranges_and_errors(example):
    c = setup_inbox(example, *(msg(f"m{i}") for i in range(5)))
    assert sorted(c.fetch("FETCH 2:4 UID")) == [2, 3, 4]
    assert sorted(c.fetch("FETCH 4:2 UID")) == [2, 3, 4]
    assert sorted(c.fetch("FETCH 1,3,5 UID")) == [1, 3, 5]
    assert sorted(c.fetch("FETCH 4:* UID")) == [4, 5]
    assert sorted(c.fetch("FETCH * UID")) == [5]
    assert c.cmd("FETCH 6 UID").status == "BAD"
    assert c.cmd("FETCH 0 UID").status == "BAD"
    # UIDs that do not exist are simply not returned
    assert c.fetch("UID FETCH 100:200 UID") == {}
    assert sorted(c.fetch("UID FETCH 4:100 UID")) == [4, 5]
    # imaplib agrees
    i = example.imap()
    i.select("INBOX")
    typ, data = i.fetch("1:2", "(UID RFC822.SIZE)")
    assert typ == "OK" and len(data) == 2


def test_fetch_byte_exact_with_8bit_and_bare_lines(example):
    m = (b"From: a@example.test\r\nSubject: 8bit\r\n\r\n"
         b"caf\xc3\xa9 \xff\xfe\r\n.leading dot\r\n\r\n\r\ntrailing blank lines\r\n\r\n")
    c = setup_inbox(example, m)
    assert c.fetch("FETCH 1 BODY.PEEK[]")[1]["BODY[]"] == m
    assert int(c.fetch("FETCH 1 RFC822.SIZE")[1]["RFC822.SIZE"]) == len(m)


# --------------------------------------------------------------------------
# STORE
# --------------------------------------------------------------------------


def test_store_modes_and_silent(example):
    c = setup_inbox(example, msg("a"), msg("b"))
    r = c.ok("STORE 1 +FLAGS (\\Flagged $Label1)")
    f = fetch_map(r)[1]
    assert {"\\Flagged", "$Label1"} <= set(f["FLAGS"])
    r = c.ok("STORE 1 -FLAGS (\\Flagged)")
    assert "\\Flagged" not in fetch_map(r)[1]["FLAGS"]
    assert "$Label1" in fetch_map(r)[1]["FLAGS"]
    r = c.ok("STORE 1:2 FLAGS (\\Answered)")
    m = fetch_map(r)
    assert [x for x in m[1]["FLAGS"] if x != "\\Recent"] == ["\\Answered"]
    assert [x for x in m[2]["FLAGS"] if x != "\\Recent"] == ["\\Answered"]
    r = c.ok("STORE 2 +FLAGS.SILENT (\\Draft)")
    assert r.named("FETCH") == [], r
    assert "\\Draft" in c.fetch("FETCH 2 FLAGS")[2]["FLAGS"]
    r = c.ok("UID STORE 2 -FLAGS (\\Draft)")
    f = fetch_map(r)[2]
    assert f["UID"] == "2" and "\\Draft" not in f["FLAGS"]
    c.ok("STORE 2 +FLAGS.SILENT ($Label1)")
    # \Recent cannot be stored
    c.ok("STORE 1 FLAGS (\\Recent \\Seen)")
    i = Imap(example)
    i.ok("ENABLE IMAP4rev2")
    i.ok("SELECT INBOX")
    assert list(i.fetch("FETCH 1 FLAGS")[1]["FLAGS"]) == ["\\Seen"]
    # keywords show up in FLAGS of the next SELECT
    sel = i.ok("SELECT INBOX")
    assert b"$Label1" in sel.named("FLAGS")[0]
    # imaplib
    im = example.imap()
    im.select("INBOX")
    typ, data = im.store("1", "+FLAGS", "(\\Deleted)")
    assert typ == "OK" and b"\\Deleted" in data[0]


def test_store_unchangedsince_reports_modified(example):
    c = setup_inbox(example, msg("a"), msg("b"))
    c.ok("ENABLE CONDSTORE")
    f = c.fetch("FETCH 1:2 (MODSEQ)")
    m1, m2 = int(f[1]["MODSEQ"][0]), int(f[2]["MODSEQ"][0])
    other = Imap(example)
    other.ok("SELECT INBOX")
    other.ok("STORE 2 +FLAGS (\\Flagged)")
    r = c.cmd(f"STORE 1:2 (UNCHANGEDSINCE {max(m1, m2)}) +FLAGS (\\Seen)")
    assert r.status == "OK" and r.code == "MODIFIED 2", r
    fm = fetch_map(r)
    assert "\\Seen" in fm[1]["FLAGS"] and int(fm[1]["MODSEQ"][0]) > max(m1, m2)
    assert fm[1].get("UID") == "1", "RFC 7162 §3.1: UID with MODSEQ once CONDSTORE is on"
    # message 2 was not changed by the conditional STORE
    f2 = other.fetch("FETCH 2 FLAGS")[2]
    assert "\\Seen" not in f2["FLAGS"] and "\\Flagged" in f2["FLAGS"]
    r = c.cmd("UID STORE 1 (UNCHANGEDSINCE 1) -FLAGS (\\Seen)")
    assert r.code == "MODIFIED 1", r
    # .SILENT with UNCHANGEDSINCE still reports the new MODSEQ
    ms = int(c.fetch("FETCH 1 MODSEQ")[1]["MODSEQ"][0])
    r = c.ok(f"STORE 1 (UNCHANGEDSINCE {ms}) +FLAGS.SILENT (\\Answered)")
    f = fetch_map(r)[1]
    assert "FLAGS" not in f and int(f["MODSEQ"][0]) > ms, r


# --------------------------------------------------------------------------
# COPY / MOVE / EXPUNGE / CLOSE / UNSELECT
# --------------------------------------------------------------------------


def test_copy_with_copyuid(example):
    msgs = [msg(f"m{i}") for i in range(3)]
    c = setup_inbox(example, *msgs, flags="\\Flagged")
    c.ok("CREATE Dest")
    r = c.ok("COPY 1,3 Dest")
    assert r.code and r.code.startswith("COPYUID "), r
    _, validity, src, dst = r.code.split()
    assert seqset(src) == {1, 3} and seqset(dst) == {1, 2}
    st = c.ok("STATUS Dest (MESSAGES UIDVALIDITY)")
    assert f"UIDVALIDITY {validity}".encode() in st.named("STATUS")[0]
    d = Imap(example)
    d.ok("SELECT Dest")
    f = d.fetch("FETCH 1:2 (FLAGS BODY.PEEK[])")
    assert f[1]["BODY[]"] == msgs[0] and f[2]["BODY[]"] == msgs[2]
    assert "\\Flagged" in f[1]["FLAGS"]
    # source untouched
    assert len(c.fetch("FETCH 1:* UID")) == 3
    r = c.cmd("COPY 1 Nowhere")
    assert (r.status, r.code) == ("NO", "TRYCREATE"), r
    r = c.ok("UID COPY 2:3 Dest")
    _, _, src, dst = r.code.split()
    assert seqset(src) == {2, 3} and seqset(dst) == {3, 4}


def test_move_with_copyuid_and_expunge(example):
    msgs = [msg(f"m{i}") for i in range(4)]
    c = setup_inbox(example, *msgs)
    c.ok("CREATE Dest")
    r = c.ok("MOVE 2:3 Dest")
    oks = [x for x in r.untagged if x.startswith(b"* OK [COPYUID ")]
    assert len(oks) == 1, r
    _, validity, src, dst = oks[0].decode().split("[", 1)[1].split("]")[0].split()
    assert seqset(src) == {2, 3} and seqset(dst) == {1, 2}
    exp = r.named("EXPUNGE")
    # two EXPUNGEs, each valid when it is sent: 3 then 2, or 2 then 2
    assert exp in ([b"* 3 EXPUNGE", b"* 2 EXPUNGE"], [b"* 2 EXPUNGE", b"* 2 EXPUNGE"]), r
    assert r.untagged.index(oks[0]) < r.untagged.index(exp[0])
    f = c.fetch("FETCH 1:* (UID BODY.PEEK[])")
    assert [(k, v["UID"]) for k, v in sorted(f.items())] == [(1, "1"), (2, "4")]
    d = Imap(example)
    d.ok("SELECT Dest")
    f = d.fetch("FETCH 1:* BODY.PEEK[]")
    assert [f[1]["BODY[]"], f[2]["BODY[]"]] == msgs[1:3]
    r = c.ok("UID MOVE 4 Dest")
    assert r.named("EXPUNGE") == [b"* 2 EXPUNGE"], r
    r = c.cmd("MOVE 1 Nowhere")
    assert (r.status, r.code) == ("NO", "TRYCREATE"), r
    # imaplib's MOVE via uid()
    i = example.imap()
    i.select("Dest")
    typ, _ = i.uid("MOVE", "1", "INBOX")
    assert typ == "OK"


def test_expunge_and_uid_expunge(example):
    c = setup_inbox(example, *(msg(f"m{i}") for i in range(5)))
    c.ok("STORE 2,4,5 +FLAGS.SILENT (\\Deleted)")
    r = c.ok("UID EXPUNGE 4:5")
    assert sorted(r.named("EXPUNGE"), reverse=True) == [b"* 5 EXPUNGE", b"* 4 EXPUNGE"] or \
        r.named("EXPUNGE") == [b"* 4 EXPUNGE", b"* 4 EXPUNGE"], r
    f = c.fetch("FETCH 1:* UID")
    assert sorted(int(v["UID"]) for v in f.values()) == [1, 2, 3]
    r = c.ok("EXPUNGE")
    assert r.named("EXPUNGE") == [b"* 2 EXPUNGE"], r
    f = c.fetch("FETCH 1:* UID")
    assert {k: v["UID"] for k, v in f.items()} == {1: "1", 2: "3"}
    # nothing flagged: nothing expunged
    assert c.ok("EXPUNGE").named("EXPUNGE") == []
    assert [m.uid for m in example.messages(ALICE)] == [1, 3]


def test_expunge_qresync_sends_vanished(example):
    c = Imap(example)
    for i in range(3):
        c.append("INBOX", msg(f"m{i}"))
    c.ok("ENABLE QRESYNC")
    c.ok("SELECT INBOX")
    c.ok("STORE 1:2 +FLAGS.SILENT (\\Deleted)")
    r = c.ok("EXPUNGE")
    assert r.named("EXPUNGE") == []
    assert r.named("VANISHED") == [b"* VANISHED 1:2"], r


def test_close_expunges_unselect_does_not(example):
    c = setup_inbox(example, msg("a"), msg("b"), msg("c"))
    c.ok("STORE 1 +FLAGS (\\Deleted)")
    r = c.ok("UNSELECT")
    assert r.named("EXPUNGE") == []
    assert c.cmd("FETCH 1 UID").status == "BAD", "UNSELECT leaves the selected state"
    assert len(example.messages(ALICE)) == 3
    c.ok("SELECT INBOX")
    c.ok("STORE 2 +FLAGS (\\Deleted)")
    r = c.ok("CLOSE")
    assert r.named("EXPUNGE") == [], "CLOSE expunges silently"
    assert [m.uid for m in example.messages(ALICE)] == [3]
    # CLOSE after EXAMINE expunges nothing
    c.ok("EXAMINE INBOX")
    c.ok("CLOSE")
    assert len(example.messages(ALICE)) == 1
    assert c.cmd("CLOSE").status == "BAD"
    assert c.cmd("UNSELECT").status == "BAD"


def test_check(example):
    c = setup_inbox(example, msg())
    assert c.ok("CHECK").tagged.startswith(b"t")
    c.ok("UNSELECT")
    assert c.cmd("CHECK").status == "BAD"


# --------------------------------------------------------------------------
# CONDSTORE / QRESYNC
# --------------------------------------------------------------------------


def test_condstore_modseq_and_changedsince(example):
    c = setup_inbox(example, msg("a"), msg("b"), msg("c"))
    sel = c.ok("SELECT INBOX (CONDSTORE)")
    hms = int(sel.code_value("HIGHESTMODSEQ"))
    f = c.fetch("FETCH 1:* (MODSEQ)")
    mods = [int(f[i]["MODSEQ"][0]) for i in (1, 2, 3)]
    assert max(mods) == hms and len(set(mods)) == 3, (mods, hms)
    r = c.ok("STORE 2 +FLAGS (\\Seen)")
    new = int(fetch_map(r)[2]["MODSEQ"][0])
    assert new > hms
    f = c.fetch(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {hms})")
    assert list(f) == [2], f
    assert int(f[2]["MODSEQ"][0]) == new
    f = c.fetch(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {new})")
    assert f == {}
    st = c.ok("STATUS INBOX (HIGHESTMODSEQ)")
    assert f"HIGHESTMODSEQ {new}".encode() in st.named("STATUS")[0]
    # SEARCH MODSEQ
    r = c.ok(f"SEARCH MODSEQ {hms + 1}")
    assert r.named("SEARCH")[0].split()[2:4] == [b"2", b"(MODSEQ"], r
    # a FETCH that sets \Seen reports the flag change with UID and MODSEQ
    f = c.fetch("FETCH 3 BODY[TEXT]")[3]
    assert "\\Seen" in f["FLAGS"] and f.get("UID") == "3" and int(f["MODSEQ"][0]) > new, f
    new = int(f["MODSEQ"][0])


def test_qresync_select_reports_vanished_and_changes(example):
    c = Imap(example)
    for i in range(5):
        c.append("INBOX", msg(f"m{i}"))
    c.ok("ENABLE QRESYNC")
    sel = c.ok("SELECT INBOX")
    validity = int(sel.code_value("UIDVALIDITY"))
    modseq = int(sel.code_value("HIGHESTMODSEQ"))
    c.ok("LOGOUT")
    # another client changes things while the first is away
    o = Imap(example)
    o.ok("SELECT INBOX")
    o.ok("STORE 2 +FLAGS (\\Flagged)")
    o.ok("STORE 1,4 +FLAGS.SILENT (\\Deleted)")
    o.ok("EXPUNGE")
    o.append("INBOX", msg("new"))
    # the first client comes back with its saved state
    c = Imap(example)
    c.ok("ENABLE QRESYNC")
    r = c.ok(f"SELECT INBOX (QRESYNC ({validity} {modseq} 1:5))")
    assert r.named("VANISHED") == [b"* VANISHED (EARLIER) 1,4"], r
    fetches = fetch_map(r)
    by_uid = {v["UID"]: v for v in fetches.values()}
    assert "2" in by_uid and "\\Flagged" in by_uid["2"]["FLAGS"], r
    assert "6" in by_uid, "the new message changed since the saved modseq"
    assert "3" not in by_uid and "5" not in by_uid
    assert r.named("EXISTS") == [b"* 4 EXISTS"]
    # UID FETCH ... (CHANGEDSINCE m VANISHED)
    r = c.ok(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq} VANISHED)")
    assert r.named("VANISHED") == [b"* VANISHED (EARLIER) 1,4"], r
    assert {v["UID"] for v in fetch_map(r).values()} == {"2", "6"}
    # a stale UIDVALIDITY gets a plain SELECT
    r = c.ok(f"SELECT INBOX (QRESYNC ({validity + 1} {modseq}))")
    assert r.named("VANISHED") == [] and fetch_map(r) == {}
    # VANISHED without QRESYNC enabled is an error
    p = Imap(example)
    p.ok("SELECT INBOX")
    assert p.cmd("UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)").status == "BAD"
    assert p.cmd(f"SELECT INBOX (QRESYNC ({validity} {modseq}))").status == "BAD"


def test_imaplib_fetch_roundtrip(example):
    i = example.imap()
    body = msg("roundtrip", body="x" * 10000)
    i.append("INBOX", None, None, body)
    i.select("INBOX")
    typ, data = i.fetch("1", "(BODY.PEEK[])")
    assert typ == "OK" and data[0][1] == body
    typ, data = i.uid("FETCH", "1", "(RFC822.SIZE)")
    assert typ == "OK" and f"RFC822.SIZE {len(body)}".encode() in data[0]
    assert isinstance(imaplib.ParseFlags(i.fetch("1", "(FLAGS)")[1][0]), tuple)
    _ = parse  # re-exported helper used by sibling modules
