# SPDX-License-Identifier: BSD-2-Clause
"""test_shim_framing - the shim and the MTA frame every octet alike (issue 12).

Each attack of issue 12 through the shim in front of the private Postfix,
asserting the replies, the exact log lines, and that nothing smuggled is
queued (Postfix's log and the mailboxes).  Where an attack needs Postfix
itself to prove the test can see it, the same bytes go straight to its
plain port first.  Replies no real MTA sends (a reply to no command, 354
to NOOP) come from harness.ScriptedUpstream.

Timing: the timeout cases send one octet at a time on purpose (a trickle
is the attack); everything else waits by polling.
"""

import os
import re
import socket
import time

import harness
import test_shim as ts
from harness import LOG_DEBUG, LOG_ERR, LOG_INFO, LOG_NOTICE, LOG_WARNING, SMTPSession, poll

REQUIRES = ("shim",)

STD = ts.STD
SENDER = ts.SENDER
SYNTAX_BDAT = "5.5.4 Syntax: BDAT count [LAST]"
CLOSING = "4.7.0 Service closing transmission channel"
NOT_PERMITTED = "5.5.1 Command not permitted"


def expect(r, code, text):
    ts.expect_reply(r, code, text)


def session(ctx, port, since, shim=None):
    return ts.session_id(ctx, port, since, shim)


# ----------------------------------------------------------------------
# BDAT: forwarded only when both read the same count

def smuggled(rcpt):
    """What an attacker wants Postfix to read as commands: EXPN, a
    700-octet line, and a second message ending in a bare LF dot."""
    body = (b"RSET\r\nEXPN root\r\nNOOP " + b"a" * 700 + b"\r\n"
            b"MAIL FROM:<ceo@victim.test>\r\nRCPT TO:<%s>\r\nDATA\r\n"
            b"From: <ceo@victim.test>\r\nSubject: smuggled\r\n\r\nsmuggled\n.\n"
            % rcpt.encode())
    assert 100 <= len(body) < 1000, len(body)   # "BDAT NNN\r\n": 10 octets
    return body


def bdat_last(s, msg, verb=b"BDAT %d LAST"):
    """${msg} (LF line ends) in one last chunk: the MTA queues it."""
    crlf = msg.replace(b"\n", b"\r\n")
    s.send(verb % len(crlf) + b"\r\n" + crlf)
    r = s.reply()
    assert r is not None and r.code == 250 and "queued as" in r.text, r


def bdat_attack(s, rcpt):
    """The issue's sequence after EHLO: a 22-digit BDAT count Postfix reads
    as 10, then "BDAT NNN\\r\\n" (those 10 octets) and NNN octets that are
    commands to a reader who took the 10 as the chunk."""
    s.expect("MAIL FROM:<%s>" % SENDER, 250)
    s.expect("RCPT TO:<u60@dest.test>", 250)
    body = smuggled(rcpt)
    s.send(b"BDAT 0000000000000000000010\r\nBDAT %d\r\n" % len(body) + body)


def test_bdat_count_read_alike(ctx):
    ts.start(ctx)
    # Straight to Postfix: the attack works, which proves the check below
    # can see it (Postfix takes the 22 digits for 10).
    dm = ctx.postfix.mark()
    with SMTPSession(ctx.smtp_port) as s:
        s.greet()
        bdat_attack(s, "u61@dest.test")
        expect(s.reply(), 250, "2.0.0 Ok: 10 bytes")
        codes = [s.reply().code for _ in range(7)]   # RSET .. end of DATA
        assert codes == [250, 500, 250, 250, 250, 354, 250], codes
        s.expect("QUIT", 221)
        port = s.local_port
    assert b"\nsmuggled\n" in ctx.postfix.wait_delivered("u61@dest.test", dm)[0]
    assert "unknown=0/1" in ts.postfix_disconnect(ctx, port)   # EXPN reached it
    ctx.postfix.wait_queue_empty()

    # Through the shim: the first BDAT is refused, the second frames all
    # NNN octets as its chunk, and nothing of them is a command to Postfix.
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    pm = len(ctx.postfix.maillog_text())
    with ts.connect(ctx) as s:
        s.greet()
        bdat_attack(s, "u62@dest.test")
        expect(s.reply(), 501, SYNTAX_BDAT)
        expect(s.reply(), 250, "2.0.0 Ok: %d bytes" % len(smuggled("u62@dest.test")))
        s.expect("QUIT", 221)
        port = s.local_port
    sid = session(ctx, port, lm)
    ctx.shim.expect_log('%s: event=bdat action=reject %s detail="BDAT count longer '
                        'than 18 digits"' % (sid, ts.client(port)), LOG_WARNING, lm)
    ts.wait_disconnect(ctx, sid, port, lm)
    # Postfix saw one BDAT (the chunk, never finished) and no EXPN
    assert ts.postfix_disconnect(ctx, port) == \
        "ehlo=1 mail=1 rcpt=1 bdat=1 quit=1 commands=5"
    ctx.postfix.assert_nothing_delivered(dm, port)
    assert "ceo@victim.test" not in ctx.postfix.maillog_text()[pm:]


