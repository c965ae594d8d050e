# SPDX-License-Identifier: BSD-2-Clause
"""test_milter - esmtp-inspect-milter behind a real Postfix (issue 3) and
a real Sendmail (issue 18).

Every test gets a Context (see run): ctx.mta (for the tests marked
@each_mta, run once with each: the private Postfix, smtpd_milters pointing
at ctx.milter_port, and the private Sendmail, INPUT_MAIL_FILTER with F=T at
the same port; otherwise Postfix), ctx.syslog (what the milter sent to
/dev/log), ctx.milter (start/reload/stop with a configuration written into
ctx.tmp).  Each test asserts the SMTP replies, the delivered bytes and the
exact log lines; regexes stand only for queue ids and client ports where
those are not known beforehand.

Where the MTAs differ the test says so through ctx.mta: Sendmail puts
"<addr>... " into a 5xx reply to MAIL or RCPT (refused()), has a queue id
at MAIL where Postfix logs NOQUEUE (MAIL_QID), answers DATA with
"QID Message accepted for delivery" (accepted_id()) and refuses addresses
of 254 octets or more itself (test_sendmail.py).
"""

import os
import re
import signal
import socket
import struct
import subprocess

import harness
from harness import (LOG_ERR, LOG_INFO, LOG_NOTICE, LOG_WARNING, SMTPSession,
                     check_delivered, each_mta, expect_reply, make_message)

IDENT = harness.Milter.IDENT
SENDER = "sender@example.test"
DOMAIN = "@example.test"
SENDER_320 = "s" * (320 - len(DOMAIN)) + DOMAIN
SENDER_321 = "s" * (321 - len(DOMAIN)) + DOMAIN
# A sender over the limit of 100 the tests of both MTAs set (Sendmail
# refuses addresses of 254 octets or more before the milter sees them).
SENDER_101 = "s" * (101 - len(DOMAIN)) + DOMAIN
LIMIT_100 = "rule sender-length { limit = 100 }\n"


def client(port):
    """The client field of a log line for a session from 127.0.0.1:${port}
    (both MTAs resolve 127.0.0.1 to localhost and pass that name)."""
    return "client=localhost[127.0.0.1]:%d" % port


def logged_addr(addr):
    """An address as the audit log writes it: cut at 200 octets plus "..."."""
    return addr if len(addr) <= 200 else addr[:200] + "..."


def rcpts(n, first=1):
    return ["u%d@dest.test" % i for i in range(first, first + n)]


def session(ctx):
    s = SMTPSession(ctx.smtp_port)
    s.greet()
    return s




def send_ok(ctx, sender, to, subject="harness test"):
    return harness.send_ok(ctx.mta, sender, to, subject)


def no_rule_lines(ctx, since):
    ctx.milter.assert_no_log(r"rule=", since)


# ----------------------------------------------------------------------
# rcpt-count

@each_mta
def test_rcpt_count_standard_101st_tempfailed(ctx):
    ctx.start_milter("profile = standard\n")
    lm, dm = ctx.syslog.mark(), ctx.mta.mark()
    to = rcpts(102)
    msg = make_message(SENDER, to[0], "101 recipients")
    with session(ctx) as s:
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        for a in to[:100]:
            s.expect("RCPT TO:<%s>" % a, 250)
        # the milter's 452 as it sets it, under Sendmail too (its "<addr>... "
        # goes only into 5xx replies)
        expect_reply(s.cmd("RCPT TO:<%s>" % to[100]), 452, "4.5.3 Too many recipients")
        expect_reply(s.cmd("RCPT TO:<%s>" % to[101]), 452, "4.5.3 Too many recipients")
        qid = ctx.mta.accepted_id(s.data(msg))
        s.expect("QUIT", 221)
        port = s.local_port
    for a in to[:100]:
        check_delivered(ctx.mta.wait_delivered(a, dm, timeout=60)[0], msg)
    ctx.mta.wait_queue_empty()
    assert not ctx.mta.delivered(to[100], dm), "the 101st recipient got the message"
    assert not ctx.mta.delivered(to[101], dm), "the 102nd recipient got the message"
    # value is each refused recipient's ordinal (SPEC 6): 101, then 102.
    for n in (101, 102):
        ctx.milter.expect_log("%s: rule=rcpt-count action=tempfail value=%d limit=100 "
                              "stage=rcpt %s from=<%s> rcpt=<%s>"
                              % (qid, n, client(port), SENDER, to[n - 1]),
                              LOG_WARNING, since=lm)
        if ctx.mta.NAME == "sendmail":
            ctx.mta.wait_for_log(r"^%s: Milter: to=<%s>, reject=452 4\.5\.3 Too many "
                                 r"recipients$" % (qid, re.escape(to[n - 1])), since=lm)
    assert len([l for l in ctx.milter.log_lines(lm) if "rule=" in l.message]) == 2


