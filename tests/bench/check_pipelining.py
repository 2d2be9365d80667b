#!/usr/bin/env python3
"""Independent check of Parley's 1:1 delivery under pipelining (no C++ code shared
with parley_bench): logs accounts in by hand (STARTTLS, SASL PLAIN, bind, presence,
ping), then each sender pipelines N numbered messages to its receiver in bursts (one
write per burst, at most --window in flight) and each receiver must get every one
exactly once, in order. Exit status 0 when so, 1 otherwise.

Usage: check_pipelining.py --port 25222 [--password P] [--pairs 1] [--count 20000]
       [--burst 16] [--window 64] [--users-prefix user] [--domain localhost]
Pairs are user0->user1, user2->user3, ...
"""
import argparse
import base64
import select
import socket
import ssl
import sys
import time
import xml.etree.ElementTree as ET

NS_STREAM = "http://etherx.jabber.org/streams"
NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind"
NS_CLIENT = "jabber:client"


def tag(ns, name):
    return "{%s}%s" % (ns, name)


class Conn:
    """One client stream; stanzas are parsed incrementally and queued in `inbox`."""

    def __init__(self, host, port, domain, user, password):
        self.host, self.port, self.domain = host, port, domain
        self.user, self.password = user, password
        self.sock = None
        self.inbox = []
        self.closed = False

    # --- stream plumbing ---------------------------------------------------------
    def new_parser(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.root = None

    def send(self, text):
        self.sock.sendall(text.encode())

    def open_stream(self):
        self.new_parser()
        self.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                  "xmlns:stream='%s' version='1.0' to='%s'>" % (NS_STREAM, self.domain))

    def feed(self, data):
        self.parser.feed(data)
        for event, el in self.parser.read_events():
            if event == "start":
                if self.depth == 0:
                    self.root = el
                self.depth += 1
            else:
                self.depth -= 1
                if self.depth == 1:
                    self.inbox.append(el)
                    self.root.remove(el)  # keeps memory flat over long streams
                elif self.depth == 0:
                    self.closed = True

    def read_some(self):
        data = self.sock.recv(65536)
        if not data:
            self.closed = True
            raise RuntimeError("%s: the server closed the connection" % self.user)
        self.feed(data)

    def readable(self):
        """True when a recv would not wait (decrypted bytes already buffered)."""
        return isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0

    def next_stanza(self):
        while not self.inbox:
            if self.closed:
                raise RuntimeError("%s: stream closed" % self.user)
            self.read_some()
        el = self.inbox.pop(0)
        if el.tag == tag(NS_STREAM, "error"):
            raise RuntimeError("%s: stream error %s" % (self.user, [c.tag for c in el]))
        return el

    def await_iq(self, iq_id):
        """Waits for one iq reply; every other stanza stays queued, in order."""
        scanned = 0
        while True:
            while scanned < len(self.inbox):
                el = self.inbox[scanned]
                if el.tag == tag(NS_CLIENT, "iq") and el.get("id") == iq_id:
                    del self.inbox[scanned]
                    return el
                scanned += 1
            self.read_some()

    # --- login -------------------------------------------------------------------
    def login(self):
        raw = socket.create_connection((self.host, self.port), timeout=30)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = raw
        self.open_stream()
        features = self.next_stanza()
        if features.find(tag(NS_TLS, "starttls")) is None:
            raise RuntimeError("no starttls offered")
        self.send("<starttls xmlns='%s'/>" % NS_TLS)
        if self.next_stanza().tag != tag(NS_TLS, "proceed"):
            raise RuntimeError("starttls refused")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(raw, server_hostname=self.domain)

        self.open_stream()
        features = self.next_stanza()
        mechs = [m.text for m in features.iter(tag(NS_SASL, "mechanism"))]
        if "PLAIN" not in mechs:
            raise RuntimeError("PLAIN not offered: %s" % mechs)
        local = self.user.split("@")[0]
        token = base64.b64encode(("\0%s\0%s" % (local, self.password)).encode()).decode()
        self.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>" % (NS_SASL, token))
        outcome = self.next_stanza()
        if outcome.tag != tag(NS_SASL, "success"):
            raise RuntimeError("%s: SASL failed: %s" % (self.user, [c.tag for c in outcome]))

        self.open_stream()
        self.next_stanza()  # features: bind
        self.send("<iq type='set' id='bind1'><bind xmlns='%s'><resource>check</resource></bind></iq>"
                  % NS_BIND)
        bound = self.await_iq("bind1")
        jid = bound.find("%s/%s" % (tag(NS_BIND, "bind"), tag(NS_BIND, "jid")))
        if bound.get("type") != "result" or jid is None:
            raise RuntimeError("%s: bind failed" % self.user)
        self.full_jid = jid.text
        self.send("<presence/><iq type='get' id='ping1'><ping xmlns='urn:xmpp:ping'/></iq>")
        self.await_iq("ping1")