BAD_BDAT = [
    ("BDAT 10 X", "BDAT count not followed by SP LAST or CRLF"),
    ("BDAT  10", "BDAT count not a number"),
    ("BDAT\t10", "not BDAT SP count"),
    (" BDAT 10", "not BDAT SP count"),
    ("BDAT +10", "BDAT count not a number"),
    ("BDAT 0x10", "BDAT count not followed by SP LAST or CRLF"),
    ("BDAT 1e3", "BDAT count not followed by SP LAST or CRLF"),
    ("BDAT 10 LAST junk", "BDAT count not followed by SP LAST or CRLF"),
    ("BDAT 10 ", "BDAT count not followed by SP LAST or CRLF"),
    ("BDAT 0000000000000000010", "BDAT count longer than 18 digits"),
]


def test_bdat_refused_unless_read_alike(ctx):
    """Every BDAT an MTA could read with another count, or without
    CHUNKING offered (after HELO), gets 501 and is not forwarded; the
    session goes on and a correct BDAT delivers."""
    ts.start(ctx)
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    msg = ts.make_message(SENDER, "u63@dest.test", "after refused BDATs")
    with ts.connect(ctx) as s:
        s.greet()
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("RCPT TO:<u63@dest.test>", 250)
        for line, _ in BAD_BDAT:
            expect(s.cmd(line), 501, SYNTAX_BDAT)
        bdat_last(s, msg, b"bdat %d last")
        s.expect("QUIT", 221)
        port = s.local_port
    ts.check_delivered(ctx.postfix.wait_delivered("u63@dest.test", dm)[0], msg)
    sid = session(ctx, port, lm)
    for _, why in BAD_BDAT:
        ctx.shim.expect_log('%s: event=bdat action=reject %s detail="%s"'
                            % (sid, ts.client(port), why), LOG_WARNING, lm)
    assert ts.postfix_disconnect(ctx, port) == \
        "ehlo=1 mail=1 rcpt=1 bdat=1 quit=1 commands=5"

    # HELO: no CHUNKING was offered in this session, BDAT is refused
    lm = ctx.syslog.mark()
    with ts.connect(ctx) as s:
        s.expect(None, 220)
        s.expect("HELO client.harness.test", 250)
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("RCPT TO:<u64@dest.test>", 250)
        expect(s.cmd("BDAT 5 LAST"), 501, SYNTAX_BDAT)
        s.expect("QUIT", 221)
        port = s.local_port
    ctx.shim.expect_log('%s: event=bdat action=reject %s detail="CHUNKING not offered"'
                        % (session(ctx, port, lm), ts.client(port)), LOG_WARNING, lm)
    assert ts.postfix_disconnect(ctx, port) == "helo=1 mail=1 rcpt=1 quit=1 commands=4"


def test_bdat_answered_without_its_chunk(ctx):
    """Postfix with TLS required (smtpd_tls_security_level = encrypt, an
    smtpd of the harness's) answers BDAT before TLS with 530 and reads
    the chunk as commands.  The shim takes that reply for what it is, a
    desync, and ends the session: the client never gets a reply to an
    octet of the chunk."""
    ts.ensure_milter(ctx)
    port_enc = ctx.postfix.proxy_services["encrypt"][0]
    shim = ctx.make_shim(upstream_port=port_enc)
    shim.start(STD)
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    chunk = b"NOOP\r\nNOOP\r\nNOOP\r\n"
    with ts.connect(ctx, shim) as s:
        ehlo = s.greet()
        assert "CHUNKING" in ehlo.lines, ehlo
        s.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        expect(s.reply(), 421, CLOSING)
        s.expect_eof()
        port = s.local_port
    sid = session(ctx, port, lm, shim)
    shim.expect_log('%s: event=desync %s detail="{D}"' % (sid, ts.client(port)),
                    LOG_WARNING, lm, variable={
                        "{D}": r"BDAT (chunk not read|answered before its chunk): "
                               r"530 5\.7\.0 Must issue a STARTTLS command first"})
    ctx.postfix.assert_nothing_delivered(dm, port)


