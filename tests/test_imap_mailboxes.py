"""IMAP mailbox commands: SELECT/EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE/LSUB, LIST (with
LIST-EXTENDED, LIST-STATUS, SPECIAL-USE, CHILDREN), STATUS, APPEND (MULTIAPPEND, APPENDUID,
TRYCREATE, quota, size), and QUOTA."""

import imaplib
import re
from datetime import datetime, timezone

import pytest

from imapclient import Imap, parse
from yubintest import ALICE, make_message


# Every new account has these (RFC 6154 special-use folders), besides INBOX.
DEFAULTS = {"Archive", "Drafts", "Junk", "Sent", "Trash"}


def msg(subject="hello", body="Hello.\r\n", **kw) -> bytes:
    return make_message("bob@example.test", ALICE, subject=subject, body=body, **kw)


def list_names(r) -> dict[str, set[str]]:
    """{mailbox name: {attributes}} from `* LIST` responses."""
    out = {}
    for line in r.named("LIST"):
        v = parse(line)
        name = v[4]
        name = name.decode() if isinstance(name, bytes) else str(name)
        out[name] = {str(a) for a in v[2]}
    return out


def status_map(r) -> dict[str, dict[str, int]]:
    out = {}
    for line in r.named("STATUS"):
        v = parse(line)
        name = v[2].decode() if isinstance(v[2], bytes) else str(v[2])
        items = v[3]
        out[name] = {str(items[i]).upper(): int(items[i + 1]) for i in range(0, len(items), 2)}
    return out


# --------------------------------------------------------------------------
# SELECT / EXAMINE
# --------------------------------------------------------------------------


