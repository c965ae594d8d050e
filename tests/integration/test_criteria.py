# SPDX-License-Identifier: BSD-2-Clause
"""test_criteria - the ASA's optional match criteria of issue 19 through the
private Postfix and the private Sendmail (@each_mta):

header-length, header-to-count, body-length, mime-type, mime-encoding,
sender-address and mail-relay (SPEC 4, 4.2).  For each, the refuse side
(the exact reply, nothing delivered) and the accept side (delivered byte
for byte), with the exact log lines (SPEC 6); monitor mode, and the
profiles, where all seven stay off.  The messages are the corpus of
tests/data; what each holds is in tests/data/README.
"""

from harness import LOG_NOTICE, LOG_WARNING, SMTPSession, check_delivered, each_mta
from test_content import (RCPT, SENDER, STANDARD, accept, client, load, refuse,
                          reply_text, rule_lines, send)

REJECT = "5.7.1 "


def rule(name, action, value, limit, stage, detail=None):
    """A tuple for test_content.line(): value/limit of a rule."""
    return (name, action, value, limit, stage, None, detail)


def header_octets(msg):
    """The header section of ${msg} (CRLF bytes) as header-length counts
    it: every field with its CRLF, without the empty line."""
    return msg.index(b"\r\n\r\n") + 2


def body_octets(msg):
    return len(msg) - msg.index(b"\r\n\r\n") - 4


def restart(ctx, conf):
    """The milter again with ${conf} (a test's second configuration)."""
    ctx.milter.stop()
    ctx.start_milter(conf)


def session(ctx):
    s = SMTPSession(ctx.smtp_port)
    s.greet()
    return s


# ----------------------------------------------------------------------
# header-length

@each_mta
def test_header_length_counts_the_header_as_passed(ctx):
    """limit 0, action log: the value is the header the milter was given,
    every field with its CRLF: the message's own fields, since neither
    Postfix nor Sendmail shows a milter the Received: field it adds."""
    msg = load("benign-plain.eml")
    ctx.start_milter(STANDARD + "rule header-length { limit = 0 action = log }\n")
    accept(ctx, "benign-plain.eml", [rule("header-length", "log", header_octets(msg), 0, "eoh")],
           LOG_NOTICE)


@each_mta
def test_header_length_refused_and_accepted(ctx):
    msg = load("benign-outlook-multipart.eml")
    n = header_octets(msg)
    ctx.start_milter(STANDARD + "rule header-length { limit = %d action = reject }\n" % (n - 1))
    refuse(ctx, "benign-outlook-multipart.eml", 550, REJECT + reply_text("header-length"),
           [rule("header-length", "reject", n, n - 1, "eoh")])
    restart(ctx, STANDARD + "rule header-length { limit = %d action = reject }\n" % n)
    accept(ctx, "benign-outlook-multipart.eml")


# ----------------------------------------------------------------------
# header-to-count

@each_mta
def test_header_to_count(ctx):
    ctx.start_milter(STANDARD + "rule duplicate-header { action = none }\n"
                     "rule header-to-count { limit = 1 action = reject }\n")
    refuse(ctx, "attack-dup-to.eml", 550, REJECT + reply_text("header-to-count"),
           [rule("header-to-count", "reject", 2, 1, "eoh")])
    accept(ctx, "benign-plain.eml")
    # a To: inside a DKIM h= tag is no field
    accept(ctx, "benign-dkim-oversigned.eml")
    restart(ctx, STANDARD + "rule duplicate-header { action = none }\n"
                     "rule header-to-count { limit = 2 action = reject }\n")
    accept(ctx, "attack-dup-to.eml")


# ----------------------------------------------------------------------
# body-length