def test_bdat_in_monitor_mode(ctx):
    """mode = monitor with DATA and BDAT not listed: both are logged as
    they would be refused and forwarded, and framed as the MTA reads them
    (content is never parsed as commands); a BDAT whose count the MTA
    could read otherwise is refused even so."""
    ts.start(ctx, STD + "mode = monitor\n",
             'commands = { "HELO", "EHLO", "MAIL", "RCPT", "QUIT" }')
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    body = b"EXPN root\nQUIT\nSubject: not a header\n..dot\n"
    m1 = ts.make_message(SENDER, "u65@dest.test", "monitor DATA", body=body)
    m2 = ts.make_message(SENDER, "u66@dest.test", "monitor BDAT", body=body)
    with ts.connect(ctx) as s:
        s.greet()
        ts.send_message(s, SENDER, ["u65@dest.test"], m1)
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("RCPT TO:<u66@dest.test>", 250)
        expect(s.cmd("BDAT 0000000000000000000010"), 501, SYNTAX_BDAT)
        bdat_last(s, m2)
        s.expect("QUIT", 221)
        port = s.local_port
    ts.check_delivered(ctx.postfix.wait_delivered("u65@dest.test", dm)[0], m1)
    ts.check_delivered(ctx.postfix.wait_delivered("u66@dest.test", dm)[0], m2)
    sid = session(ctx, port, lm)
    for verb in ("DATA", "BDAT"):
        ctx.shim.expect_log('%s: event=command action=reject %s mode=monitor detail="%s"'
                            % (sid, ts.client(port), verb), LOG_NOTICE, lm)
    ts.wait_disconnect(ctx, sid, port, lm)
    # DATA, the refused BDAT, the good BDAT: no content line was a command
    verbs = [re.search(r'detail="(.*)"', l.message).group(1)
             for l in ctx.shim.log_lines(lm) if "event=command" in l.message]
    assert verbs == ["DATA", "BDAT", "BDAT"], "content parsed as commands: %r" % verbs


# ----------------------------------------------------------------------
# desync: a reply that answers no pending command, or not its command

def test_desync(ctx):
    def handler(line):
        verb = line.split()[0].upper() if line.split() else b""
        if verb == b"EHLO":
            return b"250-fake.test\r\n250 PIPELINING\r\n250 unsolicited\r\n"
        if verb == b"NOOP":
            return b"354 go ahead\r\n"
        if verb == b"RSET":
            return b"250 2.0.0 Ok\r\n421 4.4.2 fake.test Error: timeout exceeded\r\n"
        return b"250 2.0.0 Ok\r\n"

    ts.ensure_milter(ctx)
    up = harness.ScriptedUpstream(handler)
    try:
        shim = ctx.make_shim(upstream_port=up.port)
        shim.start(STD)
        cases = [
            ("EHLO client.harness.test", 250, "reply to no command: 250 unsolicited"),
            ("NOOP", None, "reply does not fit the command: 354 go ahead"),
            ("RSET", 250, "reply to no command: 421 4.4.2 fake.test Error: timeout "
                          "exceeded"),
        ]
        for i, (line, first, detail) in enumerate(cases):
            lm = ctx.syslog.mark()
            with ts.connect(ctx, shim) as s:
                s.expect(None, 220)
                if i:
                    s.expect("HELO client.harness.test", 250)
                r = s.cmd(line)
                if first is not None:
                    assert r.code == first, r
                    r = s.reply()
                expect(r, 421, CLOSING)     # the unmatched reply is not relayed
                s.expect_eof()
                port = s.local_port
            sid = session(ctx, port, lm, shim)
            shim.expect_log('%s: event=desync %s detail="%s"'
                            % (sid, ts.client(port), detail), LOG_WARNING, lm)
            ts.wait_disconnect(ctx, sid, port, lm, shim)
    finally:
        up.close()


# ----------------------------------------------------------------------
# EHLO: every combination of ehlo-other and starttls (SPEC 5.2, 5.4)

STANDARD_KW = {"8BITMIME", "AUTH", "BINARYMIME", "CHUNKING", "DSN", "ENHANCEDSTATUSCODES",
               "ETRN", "PIPELINING", "SIZE", "SMTPUTF8", "STARTTLS", "VRFY", "DELIVERBY",
               "HELP"}


def expected_combination(lines, other, tls):
    """(reply lines, changed keywords) for Postfix's EHLO ${lines} under
    ehlo-other = ${other} and starttls = ${tls} (before the client's TLS)."""
    want, changed = [lines[0]], []
    for l in lines[1:]:
        kw = l.split()[0]
        if kw == "STARTTLS":
            if tls == "allow":
                want.append(l)
                continue
            if tls == "terminate":
                continue                    # the shim's own goes in below
        elif kw in STANDARD_KW or other == "pass":
            want.append(l)
            continue
        changed.append(kw)
        if other == "mask":
            want.append(ts.mask_keyword(l, "ABCDEFGH"[sum(1 for c in changed) - 1]))
    if tls == "terminate":
        want.insert(len(want) - 1, "STARTTLS")
    return want, changed


