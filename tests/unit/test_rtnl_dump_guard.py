# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rtnl.dump refuses a second request on its socket while a dump is still being read (a nested request
once hung the socket: it consumed the rest of the outer dump, whose reader then waited forever)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _rtnl

RTM_NEWLINK = 16


class FakeSocket(object):
    """Answers each dump request with ``pages`` datagrams of ``per_page`` messages, then NLMSG_DONE."""

    def __init__(self, pages=2, per_page=3):
        self.pages, self.per_page = pages, per_page
        self.sent = []
        self.queue = []

    def send(self, data):
        self.sent.append(bytes(data))
        _length, kind, _flags, seq, _pid = _rtnl.HDR.unpack_from(data, 0)
        for page in range(self.pages):
            self.queue.append(b''.join(_rtnl.HDR.pack(20, RTM_NEWLINK, _rtnl.NLM_F_MULTI, seq, 0) +
                                       _rtnl.U32.pack(page * 100 + i) for i in range(self.per_page)))
        self.queue.append(_rtnl.HDR.pack(20, _rtnl.NLMSG_DONE, _rtnl.NLM_F_MULTI, seq, 0) + b'\0\0\0\0')

    def sendmsg(self, parts):
        self.sent.append(b''.join(parts))
        raise AssertionError('transact must not send while a dump is being read')

    def recv_into(self, buf):
        if not self.queue:
            raise AssertionError('the reader would block here forever')
        data = self.queue.pop(0)
        buf[:len(data)] = data
        return len(data)

    def close(self):
        pass


def make_rtnl(sock):
    rtnl = _rtnl.Rtnl.__new__(_rtnl.Rtnl)
    rtnl.sock = sock
    rtnl.seq = 0
    rtnl.buf = bytearray(1 << 16)
    rtnl._dumping = None
    return rtnl


def values(dump):
    return [_rtnl.U32.unpack_from(buf, start)[0] for _kind, buf, start, _end in dump]


def test_a_whole_dump_then_another():
    rtnl = make_rtnl(FakeSocket())
    assert values(rtnl.dump(18, b'')) == [0, 1, 2, 100, 101, 102]
    assert values(rtnl.dump(18, b'')) == [0, 1, 2, 100, 101, 102]
    assert len(rtnl.sock.sent) == 2


def test_a_nested_dump_raises_instead_of_hanging():
    sock = FakeSocket()
    rtnl = make_rtnl(sock)
    outer = rtnl.dump(18, b'')
    _kind, buf, start, _end = next(outer)
    assert _rtnl.U32.unpack_from(buf, start)[0] == 0
    with pytest.raises(_rtnl.RtnlBusy) as info:
        next(rtnl.dump(22, b''))
    assert 'internal error' in str(info.value) and 'still being read' in str(info.value)
    assert len(sock.sent) == 1  # the nested request never reached the kernel
    # the outer dump is intact and ends normally; the socket is usable again afterwards
    assert values(outer) == [1, 2, 100, 101, 102]
    assert values(rtnl.dump(18, b'')) == [0, 1, 2, 100, 101, 102]


def test_a_request_during_a_dump_raises():
    rtnl = make_rtnl(FakeSocket())
    outer = rtnl.dump(18, b'')
    next(outer)
    with pytest.raises(_rtnl.RtnlBusy):
        rtnl.transact([(RTM_NEWLINK, _rtnl.ADD, b'\0' * 16)])
    with pytest.raises(_rtnl.RtnlBusy):
        rtnl.link_info()
    assert len(rtnl.sock.sent) == 1
    assert values(outer) == [1, 2, 100, 101, 102]


def test_a_dump_closed_early_frees_the_socket():
    rtnl = make_rtnl(FakeSocket(pages=1))
    outer = rtnl.dump(18, b'')
    next(outer)
    outer.close()
    # the rest of the closed dump is still queued: the next dump skips it by sequence number
    assert values(rtnl.dump(18, b'')) == [0, 1, 2]


def test_an_error_ends_the_dump_and_frees_the_socket():
    sock = FakeSocket()
    rtnl = make_rtnl(sock)
    sock.send = lambda data: sock.queue.append(
        _rtnl.HDR.pack(36, _rtnl.NLMSG_ERROR, 0, _rtnl.HDR.unpack_from(data, 0)[3], 0) + _rtnl.ERR.pack(-95) +
        data[:16])
    with pytest.raises(_rtnl.RtnlError) as info:
        list(rtnl.dump(18, b''))
    assert info.value.code == 95
    assert rtnl._dumping is None


def test_a_dump_closed_early_is_read_to_its_end():
    """The kernel stays inside a dump until its reader has read it all (the next dump on the socket would get
    EBUSY): closing the reader early reads the rest of it."""
    sock = FakeSocket(pages=3)
    rtnl = make_rtnl(sock)
    dump = rtnl.dump(18, b'')
    next(dump)
    dump.close()
    assert sock.queue == [] and rtnl._dumping is None
    assert values(rtnl.dump(18, b'')) == [0, 1, 2, 100, 101, 102, 200, 201, 202]


class OneDatagram(FakeSocket):
    """A dump that fits one datagram, NLMSG_DONE and all (what the kernel sends for a small table)."""

    def send(self, data):
        FakeSocket.send(self, data)
        self.queue = [b''.join(self.queue)]


def test_a_reader_that_stops_inside_the_last_datagram_does_not_wait():
    """A consumer that raised on a message of a dump's last datagram, whose NLMSG_DONE was already read with it: the
    end of the dump is in hand, and reading on to it waited for ever (a module process hung)."""
    sock = OneDatagram(pages=1)
    rtnl = make_rtnl(sock)
    with pytest.raises(ValueError):
        for _message in rtnl.dump(18, b''):
            raise ValueError('the consumer stops')
    assert rtnl._dumping is None and sock.queue == []
    assert values(rtnl.dump(18, b'')) == [0, 1, 2]
    dump = rtnl.dump(18, b'')
    next(dump)
    dump.close()  # (closed early: the same)
    assert rtnl._dumping is None and sock.queue == []