@each_mta
def test_body_length_both_sides(ctx):
    msg = load("len-body-5000.eml")
    b = body_octets(msg)
    off = "rule body-line-length { action = none }\n"
    ctx.start_milter(STANDARD + off + "rule body-length { limit = %d action = reject }\n"
                     % (b - 1))
    refuse(ctx, "len-body-5000.eml", 550, REJECT + reply_text("body-length"),
           [rule("body-length", "reject", b, b - 1, "body")])
    restart(ctx, STANDARD + off + "rule body-length { limit = %d action = reject }\n" % b)
    accept(ctx, "len-body-5000.eml")


@each_mta
def test_body_length_asa_drops_connection(ctx):
    msg = load("benign-outlook-multipart.eml")
    b = body_octets(msg)
    ctx.start_milter("profile = asa\nrule body-length { limit = 100 "
                     "action = drop-connection }\n")
    refuse(ctx, "benign-outlook-multipart.eml", 421, "4.7.0 " + reply_text("body-length"),
           [rule("body-length", "drop-connection", b, 100, "body")])


# ----------------------------------------------------------------------
# mime-type

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@each_mta
def test_mime_type(ctx):
    ctx.start_milter(STANDARD + "rule mime-type { patterns = { '^image/', "
                     "'^application/vnd\\.openxmlformats-' } action = reject }\n")
    refuse(ctx, "benign-outlook-multipart.eml", 550, REJECT + reply_text("mime-type"),
           [rule("mime-type", "reject", 1, 0, "body", XLSX)])
    accept(ctx, "benign-plain.eml")
    accept(ctx, "benign-rfc822-attachment.eml")
    # the attached message is a part too
    restart(ctx, STANDARD + "rule mime-type { patterns = { '^message/rfc822$' } "
                     "action = tempfail }\n")
    refuse(ctx, "benign-rfc822-attachment.eml", 451, "4.7.1 " + reply_text("mime-type"),
           [rule("mime-type", "tempfail", 1, 0, "body", "message/rfc822")])


# ----------------------------------------------------------------------
# mime-encoding

@each_mta
def test_mime_encoding(ctx):
    ctx.start_milter(STANDARD + 'rule mime-encoding { encodings = { "base64", "others" } '
                     'action = reject }\n')
    refuse(ctx, "benign-outlook-multipart.eml", 550, REJECT + reply_text("mime-encoding"),
           [rule("mime-encoding", "reject", 1, 0, "body", "base64")])
    accept(ctx, "benign-plain.eml")
    accept(ctx, "benign-rfc822-attachment.eml")


@each_mta
def test_mime_rules_monitor(ctx):
    """mode = monitor: both MIME rules logged at NOTICE with mode=monitor,
    the message delivered untouched."""
    ctx.start_milter(STANDARD + "mode = monitor\n"
                     "rule mime-type { patterns = { 'spreadsheet' } action = reject }\n"
                     'rule mime-encoding { encodings = { "quoted-printable" } '
                     'action = drop-connection }\n')
    msg = load("benign-outlook-multipart.eml")
    lm, dm = ctx.syslog.mark(), ctx.mta.mark()
    r, port, _ = send(ctx, msg)
    qid = ctx.mta.accepted_id(r)
    check_delivered(ctx.mta.wait_delivered(RCPT, dm)[0], msg.replace(b"\r\n", b"\n"))
    pre = "%s: rule=%%s value=1 limit=0 stage=body %s from=<%s> mode=monitor" % (
        qid, client(port), SENDER)
    want = [pre % 'mime-encoding action=drop-connection' + ' detail="quoted-printable"',
            pre % 'mime-type action=reject' + ' detail="%s"' % XLSX]
    for w in want:
        ctx.milter.expect_log(w, LOG_NOTICE, since=lm)
    assert sorted(l.message for l in rule_lines(ctx, lm)) == sorted(want)


# ----------------------------------------------------------------------
# sender-address