def test_select_responses(example):
    c = Imap(example)
    c.append("INBOX", msg("one"), flags="\\Seen $Important")
    c.append("INBOX", msg("two"))
    r = c.ok("SELECT INBOX")
    assert r.code == "READ-WRITE"
    assert r.named("EXISTS") == [b"* 2 EXISTS"]
    flags = r.named("FLAGS")
    assert len(flags) == 1
    fl = set(flags[0].decode()[len("* FLAGS ("):-1].split())
    assert {"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "$Important"} <= fl
    perm = r.code_value("PERMANENTFLAGS")
    assert perm is not None and "\\*" in perm and "\\Deleted" in perm, r
    uidvalidity = int(r.code_value("UIDVALIDITY"))
    assert uidvalidity > 0
    assert int(r.code_value("UIDNEXT")) == 3
    assert int(r.code_value("HIGHESTMODSEQ")) >= 2
    assert r.code_value("UNSEEN") == "2", "first unseen is message 2 (rev1)"
    assert r.named("RECENT") == [b"* 2 RECENT"]
    # a second SELECT of the same mailbox: the messages are no longer \Recent for anyone else
    r2 = Imap(example).ok("SELECT INBOX")
    assert r2.named("RECENT") == [b"* 0 RECENT"]
    assert int(r2.code_value("UIDVALIDITY")) == uidvalidity


def test_examine_is_read_only(example):
    c = Imap(example)
    c.append("INBOX", msg())
    r = c.ok("EXAMINE INBOX")
    assert r.code == "READ-ONLY"
    assert r.code_value("PERMANENTFLAGS") == "()"
    st = c.cmd("STORE 1 +FLAGS (\\Seen)")
    assert st.status == "NO", st
    assert c.cmd("EXPUNGE").status == "NO"
    # FETCH BODY[] does not set \Seen in a read-only mailbox
    c.ok("FETCH 1 BODY[]")
    f = c.fetch("FETCH 1 FLAGS")
    assert "\\Seen" not in f[1]["FLAGS"]
    # the mailbox can be re-selected read-write
    assert c.ok("SELECT INBOX").code == "READ-WRITE"


def test_select_nonexistent_leaves_nothing_selected(example):
    c = Imap(example)
    c.ok("SELECT INBOX")
    r = c.cmd("SELECT nosuch")
    assert r.status == "NO", r
    assert r.code == "NONEXISTENT"
    r = c.cmd("FETCH 1:* FLAGS")
    assert r.status == "BAD", "a failed SELECT must leave the session unselected"


def test_select_inbox_is_case_insensitive(example):
    c = Imap(example)
    c.append("INBOX", msg())
    assert c.ok("SELECT inbox").named("EXISTS") == [b"* 1 EXISTS"]
    assert c.ok("SELECT InBoX").named("EXISTS") == [b"* 1 EXISTS"]


# --------------------------------------------------------------------------
# CREATE / DELETE / RENAME
# --------------------------------------------------------------------------


def test_create_hierarchy_and_special_use(example):
    c = Imap(example)
    c.ok("CREATE Projects/2026/Q1")
    c.ok("CREATE Projects/2026/Q2/")  # trailing separator
    c.ok("CREATE Bin (USE (\\Trash))")
    r = c.cmd("CREATE Projects/2026/Q1")
    assert (r.status, r.code) == ("NO", "ALREADYEXISTS"), r
    r = c.cmd("CREATE INBOX")
    assert r.status == "NO", r
    r = c.cmd("CREATE Weird (USE (\\Inbox))")
    assert (r.status, r.code) == ("NO", "USEATTR"), r
    names = list_names(c.ok('LIST "" "*"'))
    assert {"INBOX", "Projects/2026/Q1", "Projects/2026/Q2", "Bin"} <= set(names), names
    assert "\\Trash" in names["Bin"]
    assert "\\HasNoChildren" in names["Projects/2026/Q1"]
    # the parents CREATE implied exist (RFC 9051 §6.3.4) or are at least listed with children
    assert "\\HasChildren" in names["Projects/2026"], names
    assert "Weird" not in names
    # mailboxes created over imaplib are usable
    i = example.imap()
    assert i.create("Work")[0] == "OK"
    assert i.select("Work")[0] == "OK"


def test_delete(example):
    c = Imap(example)
    c.ok("CREATE Old")
    c.append("Old", msg())
    c.ok("DELETE Old")
    assert "Old" not in list_names(c.ok('LIST "" "*"'))
    r = c.cmd("DELETE Old")
    assert (r.status, r.code) == ("NO", "NONEXISTENT"), r
    r = c.cmd("DELETE INBOX")
    assert r.status == "NO"
    # re-creating gives a new UIDVALIDITY or at least an empty mailbox with UIDNEXT restarted
    c.ok("CREATE Old")
    st = status_map(c.ok("STATUS Old (MESSAGES UIDNEXT)"))
    assert st["Old"]["MESSAGES"] == 0


def test_delete_selected_mailbox(example):
    c = Imap(example)
    c.ok("CREATE Tmp")
    c.ok("SELECT Tmp")
    r = c.ok("DELETE Tmp")
    r2 = c.cmd("FETCH 1 FLAGS")
    assert r2.status == "BAD", (r, r2)


def test_delete_parent_with_children_keeps_children(example):
    c = Imap(example)
    c.ok("CREATE A/B")
    # CREATE made the parent too (RFC 9051 §6.3.4 "SHOULD create any superior names")
    assert (c.cmd("CREATE A").code) == "ALREADYEXISTS"
    r = c.cmd("DELETE A")
    # RFC 9051 §6.3.5: either NO, or A becomes \Noselect; the child survives either way
    names = list_names(c.ok('LIST "" "*"'))
    assert "A/B" in names, (r, names)
    if r.status == "OK":
        assert "\\Noselect" in names.get("A", {"\\Noselect"}) or "\\NonExistent" in names.get("A", set())


def test_rename_with_children(example):
    c = Imap(example)
    c.ok("CREATE Work/Reports")
    c.append("Work/Reports", msg("report"))
    st_before = status_map(c.ok("STATUS Work/Reports (UIDVALIDITY MESSAGES)"))["Work/Reports"]
    c.ok("RENAME Work Job")
    names = list_names(c.ok('LIST "" "*"'))
    assert "Job" in names and "Job/Reports" in names, names
    assert "Work" not in names and "Work/Reports" not in names, names
    st = status_map(c.ok("STATUS Job/Reports (UIDVALIDITY MESSAGES)"))["Job/Reports"]
    assert st == st_before
    r = c.cmd("RENAME Nope Other")
    assert (r.status, r.code) == ("NO", "NONEXISTENT"), r
    r = c.cmd("RENAME Job INBOX")
    assert r.status == "NO", r
    c.ok("CREATE Other")
    r = c.cmd("RENAME Job Other")
    assert (r.status, r.code) == ("NO", "ALREADYEXISTS"), r


def test_rename_inbox_moves_messages_and_leaves_empty_inbox(example):
    c = Imap(example)
    for i in range(3):
        c.append("INBOX", msg(f"m{i}"))
    c.ok("RENAME INBOX Saved")
    st = status_map(c.ok("STATUS Saved (MESSAGES)"))
    assert st["Saved"]["MESSAGES"] == 3
    st = status_map(c.ok("STATUS INBOX (MESSAGES UIDNEXT)"))
    assert st["INBOX"]["MESSAGES"] == 0
    # new mail still arrives in INBOX
    c.append("INBOX", msg("after"))
    assert status_map(c.ok("STATUS INBOX (MESSAGES)"))["INBOX"]["MESSAGES"] == 1


def test_utf7_mailbox_names(example):
    c = Imap(example)
    # "日本語" in modified UTF-7 (RFC 3501 §5.1.3)
    c.ok("CREATE &ZeVnLIqe-")
    names = list_names(c.ok('LIST "" "*"'))
    assert "&ZeVnLIqe-" in names, names
    # with UTF8=ACCEPT the same mailbox is listed in UTF-8
    u = Imap(example)
    u.ok("ENABLE UTF8=ACCEPT")
    names = list_names(u.ok('LIST "" "*"'))
    assert "日本語" in names, names
    u.append("日本語", msg())
    assert status_map(c.ok('STATUS "&ZeVnLIqe-" (MESSAGES)'))["&ZeVnLIqe-"]["MESSAGES"] == 1


# --------------------------------------------------------------------------
# SUBSCRIBE / LSUB / LIST
# --------------------------------------------------------------------------


def test_subscribe_lsub_and_list_subscribed(example):
    c = Imap(example)
    for m in ("Lists/rust", "Lists/python", "Old"):
        c.ok(f"CREATE {m}")
    c.ok("SUBSCRIBE Lists/rust")
    c.ok("SUBSCRIBE Old")
    c.ok("SUBSCRIBE Ghost")  # subscribing a non-existent name is allowed
    r = c.ok('LSUB "" "*"')
    lsub = {parse(x)[4].decode() if isinstance(parse(x)[4], bytes) else str(parse(x)[4])
            for x in r.named("LSUB")}
    # new accounts come with INBOX and the special-use folders subscribed
    assert lsub - DEFAULTS - {"INBOX"} == {"Lists/rust", "Old", "Ghost"}, r
    # LSUB with % shows the unsubscribed parent as \Noselect
    r = c.ok('LSUB "" "%"')
    lines = {str(parse(x)[4]) if not isinstance(parse(x)[4], bytes) else parse(x)[4].decode():
             {str(a) for a in parse(x)[2]} for x in r.named("LSUB")}
    assert "Lists" in lines and "\\Noselect" in lines["Lists"], r
    r = c.ok('LIST (SUBSCRIBED) "" "*"')
    names = list_names(r)
    assert set(names) - DEFAULTS - {"INBOX"} == {"Lists/rust", "Old", "Ghost"}, r
    assert all("\\Subscribed" in a for a in names.values())
    assert "\\NonExistent" in names["Ghost"]
    # RECURSIVEMATCH reports the parent of a subscribed child with CHILDINFO
    r = c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
    lists = [x for x in r.named("LIST") if b' "/" "Lists"' in x]
    assert lists == [b'* LIST (\\HasChildren) "/" "Lists" ("CHILDINFO" ("SUBSCRIBED"))'], r
    c.ok("UNSUBSCRIBE Ghost")
    names = list_names(c.ok('LIST (SUBSCRIBED) "" "*"'))
    assert "Ghost" not in names
    i = example.imap()
    typ, data = i.lsub()
    assert typ == "OK" and len(data) == 2 + len(DEFAULTS) + 1, data


def test_list_patterns(example):
    c = Imap(example)
    for m in ("a", "a/b", "a/b/c", "ab", "x/y"):
        c.ok(f"CREATE {m}")
    assert set(list_names(c.ok('LIST "" "*"'))) >= {"INBOX", "a", "a/b", "a/b/c", "ab", "x/y"}
    top = list_names(c.ok('LIST "" "%"'))
    assert set(top) - DEFAULTS == {"INBOX", "a", "ab", "x"}, top
    assert "\\Noselect" not in top["x"], "CREATE x/y created x"
    if c.cmd("DELETE x").status == "OK":
        # "x" no longer exists but has a child: still reported, not selectable
        top = list_names(c.ok('LIST "" "%"'))
        assert "\\Noselect" in top["x"] or "\\NonExistent" in top["x"], top
        assert c.cmd("SELECT x").status == "NO"
    assert "\\HasChildren" in top["x"] and "\\HasChildren" in top["a"]
    assert "\\HasNoChildren" in top["ab"]
    assert set(list_names(c.ok('LIST "" "a/%"'))) == {"a/b"}
    assert set(list_names(c.ok('LIST "a/" "%"'))) == {"a/b"}
    assert set(list_names(c.ok('LIST "" "a*"'))) == {"a", "a/b", "a/b/c", "ab"}
    assert set(list_names(c.ok('LIST "" "inbox"'))) == {"INBOX"}
    assert list_names(c.ok('LIST "" "nomatch*"')) == {}
    # empty pattern: the hierarchy delimiter
    r = c.ok('LIST "" ""')
    assert r.named("LIST") == [b'* LIST (\\Noselect) "/" ""'], r
    # several patterns (LIST-EXTENDED)
    assert set(list_names(c.ok('LIST "" ("ab" "x/*")'))) == {"ab", "x/y"}


def test_list_special_use_and_return_options(example):
    c = Imap(example)
    c.ok("CREATE Starred (USE (\\Flagged))")
    c.ok("CREATE Plain")
    c.ok("SUBSCRIBE Plain")
    names = list_names(c.ok('LIST (SPECIAL-USE) "" "*"'))
    assert set(names) == DEFAULTS | {"Starred"}, names
    for box in DEFAULTS:
        assert f"\\{box}" in names[box], names
    assert "\\Flagged" in names["Starred"]
    names = list_names(c.ok('LIST "" "*" RETURN (SPECIAL-USE)'))
    assert "\\Sent" in names["Sent"] and "Plain" in names
    names = list_names(c.ok('LIST "" "*" RETURN (SUBSCRIBED CHILDREN)'))
    assert "\\Subscribed" in names["Plain"] and "\\Subscribed" not in names["Starred"]
    assert "\\HasNoChildren" in names["Plain"]


def test_list_status(example):
    c = Imap(example)
    c.ok("CREATE Box")
    c.append("Box", msg(), flags="\\Seen")
    c.append("Box", msg())
    r = c.ok('LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN UIDNEXT))')
    st = status_map(r)
    assert st["Box"] == {"MESSAGES": 2, "UNSEEN": 1, "UIDNEXT": 3}, r
    assert st["INBOX"]["MESSAGES"] == 0
    # each STATUS follows its LIST line
    lines = [x for x in r.untagged if x.startswith((b"* LIST", b"* STATUS"))]
    i = next(k for k, x in enumerate(lines) if x.startswith(b"* LIST") and x.endswith((b" Box", b'"Box"')))
    assert lines[i + 1].startswith(b"* STATUS Box") or lines[i + 1].startswith(b'* STATUS "Box"'), lines


# --------------------------------------------------------------------------
# STATUS
# --------------------------------------------------------------------------


def test_status_items(example):
    c = Imap(example)
    c.ok("CREATE S")
    m1, m2, m3 = msg("a"), msg("bb" * 100), msg("c")
    c.append("S", m1, flags="\\Seen")
    c.append("S", m2, flags="\\Deleted")
    c.append("S", m3)
    r = c.ok("STATUS S (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ APPENDLIMIT)")
    st = status_map(r)["S"]
    assert st["MESSAGES"] == 3
    assert st["UIDNEXT"] == 4
    assert st["UNSEEN"] == 2
    assert st["DELETED"] == 1
    assert st["SIZE"] == len(m1) + len(m2) + len(m3)
    assert st["HIGHESTMODSEQ"] >= 3
    assert st["APPENDLIMIT"] > 0
    assert st["RECENT"] == 3
    assert st["UIDVALIDITY"] > 0
    # after a flag change HIGHESTMODSEQ grows
    c.ok("SELECT S")
    c.ok("STORE 3 +FLAGS (\\Seen)")
    st2 = status_map(c.ok("STATUS S (HIGHESTMODSEQ UNSEEN)"))["S"]
    assert st2["HIGHESTMODSEQ"] > st["HIGHESTMODSEQ"] and st2["UNSEEN"] == 1
    r = c.cmd("STATUS nosuch (MESSAGES)")
    assert (r.status, r.code) == ("NO", "NONEXISTENT"), r
    i = example.imap()
    typ, data = i.status("S", "(MESSAGES UNSEEN)")
    assert typ == "OK" and b"MESSAGES 3" in data[0] and b"UNSEEN 1" in data[0]


# --------------------------------------------------------------------------
# APPEND
# --------------------------------------------------------------------------


def test_append_flags_date_appenduid_and_bytes(example):
    c = Imap(example)
    body = msg("appended", body="line one\r\nline two\r\n")
    r = c.append("INBOX", body, flags="\\Flagged $Work", date="05-Mar-2024 13:14:15 +0900")
    assert r.code and r.code.startswith("APPENDUID "), r
    uidvalidity, uid = (int(x) for x in r.code.split()[1:3])
    sel = c.ok("SELECT INBOX")
    assert int(sel.code_value("UIDVALIDITY")) == uidvalidity
    f = c.fetch(f"UID FETCH {uid} (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")[1]
    assert set(f["FLAGS"]) >= {"\\Flagged", "$Work"}
    # the same instant; the zone may be normalized
    got = datetime.strptime(f["INTERNALDATE"].decode(), "%d-%b-%Y %H:%M:%S %z")
    assert got == datetime(2024, 3, 5, 4, 14, 15, tzinfo=timezone.utc), f["INTERNALDATE"]
    assert int(f["RFC822.SIZE"]) == len(body)
    assert f["BODY[]"] == body
    # the admin CLI sees the same bytes
    assert example.show(ALICE, uid) == body
    # imaplib's append, with \Seen
    i = example.imap()
    typ, data = i.append("INBOX", "(\\Seen)", imaplib.Time2Internaldate(1700000000), body)
    assert typ == "OK" and b"APPENDUID" in data[0]


def test_append_trycreate_and_bad_inputs(example):
    c = Imap(example)
    r = c.append("Missing", msg())
    assert (r.status, r.code) == ("NO", "TRYCREATE"), r
    r = c.cmd("APPEND INBOX (\\Seen) {0+}\r\n")
    assert r.status in ("NO", "BAD"), r
    r = c.append("INBOX", msg(), date="31-Foo-2024 00:00:00 +0000")
    assert r.status == "BAD", r
    assert status_map(c.ok("STATUS INBOX (MESSAGES)"))["INBOX"]["MESSAGES"] == 0


def test_multiappend_is_atomic(make_server):
    srv = make_server()
    srv.setup_example()
    c = Imap(srv)
    a, b = msg("first"), msg("second")
    r = c.cmd(b"APPEND INBOX (\\Seen) {%d+}\r\n%s {%d+}\r\n%s" % (len(a), a, len(b), b))
    assert r.status == "OK" and r.code.startswith("APPENDUID "), r
    assert r.code.split()[2] == "1:2", r
    # a second batch whose last message is too big for the quota stores nothing
    srv.admin("account", "quota", ALICE, str(len(a) + len(b) + 500))
    big = msg("big", body="x" * 2000)
    r = c.cmd(b"APPEND INBOX {%d+}\r\n%s {%d+}\r\n%s" % (len(a), a, len(big), big))
    assert (r.status, r.code) == ("NO", "OVERQUOTA"), r
    st = status_map(c.ok("STATUS INBOX (MESSAGES)"))
    assert st["INBOX"]["MESSAGES"] == 2, "a failed MULTIAPPEND must store none of its messages"


def test_append_over_quota_and_too_big(make_server):
    srv = make_server(config={"imap": {"max_message_size": 4096}})
    srv.setup_example()
    c = Imap(srv)
    caps = c.ok("CAPABILITY").named("CAPABILITY")[0]
    assert b"APPENDLIMIT=4096" in caps
    assert status_map(c.ok("STATUS INBOX (APPENDLIMIT)"))["INBOX"]["APPENDLIMIT"] == 4096
    big = msg(body="y" * 5000)
    # synchronizing literal: refused before the client sends it (no "+")
    c.send(b"s1 APPEND INBOX {%d}\r\n" % len(big))
    r = c.wait("s1")
    assert (r.status, r.code) == ("NO", "TOOBIG"), r
    assert r.continuations == []
    # LITERAL+: the data is already on its way; it is skipped, and the answer says why
    r = c.append("INBOX", big)
    assert r.status in ("NO", "BAD") and r.code == "TOOBIG", r
    assert c.ok("NOOP")
    srv.admin("account", "quota", ALICE, "1000")
    assert c.append("INBOX", msg()).status == "OK"
    r = c.append("INBOX", msg(body="z" * 1500))
    assert (r.status, r.code) == ("NO", "OVERQUOTA"), r
    # the session is still usable
    assert status_map(c.ok("STATUS INBOX (MESSAGES)"))["INBOX"]["MESSAGES"] == 1


def test_append_to_selected_mailbox_reports_exists(example):
    c = Imap(example)
    c.ok("SELECT INBOX")
    r = c.append("INBOX", msg())
    assert r.status == "OK"
    assert r.named("EXISTS") == [b"* 1 EXISTS"], r


# --------------------------------------------------------------------------
# QUOTA
# --------------------------------------------------------------------------


def test_getquotaroot_with_account_and_domain_quotas(example):
    example.admin("account", "quota", ALICE, str(100 * 1024))
    example.admin("domain", "limits", "example.test", "--quota", str(1024 * 1024),
                  "--max-accounts", "0")
    c = Imap(example)
    m = msg(body="q" * 3000)
    c.append("INBOX", m)
    r = c.ok("GETQUOTAROOT INBOX")
    roots = r.named("QUOTAROOT")
    assert len(roots) == 1
    v = parse(roots[0])
    assert v[2] in (b"INBOX", "INBOX")
    root_names = [x.decode() if isinstance(x, bytes) else str(x) for x in v[3:]]
    assert len(root_names) == 2, roots
    quotas = {}
    for line in r.named("QUOTA"):
        q = parse(line)
        name = q[2].decode() if isinstance(q[2], bytes) else str(q[2])
        res = q[3]
        quotas[name] = {str(res[i]).upper(): (int(res[i + 1]), int(res[i + 2]))
                        for i in range(0, len(res), 3)}
    assert set(quotas) == set(root_names), r
    account_root, domain_root = root_names
    used_kb = -(-len(m) // 1024)
    assert quotas[account_root]["STORAGE"] == (used_kb, 100), quotas
    assert quotas[domain_root]["STORAGE"] == (used_kb, 1024), quotas
    # GETQUOTA on one root gives just that root
    r = c.ok(f'GETQUOTA "{account_root}"')
    assert len(r.named("QUOTA")) == 1
    r = c.cmd('GETQUOTA "no-such-root"')
    assert r.status == "NO", r
    r = c.cmd('SETQUOTA "" (STORAGE 10)')
    assert r.status == "NO", r
    i = example.imap()
    typ, data = i.getquotaroot("INBOX")
    assert typ == "OK"


def test_quota_roots_without_limits(example):
    """An unlimited root has no resource to report, so it is not a quota root (RFC 9208 §5.1
    needs at least one resource in every QUOTA response)."""
    c = Imap(example)
    r = c.ok("GETQUOTAROOT INBOX")
    assert r.named("QUOTAROOT") == [b'* QUOTAROOT "INBOX"'], r
    assert r.named("QUOTA") == []
    assert c.cmd('GETQUOTA ""').code == "NONEXISTENT"
    example.admin("account", "quota", ALICE, str(10 * 1024))
    r = c.ok("GETQUOTAROOT INBOX")
    assert r.named("QUOTAROOT") == [b'* QUOTAROOT "INBOX" ""'], r
    assert r.named("QUOTA") == [b'* QUOTA "" (STORAGE 0 10)'], r
    for line in r.named("QUOTA"):
        assert not line.endswith(b"()"), r
    assert c.cmd("GETQUOTAROOT nosuch").code == "NONEXISTENT"


def test_quota_resources_advertised_are_the_ones_reported(example):
    """RFC 9208 §5: only STORAGE is limited here (no message-count limit), so only
    QUOTA=RES-STORAGE is advertised and QUOTA responses carry only STORAGE."""
    c = Imap(example)
    caps = c.ok("CAPABILITY").named("CAPABILITY")[0].decode().upper().split()
    assert "QUOTA=RES-STORAGE" in caps and "QUOTA=RES-MESSAGE" not in caps, caps
    example.admin("account", "quota", ALICE, str(100 * 1024))
    c.append("INBOX", msg())
    r = c.ok("GETQUOTAROOT INBOX")
    text = b" ".join(r.named("QUOTA")).decode()
    assert re.search(r"\(STORAGE \d+ 100\)", text) and "MESSAGE" not in text, r


def test_append_utf8_data_item(example):
    """RFC 6855 §4: with UTF8=ACCEPT, APPEND takes `UTF8 (literal8)` for a message whose
    headers are raw UTF-8."""
    c = Imap(example)
    c.ok("ENABLE UTF8=ACCEPT")
    m = ("From: 山田 <yamada@example.test>\r\nTo: alice@example.test\r\n"
         "Subject: 日本語の件名\r\n\r\n本文です。\r\n").encode()
    r = c.cmd(b"APPEND INBOX (\\Seen) UTF8 (~{%d+}\r\n%s)" % (len(m), m))
    assert r.status == "OK" and r.code.startswith("APPENDUID"), r
    c.ok("SELECT INBOX")
    f = c.fetch("FETCH 1 (FLAGS BODY.PEEK[])")[1]
    assert f["BODY[]"] == m and "\\Seen" in f["FLAGS"]
    needle = "件名".encode()
    r = c.cmd(b"SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n%s" % (len(needle), needle))
    assert r.named("SEARCH") == [b"* SEARCH 1"], r
