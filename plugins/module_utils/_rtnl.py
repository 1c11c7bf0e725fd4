# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bulk rtnetlink path: a raw socket, precompiled layouts, pipelined requests.

pyroute2 builds and parses every message through generic, introspecting
classes and waits for each ACK before it sends the next request.  For bulk
state (10,000 routes, 10,000 FDB entries) that costs ~70x the time of
``ip -batch``.  This module is what the resources use instead for their own
objects:

* :func:`attr` and friends encode attributes with precompiled ``struct``
  layouts; a resource builds each request as bytes straight from its
  canonical object.
* :meth:`Rtnl.dump` yields ``(type, body)`` of each message of a dump; the
  resource parses only the attributes it uses (:func:`attrs`).
* :meth:`Rtnl.transact` sends many requests per ``sendmsg`` (the kernel
  processes them in order), each with its own sequence number; the kernel
  answers every refused one with its errno and extended ACK text, and only the
  last of a chunk asks for an ACK, which closes the chunk.  It reports, per
  request, whether the kernel applied it.  The engine maps a failure back to
  the operation that caused it and rolls back exactly the ones that were
  applied.

Only the standard library is imported: a task that needs nothing else never
pays for importing pyroute2.  The socket is opened in the namespace the
process is in (``_netlink`` enters it first).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import socket
import struct

from ansible_collections.edgenet.linux.plugins.module_utils._errors import DumpInterrupted

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
SO_RCVBUFFORCE = 33

NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE = 1, 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_ECHO, NLM_F_DUMP_INTR = 0x1, 0x2, 0x4, 0x8, 0x10
NLM_F_DUMP = 0x300
NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE, NLM_F_APPEND = 0x100, 0x200, 0x400, 0x800
NLM_F_ACK_TLVS = 0x200
NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS = 1, 2
NLA_F_NESTED = 0x8000
NLA_TYPE_MASK = 0x3fff

#: flags of a request that creates (add), replaces (change) or deletes
ADD = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
REPLACE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE
APPEND = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND
DELETE = NLM_F_REQUEST | NLM_F_ACK

RTM_NEWLINK, RTM_GETLINK = 16, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26
RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH = 28, 29, 30

HDR = struct.Struct('=IHHII')       # struct nlmsghdr
NLA = struct.Struct('=HH')          # struct nlattr
ERR = struct.Struct('=i')           # struct nlmsgerr.error (followed by the request header)
U8, U16, U32, I32 = struct.Struct('=B'), struct.Struct('=H'), struct.Struct('=I'), struct.Struct('=i')
IFINFOMSG = struct.Struct('=BxHiII')
IFLA_IFNAME, IFLA_MASTER, IFLA_LINKINFO = 3, 10, 18
IFLA_PROP_LIST, IFLA_ALT_IFNAME = 52, 53  # a device's alternative names (5.5): a nest of IFLA_ALT_IFNAME strings
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 2, 4, 5
IFLA_MTU, IFLA_AF_SPEC, IFLA_INET6_CONF, DEVCONF_DISABLE_IPV6 = 4, 26, 2, 26
#: the smallest MTU of a device with IPv6: below it the kernel removes the device's IPv6 (its inet6_dev)
IPV6_MIN_MTU = 1280
#: why a device has no working IPv6 (:func:`ipv6_off`): disable_ipv6 is set; it has no IPv6 because its MTU is below
#: IPV6_MIN_MTU; it has no IPv6 otherwise (IPv6 off in the kernel)
IPV6_DISABLED, IPV6_MTU, IPV6_ABSENT = 'disabled', 'mtu', 'absent'

#: requests per sendmsg: the ACKs of one chunk must fit the receive buffer
CHUNK = 512
CHUNK_BYTES = 96 << 10
RCVBUF = 8 << 20
#: receive-buffer bytes a chunk reserves per request that asks for an echo, plus ECHO_PER_BYTE per byte of
#: the request: its echo (about the request's size) and its answer, at the kernel's accounting of a message
#: (its allocation rounded up, plus the skb's own overhead; about 1 KiB for both with a small route, measured
#: by test_bulk_path.py::test_echoes_fit_a_small_receive_buffer): nothing of a chunk may be dropped
ECHO_RESERVE = 2 << 10
ECHO_PER_BYTE = 4


def align(n):
    return (n + 3) & ~3