def test_ehlo_every_combination(ctx):
    lines = ts.expected_ehlo(ctx)
    d = os.path.join(ctx.tmp, "tls")
    os.makedirs(d, exist_ok=True)
    cert, key, _ = ts.make_cert(d, "a", "shim.test")
    ts.start(ctx)
    for other in ("pass", "strip", "mask"):
        for tls in ("allow", "strip", "terminate"):
            opts = "ehlo-other = %s\nstarttls = %s\n" % (other, tls)
            if tls == "terminate":
                opts += 'tls-certificate = "%s"\ntls-key = "%s"\n' % (cert, key)
            ts.restart(ctx, STD, opts)
            want, changed = expected_combination(lines, other, tls)
            lm = ctx.syslog.mark()
            with ts.connect(ctx) as s:
                s.expect(None, 220)
                _, got = ts.raw(s, "EHLO client.harness.test")
                assert got == ts.ehlo_bytes(want), "%s/%s:\n got  %r\n want %r" % (
                    other, tls, got, ts.ehlo_bytes(want))
                assert ts.ehlo_lines(got).count("STARTTLS") == (tls != "strip")
                r = s.cmd("STARTTLS")
                if tls == "strip":
                    expect(r, 502, NOT_PERMITTED)
                    s.expect("QUIT", 221)
                else:
                    expect(r, 220, "2.0.0 Ready to start TLS")
                port = s.local_port
            sid = session(ctx, port, lm)
            action = "mask" if other == "mask" else "strip"
            if changed:
                ctx.shim.expect_log('%s: event=ehlo action=%s value=%d %s detail="%s"'
                                    % (sid, action, len(changed), ts.client(port),
                                       " ".join(changed)), LOG_NOTICE, lm)
            ts.wait_disconnect(ctx, sid, port, lm)
            n = [l for l in ctx.shim.log_lines(lm) if "event=ehlo" in l.message]
            assert len(n) == (1 if changed else 0), "%s/%s: %r" % (other, tls, n)


# ----------------------------------------------------------------------
# session lifetime: the upstream's close ends the session; limits

def close_wait_to(port):
    """Sockets in CLOSE-WAIT whose peer is 127.0.0.1:${port} (/proc/net/tcp)."""
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[2].endswith(":%04X" % port) and fields[3] == "08":
                n += 1
    return n


def test_upstream_close_ends_session(ctx):
    """A command held while the upstream closes: the session ends within
    a second, though the client keeps its socket open, not after
    command-timeout.  100 clients that send junk after the greeting and
    close leave no session, no CLOSE-WAIT socket and no embryonic slot
    behind: an innocent client is served."""
    ts.start(ctx, STD, "max-embryonic = 100\nmax-connections-per-client = 1000")
    lm = ctx.syslog.mark()
    with ts.connect(ctx) as s:
        s.expect(None, 220)
        s.send(b"QUIT\r\nNOOP\r\n")     # NOOP held behind QUIT, socket open
        expect(s.reply(), 221, "2.0.0 Bye")
        s.expect_eof(timeout=3)
        port = s.local_port
        ctx.shim.expect_log("%s: event=disconnect %s duration={MS} reason=quit commands=1 "
                            "messages=0 in=12 out=42"
                            % (session(ctx, port, lm), ts.client(port)), LOG_INFO, lm,
                            timeout=3, variable={"{MS}": ts.MS})

    lm = ctx.syslog.mark()
    junk = [b"QUIT\r\nNOOP\r\n", b"BDAT 1 X\r\nZDATA\r\nMORE\r\n"]
    for i in range(100):
        c = socket.create_connection(("127.0.0.1", ctx.shim.port))
        c.settimeout(10)
        greeting = c.recv(100)
        assert greeting.startswith(b"220 "), greeting
        c.sendall(junk[i % 2])
        c.close()
    poll(lambda: len([l for l in ctx.shim.log_lines(lm)
                      if "event=disconnect" in l.message]) == 100, 10,
         "100 sessions to end")
    poll(lambda: close_wait_to(ctx.proxy_port) == 0, 10, "no CLOSE-WAIT towards Postfix")
    with ts.connect(ctx) as s:
        s.greet()
        s.expect("QUIT", 221)
    ctx.shim.assert_no_log(r"event=limit", lm)


def trickle(s, octets, every, limit):
    """Send ${octets} one at a time, ${every} seconds apart, until a reply
    comes; return (the reply, seconds since the first octet)."""
    t0 = time.monotonic()
    s.sock.settimeout(every)
    for c in octets:
        if time.monotonic() - t0 > limit:
            break
        try:
            s.send(bytes([c]))
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            r = s.reply()
            return r, time.monotonic() - t0
        except socket.timeout:
            continue
    s.sock.settimeout(10)
    return s.reply(), time.monotonic() - t0


