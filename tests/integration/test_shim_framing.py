"""test_shim_framing - the shim and the MTA frame every octet alike (issue 12).

The EHLO reply under every combination of ehlo-other and starttls,
through the shim in front of the private Postfix.
"""

import os

import test_shim as ts
from harness import LOG_NOTICE

REQUIRES = ("shim",)

STD = ts.STD
NOT_PERMITTED = "5.5.1 Command not permitted"


def expect(r, code, text):
    ts.expect_reply(r, code, text)


def session(ctx, port, since, shim=None):
    return ts.session_id(ctx, port, since, shim)


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