# -- encoding -------------------------------------------------------------------
def attr(kind, payload):
    """One attribute (type, payload bytes), padded to 4 bytes."""
    n = 4 + len(payload)
    return NLA.pack(n, kind) + payload + b'\0' * (align(n) - n)


def attr_u8(kind, value):
    return NLA.pack(5, kind) + U8.pack(value) + b'\0\0\0'


def attr_u16(kind, value):
    return NLA.pack(6, kind) + U16.pack(value) + b'\0\0'


def attr_u32(kind, value):
    return NLA.pack(8, kind) + U32.pack(value)


def attr_str(kind, value):
    return attr(kind, value.encode() + b'\0')


def attr_nested(kind, *parts):
    payload = b''.join(parts)
    return NLA.pack(4 + len(payload), kind | NLA_F_NESTED) + payload


_ADDRS = {}


def addr_bytes(text):
    """``(family, packed)`` of an IPv4 or IPv6 address in text form (memoized: gateways repeat)."""
    found = _ADDRS.get(text)
    if found is None:
        af = socket.AF_INET6 if ':' in text else socket.AF_INET
        found = (af, socket.inet_pton(af, text))
        if len(_ADDRS) > 4096:
            _ADDRS.clear()
        _ADDRS[text] = found
    return found


# -- decoding -------------------------------------------------------------------
def attrs(buf, offset, end):
    """``{type: (start, end)}`` of the payloads of the attributes in ``buf[offset:end]``."""
    out = {}
    unpack = NLA.unpack_from
    while offset + 4 <= end:
        length, kind = unpack(buf, offset)
        if length < 4:
            break
        out[kind & NLA_TYPE_MASK] = (offset + 4, offset + length)
        offset += (length + 3) & ~3
    return out


def get_u32(buf, span):
    return U32.unpack_from(buf, span[0])[0]


def get_str(buf, span):
    return bytes(buf[span[0]:span[1]]).split(b'\0', 1)[0].decode('utf-8', 'replace')


def get_altnames(buf, span):
    """The alternative names (altnames) in an IFLA_PROP_LIST nest (``span``: its payload), in the kernel's order (the
    order they were added in). Its attributes are all of one type, so they are read here, not by :func:`attrs`."""
    out = []
    offset, end = span
    unpack = NLA.unpack_from
    while offset + 4 <= end:
        length, kind = unpack(buf, offset)
        if length < 4:
            break
        if kind & NLA_TYPE_MASK == IFLA_ALT_IFNAME:
            out.append(bytes(buf[offset + 4:offset + length]).split(b'\0', 1)[0].decode('utf-8', 'replace'))
        offset += (length + 3) & ~3
    return out


def get_addr(buf, span):
    raw = bytes(buf[span[0]:span[1]])
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    if len(raw) == 16:
        return socket.inet_ntop(socket.AF_INET6, raw)
    return ':'.join('%02x' % b for b in raw)


def blame_ipv6_disabled(error, dev, code):
    """``error``, a kernel refusal with errno ``code`` and the text "IPv6 is disabled" (a device whose IPv6 was
    disabled after the task checked it), made to name field ``dev`` and say why; other errors as they are."""
    if error.code == code and 'IPv6 is disabled' in (error.extack or '') and not error.field:
        error.field = 'dev'
        error.msg = error.msg.replace(
            'the kernel refused', '%s has IPv6 disabled (net.ipv6.conf.%s.disable_ipv6 = 1); the kernel refused'
            % (dev, dev), 1)
    return error