def test_embryonic_and_command_timeouts(ctx):
    """embryonic-timeout runs from connect to a 250 for HELO/EHLO and no
    octet or line extends it; command-timeout waits for a complete line,
    which the octets of one that never ends do not give."""
    ts.start(ctx, STD, "embryonic-timeout = 2\ncommand-timeout = 60")
    for how in ("octets", "lines"):
        lm = ctx.syslog.mark()
        with ts.connect(ctx) as s:
            s.expect(None, 220)
            if how == "octets":
                r, dt = trickle(s, b"NOOP " + b"a" * 100, 0.3, 8)
            else:
                # paced: a flood of NOOPs would meet Postfix's error limit
                t0 = time.monotonic()
                while True:
                    r = s.cmd("NOOP")
                    if r.code != 250 or time.monotonic() - t0 > 8:
                        break
                    time.sleep(0.2)
                dt = time.monotonic() - t0
            expect(r, 421, "4.4.2 Timeout")
            s.sock.settimeout(10)
            s.expect_eof()
            port = s.local_port
        assert dt < 6, "%s: closed after %.1fs" % (how, dt)
        ctx.shim.expect_log("%s: event=timeout stage=embryonic %s"
                            % (session(ctx, port, lm), ts.client(port)), LOG_WARNING, lm)

    ts.restart(ctx, STD, "embryonic-timeout = 60\ncommand-timeout = 2")
    lm = ctx.syslog.mark()
    with ts.connect(ctx) as s:
        s.greet()                       # hatched: command-timeout applies
        r, dt = trickle(s, b"NOOP " + b"a" * 100, 0.3, 8)
        expect(r, 421, "4.4.2 Timeout")
        port = s.local_port
    assert dt < 6, "closed after %.1fs" % dt
    ctx.shim.expect_log("%s: event=timeout stage=command %s"
                        % (session(ctx, port, lm), ts.client(port)), LOG_WARNING, lm)


def proxy_v1_tcp6(src, sport):
    return b"PROXY TCP6 %s ::1 %d 25\r\n" % (src.encode(), sport)


def test_client_ipv6_prefix(ctx):
    """max-connections-per-client counts an IPv6 client by its /64
    (client-ipv6-prefix): another address of the same /64 is the same
    client, the next /64 another.  Clients named by a balancer's PROXY
    header, so that no address has to be configured on this machine."""
    ts.start(ctx, STD, 'accept-proxy-from = { "127.0.0.1/32" }\n'
             "max-connections-per-client = 1")
    for prefix, second_refused in ((None, True), (128, False)):
        if prefix:
            ts.restart(ctx, STD, 'accept-proxy-from = { "127.0.0.1/32" }\n'
                       "max-connections-per-client = 1\nclient-ipv6-prefix = %d" % prefix)
        lm = ctx.syslog.mark()
        a = ts.connect(ctx)
        a.send(proxy_v1_tcp6("2001:db8:1:2::1", 40001))
        a.expect(None, 220)
        with ts.connect(ctx) as b:
            b.send(proxy_v1_tcp6("2001:db8:1:2:ffff::2", 40002))
            if second_refused:
                expect(b.reply(), 421, "4.7.0 Too many connections")
                b.expect_eof()
                ts.expect_limit(ctx, 1, "max-connections-per-client", 40002, lm,
                                "2001:db8:1:2:ffff::2")
            else:
                b.expect(None, 220)
                b.expect("QUIT", 221)
        with ts.connect(ctx) as c:      # the next /64: its own client
            c.send(proxy_v1_tcp6("2001:db8:1:3::1", 40003))
            c.expect(None, 220)
            c.expect("QUIT", 221)
        a.expect("QUIT", 221)
        a.close()
        sid = ts.session_id(ctx, 40001, lm, addr="2001:db8:1:2::1")
        ts.wait_disconnect(ctx, sid, 40001, lm, addr="2001:db8:1:2::1")


def test_hard_error_limit(ctx):
    """The shim's own refusals (502, 500, 501) count; the one beyond
    hard-error-limit gets 421 and the session ends.  Nothing of the junk
    reaches Postfix."""
    ts.start(ctx)
    lm = ctx.syslog.mark()
    with ts.connect(ctx) as s:
        s.greet()
        s.send(b"".join(b"JUNK%d\r\n" % i for i in range(25)))
        for _ in range(20):
            expect(s.reply(), 502, NOT_PERMITTED)
        expect(s.reply(), 421, "4.7.0 Too many errors")
        s.expect_eof()
        port = s.local_port
    sid = session(ctx, port, lm)
    ctx.shim.expect_log('%s: event=limit action=drop-connection value=21 limit=20 %s '
                        'detail="hard-error-limit"' % (sid, ts.client(port)), LOG_WARNING, lm)
    n = [l for l in ctx.shim.log_lines(lm) if "event=command" in l.message]
    assert len(n) == 21, len(n)
    assert ts.postfix_disconnect(ctx, port) == "ehlo=1 commands=1"

    # every kind of refusal counts: 502, 500, 501
    ts.restart(ctx, STD, "hard-error-limit = 3")
    lm = ctx.syslog.mark()
    with ts.connect(ctx) as s:
        s.greet()
        expect(s.cmd("XYZZY"), 502, NOT_PERMITTED)
        expect(s.cmd(ts.noop_line(600)), 500, "5.5.2 Line too long")
        expect(s.cmd("BDAT x"), 501, SYNTAX_BDAT)
        s.expect("NOOP", 250)           # a forwarded command is no refusal
        expect(s.cmd("EXPN root"), 421, "4.7.0 Too many errors")
        s.expect_eof()
        port = s.local_port
    ctx.shim.expect_log('%s: event=limit action=drop-connection value=4 limit=3 %s '
                        'detail="hard-error-limit"' % (session(ctx, port, lm),
                                                       ts.client(port)), LOG_WARNING, lm)
    assert ts.postfix_disconnect(ctx, port) == "ehlo=1 noop=1 commands=2"


