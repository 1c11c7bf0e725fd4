# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rtnl.get: one request, one reply (tc_filter uses it to find a u32 prio's own hash table), on a real
rtnetlink socket of this namespace (a read of the loopback device; nothing is changed)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import socket
import struct

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _rtnl

RTM_GETLINK = 18
RTM_NEWLINK = 16
IFINFOMSG = struct.Struct('=BxHiII')


def test_get_returns_the_one_reply():
    rtnl = _rtnl.Rtnl()
    try:
        index = socket.if_nametoindex('lo')
        body = rtnl.get(RTM_GETLINK, IFINFOMSG.pack(0, 0, index, 0, 0))
        assert IFINFOMSG.unpack_from(body, 0)[2] == index
        # the socket is free for the next request, and the reply did not leak into a dump
        assert any(IFINFOMSG.unpack_from(buf, start)[2] == index
                   for _t, buf, start, _end in rtnl.dump(RTM_GETLINK, IFINFOMSG.pack(0, 0, 0, 0, 0)))
    finally:
        rtnl.close()


def test_get_refused_raises_with_the_kernel_code():
    rtnl = _rtnl.Rtnl()
    try:
        with pytest.raises(_rtnl.RtnlError) as info:
            rtnl.get(RTM_GETLINK, IFINFOMSG.pack(0, 0, 0x7FFFFFF0, 0, 0))
        assert info.value.code == errno.ENODEV
        body = rtnl.get(RTM_GETLINK, IFINFOMSG.pack(0, 0, socket.if_nametoindex('lo'), 0, 0))
        assert len(body) > IFINFOMSG.size
    finally:
        rtnl.close()


def test_get_during_a_dump_raises_busy():
    rtnl = _rtnl.Rtnl()
    try:
        dump = rtnl.dump(RTM_GETLINK, IFINFOMSG.pack(0, 0, 0, 0, 0))
        next(dump)
        with pytest.raises(_rtnl.RtnlBusy):
            rtnl.get(RTM_GETLINK, IFINFOMSG.pack(0, 0, 1, 0, 0))
        list(dump)
    finally:
        rtnl.close()
