# SPDX-License-Identifier: BSD-2-Clause
"""test_sendmail - esmtp-inspect-milter behind a real, private Sendmail
(issue 18).

ctx.sendmail is the run's harness.Sendmail (Debian's Sendmail 8.17,
unpacked by scripts/sendmail-unpack into the build tree), with
INPUT_MAIL_FILTER(`esmtp-inspect', `S=inet:PORT@127.0.0.1, F=T') at
ctx.milter_port; ctx.syslog holds both the milter's and Sendmail's lines
(Sendmail's tagged harness.Sendmail.LOG_TAG).

Where Sendmail differs from Postfix the test pins what Sendmail does:
- a 5xx reply to MAIL carries the address, `553 5.1.7 <addr>... text`
  (the 452 to RCPT from rcpt-count does not);
- Sendmail refuses envelope addresses of 254 octets or more itself (the
  address with its angle brackets over 255), `553 5.1.0 <addr...>...
  Address "<addr..." too long (255 bytes max)`, before the milter sees
  them (issue 18 and SPEC 7 said 255: observed 254, for MAIL and RCPT);
- Sendmail gives the transaction a queue id at MAIL, so the
  sender-length line carries it instead of NOQUEUE;
- the milter unreachable with F=T: `451 4.3.2 Please try again later` to
  MAIL.
"""

import re

import harness
from harness import LOG_WARNING, SMTPSession, check_delivered, make_message, swaks

REQUIRES = ("sendmail",)

SENDER = "sender@example.test"
DOMAIN = "@example.test"
# Sendmail's queue ids: 14 letters and digits (e.g. 6B5NF26r005891)
QID = r"[0-9A-Za-z]{14}"


def sender_of(n):
    return "s" * (n - len(DOMAIN)) + DOMAIN


def rcpts(n, first=1):
    return ["u%d@dest.test" % i for i in range(first, first + n)]


def client(port):
    """The client field of the milter's log line: Sendmail, too, passes
    the name it found for 127.0.0.1 (its hosts file: localhost)."""
    return "client=localhost[127.0.0.1]:%d" % port


def session(ctx):
    s = SMTPSession(ctx.sendmail.smtp_port)
    s.greet()
    return s


def expect_reply(r, code, text):
    assert r is not None, "connection closed, expected %d %s" % (code, text)
    assert (r.code, r.text) == (code, text), "got %r, expected %d %s" % (r, code, text)


def accepted_id(reply):
    """Sendmail's DATA reply: 250 2.0.0 <qid> Message accepted for delivery."""
    m = re.fullmatch(r"2\.0\.0 (%s) Message accepted for delivery" % QID, reply.text)
    assert reply.code == 250 and m, "DATA: %r" % reply
    return m.group(1)


def send_ok(ctx, sender, to, subject="harness test"):
    """One swaks send through Sendmail, delivered byte for byte (after the
    Return-Path: and Received: lines Sendmail prepends).  Returns swaks'
    local port."""
    mark = ctx.sendmail.mark()
    msg = make_message(sender, to[0], subject)
    port = harness.free_port()
    r = swaks(ctx.sendmail.smtp_port, sender, to, data=msg, local_port=port)
    assert r.returncode == 0, "swaks failed (%d):\n%s" % (r.returncode, r.stdout[-1500:])
    for rc in to:
        check_delivered(ctx.sendmail.wait_delivered(rc, mark)[0], msg)
    return port


def sm_log(ctx, regex, since):
    return ctx.sendmail.wait_for_log(regex, since=since)


# ----------------------------------------------------------------------

def test_sendmail_delivers_through_the_milter(ctx):
    ctx.start_milter("profile = standard\n")
    lm = ctx.syslog.mark()
    mark = ctx.sendmail.mark()
    msg = make_message(SENDER, "u1@dest.test", "through Sendmail")
    with session(ctx) as s:
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("RCPT TO:<u1@dest.test>", 250)
        s.expect("RCPT TO:<u2@dest.test>", 250)
        qid = accepted_id(s.data(msg))
        s.expect("QUIT", 221)
    for a in ("u1@dest.test", "u2@dest.test"):
        data = ctx.sendmail.wait_delivered(a, mark)[0]
        check_delivered(data, msg)
        # the Received: line Sendmail adds names its queue id
        assert (b"with ESMTP id %s;" % qid.encode()) in data, data[:400]
    sm_log(ctx, r"%s: to=<u1@dest\.test>, .*mailer=local, .*stat=Sent" % qid, lm)
    sm_log(ctx, r"%s: to=<u2@dest\.test>, .*mailer=local, .*stat=Sent" % qid, lm)
    ctx.milter.assert_no_log(r"rule=", lm)
    # the milter was asked: Sendmail logs no "no active filter" or error
    ctx.syslog.assert_absent(r"Milter.*(no active filter|error|to error state)",
                             since=lm, ident=ctx.sendmail.LOG_TAG)


