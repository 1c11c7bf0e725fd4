# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A netlink dump that the kernel marks NLM_F_DUMP_INTR (its table changed while it was read: an object may be
missing or there twice) is not taken as the kernel's state: Rtnl.dump and Rtnl.dump_many raise DumpInterrupted
at its end, and the engine's gather reads everything again, up to three times, then fails with a clear message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _engine, _errors, _rtnl
from test_rtnl_dump_guard import RTM_NEWLINK, FakeSocket, make_rtnl, values


class InterruptingSocket(FakeSocket):
    """FakeSocket whose dumps carry NLM_F_DUMP_INTR on the messages of their second datagram (``where``: 'page'),
    on NLMSG_DONE only ('done'), or nowhere (None)."""

    def __init__(self, where='page', **kwargs):
        super(InterruptingSocket, self).__init__(**kwargs)
        self.where = where

    def send(self, data):
        super(InterruptingSocket, self).send(data)
        if self.where is None:
            return
        index = len(self.queue) - 1 if self.where == 'done' else len(self.queue) - 2
        page = bytearray(self.queue[index])
        offset = 0
        while offset < len(page):
            length, kind, flags, seq, pid = _rtnl.HDR.unpack_from(page, offset)
            _rtnl.HDR.pack_into(page, offset, length, kind, flags | _rtnl.NLM_F_DUMP_INTR, seq, pid)
            offset += length
        self.queue[index] = bytes(page)

    @staticmethod
    def getsockopt(_level, _option):
        return 1 << 20  # (SO_RCVBUF)

    def sendmsg(self, parts):
        """dump_many: each dump request answered as send() answers one; the closing no-op with its ACK."""
        for part in parts[:-1]:
            self.send(part)
        seq = _rtnl.HDR.unpack_from(parts[-1], 0)[3]
        self.queue.append(_rtnl.HDR.pack(36, _rtnl.NLMSG_ERROR, 0, seq, 0) + _rtnl.ERR.pack(0) + parts[-1][:16])


@pytest.mark.parametrize('where', ['page', 'done'])
def test_an_interrupted_dump_raises_at_its_end(where):
    rtnl = make_rtnl(InterruptingSocket(where))
    with pytest.raises(_errors.DumpInterrupted) as info:
        values(rtnl.dump(18, b''))
    assert 'NLM_F_DUMP_INTR' in str(info.value) and 'run the task again' in str(info.value)
    assert rtnl._dumping is None and rtnl.sock.queue == []  # read to its end: the socket is free
    rtnl.sock.where = None
    assert values(rtnl.dump(18, b'')) == [0, 1, 2, 100, 101, 102]


def test_an_interrupted_dump_of_many_raises():
    rtnl = make_rtnl(InterruptingSocket('page'))
    with pytest.raises(_errors.DumpInterrupted):
        rtnl.dump_many(18, [b'', b''])
    rtnl.sock.where = None
    got = rtnl.dump_many(18, [b'', b''])
    assert [[_rtnl.U32.unpack_from(body, 0)[0] for kind, body in one if kind == RTM_NEWLINK] for one in got] == [
        [0, 1, 2, 100, 101, 102]] * 2


class Flaky(_engine.Resource):
    """A resource whose dump is interrupted ``times`` times before it reads cleanly."""
    name = 'flaky'
    keys = ('name',)

    def __init__(self, times):
        self.times = times
        self.reads = 0

    def gather(self, ctx):
        self.reads += 1
        if self.reads <= self.times:
            raise _errors.DumpInterrupted(18)
        return [{'name': 'b'}, {'name': 'a'}]


@pytest.mark.parametrize('times', [0, 1, 2])
def test_the_engine_reads_an_interrupted_gather_again(times):
    res = Flaky(times)
    got = _engine.Engine(res, _engine.Context({'state': 'gathered'})).gather()
    assert got == [{'name': 'a'}, {'name': 'b'}] and res.reads == times + 1


def test_the_engine_gives_up_after_three_interrupted_reads():
    res = Flaky(3)
    with pytest.raises(_errors.DumpInterrupted) as info:
        _engine.Engine(res, _engine.Context({'state': 'gathered'})).gather()
    assert res.reads == 3 and '3 reads in a row were interrupted' in str(info.value)
    assert 'run the task again' in info.value.result()['msg']
