# SPDX-License-Identifier: BSD-2-Clause
"""shimlib - what the shim's benchmark (shimbench) and its scale test
(shimscale) share: free ports, the descriptor limit, daemons started and
waited for, and the shipped configuration made fit for a load run."""

import os
import re
import resource
import signal
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))

SMTP_SOURCE = "/usr/sbin/smtp-source"
SMTP_SINK = "/usr/sbin/smtp-sink"


class BenchError(Exception):
    pass


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def raise_nofile(want):
    """Raise our own RLIMIT_NOFILE towards ${want} (the hard limit too if
    we may; children inherit it); returns (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want, want
        except (ValueError, OSError):
            pass
    new = hard if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < new:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def wait_listening(proc, port, what, log):
    """Until 127.0.0.1:${port} takes a connection (that connection is a
    session of whatever listens there)."""
    deadline = time.monotonic() + 10
    while True:
        if proc.poll() is not None:
            raise BenchError("%s exited with status %d (log: %s)"
                             % (what, proc.returncode, log))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise BenchError("%s did not listen on port %d (log: %s)"
                                 % (what, port, log))
            time.sleep(0.05)


class Daemon:
    """${cmd} with its output in ${log}, RLIMIT_NOFILE ${nofile} (None: ours),
    waited for on ${port} unless ${probe} is false; stop() sends SIGTERM."""

    def __init__(self, what, cmd, port, log, nofile=None, probe=True):
        self.what = what
        self.log = log
        self.logf = open(log, "w")

        def limit():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        self.proc = subprocess.Popen(cmd, stdout=self.logf,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     preexec_fn=limit)
        self.pid = self.proc.pid
        try:
            if probe:
                wait_listening(self.proc, port, what, log)
        except BenchError:
            self.stop()
            raise

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.logf.closed:
            self.logf.close()


def sink_cmd(port, maxconn, timeout, extra=()):
    """smtp-sink on 127.0.0.1:${port}; it refuses to run as root without -u."""
    cmd = [SMTP_SINK] + list(extra) + ["-m", str(maxconn), "-t", str(timeout)]
    if os.geteuid() == 0:
        cmd += ["-u", "nobody"]
    return cmd + ["127.0.0.1:%d" % port, "10240"]


def make_cert(tmp):
    """A throw-away self-signed RSA-2048 certificate and its key under ${tmp}
    (made once; later calls return the same pair)."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    if os.path.exists(cert) and os.path.exists(key):
        return cert, key
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                        "-subj", "/CN=bench.example"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        raise BenchError("openssl req failed: %s" % r.stderr.strip())
    return cert, key


def make_shim_conf(path, port, upstream, cert, terminate=False, shipped=None):
    """The shipped configuration (${shipped}, default this tree's
    conf/esmtp-inspect.conf) with our addresses, no PROXY header
    (smtp-sink reads none), limits that the load stays under, and the
    certificate and key ${cert} (a pair) in place of Debian's snakeoil pair
    that the shipped file names (so starttls = auto terminates, as shipped);
    with ${terminate}, starttls = terminate said explicitly."""
    with open(shipped or os.path.join(TOP, "conf", "esmtp-inspect.conf")) as f:
        text = f.read()
    subs = [
        (r'(?m)^(\s*listen\s*=\s*)\{[^}]*\}', r'\g<1>{ "127.0.0.1:%d" }' % port),
        (r'(?m)^(\s*upstream\s*=\s*)"[^"]*"', r'\g<1>"127.0.0.1:%d"' % upstream),
        (r'(?m)^(\s*proxy-protocol\s*=\s*)[a-z0-9]+', r"\g<1>none"),
        (r'(?m)^(\s*max-connections\s*=\s*)\d+', r"\g<1>100000"),
        (r'(?m)^(\s*max-connections-per-client\s*=\s*)\d+', r"\g<1>100000"),
        (r'(?m)^(\s*max-embryonic\s*=\s*)\d+', r"\g<1>100000"),
        (r'(?m)^(\s*tls-certificate\s*=\s*)"[^"]*"', r'\g<1>"%s"' % cert[0]),
        (r'(?m)^(\s*tls-key\s*=\s*)"[^"]*"', r'\g<1>"%s"' % cert[1]),
    ]
    if terminate:
        subs.append((r'(?m)^(\s*starttls\s*=\s*)[a-z]+', r"\g<1>terminate"))
    for pat, rep in subs:
        text, n = re.subn(pat, rep, text, count=1)
        if n != 1:
            raise BenchError("cannot find %r in conf/esmtp-inspect.conf" % pat)
    with open(path, "w") as f:
        f.write(text)