# ----------------------------------------------------------------------
# STARTTLS: auto, and every 421 closes inside TLS too

def test_starttls_auto(ctx):
    """starttls = auto (the default): with a certificate the shim
    terminates TLS and inspects inside it, so a bare-LF smuggled message
    inside TLS is dropped (it was delivered with allow); without one it
    is allow, and start and reload say so."""
    d = os.path.join(ctx.tmp, "tls")
    os.makedirs(d, exist_ok=True)
    cert, key, der = ts.make_cert(d, "a", "shim.test")
    ts.start(ctx, STD, 'tls-certificate = "%s"\ntls-key = "%s"' % (cert, key))
    r = ctx.shim.run(["-n", "-c", ctx.shim.conf])
    assert r.returncode == 0 and "  starttls = terminate\n" in r.stdout, r.stdout
    assert r.stderr == "", r.stderr
    lm, dm = ctx.syslog.mark(), ctx.postfix.mark()
    with ts.connect(ctx) as s:
        s.expect(None, 220)
        _, ehlo = ts.raw(s, "EHLO client.harness.test")
        assert ts.ehlo_lines(ehlo).count("STARTTLS") == 1, ehlo
        s.expect("STARTTLS", 220)
        s.starttls()
        assert s.sock.getpeercert(binary_form=True) == der
        s.greet = None
        s.expect("EHLO client.harness.test", 250)
        s.expect("MAIL FROM:<%s>" % SENDER, 250)
        s.expect("RCPT TO:<u67@dest.test>", 250)
        s.expect("DATA", 354)
        s.send(b"Subject: carrier\r\n\r\ncarrier\r\n.\n" + ts.SMUGGLED)
        expect(s.reply(), 421, ts.DROP_BARE)
        s.expect_eof(timeout=3)
        port = s.local_port
    sid = session(ctx, port, lm)
    ctx.shim.expect_log('%s: rule=bare-linefeed action=drop-connection value=1 limit=0 '
                        'stage=data %s detail="ambiguous end of data"'
                        % (sid, ts.client(port)), LOG_WARNING, lm)
    ctx.postfix.assert_nothing_delivered(dm, port)

    # no certificate: allow, said at start and reload
    ctx.shim.stop()
    lm = ctx.syslog.mark()
    ctx.shim.start(STD, "")
    notice = 'detail="%s"' % ts.ALLOW_NOTICE
    ctx.shim.expect_log("NOQUEUE: event=start version={V} config=%s profile=standard "
                        "mode=enforce listen=127.0.0.1:%d "
                        "upstream=127.0.0.1:%d %s" % (ctx.shim.conf, ctx.shim.port,
                                                      ctx.proxy_port, notice),
                        LOG_INFO, lm, variable={"{V}": r"\S+"})
    ctx.shim.reload()
    ctx.shim.expect_log("NOQUEUE: event=reload config=%s profile=standard mode=enforce %s"
                        % (ctx.shim.conf, notice),
                        LOG_INFO, lm)


def test_421_inside_tls_closes(ctx):
    """With starttls = terminate, a 421 inside TLS (a drop-connection, a
    timeout) is followed by TLS's close_notify and EOF at once, not after
    a linger of seconds."""
    d = os.path.join(ctx.tmp, "tls")
    os.makedirs(d, exist_ok=True)
    cert, key, _ = ts.make_cert(d, "a", "shim.test")
    ts.start(ctx, STD, ts.terminate_opts(cert, key, "command-timeout = 2"))
    for how in ("drop", "timeout"):
        lm = ctx.syslog.mark()
        with ts.connect(ctx) as s:
            s.greet()
            s.expect("STARTTLS", 220)
            s.starttls()
            s.expect("EHLO client.harness.test", 250)
            if how == "drop":
                s.send(b"NOOP\n")
                expect(s.reply(), 421, ts.DROP_BARE)
            else:
                expect(s.reply(), 421, "4.4.2 Timeout")
            t0 = time.monotonic()
            s.expect_eof(timeout=5)
            dt = time.monotonic() - t0
            port = s.local_port
        assert dt < 1.5, "%s: EOF %.1fs after the 421" % (how, dt)
        ts.wait_disconnect(ctx, session(ctx, port, lm), port, lm)