@each_mta
def test_rcpt_count_asa_101st_drops_connection(ctx):
    ctx.start_milter("profile = asa\n")
    lm, dm = ctx.syslog.mark(), ctx.mta.mark()
    to = rcpts(101)
    with session(ctx) as s:
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        for a in to[:100]:
            s.expect("RCPT TO:<%s>" % a, 250)
        expect_reply(s.cmd("RCPT TO:<%s>" % to[100]), 421,
                     "4.7.0 Message refused by policy (rcpt-count)")
        s.expect_eof()
        port = s.local_port
    qid = ctx.mta.queue_id_for(port, since=lm)
    ctx.mta.assert_nothing_delivered(dm, port)
    ctx.milter.expect_log("%s: rule=rcpt-count action=drop-connection value=101 limit=100 "
                          "stage=rcpt %s from=<%s> rcpt=<%s>" % (qid, client(port), SENDER, to[100]),
                          LOG_WARNING, since=lm)


@each_mta
def test_rcpt_count_starts_again_with_each_transaction(ctx):
    """The count is per message: a second MAIL in the same session, after
    DATA or after RSET (Sendmail calls the milter's abort only on RSET,
    Postfix also at the end of a message), counts from 1 again."""
    ctx.start_milter("profile = standard\nrule rcpt-count { limit = 2 }\n")
    lm, dm = ctx.syslog.mark(), ctx.mta.mark()
    with session(ctx) as s:
        _three_rcpts(s, [250, 250, 452])
        qid1 = ctx.mta.accepted_id(s.data(make_message(SENDER, "u1@dest.test", "first")))
        _three_rcpts(s, [250, 250, 452])
        s.expect("RSET", 250)
        _three_rcpts(s, [250, 250, 452])
        qid3 = ctx.mta.accepted_id(s.data(make_message(SENDER, "u1@dest.test", "third")))
        s.expect("QUIT", 221)
        port = s.local_port
    assert qid1 != qid3
    for a in ("u1@dest.test", "u2@dest.test"):
        ctx.mta.wait_delivered(a, dm, n=2)
    assert not ctx.mta.delivered("u3@dest.test", dm)
    lines = [l.message for l in ctx.milter.log_lines(lm) if "rule=" in l.message]
    assert len(lines) == 3, lines
    for l, qid in zip(lines, (qid1, None, qid3)):
        want = ("{QID}: rule=rcpt-count action=tempfail value=3 limit=2 stage=rcpt %s "
                "from=<%s> rcpt=<u3@dest.test>" % (client(port), SENDER))
        assert re.fullmatch(re.escape(want).replace(re.escape("{QID}"), qid or ctx.mta.QID), l), \
            "%r, expected %r" % (l, want.replace("{QID}", qid or "QID"))


# ----------------------------------------------------------------------
# sender-length

def test_sender_length_320_accepted_321_refused(ctx):
    """The standard limit under Postfix.  Sendmail refuses senders of 254
    octets or more itself (test_sendmail.py)."""
    ctx.start_milter("profile = standard\n")
    lm = ctx.syslog.mark()
    assert len(SENDER_320) == 320 and len(SENDER_321) == 321
    send_ok(ctx, SENDER_320, ["u1@dest.test"], "320-octet sender")
    no_rule_lines(ctx, lm)

    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    with session(ctx) as s:
        expect_reply(s.cmd("MAIL FROM:<%s>" % SENDER_321), 553,
                     "5.1.7 Message refused by policy (sender-length)")
        # the refused MAIL leaves the session usable
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("QUIT", 221)
        port = s.local_port
    ctx.milter.expect_log("NOQUEUE: rule=sender-length action=reject value=321 limit=320 "
                          "stage=mail %s from=<%s>" % (client(port), logged_addr(SENDER_321)),
                          LOG_WARNING, since=lm)
    ctx.postfix.assert_nothing_delivered(dm, port)


