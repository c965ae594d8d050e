# SPDX-License-Identifier: BSD-2-Clause
"""test_content - the content rules of issue 4 through the private Postfix
and the private Sendmail (@each_mta: every test runs with both, issue 18).

header-line-length, body-line-length, mime-filename-length, duplicate-header,
dkim-unsigned-duplicate and mime-structure (issue 13): for each, the accept side (the message is
delivered byte for byte) and the refuse side (the exact reply at the end of
DATA, nothing delivered), with the exact log lines.  The messages are the
corpus in tests/data (see tests/data/README for each file's verdict).
"""

import os

from harness import LOG_NOTICE, LOG_WARNING, SMTPSession, check_delivered, each_mta

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
SENDER = "sender@example.test"
RCPT = "user@dest.test"
STANDARD = "profile = standard\n"
ASA = "profile = asa\n"


def load(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def esc(b, cut=200):
    """audit_escape(): cut at 200 octets (+ "..."), \\xHH for octets outside
    0x20..0x7e and for '"' and '\\'."""
    out = "".join(chr(c) if 0x20 <= c <= 0x7e and c not in b'"\\' else "\\x%02x" % c
                  for c in b[:cut])
    return out + ("..." if len(b) > cut else "")


def client(port):
    return "client=localhost[127.0.0.1]:%d" % port


def line(qid, port, rule, action, value, limit, stage, header=None, detail=None):
    s = "%s: rule=%s action=%s value=%d limit=%d stage=%s %s from=<%s>" % (
        qid, rule, action, value, limit, stage, client(port), SENDER)
    if header is not None:
        s += " header=%s" % header
    if detail is not None:
        s += ' detail="%s"' % detail
    return s


def send(ctx, msg):
    """One transaction with ${msg} (CRLF bytes).  Returns (reply at the end
    of DATA, client port, eof seen after it)."""
    s = SMTPSession(ctx.smtp_port)
    try:
        s.greet()
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("RCPT TO:<%s>" % RCPT, 250)
        r = s.data(msg)
        eof = False
        if r is not None and r.code == 421:
            s.expect_eof()
            eof = True
        elif r is not None:
            s.expect("QUIT", 221)
        return r, s.local_port, eof
    finally:
        s.close()


def rule_lines(ctx, since):
    return [l for l in ctx.milter.log_lines(since) if " rule=" in l.message]


def accept(ctx, name, logged=(), level=LOG_NOTICE):
    """${name} is delivered byte for byte; the milter logs exactly the rule
    lines ${logged} (tuples for line() after qid and port) at ${level}."""
    msg = load(name)
    lm, dm = ctx.syslog.mark(), ctx.mta.mark()
    r, port, _ = send(ctx, msg)
    qid = ctx.mta.accepted_id(r)
    check_delivered(ctx.mta.wait_delivered(RCPT, dm)[0], msg.replace(b"\r\n", b"\n"))
    want = [line(qid, port, *t) for t in logged]
    for w in want:
        ctx.milter.expect_log(w, level, since=lm)
    got = [l.message for l in rule_lines(ctx, lm)]
    assert sorted(got) == sorted(want), "%s: rule lines %r, expected %r" % (name, got, want)


def refuse(ctx, name, code, text, logged, level=LOG_WARNING):
    """${name} gets ${code} ${text} at the end of DATA (421: and the
    connection is closed), nothing is delivered, and exactly the rule lines
    ${logged} are logged at ${level}."""
    msg = load(name)
    lm, dm = ctx.syslog.mark(), ctx.mta.mark()
    r, port, eof = send(ctx, msg)
    assert r is not None, "%s: connection closed, expected %d %s" % (name, code, text)
    assert (r.code, r.text) == (code, text), "%s: got %r, expected %d %s" % (name, r, code, text)
    assert eof == (code == 421)
    qid = ctx.mta.queue_id_for(port, since=lm)
    want = [line(qid, port, *t) for t in logged]
    for w in want:
        ctx.milter.expect_log(w, level, since=lm)
    got = [l.message for l in rule_lines(ctx, lm)]
    assert sorted(got) == sorted(want), "%s: rule lines\n  %s\nexpected\n  %s" % (
        name, "\n  ".join(got), "\n  ".join(want))
    ctx.mta.assert_nothing_delivered(dm, port)


def reply_text(rule):
    return "Message refused by policy (%s)" % rule


REJECT = (550, "5.7.1 ")
DROP = (421, "4.7.0 ")


def dup(h, n=2):
    return ("duplicate-header", "reject", n, 1, "eoh", h)


def unsigned(h, n=2, listed=1):
    return ("dkim-unsigned-duplicate", "reject", n, listed, "eoh", h)


BENIGN = [
    "benign-plain.eml", "benign-body-looks-like-header.eml",
    "benign-from-two-mailboxes-sender.eml", "benign-resent-blocks.eml",
    "benign-list-headers.eml", "benign-many-received.eml", "benign-dkim-oversigned.eml",
    "benign-dkim-folded-multiline.eml", "benign-dkim-several-signatures.eml",
    "benign-dkim-z-copied.eml", "benign-arc-i1-i2.eml", "benign-rfc822-attachment.eml",
    # multiparts as common clients write them, a forwarded message
    "benign-outlook-multipart.eml", "benign-thunderbird-multipart.eml",
    "benign-applemail-multipart.eml", "benign-forwarded-rfc822.eml",
    # at the limits (a 70-octet boundary is the longest RFC 2046 allows)
    "mime-boundary-70.eml",
    "len-header-998.eml", "len-header-folded-900-900.eml", "len-body-998.eml",
    "mime-2231-255.eml", "mime-2047-255.eml", "mime-nested-255.eml", "mime-rfc822-255.eml",
    "mime-body-looks-like-part-header.eml",
]

# file -> (reply rule, logged rule lines); standard profile, every rule line at WARNING
DUP_ATTACKS = {
    "attack-dup-from.eml": ("duplicate-header", [dup("from")]),
    "attack-dup-subject.eml": ("duplicate-header", [dup("subject")]),
    "attack-dup-to.eml": ("duplicate-header", [dup("to")]),
    "attack-from-case-variants.eml": ("duplicate-header", [dup("from", 3)]),
    "attack-from-space-colon.eml": ("duplicate-header", [dup("from")]),
    "attack-from-tab-colon.eml": ("duplicate-header", [dup("from")]),
    "attack-from-folded-value.eml": ("duplicate-header", [dup("from")]),
    "attack-dup-singletons.eml": ("duplicate-header", [
        dup(h) for h in ("reply-to", "message-id", "date", "sender", "cc",
                         "in-reply-to", "references")]),
    "attack-dkim-rfc6376-8.15.eml": ("duplicate-header", [dup("from"), unsigned("from")]),
    "attack-dkim-a18-extra-from.eml": ("duplicate-header", [dup("from"), unsigned("from")]),
    "attack-dkim-a15-prepended-subject-to.eml": ("duplicate-header", [
        dup("subject"), dup("to"), unsigned("subject"), unsigned("to")]),
    "attack-dkim-fig10-to-subject-content-type.eml": ("duplicate-header", [
        dup("to"), dup("subject"), unsigned("to"), unsigned("subject"),
        unsigned("content-type")]),
    "attack-dkim-prepended-unlisted-field.eml": ("dkim-unsigned-duplicate",
                                                 [unsigned("x-priority")]),
}

N255 = ("\u00e9" * 125 + "a.pdf").encode()
N256 = ("\u00e9" * 126 + ".pdf").encode()
A256 = b"a" * 252 + b".txt"
MIME_256 = {
    "mime-2231-256.eml": N256,
    "mime-2231-continuations-256.eml": N256,
    "mime-2047-256.eml": N256,
    "mime-ctype-name-ascii-256.eml": A256,
    "mime-nested-256.eml": N256,
    "mime-rfc822-256.eml": N256,
    "mime-toplevel-disposition-256.eml": A256,
}


# ----------------------------------------------------------------------
# accept side: everything benign passes untouched

@each_mta
def test_benign_corpus_delivered_untouched(ctx):
    ctx.start_milter(STANDARD)
    assert len(N255) == 255 and len(N256) == 256
    for name in BENIGN:
        accept(ctx, name)


# ----------------------------------------------------------------------
# duplicate-header, dkim-unsigned-duplicate

@each_mta
def test_duplicate_and_unsigned_attacks_refused(ctx):
    ctx.start_milter(STANDARD)
    for name, (rule, logged) in DUP_ATTACKS.items():
        refuse(ctx, name, REJECT[0], REJECT[1] + reply_text(rule), logged)


@each_mta
def test_duplicate_bcc(ctx):
    """Postfix's cleanup removes Bcc before the milter sees the header (and
    from the delivered copy): two Bcc fields cannot be, and are not,
    flagged.  Sendmail passes them to the milter: duplicate-header."""
    ctx.start_milter(STANDARD)
    msg = load("attack-dup-bcc.eml")
    if ctx.mta.NAME == "sendmail":
        refuse(ctx, "attack-dup-bcc.eml", REJECT[0], REJECT[1] + reply_text("duplicate-header"),
               [dup("bcc")])
        return
    lm, dm = ctx.syslog.mark(), ctx.mta.mark()
    r, port, _ = send(ctx, msg)
    assert r is not None and r.code == 250, "expected 250, got %r" % r
    sent = b"".join(l for l in msg.replace(b"\r\n", b"\n").splitlines(True)
                    if not l.startswith(b"Bcc:"))
    check_delivered(ctx.mta.wait_delivered(RCPT, dm)[0], sent)
    assert not rule_lines(ctx, lm), rule_lines(ctx, lm)


@each_mta
def test_dkim_unsigned_duplicate_alone(ctx):
    """With duplicate-header off, the From attacks on signed mail are still
    refused, by dkim-unsigned-duplicate; the unsigned ones pass."""
    ctx.start_milter(STANDARD + "rule duplicate-header { action = none }\n")
    refuse(ctx, "attack-dkim-rfc6376-8.15.eml", 550,
           "5.7.1 " + reply_text("dkim-unsigned-duplicate"), [unsigned("from")])
    refuse(ctx, "attack-dkim-a18-extra-from.eml", 550,
           "5.7.1 " + reply_text("dkim-unsigned-duplicate"), [unsigned("from")])
    accept(ctx, "attack-dup-from.eml")
    accept(ctx, "benign-dkim-oversigned.eml")


@each_mta
def test_duplicate_header_listed_names_and_tempfail(ctx):
    ctx.start_milter(STANDARD + 'rule duplicate-header { action = tempfail  reply = "Duplicate '
                     'header fields"  headers = { "Content-Type", "content-transfer-encoding", '
                     '"mime-version" } }\n')
    tf = lambda h: ("duplicate-header", "tempfail", 2, 1, "eoh", h)  # noqa: E731
    refuse(ctx, "attack-dup-content-type.eml", 451, "4.7.1 Duplicate header fields",
           [tf("content-type")])
    refuse(ctx, "attack-dup-cte-mime-version.eml", 451, "4.7.1 Duplicate header fields",
           [tf("mime-version"), tf("content-transfer-encoding")])
    # the list replaces the default one: From is not listed any more
    accept(ctx, "attack-dup-from.eml")


@each_mta
def test_duplicate_rules_off_under_asa(ctx):
    ctx.start_milter(ASA)
    for name in ("attack-dup-from.eml", "attack-dup-singletons.eml",
                 "attack-dkim-rfc6376-8.15.eml", "attack-dkim-fig10-to-subject-content-type.eml",
                 "attack-dkim-prepended-unlisted-field.eml"):
        accept(ctx, name)


# ----------------------------------------------------------------------
# header-line-length

@each_mta
def test_header_line_length_standard(ctx):
    ctx.start_milter(STANDARD)
    accept(ctx, "len-header-998.eml")
    accept(ctx, "len-header-folded-900-900.eml")
    refuse(ctx, "len-header-999.eml", 550, "5.7.1 " + reply_text("header-line-length"),
           [("header-line-length", "reject", 999, 998, "header", "X-Long")])
    refuse(ctx, "len-header-folded-999-continuation.eml", 550,
           "5.7.1 " + reply_text("header-line-length"),
           [("header-line-length", "reject", 999, 998, "header", "X-Folded")])


@each_mta
def test_header_line_length_asa_drops_connection(ctx):
    ctx.start_milter(ASA)
    accept(ctx, "len-header-998.eml")
    refuse(ctx, "len-header-999.eml", 421, "4.7.0 " + reply_text("header-line-length"),
           [("header-line-length", "drop-connection", 999, 998, "header", "X-Long")])


# ----------------------------------------------------------------------
# body-line-length

@each_mta
def test_body_line_length_default_logs_and_delivers(ctx):
    ctx.start_milter(STANDARD)
    accept(ctx, "len-body-998.eml")
    # fires once per message: the later 1200-octet line is not logged
    accept(ctx, "len-body-999.eml", [("body-line-length", "log", 999, 998, "body")], LOG_NOTICE)
    accept(ctx, "len-body-5000.eml", [("body-line-length", "log", 5000, 998, "body")],
           LOG_NOTICE)


@each_mta
def test_body_line_length_asa_logs_and_delivers(ctx):
    ctx.start_milter(ASA)
    accept(ctx, "len-body-999.eml", [("body-line-length", "log", 999, 998, "body")], LOG_NOTICE)


@each_mta
def test_body_line_length_reject(ctx):
    ctx.start_milter(STANDARD + "rule body-line-length { action = reject }\n")
    accept(ctx, "len-body-998.eml")
    refuse(ctx, "len-body-5000.eml", 550, "5.7.1 " + reply_text("body-line-length"),
           [("body-line-length", "reject", 5000, 998, "body")])


# ----------------------------------------------------------------------
# mime-filename-length

@each_mta
def test_mime_filename_length_standard(ctx):
    ctx.start_milter(STANDARD)
    for name in ("mime-2231-255.eml", "mime-2047-255.eml", "mime-nested-255.eml",
                 "mime-rfc822-255.eml", "mime-body-looks-like-part-header.eml"):
        accept(ctx, name)
    for name, decoded in MIME_256.items():
        refuse(ctx, name, 550, "5.7.1 " + reply_text("mime-filename-length"),
               [("mime-filename-length", "reject", 256, 255, "body", None, esc(decoded))])


@each_mta
def test_mime_filename_length_asa_drops_connection(ctx):
    ctx.start_milter(ASA)
    accept(ctx, "mime-rfc822-255.eml")
    refuse(ctx, "mime-nested-256.eml", 421, "4.7.0 " + reply_text("mime-filename-length"),
           [("mime-filename-length", "drop-connection", 256, 255, "body", None, esc(N256))])


# ----------------------------------------------------------------------
# mime-structure (SPEC 4.1): the evasions of issue 13

Q300 = b"q" * 296 + b".exe"
JOINED = ("\u20ac" * 20 + "a").encode() * 5


def structure(detail, action="reject"):
    return ("mime-structure", action, 1, 0, "body", None, detail)


def filename(value, decoded, action="reject"):
    return ("mime-filename-length", action, value, 255, "body", None, esc(decoded))


@each_mta
def test_mime_structure_standard(ctx):
    """Each evasion is refused, with every rule that fired logged; the reply
    names the first in SPEC order among the strongest (both reject here:
    mime-filename-length, though mime-structure fired first)."""
    ctx.start_milter(STANDARD)
    ms = (550, "5.7.1 " + reply_text("mime-structure"))
    mf = (550, "5.7.1 " + reply_text("mime-filename-length"))
    refuse(ctx, "mime-evasion-long-boundary.eml", *mf,
           [structure("boundary longer than 200 octets"), filename(0, b"")])
    refuse(ctx, "mime-evasion-boundary-whitespace.eml", *mf,
           [structure("more than 32 octets of white space after a boundary"),
            filename(300, Q300)])
    refuse(ctx, "mime-evasion-two-content-types.eml", *mf,
           [structure("Content-Type twice in one header"), filename(300, Q300)])
    refuse(ctx, "attack-dup-content-type.eml", *ms,
           [structure("Content-Type twice in one header")])
    refuse(ctx, "attack-dup-cte-mime-version.eml", *ms,
           [structure("Content-Transfer-Encoding twice in one header")])
    refuse(ctx, "mime-structure-base64-rfc822.eml", *ms,
           [structure("encoded message part")])
    # GMime joins the words and measures 61 octets; a client shows 305
    refuse(ctx, "mime-evasion-joined-words.eml", 550,
           "5.7.1 " + reply_text("mime-filename-length"), [filename(305, JOINED)])


@each_mta
def test_mime_structure_log_only_delivers(ctx):
    ctx.start_milter(STANDARD + "rule mime-structure { action = log }\n"
                     "rule mime-filename-length { action = log }\n")
    accept(ctx, "attack-dup-content-type.eml",
           [structure("Content-Type twice in one header", "log")])
    accept(ctx, "mime-evasion-two-content-types.eml",
           [structure("Content-Type twice in one header", "log"),
            filename(300, Q300, "log")])


@each_mta
def test_mime_structure_off_under_asa_fails_closed(ctx):
    """Profile asa has mime-structure off; what the scanner cannot read
    still never passes: mime-filename-length fires on it (value 0)."""
    ctx.start_milter(ASA)
    accept(ctx, "attack-dup-content-type.eml")
    refuse(ctx, "mime-evasion-long-boundary.eml", 421,
           "4.7.0 " + reply_text("mime-filename-length"),
           [filename(0, b"", "drop-connection")])
    refuse(ctx, "mime-evasion-two-content-types.eml", 421,
           "4.7.0 " + reply_text("mime-filename-length"),
           [filename(300, Q300, "drop-connection")])