class Pair:
    def __init__(self, sender, receiver, count):
        self.sender, self.receiver = sender, receiver
        self.sent = 0
        self.expected = 0           # next seq in order
        self.seen = bytearray(count)
        self.received = self.duplicates = self.out_of_order = self.errors = 0
        self.first_problems = []

    def problem(self, text):
        if len(self.first_problems) < 5:
            self.first_problems.append(text)

    def on_receiver_stanza(self, el):
        if el.tag != tag(NS_CLIENT, "message"):
            return
        body = el.findtext(tag(NS_CLIENT, "body")) or ""
        try:
            seq = int(body.split()[0])
        except (ValueError, IndexError):
            self.problem("unexpected message %r" % body)
            return
        if seq >= len(self.seen) or seq >= self.sent:
            self.problem("seq %d never sent" % seq)
            return
        if self.seen[seq]:
            self.duplicates += 1
            self.problem("duplicate seq %d (expected %d)" % (seq, self.expected))
            return
        self.seen[seq] = 1
        self.received += 1
        if seq != self.expected:
            self.out_of_order += 1
            self.problem("seq %d arrived when %d was expected" % (seq, self.expected))
        self.expected = max(self.expected, seq + 1)

    def on_sender_stanza(self, el):
        if el.tag == tag(NS_CLIENT, "message") and el.get("type") == "error":
            self.errors += 1
            self.problem("error reply for id %s" % el.get("id"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5222)
    ap.add_argument("--domain", default="localhost")
    ap.add_argument("--users-prefix", default="user")
    ap.add_argument("--password", default="bench-secret")
    ap.add_argument("--pairs", type=int, default=1)
    ap.add_argument("--count", type=int, default=20000, help="messages per pair")
    ap.add_argument("--burst", type=int, default=16, help="messages per write")
    ap.add_argument("--window", type=int, default=64, help="messages in flight per pair")
    ap.add_argument("--stall", type=float, default=10, help="seconds without progress = failure")
    a = ap.parse_args()
    a.window = max(a.window, a.burst)

    pairs = []
    for i in range(a.pairs):
        s = Conn(a.host, a.port, a.domain, "%s%d@%s" % (a.users_prefix, 2 * i, a.domain), a.password)
        r = Conn(a.host, a.port, a.domain, "%s%d@%s" % (a.users_prefix, 2 * i + 1, a.domain), a.password)
        s.login()
        r.login()
        pairs.append(Pair(s, r, a.count))
    by_sock = {}
    for p in pairs:
        by_sock[p.sender.sock] = (p.sender, p.on_sender_stanza)
        by_sock[p.receiver.sock] = (p.receiver, p.on_receiver_stanza)
        # Stanzas queued during login go to the checks too.
        for conn, handle in ((p.sender, p.on_sender_stanza), (p.receiver, p.on_receiver_stanza)):
            while conn.inbox:
                handle(conn.inbox.pop(0))

    start = last_progress = time.monotonic()
    total = a.pairs * a.count
    while True:
        for p in pairs:
            # One write per burst: the server sees pipelined stanzas in one read.
            while p.sent < a.count and p.sent - p.received + a.burst <= a.window:
                n = min(a.burst, a.count - p.sent)
                xml = "".join("<message type='chat' to='%s' id='m%d'><body>%d %.6f</body></message>"
                              % (p.receiver.full_jid, q, q, time.monotonic())
                              for q in range(p.sent, p.sent + n))
                p.sent += n
                p.sender.send(xml)
        if sum(p.received for p in pairs) >= total:
            break
        ready = [c.sock for c, _ in by_sock.values() if c.readable()]
        if not ready:
            ready, _, _ = select.select(list(by_sock), [], [], 0.5)
        for sock in ready:
            conn, handle = by_sock[sock]
            conn.read_some()
            while conn.inbox:
                handle(conn.inbox.pop(0))
            last_progress = time.monotonic()
        if time.monotonic() - last_progress > a.stall:
            print("stalled: no data for %.0f s" % a.stall)
            break
    wall = time.monotonic() - start

    ok = True
    for i, p in enumerate(pairs):
        lost = p.sent - p.received
        bad = lost or p.duplicates or p.out_of_order or p.errors or p.first_problems
        ok = ok and not bad
        if bad:
            print("pair %d (%s -> %s): sent %d received %d lost %d duplicated %d out_of_order %d errors %d"
                  % (i, p.sender.user, p.receiver.user, p.sent, p.received, lost, p.duplicates,
                     p.out_of_order, p.errors))
            for text in p.first_problems:
                print("   ", text)
    sent = sum(p.sent for p in pairs)
    received = sum(p.received for p in pairs)
    print("pairs %d burst %d window %d: sent %d received %d lost %d duplicated %d out_of_order %d "
          "errors %d in %.2f s (%.0f msgs/s): %s"
          % (a.pairs, a.burst, a.window, sent, received, sent - received,
             sum(p.duplicates for p in pairs), sum(p.out_of_order for p in pairs),
             sum(p.errors for p in pairs), wall, received / wall if wall else 0, "OK" if ok else "FAIL"))
    for p in pairs:
        for c in (p.sender, p.receiver):
            try:
                c.send("</stream:stream>")
                c.sock.close()
            except OSError:
                pass
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