@each_mta
def test_sender_length_100_accepted_101_refused(ctx):
    """A limit both MTAs let the milter enforce: under Sendmail the reply
    carries "<addr>... " and the line the queue id Sendmail has at MAIL."""
    ctx.start_milter("profile = standard\n" + LIMIT_100)
    lm = ctx.syslog.mark()
    s100 = SENDER_101[1:]
    send_ok(ctx, s100, ["u1@dest.test"], "100-octet sender")
    no_rule_lines(ctx, lm)

    lm, dm = ctx.syslog.mark(), ctx.mta.mark()
    with session(ctx) as s:
        expect_reply(s.cmd("MAIL FROM:<%s>" % SENDER_101), 553, ctx.mta.refused(
            "5.1.7 Message refused by policy (sender-length)", SENDER_101))
        # the refused MAIL leaves the session usable
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("QUIT", 221)
        port = s.local_port
    line = ctx.milter.expect_log("{QID}: rule=sender-length action=reject value=101 limit=100 "
                                 "stage=mail %s from=<%s>" % (client(port), SENDER_101),
                                 LOG_WARNING, since=lm, variable={"{QID}": ctx.mta.MAIL_QID})
    if ctx.mta.NAME == "sendmail":
        qid = line.message.split(":", 1)[0]
        ctx.mta.wait_for_log(r"^%s: Milter: from=<%s>, reject=553 5\.1\.7 Message refused "
                             r"by policy \(sender-length\)$" % (qid, SENDER_101), since=lm)
    ctx.mta.assert_nothing_delivered(dm, port)


# ----------------------------------------------------------------------
# address-characters

@each_mta
def test_address_characters_mail_refused(ctx):
    ctx.start_milter("profile = standard\n")
    dm = ctx.mta.mark()
    for addr, value, detail in (("a|b@example.test", 1, "|"),
                                ("a`b@example.test", 1, "`"),
                                ("a|b`c|d@example.test", 3, "|")):
        lm = ctx.syslog.mark()
        with session(ctx) as s:
            expect_reply(s.cmd("MAIL FROM:<%s>" % addr), 550, ctx.mta.refused(
                "5.7.1 Message refused by policy (address-characters)", addr))
            s.expect("QUIT", 221)
            port = s.local_port
        line = ctx.milter.expect_log('{QID}: rule=address-characters action=reject value=%d '
                                     'limit=0 stage=mail %s from=<%s> detail="%s"'
                                     % (value, client(port), addr, detail), LOG_WARNING,
                                     since=lm, variable={"{QID}": ctx.mta.MAIL_QID})
        if ctx.mta.NAME == "sendmail":
            # the id is the one Sendmail gave this MAIL
            ctx.mta.wait_for_log(r"^%s: Milter: from=<%s>, reject=550 5\.7\.1 Message refused "
                                 r"by policy \(address-characters\)$"
                                 % (line.message.split(":", 1)[0], re.escape(addr)), since=lm)
    ctx.mta.assert_nothing_delivered(dm)


@each_mta
def test_address_characters_rcpt_refused(ctx):
    ctx.start_milter("profile = standard\n")
    dm = ctx.mta.mark()
    for addr, detail in (("x|y@dest.test", "|"), ("x`y@dest.test", "`")):
        lm = ctx.syslog.mark()
        with session(ctx) as s:
            s.expect("MAIL FROM:<%s>" % SENDER, 250)
            s.expect("RCPT TO:<u1@dest.test>", 250)     # opens Postfix's queue file
            expect_reply(s.cmd("RCPT TO:<%s>" % addr), 550, ctx.mta.refused(
                "5.7.1 Message refused by policy (address-characters)", addr))
            s.expect("RSET", 250)
            s.expect("QUIT", 221)
            port = s.local_port
        qid = ctx.mta.queue_id_for(port, since=lm)
        ctx.milter.expect_log('%s: rule=address-characters action=reject value=1 limit=0 '
                              'stage=rcpt %s from=<%s> rcpt=<%s> detail="%s"'
                              % (qid, client(port), SENDER, addr, detail),
                              LOG_WARNING, since=lm)
    ctx.mta.assert_nothing_delivered(dm)


# ----------------------------------------------------------------------
# monitor mode

@each_mta
def test_monitor_mode_logs_and_delivers(ctx):
    ctx.start_milter("profile = standard\nmode = monitor\n" + LIMIT_100)
    lm, dm = ctx.syslog.mark(), ctx.mta.mark()
    to = rcpts(101)
    msg = make_message(SENDER_101, to[0], "monitor mode")
    with session(ctx) as s:
        s.expect("MAIL FROM:<%s>" % SENDER_101, 250)
        for a in to:
            s.expect("RCPT TO:<%s>" % a, 250)
        qid = ctx.mta.accepted_id(s.data(msg))
        s.expect("QUIT", 221)
        port = s.local_port
    for a in to:
        check_delivered(ctx.mta.wait_delivered(a, dm, timeout=60)[0], msg)
    # Sendmail's id at MAIL is the message's
    ctx.milter.expect_log("{QID}: rule=sender-length action=reject value=101 limit=100 "
                          "stage=mail %s from=<%s> mode=monitor"
                          % (client(port), SENDER_101), LOG_NOTICE, since=lm,
                          variable={"{QID}": "NOQUEUE" if ctx.mta.NAME == "postfix" else qid})
    ctx.milter.expect_log("%s: rule=rcpt-count action=tempfail value=101 limit=100 stage=rcpt "
                          "%s from=<%s> rcpt=<%s> mode=monitor"
                          % (qid, client(port), SENDER_101, to[100]),
                          LOG_NOTICE, since=lm)