@each_mta
def test_sender_address(ctx):
    ctx.start_milter(STANDARD + "rule sender-address { patterns = { '@example\\.test$' } "
                     "action = reject }\n")
    lm, dm = ctx.syslog.mark(), ctx.mta.mark()
    s = session(ctx)
    try:
        r = s.cmd("MAIL FROM:<%s>" % SENDER)
        assert (r.code, r.text) == (550, ctx.mta.refused(
            REJECT + reply_text("sender-address"), SENDER)), r
        # another sender passes; a dot in the pattern is a dot
        s.expect("MAIL FROM:<a@exampleXtest.example>", 250)
        s.expect("QUIT", 221)
        port = s.local_port
    finally:
        s.close()
    ctx.milter.expect_log('{QID}: rule=sender-address action=reject value=1 limit=0 '
                          'stage=mail %s from=<%s> detail="%s"' % (client(port), SENDER, SENDER),
                          LOG_WARNING, since=lm, variable={"{QID}": ctx.mta.MAIL_QID})
    assert len(rule_lines(ctx, lm)) == 1
    ctx.mta.assert_nothing_delivered(dm, port)


@each_mta
def test_sender_address_null_sender(ctx):
    """The null sender is matched as the empty string."""
    ctx.start_milter(STANDARD + "rule sender-address { patterns = { '^$' } "
                     "action = tempfail }\n")
    lm = ctx.syslog.mark()
    s = session(ctx)
    try:
        r = s.cmd("MAIL FROM:<>")
        assert (r.code, r.text) == (451, "4.7.1 " + reply_text("sender-address")), r
        s.expect("QUIT", 221)
        port = s.local_port
    finally:
        s.close()
    ctx.milter.expect_log('{QID}: rule=sender-address action=tempfail value=1 limit=0 '
                          'stage=mail %s from=<> detail=""' % client(port),
                          LOG_WARNING, since=lm, variable={"{QID}": ctx.mta.MAIL_QID})


# ----------------------------------------------------------------------
# mail-relay

@each_mta
def test_mail_relay(ctx):
    """Both MTAs take only dest.test here (Postfix refuses other domains
    itself, before the milter), so the refused side lists other domains:
    each dest.test recipient is refused by the milter, the quoted one
    with the whole address as detail (an @ in the local part may route
    it elsewhere: it fires whatever the domain)."""
    ctx.start_milter(STANDARD + 'rule mail-relay { domains = { "other.test", '
                     '".sub.test" } action = reject }\n')
    lm, dm = ctx.syslog.mark(), ctx.mta.mark()
    addrs = (RCPT, '"u@other.test"@dest.test')
    s = session(ctx)
    try:
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        for addr in addrs:
            r = s.cmd("RCPT TO:<%s>" % addr)
            assert (r.code, r.text) == (550, ctx.mta.refused(
                REJECT + reply_text("mail-relay"), addr)), r
        s.expect("RSET", 250)
        s.expect("QUIT", 221)
        port = s.local_port
    finally:
        s.close()
    for addr, detail in zip(addrs, ("dest.test", addrs[1].replace('"', "\\x22"))):
        ctx.milter.expect_log('{QID}: rule=mail-relay action=reject value=1 limit=0 stage=rcpt '
                              '%s from=<%s> rcpt=<%s> detail="%s"'
                              % (client(port), SENDER, addr.replace('"', "\\x22"), detail),
                              LOG_WARNING, since=lm, variable={"{QID}": ctx.mta.MAIL_QID})
    assert len(rule_lines(ctx, lm)) == 2
    ctx.mta.assert_nothing_delivered(dm, port)
    # a listed domain: delivered untouched
    restart(ctx, STANDARD + 'rule mail-relay { domains = { "dest.test" } action = reject }\n')
    accept(ctx, "benign-plain.eml")


# ----------------------------------------------------------------------
# the profiles leave all seven off

@each_mta
def test_criteria_off_in_both_profiles(ctx):
    for profile in ("profile = standard\n", "profile = asa\n"):
        ctx.milter.stop()
        ctx.start_milter(profile)
        accept(ctx, "benign-outlook-multipart.eml")
        accept(ctx, "attack-dup-to.eml" if profile.endswith("asa\n") else "benign-plain.eml")