# ----------------------------------------------------------------------
# clients that do not read (found by attacking the shim, issue 12)

def big_reply(n=15):
    """A 250 reply of ${n} lines of about 1000 octets."""
    return b"".join(b"250%s%s\r\n" % (b"-" if i < n - 1 else b" ", b"x" * 990)
                    for i in range(n))


def big_reply_mta():
    """A fake MTA that answers EHLO in two lines and anything else with
    big_reply()."""
    return harness.ScriptedUpstream(
        lambda line: b"250-fake.test\r\n250 PIPELINING\r\n" if line.startswith(b"EHLO")
        else big_reply())


def stop_reading(shim, up):
    """A client of ${shim} (in front of big_reply_mta() ${up}) that says
    EHLO and then sends NOOPs without reading a reply, until the replies
    fill every buffer up to the shim's own limit and the shim stops
    reading the fake MTA (checked: few went up); returns its socket."""
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.connect(("127.0.0.1", shim.port))
    c.settimeout(10)
    assert c.recv(100).startswith(b"220")
    c.sendall(b"EHLO client.harness.test\r\n")
    assert c.recv(100).startswith(b"250")
    send_for(c, b"NOOP\r\n" * 100000, 3)
    relayed = settled(lambda: len(up.lines), 100000)
    assert relayed < 2000, relayed
    return c


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


def send_for(sock, data, seconds):
    """Send ${data} without reading until it is all sent or ${seconds}
    pass with the peer not taking more; returns the octets sent."""
    sock.setblocking(False)
    sent, deadline = 0, time.monotonic() + seconds
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += sock.send(data[sent:sent + 65536])
        except (BlockingIOError, ssl_want()):
            time.sleep(0.01)
    sock.setblocking(True)
    return sent


def settled(count, ceiling, quiet=1.0, timeout=30):
    """Polls ${count}() until it reaches ${ceiling} or has not moved for
    ${quiet} seconds; returns its last value."""
    last, since = count(), time.monotonic()
    deadline = since + timeout
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = count()
        if now >= ceiling:
            return now
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    return last


def ssl_want():
    import ssl
    return ssl.SSLWantWriteError


def test_tls_client_that_does_not_read(ctx):
    """Inside TLS (starttls = terminate), replies to a client that does not
    read wait in the shim, bounded, and it stops reading the client and the
    upstream: the ciphertext under the TLS filter no longer grows without
    end (the shim's RSS grew to 800 MiB).  A second STARTTLS inside TLS is
    a refusal like any, counted by hard-error-limit."""
    ts.ensure_milter(ctx)
    d = os.path.join(ctx.tmp, "tls")
    os.makedirs(d, exist_ok=True)
    cert, key, _ = ts.make_cert(d, "a", "shim.test")
    up = big_reply_mta()
    try:
        shim = ctx.make_shim(upstream_port=up.port)
        shim.start(STD, ts.terminate_opts(cert, key, "command-timeout = 60"))
        with ts.connect(ctx, shim) as s:
            s.greet()
            s.expect("STARTTLS", 220)
            s.starttls()
            s.expect("EHLO client.harness.test", 250)
            before = rss_kib(shim.proc.pid)
            sent = send_for(s.sock, b"NOOP\r\n" * 20000, 5)
            # each of its 15 KiB replies waits for the client: the shim
            # stops taking commands after a few (without the bound it took
            # them all, about 300 MB of replies)
            settled(lambda: len(up.lines), 2000)
            grown = rss_kib(shim.proc.pid) - before
            assert len(up.lines) < 2000, len(up.lines)
            assert grown < 32 * 1024, "RSS grew by %d KiB for %d octets sent" % (grown, sent)
        lm = ctx.syslog.mark()
        with ts.connect(ctx, shim) as s:
            s.greet()
            s.expect("STARTTLS", 220)
            s.starttls()
            s.expect("EHLO client.harness.test", 250)
            s.send(b"STARTTLS\r\n" * 25)
            for _ in range(20):
                expect(s.reply(), 503, "5.5.1 TLS already active")
            expect(s.reply(), 421, "4.7.0 Too many errors")
            s.expect_eof(timeout=3)
            port = s.local_port
        shim.expect_log('%s: event=limit action=drop-connection value=21 limit=20 %s '
                        'detail="hard-error-limit"' % (session(ctx, port, lm, shim),
                                                       ts.client(port)), LOG_WARNING, lm)
    finally:
        up.close()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_upstream_reset_while_client_does_not_read(ctx):
    """The MTA resets the connection while its replies wait for a client
    that does not read them (the shim has stopped reading both): the
    session ends within a second or two (SPEC 5.7), not at
    command-timeout, and the shim sleeps meanwhile (an event for the
    close alone spun the event loop on a reset, which epoll reports as
    readable and writable).  (An MTA's FIN would queue behind the replies
    the shim has not read: nobody can see it before they are read.)"""
    ts.ensure_milter(ctx)
    up = big_reply_mta()
    try:
        shim = ctx.make_shim(upstream_port=up.port)
        shim.start(STD, "command-timeout = 60")
        lm = ctx.syslog.mark()
        c = stop_reading(shim, up)
        cpu, t0 = cpu_seconds(shim.proc.pid), time.monotonic()
        up.hangup()
        shim.expect_log("{SID}: event=disconnect %s duration={MS} reason=upstream-close "
                        "commands={N} messages={N} in={N} out={N}"
                        % ts.client(c.getsockname()[1]), LOG_INFO, lm, timeout=10,
                        variable={"{SID}": ts.SID, "{N}": ts.N, "{MS}": ts.MS})
        dt = time.monotonic() - t0
        busy = cpu_seconds(shim.proc.pid) - cpu
        assert dt < 3, "ended %.1fs after the MTA" % dt
        assert busy < max(dt, 1) / 4, "%.2fs of CPU in %.2fs" % (busy, dt)
        c.close()
    finally:
        up.close()