# ----------------------------------------------------------------------
# exemptions

@each_mta
def test_exempt_clients_global(ctx):
    ctx.start_milter('profile = standard\nexempt-clients = { "127.0.0.1/32" }\n' + LIMIT_100)
    lm = ctx.syslog.mark()
    port = send_ok(ctx, SENDER_101, ["u2@dest.test"], "exempt client")
    ctx.milter.expect_log("NOQUEUE: event=exempt %s" % client(port), LOG_INFO, since=lm)
    no_rule_lines(ctx, lm)


@each_mta
def test_exempt_clients_per_rule(ctx):
    ctx.start_milter('profile = standard\n'
                     'rule sender-length { limit = 100  exempt-clients = { "127.0.0.1/32" } }\n')
    lm = ctx.syslog.mark()
    send_ok(ctx, SENDER_101, ["u3@dest.test"], "per-rule exemption")
    no_rule_lines(ctx, lm)
    ctx.milter.assert_no_log(r"event=exempt", lm)
    with session(ctx) as s:
        expect_reply(s.cmd("MAIL FROM:<a|b@example.test>"), 550, ctx.mta.refused(
            "5.7.1 Message refused by policy (address-characters)", "a|b@example.test"))
        s.expect("QUIT", 221)
        port = s.local_port
    ctx.milter.expect_log('{QID}: rule=address-characters action=reject value=1 limit=0 '
                          'stage=mail %s from=<a|b@example.test> detail="|"' % client(port),
                          LOG_WARNING, since=lm, variable={"{QID}": ctx.mta.MAIL_QID})


# ----------------------------------------------------------------------
# SIGHUP

def _three_rcpts(s, codes):
    s.expect("MAIL FROM:<%s>" % SENDER, 250)
    got = [s.cmd("RCPT TO:<%s>" % a) for a in rcpts(3)]
    assert [r.code if r else None for r in got] == codes, "RCPT replies %r" % got
    return got


@each_mta
def test_sighup_reload_applies_to_next_connection(ctx):
    m = ctx.start_milter("profile = standard\n")
    old = session(ctx)                  # connected before the reload: keeps limit 100
    try:
        lm = ctx.syslog.mark()
        m.reload("profile = standard\nrule rcpt-count { limit = 2 }\n")
        ctx.milter.expect_log("NOQUEUE: event=reload config=%s profile=standard mode=enforce"
                              % m.conf, LOG_INFO, since=lm)
        _three_rcpts(old, [250, 250, 250])
        old.expect("QUIT", 221)
    finally:
        old.close()
    with session(ctx) as s:
        got = _three_rcpts(s, [250, 250, 452])
        assert got[2].text == "4.5.3 Too many recipients", got[2]
        s.expect("QUIT", 221)
        port = s.local_port
    qid = ctx.mta.queue_id_for(port, since=lm)
    ctx.milter.expect_log("%s: rule=rcpt-count action=tempfail value=3 limit=2 stage=rcpt "
                          "%s from=<%s> rcpt=<u3@dest.test>" % (qid, client(port), SENDER),
                          LOG_WARNING, since=lm)
    assert m.running(), "milter died after SIGHUP"


@each_mta
def test_sighup_broken_file_keeps_old_config(ctx):
    m = ctx.start_milter("profile = standard\nrule rcpt-count { limit = 2 }\n")
    lm = ctx.syslog.mark()
    m.reload("profile = standard\nno-such-option = 1\n")
    ctx.milter.expect_log('NOQUEUE: event=config-error config={P} detail="{P}:2: {MSG}; '
                          'previous configuration kept"'
                          .replace("{P}", m.conf), LOG_ERR, since=lm,
                          variable={"{MSG}": r'[^";]+'})
    assert m.running(), "milter died after SIGHUP with a broken file"
    with session(ctx) as s:
        _three_rcpts(s, [250, 250, 452])
        s.expect("QUIT", 221)
    ctx.milter.assert_no_log(r"event=reload", lm)


