"""IMAP SEARCH (every key, CHARSET UTF-8, ESEARCH, SEARCHRES), SORT, THREAD, WITHIN."""

import time
from email.utils import formatdate

from imapclient import Imap, esearch, parse, search_numbers, seqset

JAPANESE_SUBJECT = "=?UTF-8?B?5Lya6K2w44Gu5qGI5YaF?="  # 会議の案内


def message(frm, to, subject, date, body="hello\r\n", extra=b""):
    head = (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: <{abs(hash((frm, subject, date)))}@client.test>\r\n").encode()
    return head + extra + b"\r\n" + (body.encode() if isinstance(body, str) else body)


# (message, flags, internal date)
CORPUS = [
    (message("Alice <alice@example.test>", "bob@example.test", "Lunch plans",
             "Mon, 02 Mar 2026 09:00:00 +0000", "Shall we have ramen?\r\n",
             b"Cc: carol@example.test\r\nX-Priority: 1\r\n"),
     "\\Seen \\Flagged", "02-Mar-2026 09:00:00 +0000"),
    (message("Bob <bob@example.test>", "alice@example.test", "Re: Lunch plans",
             "Tue, 03 Mar 2026 10:00:00 +0000", "Yes, ramen at noon.\r\n",
             b"Bcc: dave@example.test\r\n"),
     "\\Answered", "03-Mar-2026 10:00:00 +0000"),
    (message("Carol <carol@example.test>", "alice@example.test", JAPANESE_SUBJECT,
             "Wed, 04 Mar 2026 11:00:00 +0900",
             "明日の会議は十時からです。\r\n".encode(),
             b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
             b"Content-Transfer-Encoding: 8bit\r\n"),
     "\\Deleted", "04-Mar-2026 02:00:00 +0000"),
    (message("Dave <dave@example.test>", "alice@example.test", "Invoice",
             "Thu, 05 Mar 2026 12:00:00 +0000", "x" * 3000 + "\r\n"),
     "\\Draft $Work", "05-Mar-2026 12:00:00 +0000"),
]


def corpus(server):
    c = Imap(server)
    for m, flags, date in CORPUS:
        assert c.append("INBOX", m, flags=flags, date=date).status == "OK"
    c.ok("SELECT INBOX")
    return c


def s(c, criteria):
    return search_numbers(c.ok(f"SEARCH {criteria}"))


def test_search_flag_keys(example):
    c = corpus(example)
    assert s(c, "ALL") == [1, 2, 3, 4]
    assert s(c, "SEEN") == [1] and s(c, "UNSEEN") == [2, 3, 4]
    assert s(c, "FLAGGED") == [1] and s(c, "UNFLAGGED") == [2, 3, 4]
    assert s(c, "ANSWERED") == [2] and s(c, "UNANSWERED") == [1, 3, 4]
    assert s(c, "DELETED") == [3] and s(c, "UNDELETED") == [1, 2, 4]
    assert s(c, "DRAFT") == [4] and s(c, "UNDRAFT") == [1, 2, 3]
    assert s(c, "KEYWORD $Work") == [4] and s(c, "UNKEYWORD $Work") == [1, 2, 3]
    # this session claimed \Recent for all four (IMAP4rev1)
    assert s(c, "RECENT") == [1, 2, 3, 4] and s(c, "NEW") == [2, 3, 4] and s(c, "OLD") == []


def test_search_header_and_text_keys(example):
    c = corpus(example)
    assert s(c, "FROM alice") == [1]
    assert s(c, 'FROM "bob@example"') == [2]
    assert s(c, "TO alice@example.test") == [2, 3, 4]
    assert s(c, "CC carol") == [1]
    assert s(c, "BCC dave") == [2]
    assert s(c, "SUBJECT lunch") == [1, 2], "case-insensitive substring"
    assert s(c, 'SUBJECT "re: lunch"') == [2]
    assert s(c, 'HEADER X-Priority 1') == [1]
    assert s(c, 'HEADER X-Priority ""') == [1], "empty string: the header is present"
    assert s(c, "BODY ramen") == [1, 2]
    assert s(c, "BODY Invoice") == [], "BODY does not search headers"
    assert s(c, "TEXT Invoice") == [4]
    assert s(c, "TEXT ramen") == [1, 2]
    assert s(c, "SUBJECT nothing-like-this") == []


def test_search_dates_sizes_sets_and_logic(example):
    c = corpus(example)
    assert s(c, "BEFORE 04-Mar-2026") == [1, 2]
    assert s(c, "ON 04-Mar-2026") == [3]
    assert s(c, "SINCE 04-Mar-2026") == [3, 4]
    assert s(c, "SENTBEFORE 03-Mar-2026") == [1]
    assert s(c, "SENTON 03-Mar-2026") == [2]
    assert s(c, "SENTSINCE 05-Mar-2026") == [4]
    sizes = [len(m) for m, _, _ in CORPUS]
    assert s(c, f"LARGER {sizes[3] - 1}") == [4]
    assert s(c, f"SMALLER {min(sizes) + 1}") == [sizes.index(min(sizes)) + 1]
    assert s(c, "2:3") == [2, 3]
    assert s(c, "UID 1,4") == [1, 4]
    assert s(c, "UID 3:*") == [3, 4]
    assert s(c, "OR SEEN DRAFT") == [1, 4]
    assert s(c, "NOT SEEN") == [2, 3, 4]
    assert s(c, "(SEEN) (FLAGGED)") == [1]
    assert s(c, "SUBJECT lunch NOT FROM bob") == [1]
    assert s(c, "OR (FROM alice SEEN) (FROM dave)") == [1, 4]
    assert search_numbers(c.ok("UID SEARCH DRAFT")) == [4]
    # bad syntax
    r = c.cmd("SEARCH BEFORE yesterday")
    assert r.status == "BAD", r
    r = c.cmd("SEARCH FROBNICATE")
    assert r.status == "BAD", r


def test_search_charset_utf8_japanese(example):
    c = corpus(example)
    # a literal carries the UTF-8 search string
    needle = "会議".encode()
    r = c.cmd(b"SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n%s" % (len(needle), needle))
    assert r.status == "OK" and search_numbers(r) == [3], r
    needle = "十時".encode()
    r = c.cmd(b"SEARCH CHARSET UTF-8 BODY {%d+}\r\n%s" % (len(needle), needle))
    assert search_numbers(r) == [3], r
    r = c.cmd(b"SEARCH CHARSET UTF-8 TEXT {%d+}\r\n%s" % (len(needle), needle))
    assert search_numbers(r) == [3], r
    r = c.cmd("SEARCH CHARSET KOI8-R SUBJECT x")
    assert r.status == "NO" and r.code and r.code.startswith("BADCHARSET"), r
    # with UTF8=ACCEPT quoted strings may carry UTF-8 directly
    u = Imap(example)
    u.ok("ENABLE UTF8=ACCEPT")
    u.ok("SELECT INBOX")
    assert search_numbers(u.ok('SEARCH SUBJECT "案内"')) == [3]


def test_esearch_return_options(example):
    c = corpus(example)
    r = c.ok("SEARCH RETURN (MIN MAX COUNT) UNSEEN")
    e = esearch(r)
    assert e["TAG"] == r.tagged.split()[0].decode()
    assert (e["MIN"], e["MAX"], e["COUNT"]) == ("2", "4", "3"), e
    assert "ALL" not in e
    e = esearch(c.ok("UID SEARCH RETURN (ALL) UNSEEN"))
    assert "UID" in e and seqset(e["ALL"]) == {2, 3, 4}, e
    e = esearch(c.ok("SEARCH RETURN () ALL"))
    assert seqset(e["ALL"]) == {1, 2, 3, 4}
    e = esearch(c.ok("SEARCH RETURN (COUNT) SUBJECT nothing"))
    assert e.get("COUNT") == "0" and "MIN" not in e
    e = esearch(c.ok("SEARCH RETURN (MIN) SUBJECT nothing"))
    assert set(e) == {"TAG"}, e


def test_searchres_save_and_dollar(example):
    c = corpus(example)
    r = c.ok("SEARCH RETURN (SAVE) UNSEEN")
    assert r.named("ESEARCH") == [] and r.named("SEARCH") == [], "SAVE alone returns nothing"
    f = c.fetch("FETCH $ UID")
    assert sorted(f) == [2, 3, 4]
    assert search_numbers(c.ok("SEARCH $ DRAFT")) == [4]
    c.ok("STORE $ +FLAGS.SILENT (\\Seen)")
    assert s(c, "UNSEEN") == []
    r = c.ok("UID COPY $ Archive")
    assert r.code and r.code.startswith("COPYUID"), r
    # SAVE with MIN keeps only the minimum (RFC 5182 §2.4)
    c.ok("SEARCH RETURN (SAVE MIN) SEEN")
    assert sorted(c.fetch("FETCH $ UID")) == [1]
    e = esearch(c.ok("SEARCH RETURN (SAVE MIN MAX) SEEN"))
    assert (e["MIN"], e["MAX"]) == ("1", "4")
    assert sorted(c.fetch("FETCH $ UID")) == [1, 4]
    # SAVE with ALL and COUNT: the ESEARCH is still sent
    e = esearch(c.ok("SEARCH RETURN (SAVE COUNT) DRAFT"))
    assert e["COUNT"] == "1"
    assert sorted(c.fetch("FETCH $ UID")) == [4]
    # $ survives an expunge of other messages but not of its own
    c.ok("STORE 4 +FLAGS.SILENT (\\Deleted)")
    c.ok("EXPUNGE")
    assert c.fetch("UID FETCH $ UID") == {}


def test_imap4rev2_search_answers_esearch(example):
    c = Imap(example)
    c.ok("ENABLE IMAP4rev2")
    for m, flags, date in CORPUS:
        c.append("INBOX", m, flags=flags, date=date)
    c.ok("SELECT INBOX")
    r = c.ok("SEARCH SEEN")
    assert r.named("SEARCH") == []
    assert esearch(r)["ALL"] == "1"


def test_within_younger_older(example):
    c = Imap(example)
    old = formatdate(time.time() - 3 * 86400, usegmt=False)
    c.append("INBOX", message("a@x.test", "b@x.test", "old", old),
             date=time.strftime("%d-%b-%Y %H:%M:%S +0000", time.gmtime(time.time() - 3 * 86400)))
    c.append("INBOX", message("a@x.test", "b@x.test", "new", formatdate()))
    c.ok("SELECT INBOX")
    assert s(c, "YOUNGER 3600") == [2]
    assert s(c, "OLDER 3600") == [1]
    assert s(c, f"OLDER {5 * 86400}") == []
    assert s(c, f"YOUNGER {5 * 86400}") == [1, 2]


def test_sort_each_key_and_reverse(example):
    c = corpus(example)
    srt = lambda crit: search_numbers(c.ok(f"SORT ({crit}) UTF-8 ALL"))  # noqa: E731
    assert srt("ARRIVAL") == [1, 2, 3, 4]
    assert srt("REVERSE ARRIVAL") == [4, 3, 2, 1]
    assert srt("DATE") == [1, 2, 3, 4]
    assert srt("REVERSE DATE") == [4, 3, 2, 1]
    sizes = [len(m) for m, _, _ in CORPUS]
    assert srt("SIZE") == sorted(range(1, 5), key=lambda i: (sizes[i - 1], i))
    # FROM sorts by mailbox local part: alice, bob, carol, dave
    assert srt("FROM") == [1, 2, 3, 4]
    assert srt("REVERSE FROM") == [4, 3, 2, 1]
    # TO: bob@ for 1, alice@ for the rest (ties by sequence number)
    assert srt("TO") == [2, 3, 4, 1]
    # CC: only message 1 has one; the empty string sorts first
    assert srt("CC") == [2, 3, 4, 1]
    # SUBJECT uses the base subject: "Re: Lunch plans" sorts with "Lunch plans"
    subj = srt("SUBJECT")
    assert subj.index(4) < subj.index(1) < subj.index(2), subj  # Invoice < Lunch plans = Re:...
    assert srt("DISPLAYFROM") == [1, 2, 3, 4]
    assert srt("SUBJECT REVERSE DATE")[:1] == [3] or srt("SUBJECT REVERSE DATE")[-1] == [3][0]
    # search criteria restrict the set; UID SORT reports UIDs
    assert search_numbers(c.ok("SORT (REVERSE ARRIVAL) UTF-8 UNSEEN")) == [4, 3, 2]
    assert search_numbers(c.ok("UID SORT (ARRIVAL) UTF-8 2:3")) == [2, 3]
    assert c.cmd("SORT (BOGUS) UTF-8 ALL").status == "BAD"
    # ESORT
    e = esearch(c.ok("SORT RETURN (ALL COUNT) (REVERSE ARRIVAL) UTF-8 ALL"))
    assert e["COUNT"] == "4" and e["ALL"] == "4,3,2,1", e


def test_thread_orderedsubject_and_references(example):
    c = Imap(example)
    msgs = [
        ("<a@t>", None, "Topic", "Mon, 02 Mar 2026 09:00:00 +0000"),
        ("<b@t>", "<a@t>", "Re: Topic", "Mon, 02 Mar 2026 10:00:00 +0000"),
        ("<c@t>", None, "Other", "Mon, 02 Mar 2026 11:00:00 +0000"),
        ("<d@t>", "<a@t> <b@t>", "Re: Re: Topic", "Mon, 02 Mar 2026 12:00:00 +0000"),
        ("<e@t>", "<a@t>", "Re: Topic", "Mon, 02 Mar 2026 13:00:00 +0000"),
    ]
    for mid, refs, subject, date in msgs:
        extra = f"Message-ID: {mid}\r\n"
        if refs:
            extra += f"References: {refs}\r\nIn-Reply-To: {refs.split()[-1]}\r\n"
        body = (f"From: x@example.test\r\nSubject: {subject}\r\nDate: {date}\r\n{extra}\r\nhi\r\n")
        c.append("INBOX", body.encode())
    c.ok("SELECT INBOX")
    r = c.ok("THREAD ORDEREDSUBJECT UTF-8 ALL")
    t = r.named("THREAD")
    assert len(t) == 1
    # RFC 5256 §3: the rest of a subject group are siblings under its first message
    assert t[0] == b"* THREAD (1 (2)(4)(5))(3)", t
    r = c.ok("THREAD REFERENCES UTF-8 ALL")
    assert r.named("THREAD") == [b"* THREAD (1 (2 4)(5))(3)"], r
    r = c.ok("UID THREAD REFERENCES UTF-8 NOT SUBJECT other")
    assert r.named("THREAD") == [b"* THREAD (1 (2 4)(5))"], r
    assert c.cmd("THREAD XYZ UTF-8 ALL").status == "BAD"
    _ = parse
