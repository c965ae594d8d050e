# SPDX-License-Identifier: BSD-2-Clause
"""test_sendmail - what only Sendmail does, behind the milter (issue 18).

The tests whose behaviour does not depend on the MTA run with Sendmail as
well, in test_milter.py and test_content.py (@each_mta, name[sendmail]);
the differences they pin down are in harness.Sendmail (refused(),
MAIL_QID, accepted_id()).  Here: a plain delivery, with the queue id of
Sendmail's DATA reply in its Received: field and its log, and the one
limit Sendmail enforces before the milter: it refuses envelope addresses
of 254 octets or more itself (the address with its angle brackets over
255), `553 5.1.0 <addr...>... Address "<addr..." too long (255 bytes
max)`, so sender-length limits of 253 or more never fire under Sendmail
(issue 18 and SPEC 7 said 255: observed 254, for MAIL and RCPT).

ctx.sendmail is the run's harness.Sendmail (Debian's Sendmail 8.17,
unpacked by scripts/sendmail-unpack into the build tree), with
contrib/sendmail/esmtp-inspect.mc at ctx.milter_port; ctx.syslog holds
both the milter's and Sendmail's lines (Sendmail's tagged
harness.Sendmail.LOG_TAG).
"""

import harness
from harness import SMTPSession, check_delivered, make_message

REQUIRES = ("sendmail",)

SENDER = "sender@example.test"
DOMAIN = "@example.test"


def sender_of(n):
    return "s" * (n - len(DOMAIN)) + DOMAIN


def session(ctx):
    s = SMTPSession(ctx.sendmail.smtp_port)
    s.greet()
    return s




def send_ok(ctx, sender, to, subject="harness test"):
    return harness.send_ok(ctx.sendmail, sender, to, subject)


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
        qid = ctx.sendmail.accepted_id(s.data(msg))
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


def test_sendmail_refuses_254_octet_addresses_itself(ctx):
    """Sendmail 8.17 refuses an envelope address of 254 octets or more
    (255 with "<>" is over its 255) before the milter.  With sender-length
    at 252, a 253-octet sender reaches the milter and is refused by it
    (553 5.1.7, a rule line); a 254-octet one gets Sendmail's own 553 5.1.0
    and the milter logs nothing: a limit of 253 or more can never fire
    (SPEC 7 says 255: what Sendmail 8.17.1.9 does is 254)."""
    ctx.start_milter("profile = standard\nrule sender-length { limit = 252 }\n")
    lm, dm = ctx.syslog.mark(), ctx.sendmail.mark()
    s253, s254 = sender_of(253), sender_of(254)
    with session(ctx) as s:
        r = s.cmd("MAIL FROM:<%s>" % s253)
        assert r is not None and (r.code, r.text) == (553, ctx.sendmail.refused(
            "5.1.7 Message refused by policy (sender-length)", s253)), \
            "expected the milter's 553 5.1.7 for 253 octets, got %d %r" % (r.code, r.text)
        port = s.local_port
        r = s.cmd("MAIL FROM:<%s>" % s254)
        assert r is not None and r.code == 553 and r.text.startswith("5.1.0 <") \
            and r.text.endswith('" too long (255 bytes max)'), \
            "expected Sendmail's own 553 5.1.0 ... too long, got %r" % r
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        # a recipient, too
        r = s.cmd("RCPT TO:<%s>" % ("r" * 244 + "@dest.test"))
        assert r is not None and r.code == 553 and r.text.startswith("5.1.0 <") \
            and r.text.endswith('" too long (255 bytes max)'), \
            "expected Sendmail's own 553 5.1.0 ... too long, got %r" % r
        s.expect("QUIT", 221)
    ctx.milter.expect_log("{QID}: rule=sender-length action=reject value=253 limit=252 "
                          "stage=mail client=localhost[127.0.0.1]:%d from=<%s...>"
                          % (port, s253[:200]), harness.LOG_WARNING, since=lm,
                          variable={"{QID}": ctx.sendmail.QID})
    rules = [l.message for l in ctx.milter.log_lines(lm) if " rule=" in l.message]
    assert len(rules) == 1, "only the 253-octet sender reaches the milter: %r" % rules
    ctx.sendmail.assert_nothing_delivered(dm)