# ----------------------------------------------------------------------
# milter down or killed: the MTA tempfails (Postfix: milter_default_action
# = tempfail; Sendmail: F=T), nothing is delivered, and once the milter is
# back the same message goes through.

MILTER_DOWN = {
    # the reply to MAIL while no milter listens
    "postfix": (451, "4.7.1 Service unavailable - try again later"),
    "sendmail": (451, "4.3.2 Please try again later"),
}
MILTER_LOST = {
    # the reply to the end of DATA when the milter died within the message
    "postfix": (451, "4.7.1 Service unavailable - try again later"),
    "sendmail": (451, "4.3.2 Please try again later"),
}


@each_mta
def test_milter_stopped_mta_tempfails(ctx):
    m = ctx.start_milter("profile = standard\n")
    m.stop()                            # asserts exit status 0
    lm, dm = ctx.syslog.mark(), ctx.mta.mark()
    with session(ctx) as s:
        expect_reply(s.cmd("MAIL FROM:<%s>" % SENDER), *MILTER_DOWN[ctx.mta.NAME])
        r = s.cmd("RCPT TO:<u4@dest.test>")
        assert r is not None and r.code == 503, "RCPT after a refused MAIL: %r" % r
        s.expect("QUIT", 221)
        port = s.local_port
    if ctx.mta.NAME == "sendmail":
        ctx.mta.wait_for_log(r"^%s: Milter \(esmtp-inspect\): error connecting to filter: "
                             r"Connection refused by 127\.0\.0\.1$" % ctx.mta.QID, since=lm)
        ctx.mta.wait_for_log(r"^%s: Milter: initialization failed, temp failing commands$"
                             % ctx.mta.QID, since=lm)
    ctx.mta.assert_nothing_delivered(dm, port)
    # started again, the same message goes through
    ctx.start_milter("profile = standard\n")
    send_ok(ctx, SENDER, ["u4@dest.test"], "milter down")


@each_mta
def test_milter_killed_mid_message_mta_tempfails(ctx):
    """SIGKILL within the message, after DATA and part of the content:
    the end of DATA gets a 4xx, nothing is delivered, and the restarted
    milter passes the message.  (Neither MTA hands the content to the
    milter before the final dot: Sendmail collects the message first,
    Postfix's cleanup writes the queue file; both send header and body
    then, and find the milter gone.)"""
    m = ctx.start_milter("profile = standard\n")
    lm, dm = ctx.syslog.mark(), ctx.mta.mark()
    msg = make_message(SENDER, "u5@dest.test", "milter killed")
    with session(ctx) as s:
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("RCPT TO:<u5@dest.test>", 250)
        s.expect("DATA", 354)
        head, _, body = msg.replace(b"\n", b"\r\n").partition(b"\r\n\r\n")
        s.send(head + b"\r\n\r\n")
        # both MTAs have had the milter connection open since connect
        m.kill()
        s.send(body + b"".join(b"line %d of a body after the kill\r\n" % i
                               for i in range(2000)) + b".\r\n")
        expect_reply(s.reply(), *MILTER_LOST[ctx.mta.NAME])
        s.cmd("QUIT")
        port = s.local_port
    if ctx.mta.NAME == "sendmail":
        ctx.mta.wait_for_log(r"^%s: Milter: data, reject=451 4\.3\.2 Please try again later$"
                             % ctx.mta.QID, since=lm)
    ctx.mta.assert_nothing_delivered(dm, port)
    ctx.start_milter("profile = standard\n")
    send_ok(ctx, SENDER, ["u5@dest.test"], "milter killed")


# ----------------------------------------------------------------------
# inet6 socket and an IPv6 client (Postfix: smtpd_milters = inet:[::1]:PORT).
# miltertest cannot connect to inet6 sockets, so this speaks the milter
# protocol itself: option negotiation, CONNECT from an IPv6 client, MAIL.