def test_sendmail_rcpt_count_101st_tempfailed(ctx):
    ctx.start_milter("profile = standard\n")
    lm, dm = ctx.syslog.mark(), ctx.sendmail.mark()
    to = rcpts(102)
    msg = make_message(SENDER, to[0], "101 recipients")
    with session(ctx) as s:
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        for a in to[:100]:
            r = s.cmd("RCPT TO:<%s>" % a)
            expect_reply(r, 250, "2.1.5 <%s>... Recipient ok" % a)
        # the milter's 452 as it sets it: no "<addr>... " from Sendmail here
        expect_reply(s.cmd("RCPT TO:<%s>" % to[100]), 452, "4.5.3 Too many recipients")
        expect_reply(s.cmd("RCPT TO:<%s>" % to[101]), 452, "4.5.3 Too many recipients")
        qid = accepted_id(s.data(msg))
        s.expect("QUIT", 221)
        port = s.local_port
    for a in to[:100]:
        check_delivered(ctx.sendmail.wait_delivered(a, dm, timeout=60)[0], msg)
    ctx.sendmail.wait_queue_empty()
    assert not ctx.sendmail.delivered(to[100], dm), "the 101st recipient got the message"
    assert not ctx.sendmail.delivered(to[101], dm), "the 102nd recipient got the message"
    for n in (101, 102):
        ctx.milter.expect_log("%s: rule=rcpt-count action=tempfail value=%d limit=100 "
                              "stage=rcpt %s from=<%s> rcpt=<%s>"
                              % (qid, n, client(port), SENDER, to[n - 1]),
                              LOG_WARNING, since=lm)
        sm_log(ctx, r"%s: Milter: to=<%s>, reject=452 4\.5\.3 Too many recipients"
               % (qid, re.escape(to[n - 1])), lm)
    assert len([l for l in ctx.milter.log_lines(lm) if "rule=" in l.message]) == 2


def test_sendmail_sender_length_below_254(ctx):
    """sender-length at 100 octets: 100 accepted, 101 refused with the
    milter's 553 5.1.7 behind Sendmail's "<addr>... "; the line carries
    Sendmail's queue id (it has one at MAIL), not NOQUEUE."""
    ctx.start_milter("profile = standard\nrule sender-length { limit = 100 }\n")
    lm = ctx.syslog.mark()
    s100, s101 = sender_of(100), sender_of(101)
    send_ok(ctx, s100, ["u1@dest.test"], "100-octet sender")
    ctx.milter.assert_no_log(r"rule=", lm)

    lm, dm = ctx.syslog.mark(), ctx.sendmail.mark()
    with session(ctx) as s:
        expect_reply(s.cmd("MAIL FROM:<%s>" % s101), 553,
                     "5.1.7 <%s>... Message refused by policy (sender-length)" % s101)
        # the refused MAIL leaves the session usable
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("QUIT", 221)
        port = s.local_port
    line = ctx.milter.expect_log("{QID}: rule=sender-length action=reject value=101 "
                                 "limit=100 stage=mail %s from=<%s>" % (client(port), s101),
                                 LOG_WARNING, since=lm, variable={"{QID}": QID})
    qid = line.message.split(":", 1)[0]
    sm_log(ctx, r"%s: Milter: from=<%s>, reject=553 5\.1\.7 Message refused by policy "
           r"\(sender-length\)" % (qid, re.escape(s101)), lm)
    ctx.sendmail.assert_nothing_delivered(dm)


def test_sendmail_refuses_254_octet_addresses_itself(ctx):
    """Sendmail 8.17 refuses an envelope address of 254 octets or more
    (255 with "<>" is over its 255) before the milter: under the standard
    profile (sender-length 320) a 253-octet sender is delivered, a
    254-octet one gets Sendmail's own 553 5.1.0 and the milter logs
    nothing (SPEC 7 says 255: what Sendmail 8.17.1.9 does is 254)."""
    ctx.start_milter("profile = standard\n")
    lm = ctx.syslog.mark()
    send_ok(ctx, sender_of(253), ["u2@dest.test"], "253-octet sender")

    dm = ctx.sendmail.mark()
    s254 = sender_of(254)
    with session(ctx) as s:
        r = s.cmd("MAIL FROM:<%s>" % s254)
        assert r is not None and r.code == 553 and r.text.startswith("5.1.0 <") \
            and r.text.endswith('" too long (255 bytes max)'), \
            "expected Sendmail's own 553 5.1.0 ... too long, got %r" % r
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("QUIT", 221)
    ctx.milter.assert_no_log(r"rule=", lm)
    ctx.sendmail.assert_nothing_delivered(dm)


def test_sendmail_milter_down_tempfails(ctx):
    """F=T and the milter unreachable: Sendmail answers MAIL with
    451 4.3.2 Please try again later (RCPT and DATA then get 503: no MAIL)."""
    m = ctx.start_milter("profile = standard\n")
    m.stop()                            # asserts exit status 0
    lm, dm = ctx.syslog.mark(), ctx.sendmail.mark()
    with session(ctx) as s:
        expect_reply(s.cmd("MAIL FROM:<%s>" % SENDER), 451, "4.3.2 Please try again later")
        expect_reply(s.cmd("RCPT TO:<u4@dest.test>"), 503, "5.0.0 Need MAIL before RCPT")
        s.expect("QUIT", 221)
    sm_log(ctx, r"%s: Milter \(esmtp-inspect\): error connecting to filter: "
           r"Connection refused by 127\.0\.0\.1" % QID, lm)
    sm_log(ctx, r"%s: Milter: initialization failed, temp failing commands" % QID, lm)
    ctx.sendmail.assert_nothing_delivered(dm)
    # started again, the same message goes through
    ctx.start_milter("profile = standard\n")
    send_ok(ctx, SENDER, ["u4@dest.test"], "milter down")