def ipv6_off(name, buf, start, end):
    """Why device ``name`` has no working IPv6, from its message of a link dump (``buf[start:end]``, from the ifinfomsg
    on), or None: ``(kind, text)``, kind IPV6_DISABLED, IPV6_MTU or IPV6_ABSENT.

    IFLA_AF_SPEC holds an AF_INET6 part only while the device has IPv6 (its inet6_dev: the kernel drops it from a
    device whose MTU goes below IPV6_MIN_MTU, and makes none without IPv6), and that part's IFLA_INET6_CONF is the
    device's net.ipv6.conf array, of which DEVCONF_DISABLE_IPV6 is disable_ipv6. What the kernel refuses of each
    case is the caller's: an IPv6 address, next hop or neighbour entry on a device with disable_ipv6 (EACCES, or
    EINVAL for a neighbour entry), and on one without IPv6 an IPv6 next hop or neighbour entry; an IPv6 address
    there only below IPV6_MIN_MTU (else the kernel makes the device's IPv6 for it)."""
    found = attrs(buf, start + IFINFOMSG.size, end)
    inet6 = attrs(buf, *found[IFLA_AF_SPEC]).get(socket.AF_INET6) if IFLA_AF_SPEC in found else None
    if inet6 is None:
        mtu = get_u32(buf, found[IFLA_MTU]) if IFLA_MTU in found else IPV6_MIN_MTU
        if mtu < IPV6_MIN_MTU:
            return IPV6_MTU, '%s has no IPv6 (the kernel removes it from a device whose MTU is below %d; this one ' \
                             'has %d)' % (name, IPV6_MIN_MTU, mtu)
        return IPV6_ABSENT, '%s has no IPv6 (IPv6 is off in this kernel or namespace)' % name
    conf = attrs(buf, *inet6).get(IFLA_INET6_CONF)
    if conf is not None and conf[1] - conf[0] >= 4 * (DEVCONF_DISABLE_IPV6 + 1) and \
            I32.unpack_from(buf, conf[0] + 4 * DEVCONF_DISABLE_IPV6)[0]:
        return IPV6_DISABLED, '%s has IPv6 disabled (net.ipv6.conf.%s.disable_ipv6 = 1)' % (name, name)
    return None


def ipv6_remedy(name, why):
    """What an earlier task of the play does that gives device ``name`` working IPv6 again, where ``why`` (of
    :func:`ipv6_off`) says it has none: the words of check mode's warning (``Resource.refuse_or_warn``, which
    predicts as if it did; the real run refuses). None where IPv6 is off in the kernel, which no task changes."""
    if why[0] == IPV6_DISABLED:
        return 'sets net.ipv6.conf.%s.disable_ipv6 = 0' % name
    if why[0] == IPV6_MTU:
        return 'raises the MTU of %s to %d or more' % (name, IPV6_MIN_MTU)
    return None


class RtnlError(Exception):
    """A request the kernel refused: ``index`` into the batch, errno ``code``, extack ``text``."""

    def __init__(self, index, code, text=None):
        super(RtnlError, self).__init__(text or os.strerror(code))
        self.index = index
        self.code = code
        self.text = text


class RtnlBusy(RuntimeError):
    """A request on a socket whose dump is still being read: a bug of the caller, never the kernel's.

    The kernel answers one request at a time per socket: a request sent while a dump is being read
    would consume (and drop) the rest of that dump, and the outer reader would then wait forever."""