def _milter_packet(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def _milter_read(sock):
    def exactly(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            assert chunk, "milter closed the connection"
            buf += chunk
        return buf
    (n,) = struct.unpack(">I", exactly(4))
    body = exactly(n)
    return body[:1], body[1:]


def test_inet6_socket_ipv6_client(ctx):
    ctx.milter.listen_addr = "::1"
    try:
        ctx.start_milter("profile = standard\n")
    finally:
        ctx.milter.listen_addr = "127.0.0.1"
    lm = ctx.syslog.mark()
    with socket.create_connection(("::1", ctx.milter.port), timeout=10) as s:
        s.sendall(_milter_packet(b"O", struct.pack(">III", 6, 0x1ff, 0x1fffff)))
        cmd, data = _milter_read(s)
        assert cmd == b"O", "negotiation reply %r" % cmd
        # No client is exempt: connect asked not to be answered (SMFIP_NR_CONN).
        assert struct.unpack(">III", data[:12])[2] & 0x1000, data[:12]
        s.sendall(_milter_packet(b"C", b"client.test\0" + b"6" + struct.pack(">H", 40123)
                                 + b"2001:db8::7\0"))
        s.sendall(_milter_packet(b"M", b"<a|b@example.test>\0"))
        cmd, data = _milter_read(s)
        assert (cmd, data) == (b"y", b"550 5.7.1 Message refused by policy "
                                     b"(address-characters)\0"), "MAIL reply %r %r" % (cmd, data)
        s.sendall(_milter_packet(b"Q"))
    ctx.milter.expect_log("NOQUEUE: rule=address-characters action=reject value=1 limit=0 "
                          "stage=mail client=client.test[2001:db8::7]:40123 "
                          "from=<a|b@example.test> detail=\"|\"", LOG_WARNING, since=lm)


# ----------------------------------------------------------------------
# command line

def test_dump_config_n(ctx):
    conf = os.path.join(ctx.tmp, "dump.conf")
    with open(conf, "w") as f:
        f.write('profile = asa\nrule rcpt-count { limit = 50 }\n')
    r = ctx.milter.run(["-n", "-c", conf])
    assert r.returncode == 0, "-n exited %d: %s" % (r.returncode, r.stderr)
    out = r.stdout
    for want in ("profile = asa", "action = drop-connection", "limit = 50"):
        assert want in out, "%r missing from -n output:\n%s" % (want, out)
    again = os.path.join(ctx.tmp, "dump2.conf")
    with open(again, "w") as f:
        f.write(out)
    r2 = ctx.milter.run(["-n", "-c", again])
    assert r2.returncode == 0, "-n of -n output exited %d: %s" % (r2.returncode, r2.stderr)
    assert r2.stdout == out, "-n output, loaded again, differs"
    for t in (r.stderr, r2.stderr):
        assert "AddressSanitizer" not in t and "runtime error" not in t, t


def test_broken_config_exits_78(ctx):
    conf = os.path.join(ctx.tmp, "broken.conf")
    with open(conf, "w") as f:
        f.write('profile = standard\n\nrule sender-length { limit = -1 }\n')
    for args in (["-n", "-c", conf], ["-f", "-c", conf]):
        r = ctx.milter.run(args)
        assert r.returncode == 78, "%s exited %d, expected 78; stderr %r" % (
            args, r.returncode, r.stderr)
        assert re.search(r"(?m)^%s:3: \S" % re.escape(conf), r.stderr), \
            "no '%s:3: message' on stderr: %r" % (conf, r.stderr)
        assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr


@each_mta
def test_habitual_signals_stop_nothing(ctx):
    """SIGUSR1, SIGUSR2 and SIGPIPE from outside stop nothing (SPEC 2):
    SIGUSR1 logs the counters, and the milter still decides.  Before, SIGUSR1
    stopped it with exit 0, so systemd did not restart it and Postfix
    tempfailed every message."""
    m = ctx.start_milter("profile = standard\nrule rcpt-count { limit = 2 }\n")
    lm = ctx.syslog.mark()
    for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGPIPE):
        m.proc.send_signal(sig)
    ctx.milter.expect_log("NOQUEUE: event=stats counter=reloads ok=0 error=0", LOG_INFO,
                          since=lm)
    with session(ctx) as s:
        _three_rcpts(s, [250, 250, 452])
        s.expect("QUIT", 221)
    assert m.running(), "the milter stopped on a habitual signal"


# ----------------------------------------------------------------------
# Counters: /metrics, /stats, SIGUSR1 (SPEC 8)

def http_get(port, path, method="GET"):
    """curl ${method} http://127.0.0.1:${port}${path}: (status, content type, body)."""
    r = subprocess.run(["curl", "-sS", "-i", "--max-time", "10", "-X", method,
                        "http://127.0.0.1:%d%s" % (port, path)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    assert r.returncode == 0, "curl failed: %s" % r.stderr.decode(errors="replace")
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    ctype = ""
    for l in lines[1:]:
        k, _, v = l.partition(":")
        if k.lower() == "content-type":
            ctype = v.strip()
    return int(lines[0].split()[1]), ctype, body.decode()


def prometheus_samples(text):
    """Every sample of ${text}, read by the real Prometheus text parser
    (python3-prometheus-client): {(name, ((label, value), ...)): value}."""
    from prometheus_client.parser import text_string_to_metric_families
    out = {}
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            out[(smp.name, tuple(sorted(smp.labels.items())))] = smp.value
    return out


def rule_sample(rule, action, mode="enforce"):
    return ("esmtp_inspect_rule_matches_total",
            tuple(sorted({"daemon": "milter", "rule": rule, "action": action,
                          "mode": mode}.items())))


@each_mta
def test_metrics_count_what_the_rules_did(ctx):
    """N messages that fire known rules through the private MTA; the
    counts read back over HTTP with curl are exact, /metrics parses with
    the Prometheus text parser, a reload keeps the counts (a failed one is
    counted too), and SIGUSR1 logs the same counts."""
    mport = harness.free_port()
    conf = ("profile = standard\n"
            "rule rcpt-count { limit = 2 }\n"
            "rule sender-length { limit = 40 }\n"
            'milter {\n  socket = "inet:%d@127.0.0.1"\n  metrics-listen = "127.0.0.1:%d"\n}\n'
            % (ctx.milter.port, mport))
    m = ctx.milter
    m.write_conf(conf, with_socket=False)
    lm = ctx.syslog.mark()
    m.start()
    m.expect_log("NOQUEUE: event=start version={V} config=%s profile=standard mode=enforce "
                 "socket=inet:%d@127.0.0.1 metrics-listen=127.0.0.1:%d"
                 % (m.conf, m.port, mport), LOG_INFO, lm, variable={"{V}": r"\S+"})
    harness.wait_listening(mport, 10, "metrics-listen", m.proc)
    # Three messages of three recipients: rcpt-count fires three times,
    # the messages are accepted.
    for _ in range(3):
        with session(ctx) as s:
            _three_rcpts(s, [250, 250, 452])
            r = s.data(make_message(SENDER, rcpts(1)[0], "counted"))
            assert r is not None and r.code == 250, "DATA: %r" % r
            s.expect("QUIT", 221)
    # Two senders over the limit: two refused messages.
    long_sender = "s" * 41 + DOMAIN
    with session(ctx) as s:
        for _ in range(2):
            s.expect("MAIL FROM:<%s>" % long_sender, 553)
        s.expect("QUIT", 221)
    lr = ctx.syslog.mark()
    m.reload(conf.replace("profile = standard", "profile = standard\nmode = bogus"),
             with_socket=False)
    m.expect_log('NOQUEUE: event=config-error config=%s detail="{D}; previous '
                 'configuration kept"' % m.conf, LOG_ERR, lr, variable={"{D}": r'[^"]+'})
    lr = ctx.syslog.mark()
    m.reload(conf, with_socket=False)
    m.expect_log("NOQUEUE: event=reload config=%s profile=standard mode=enforce" % m.conf,
                 LOG_INFO, lr)

    code, ctype, body = http_get(mport, "/stats")
    assert (code, ctype) == (200, "text/plain; charset=utf-8"), (code, ctype)
    assert body == (
        "Inspect: esmtp esmtp-inspect-milter, profile standard, mode enforce\n"
        "match cmd RCPT count gt 2  tempfail log, packet 3\n"
        "match sender-address length gt 40  reject log, packet 2\n"
        "match special-character  reject log, packet 0\n"
        "match header line length gt 998  reject log, packet 0\n"
        "match body line length gt 998  log, packet 0\n"
        "match MIME filename length gt 255  reject log, packet 0\n"
        "match duplicate-header  reject log, packet 0\n"
        "match dkim-unsigned-duplicate  reject log, packet 0\n"
        "match mime-structure  reject log, packet 0\n"
        "messages accept 3, reject 2, tempfail 0, drop 0, error 0\n"
        "reloads ok 1, error 1\n"), body

    code, ctype, body = http_get(mport, "/metrics")
    assert (code, ctype) == (200, "text/plain; version=0.0.4; charset=utf-8"), (code, ctype)
    got = prometheus_samples(body)
    want = {
        rule_sample("rcpt-count", "tempfail"): 3,
        rule_sample("sender-length", "reject"): 2,
        rule_sample("body-line-length", "log"): 0,
        ("esmtp_inspect_messages_total", (("verdict", "accept"),)): 3,
        ("esmtp_inspect_messages_total", (("verdict", "reject"),)): 2,
        ("esmtp_inspect_messages_total", (("verdict", "tempfail"),)): 0,
        ("esmtp_inspect_messages_total", (("verdict", "drop"),)): 0,
        ("esmtp_inspect_messages_total", (("verdict", "error"),)): 0,
        ("esmtp_inspect_config_reloads_total", (("result", "ok"),)): 1,
        ("esmtp_inspect_config_reloads_total", (("result", "error"),)): 1,
    }
    for k, v in want.items():
        assert got.get(k) == v, "%s: %r, expected %r\n%s" % (k, got.get(k), v, body)
    assert not [k for k in got if k[0].startswith("esmtp_inspect_sessions")], body
    assert [k for k in got if k[0] == "esmtp_inspect_build_info"] == [
        ("esmtp_inspect_build_info", (("version", m.version()),))], body

    # Only GET, only the two paths.
    assert http_get(mport, "/metrics", "POST")[0] == 405
    assert http_get(mport, "/other")[0] == 404

    # Monitor mode after a reload: its matches are a series of their own,
    # the enforce count stays.
    m.reload(conf.replace("profile = standard", "profile = standard\nmode = monitor"),
             with_socket=False)
    m.expect_log("NOQUEUE: event=reload config=%s profile=standard mode=monitor" % m.conf,
                 LOG_INFO, lr)
    with session(ctx) as s:
        _three_rcpts(s, [250, 250, 250])
        s.expect("QUIT", 221)
    got = prometheus_samples(http_get(mport, "/metrics")[2])
    assert got[rule_sample("rcpt-count", "tempfail", "monitor")] == 1
    assert got[rule_sample("rcpt-count", "tempfail")] == 3

    ls = ctx.syslog.mark()
    m.proc.send_signal(signal.SIGUSR1)
    for line in ("rule=rcpt-count action=tempfail mode=enforce matches=3",
                 "rule=rcpt-count action=tempfail mode=monitor matches=1",
                 "rule=sender-length action=reject mode=enforce matches=2",
                 "counter=messages accept=3 reject=2 tempfail=0 drop=0 error=0",
                 "counter=reloads ok=2 error=1"):
        m.expect_log("NOQUEUE: event=stats " + line, LOG_INFO, ls)
    assert m.running()


@each_mta
def test_reload_says_what_needs_a_restart(ctx):
    """A reload that changes the milter socket keeps the bound one and says
    so; the new rules apply."""
    m = ctx.start_milter("profile = standard\n")
    lm = ctx.syslog.mark()
    m.write_conf('profile = asa\nuser = "nobody"\nmilter {\n  socket = "inet:%d@127.0.0.1"\n}\n'
                 % harness.free_port(), with_socket=False)
    m._reload()
    m.expect_log('NOQUEUE: event=reload config=%s profile=asa mode=enforce '
                 'detail="milter.socket, user changed: the running value stays until a '
                 'restart"' % m.conf, LOG_WARNING, lm)
    with session(ctx) as s:             # still on the socket of the start
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("QUIT", 221)


@each_mta
def test_sighup_during_a_reload_reloads_again(ctx):
    """A second SIGHUP while the first reload still runs (a large file)
    reloads again and stops nothing.  Before, libmilter's own signal
    thread took it and closed the milter socket while the process lived
    on: Postfix tempfailed every message, and systemd saw nothing wrong."""
    pad = "".join("# padding line %d of a large configuration file\n" % i
                  for i in range(100000))
    m = ctx.start_milter("profile = standard\n" + pad)
    lm = ctx.syslog.mark()
    conf = os.path.realpath(m.conf)

    def reading_conf():
        # The file is open only while a reload reads it.
        fds = "/proc/%d/fd" % m.pid
        for fd in os.listdir(fds):
            try:
                if os.readlink(os.path.join(fds, fd)) == conf:
                    return True
            except OSError:
                pass
        return False
    m.proc.send_signal(signal.SIGHUP)
    harness.poll(reading_conf, 10, "the first reload to start", interval=0.001)
    m.proc.send_signal(signal.SIGHUP)
    harness.poll(lambda: len([l for l in m.log_lines(lm)
                              if l.message.startswith("NOQUEUE: event=reload")]) == 2,
                 10, "two reload lines")
    with session(ctx) as s:
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("QUIT", 221)
    assert m.running()


def test_systemd_notify(ctx):
    """Type=notify: READY=1 once the socket is bound (Postfix may then
    start), RELOADING=1 and READY=1 around a reload, STOPPING=1."""
    n = harness.NotifySocket(os.path.join(ctx.tmp, "notify"))
    m = ctx.milter
    m.extra_env = {"NOTIFY_SOCKET": n.path}
    try:
        m.start("profile = standard\n")
        n.expect("READY=1")
        assert harness.listening(m.port), "READY=1 before the socket listens"
        m.reload()
        n.expect("RELOADING=1")
        n.expect("READY=1")
        m.stop()
        n.expect("STOPPING=1")
    finally:
        m.extra_env = {}
        n.close()