def test_replies_flushed_after_upstream_gone(ctx):
    """The MTA's end, seen while its replies wait for a client that has
    stopped reading, does not throw them away: a client that takes them
    then gets every one, whole and in order, and the 421 for the reset
    last (closing at once lost the replies not yet in the client's
    output, those the shim had read but not parsed and those in its
    kernel)."""
    ts.ensure_milter(ctx)
    up = big_reply_mta()
    try:
        shim = ctx.make_shim(upstream_port=up.port)
        shim.start(STD, "command-timeout = 60", args=("-f", "-d"))
        lm = ctx.syslog.mark()
        c = stop_reading(shim, up)
        port = c.getsockname()[1]
        up.hangup()
        sid = session(ctx, port, lm, shim)
        shim.expect_log("%s: upstream=gone" % sid, LOG_DEBUG, lm)
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        c.close()
        replies = data.split(b"\r\n")
        assert replies.pop() == b"", data[-200:]
        assert replies.pop() == b"421 4.3.0 Service not available", replies[-3:]
        one = big_reply().split(b"\r\n")[:-1]
        assert len(replies) % len(one) == 0, len(replies)
        for i in range(0, len(replies), len(one)):
            assert replies[i:i + len(one)] == one, (i, replies[i][:20])
        shim.expect_log('%s: event=upstream-error %s detail="{D}"'
                        % (sid, ts.client(port)), LOG_ERR, lm,
                        variable={"{D}": r"relay 127\.0\.0\.1:\d+: (Connection reset by peer|Broken pipe)"})
        # -d traces every phase the session went through, in order.
        states = [l.message.split("state=")[1] for l in shim.log_lines(lm)
                  if l.message.startswith(sid + ": state=")]
        assert states == ["connect", "greet", "command", "closing"], states
    finally:
        up.close()


def test_upstream_tls_half_close(ctx):
    """upstream-tls = yes: a client that sends the end of DATA and QUIT
    and half-closes gets its 250 and 221, and the message is delivered:
    the shim's EOF towards Postfix waits for the ciphertext under the TLS
    filter (a shutdown before it lost the end of DATA)."""
    d = os.path.join(ctx.tmp, "tls")
    os.makedirs(d, exist_ok=True)
    cert, key, _ = ts.make_cert(d, "a", "shim.test")
    ts.start(ctx, STD, ts.terminate_opts(cert, key, "upstream-tls = yes"))
    dm = ctx.postfix.mark()
    for i in range(5):
        msg = ts.make_message(SENDER, "u70@dest.test", "half-close %d" % i)
        with ts.connect(ctx) as s:
            s.greet()
            s.expect("MAIL FROM:<%s>" % SENDER, 250)
            s.expect("RCPT TO:<u70@dest.test>", 250)
            s.expect("DATA", 354)
            s.send(msg.replace(b"\n", b"\r\n") + b".\r\nQUIT\r\n")
            s.sock.shutdown(socket.SHUT_WR)
            r = s.reply()
            assert r is not None and r.code == 250 and "queued as" in r.text, (i, r)
            expect(s.reply(), 221, "2.0.0 Bye")
            s.expect_eof()
    ctx.postfix.wait_delivered("u70@dest.test", dm, n=5)