class Rtnl(object):
    """A raw NETLINK_ROUTE socket for dumps and pipelined requests.

    One request at a time: a dump must be read to its end (or closed) before the next request on the
    same socket; a nested request raises :class:`RtnlBusy` instead of hanging.
    """

    def __init__(self):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        try:
            sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
            sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        except OSError:
            pass  # old kernels: errors come without extack text
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 2 * CHUNK_BYTES)
        sock.bind((0, 0))
        self.sock = sock
        self.seq = 0
        self.buf = bytearray(1 << 20)
        self._dumping = None  # (type, seq) of the dump being read

    def _idle(self, what):
        if self._dumping is not None:
            raise RtnlBusy('internal error: %s requested while the dump of message type %d (seq %d) is still '
                           'being read on the same netlink socket; read the dump to its end first'
                           % (what, self._dumping[0], self._dumping[1]))

    def close(self):
        self.sock.close()

    def _next_seq(self):
        self.seq += 1
        return self.seq

    def _messages(self):
        """Read one datagram; yield ``(type, flags, seq, data, start, end)`` of each message in it. ``data`` is a
        copy of the datagram (bytes, one copy for all its messages): a message's body, ``data[start:end]``, is
        then a slice, without a memoryview per message (the class and filter dumps of a 1,000-class tree)."""
        n = self.sock.recv_into(self.buf)
        data = bytes(memoryview(self.buf)[:n])
        offset = 0
        while offset + 16 <= n:
            length, kind, flags, seq, _pid = HDR.unpack_from(data, offset)
            if length < 16:
                break
            yield kind, flags, seq, data, offset + 16, offset + length
            offset += (length + 3) & ~3

    def dump(self, kind, body):
        """Run one dump request; yield ``(type, buf, start, end)`` of every reply message.

        ``buf[start:end]`` is the message body (family header and attributes).  The
        buffer is reused: parse each message before taking the next one.
        """
        self._idle('a dump of message type %d' % kind)
        seq = self._next_seq()
        self.sock.send(HDR.pack(16 + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body)
        self._dumping = (kind, seq)
        recv_into, buf, unpack = self.sock.recv_into, self.buf, HDR.unpack_from
        finished = False
        interrupted = 0
        view, offset, n = b'', 0, 0
        try:
            while True:
                # one datagram, its messages walked here (not through _messages: one generator less per
                # message of a 20,000-route dump)
                n = recv_into(buf)
                view = memoryview(buf)[:n]
                offset = 0
                while offset + 16 <= n:
                    length, mtype, flags, mseq, _pid = unpack(view, offset)
                    if length < 16:
                        break
                    start, end = offset + 16, offset + length
                    offset += (length + 3) & ~3
                    if mseq != seq:
                        continue
                    interrupted |= flags
                    if mtype == NLMSG_DONE:
                        finished = True
                        if interrupted & NLM_F_DUMP_INTR:
                            raise DumpInterrupted(kind)
                        return
                    if mtype == NLMSG_ERROR:
                        finished = True
                        code = -ERR.unpack_from(view, start)[0]
                        if code:
                            raise RtnlError(0, code, self._extack(view, start, end))
                        return
                    yield mtype, view, start, end
        finally:
            if not finished and not self._ends_in(view, offset, n, seq):
                # the reader stopped early (the generator was closed, or its consumer raised): the kernel is
                # still in this dump and would refuse the socket's next dump with EBUSY, so read it to its end
                # (unless its end is in the datagram already read: another read would wait for ever)
                self._drain(seq)
            self._dumping = None

    @staticmethod
    def _ends_in(view, offset, n, seq):
        """Whether the rest of a datagram read (``view[offset:n]``) holds the end (NLMSG_DONE or an error) of
        dump ``seq``."""
        while offset + 16 <= n:
            length, mtype, _flags, mseq, _pid = HDR.unpack_from(view, offset)
            if length < 16:
                return False
            if mseq == seq and mtype in (NLMSG_DONE, NLMSG_ERROR):
                return True
            offset += (length + 3) & ~3
        return False

    def dump_many(self, kind, bodies):
        """Many dumps of one message type, pipelined: ``[[(type, body bytes), ...] per body]``, in order.

        For many small dumps (the filters of each of 1,000 classes) instead of one round trip each.
        The kernel runs one dump per socket at a time, and starts each dump of a request already while
        the ``sendmsg`` is processed: a dump that fits in its first datagram (an empty one, most of
        them) is finished at once, and the requests that arrive while a longer one is still being read
        are refused with EBUSY; those are sent again in the next round.  A no-op request that asks for
        an ACK closes each round.  A round sends at most as many dumps as the receive buffer holds
        datagrams of, so none of them is dropped; a dump with any content needs a second datagram for
        its end, so after a round with refusals the next one sends only as many as were finished
        (dumps that all have content go one or two per round, about as fast as one at a time).
        """
        self._idle('%d dump(s) of message type %d' % (len(bodies), kind))
        results = [[] for _body in bodies]
        pending = list(range(len(bodies)))
        most = max(1, min(CHUNK, self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // (128 << 10)))
        per_round = most
        flags = NLM_F_REQUEST | NLM_F_DUMP
        error = None
        interrupted = 0
        while pending:
            index_of, messages, size = {}, [], 0
            for i in pending[:per_round]:
                if messages and size + 16 + len(bodies[i]) > CHUNK_BYTES:
                    break
                seq = self._next_seq()
                index_of[seq] = i
                messages.append(HDR.pack(16 + len(bodies[i]), kind, flags, seq, 0) + bodies[i])
                size += 16 + len(bodies[i])
            closing = self._next_seq()
            messages.append(HDR.pack(16, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, closing, 0))
            busy, open_ = [], set(index_of)
            self._dumping = (kind, closing)
            try:
                self.sock.sendmsg(messages)
                closed = False
                while not closed or open_:
                    for mtype, mflags, mseq, data, start, end in self._messages():
                        if mseq == closing:
                            closed = True
                            continue
                        if mseq not in open_:
                            continue
                        interrupted |= mflags
                        if mtype == NLMSG_DONE:
                            open_.discard(mseq)
                        elif mtype == NLMSG_ERROR:
                            code = -ERR.unpack_from(data, start)[0]
                            if code == errno.ENOBUFS:
                                continue  # the kernel keeps the dump and goes on with it as the socket is read
                            open_.discard(mseq)
                            if code == errno.EBUSY:
                                busy.append(index_of[mseq])
                            elif code and error is None:
                                error = RtnlError(0, code, self._extack(data, start, end))
                        else:
                            results[index_of[mseq]].append((mtype, data[start:end]))
            finally:
                self._dumping = None
            if error is not None:
                raise error
            if interrupted & NLM_F_DUMP_INTR:
                raise DumpInterrupted(kind)
            pending = sorted(busy) + pending[len(index_of):]
            per_round = max(1, len(index_of) - len(busy)) if busy else min(most, 2 * per_round)
        return results

    def _drain(self, seq):
        """Read and drop the rest of dump ``seq`` (to its NLMSG_DONE or error)."""
        try:
            while True:
                for mtype, _flags, mseq, _view, _start, _end in self._messages():
                    if mseq == seq and mtype in (NLMSG_DONE, NLMSG_ERROR):
                        return
        except OSError:
            pass  # the socket is unusable anyway: the next request says so

    def get(self, kind, body):
        """One request that the kernel answers with one message (a ``get``, not a dump): its body, bytes.

        A refusal raises :class:`RtnlError` (index 0) with the kernel's text.
        """
        self._idle('a get of message type %d' % kind)
        seq = self._next_seq()
        self.sock.send(HDR.pack(16 + len(body), kind, NLM_F_REQUEST, seq, 0) + body)
        while True:
            for mtype, _flags, mseq, view, start, end in self._messages():
                if mseq != seq:
                    continue
                if mtype == NLMSG_ERROR:
                    code = -ERR.unpack_from(view, start)[0]
                    raise RtnlError(0, code or errno.EPROTO, self._extack(view, start, end))
                return bytes(view[start:end])

    @staticmethod
    def _extack(view, start, end):
        # struct nlmsgerr: error, then the request's header (its body is left out: NETLINK_CAP_ACK)
        offset = start + 4 + 16
        found = attrs(view, offset, end)
        if NLMSGERR_ATTR_MSG in found:
            return get_str(view, found[NLMSGERR_ATTR_MSG]) or None
        return None

    def transact(self, requests, keep_going=False, echoes=None):
        """Send ``requests`` (``(type, flags, body)``), many per sendmsg, in order.

        Returns ``(applied, errors)``: the indexes the kernel applied, and
        :class:`RtnlError` of each one it refused.  The kernel processes every
        request of a chunk even when an earlier one fails, and answers a refused
        request with an error message whether it asked for an ACK or not; so only
        the last request of a chunk asks for one (``NLM_F_ACK``), and its ACK,
        which the kernel sends after every other answer of the chunk, closes the
        chunk: one read per chunk instead of one per request.  Unless
        ``keep_going`` (a rollback), no further chunk is sent after a failure, and
        the caller decides what to undo.

        With a list as ``echoes``, every request asks the kernel to echo what it did
        (``NLM_F_ECHO``): the kernel sends the requester the notifications of the
        change (the new or deleted object, as a dump shows it), before the request's
        answer, and ``(index, type, body bytes)`` of each is appended to the list.
        A chunk is then sized so that the receive buffer holds all of its echoes and
        answers: a datagram the kernel dropped would lose an answer.
        """
        self._idle('%d request(s)' % len(requests))
        applied, errors = [], []
        first = 0
        echo, room = 0, 0
        if echoes is not None:
            echo = NLM_F_ECHO
            room = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        while first < len(requests) and (keep_going or not errors):
            # one chunk: at most CHUNK requests and CHUNK_BYTES (the socket's send buffer bounds a datagram);
            # with echoes, no more than the receive buffer holds the echoes and answers of
            base = self.seq + 1
            messages, size, count, reserved = [], 0, 0, 0
            pack = HDR.pack
            for kind, flags, body in requests[first:first + CHUNK]:
                length = 16 + len(body)
                if count and size + length > CHUNK_BYTES:
                    break
                if echo:
                    reserved += ECHO_RESERVE + ECHO_PER_BYTE * length
                    if count and reserved > room:
                        break
                messages.append(pack(length, kind, (flags & ~NLM_F_ACK) | echo, base + count, 0) + body)
                size += length
                count += 1
            closing = messages[-1]  # (the last request of the chunk asks for the ACK that closes it)
            length, kind, flags, seq, pid = HDR.unpack_from(closing, 0)
            messages[-1] = pack(length, kind, flags | NLM_F_ACK, seq, pid) + closing[16:]
            self.seq += count
            self.sock.sendmsg(messages)
            last = count - 1
            refused = set()
            done = False
            while not done:
                for mtype, _flags, mseq, view, start, end in self._messages():
                    index = mseq - base
                    if not 0 <= index < count:
                        continue
                    if mtype != NLMSG_ERROR:
                        if echo:
                            echoes.append((first + index, mtype, view[start:end]))
                        continue
                    code = -ERR.unpack_from(view, start)[0]
                    if code:
                        refused.add(index)
                        errors.append(RtnlError(first + index, code, self._extack(view, start, end)))
                    if index == last:
                        done = True
            applied.extend(range(first, first + count) if not refused else
                           (first + i for i in range(count) if i not in refused))
            first += count
        applied.sort()
        errors.sort(key=lambda e: e.index)
        return applied, errors

    def link_info(self):
        """``{ifname: {'index', 'kind', 'address', 'master', 'altnames', 'data': {IFLA_INFO_DATA attr: (start, end)},
        'slave_kind', 'slave': {IFLA_INFO_SLAVE_DATA attr: (start, end)}, 'buf'}}``: a device dump parsed only
        as far as bridge and VXLAN resources need it (``slave``: a port's attributes of its master's kind,
        ``slave_kind``, such as a bridge port's STP state).  ``data`` and ``slave`` hold spans into a copy of the
        message (``buf``)."""
        out = {}
        for _kind, buf, start, end in self.dump(RTM_GETLINK, IFINFOMSG.pack(0, 0, 0, 0, 0)):
            msg = bytes(buf[start:end])
            index = IFINFOMSG.unpack_from(msg, 0)[2]
            found = attrs(msg, 16, len(msg))
            if IFLA_IFNAME not in found:
                continue
            dev = {'index': index, 'kind': None, 'data': {}, 'slave_kind': None, 'slave': {}, 'buf': msg,
                   'address': ':'.join('%02x' % b for b in msg[found[1][0]:found[1][1]]) if 1 in found else '',
                   'master': get_u32(msg, found[IFLA_MASTER]) if IFLA_MASTER in found else None,
                   'altnames': get_altnames(msg, found[IFLA_PROP_LIST]) if IFLA_PROP_LIST in found else ()}
            if IFLA_LINKINFO in found:
                info = attrs(msg, *found[IFLA_LINKINFO])
                if IFLA_INFO_KIND in info:
                    dev['kind'] = get_str(msg, info[IFLA_INFO_KIND])
                if IFLA_INFO_DATA in info:
                    dev['data'] = attrs(msg, *info[IFLA_INFO_DATA])
                if IFLA_INFO_SLAVE_KIND in info:
                    dev['slave_kind'] = get_str(msg, info[IFLA_INFO_SLAVE_KIND])
                if IFLA_INFO_SLAVE_DATA in info:
                    dev['slave'] = attrs(msg, *info[IFLA_INFO_SLAVE_DATA])
            out[get_str(msg, found[IFLA_IFNAME])] = dev
        return out

    def ipv6_off(self, names):
        """``{ifname: ipv6_off(...)}`` of the devices of ``names`` that exist: one device dump, in which only their
        messages are read further than their name."""
        out = {}
        for _kind, buf, start, end in self.dump(RTM_GETLINK, IFINFOMSG.pack(0, 0, 0, 0, 0)):
            found = attrs(buf, start + IFINFOMSG.size, end)
            if IFLA_IFNAME in found:
                name = get_str(buf, found[IFLA_IFNAME])
                if name in names:
                    out[name] = ipv6_off(name, buf, start, end)
        return out

    def links(self, altnames=None):
        """``{ifname: ifindex}`` of every device, from a dump that parses only IFLA_IFNAME (and, with a dict as
        ``altnames``, IFLA_PROP_LIST: ``{altname: ifname}`` is put in it)."""
        out = {}
        for _kind, buf, start, end in self.dump(RTM_GETLINK, IFINFOMSG.pack(0, 0, 0, 0, 0)):
            index = IFINFOMSG.unpack_from(buf, start)[2]
            found = attrs(buf, start + 16, end)
            if IFLA_IFNAME in found:
                name = get_str(buf, found[IFLA_IFNAME])
                out[name] = index
                if IFLA_PROP_LIST in found and altnames is not None:
                    for alt in get_altnames(buf, found[IFLA_PROP_LIST]):
                        altnames[alt] = name
        return out
