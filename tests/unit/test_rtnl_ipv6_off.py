# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_rtnl.ipv6_off: why a device has no working IPv6, from its message of a link dump (IFLA_AF_SPEC's AF_INET6 part
and its IFLA_INET6_CONF array); Rtnl.ipv6_off reads only the devices it is asked about. The messages are built as
the kernel sends them (rtnl_fill_ifinfo: an ifinfomsg, IFLA_IFNAME, IFLA_MTU, ..., IFLA_AF_SPEC)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

from ansible_collections.edgenet.linux.plugins.module_utils import _rtnl

AF_INET, AF_INET6 = 2, 10


def link(name, mtu=1500, inet6=True, disable_ipv6=0, conf_words=None):
    """The body of a device's RTM_NEWLINK message (from the ifinfomsg on)."""
    parts = [_rtnl.IFINFOMSG.pack(0, 1, 7, 0x1003, 0), _rtnl.attr_str(_rtnl.IFLA_IFNAME, name),
             _rtnl.attr_u32(_rtnl.IFLA_MTU, mtu)]
    spec = [_rtnl.attr(AF_INET, struct.pack('=%di' % 32, *([1] * 32)))]  # (the IPv4 part comes first)
    if inet6:
        words = [0] * (conf_words or 60)
        if len(words) > _rtnl.DEVCONF_DISABLE_IPV6:
            words[_rtnl.DEVCONF_DISABLE_IPV6] = disable_ipv6
        words[0] = 64  # (forwarding, hop_limit...: other words are set, the one read is disable_ipv6)
        conf = struct.pack('=%di' % len(words), *words)
        spec.append(_rtnl.attr_nested(AF_INET6, _rtnl.attr_u32(1, 0x80000000), _rtnl.attr(_rtnl.IFLA_INET6_CONF, conf)))
    parts.append(_rtnl.attr_nested(_rtnl.IFLA_AF_SPEC, *spec))
    return b''.join(parts)


def off(body, name='v0'):
    buf = b'\xee' * 16 + body  # (a message inside a datagram, after its nlmsghdr)
    return _rtnl.ipv6_off(name, buf, 16, len(buf))


def test_a_device_with_ipv6_on():
    assert off(link('v0')) is None


def test_disable_ipv6():
    assert off(link('v1', disable_ipv6=1), 'v1') == (
        _rtnl.IPV6_DISABLED, 'v1 has IPv6 disabled (net.ipv6.conf.v1.disable_ipv6 = 1)')


def test_no_ipv6_below_an_mtu_of_1280():
    assert off(link('v2', mtu=1000, inet6=False), 'v2') == (
        _rtnl.IPV6_MTU, 'v2 has no IPv6 (the kernel removes it from a device whose MTU is below 1280; this one has '
                        '1000)')


def test_no_ipv6_otherwise():
    assert off(link('v3', inet6=False), 'v3') == (
        _rtnl.IPV6_ABSENT, 'v3 has no IPv6 (IPv6 is off in this kernel or namespace)')


def test_what_an_earlier_task_does_that_gives_the_device_ipv6():
    """Check mode's warning names it (Resource.refuse_or_warn); none gives IPv6 to a kernel without it."""
    assert _rtnl.ipv6_remedy('v1', off(link('v1', disable_ipv6=1), 'v1')) == 'sets net.ipv6.conf.v1.disable_ipv6 = 0'
    assert _rtnl.ipv6_remedy('v2', off(link('v2', mtu=1000, inet6=False), 'v2')) == \
        'raises the MTU of v2 to 1280 or more'
    assert _rtnl.ipv6_remedy('v3', off(link('v3', inet6=False), 'v3')) is None


def test_a_conf_array_too_short_to_hold_disable_ipv6_reads_as_on():
    assert off(link('v0', disable_ipv6=1, conf_words=_rtnl.DEVCONF_DISABLE_IPV6)) is None


def test_rtnl_reads_only_the_devices_asked_about(monkeypatch):
    bodies = [link('v0'), link('v1', disable_ipv6=1), link('v2', mtu=1000, inet6=False)]
    dumps = []

    def dump(self, kind, body):
        dumps.append(kind)
        for b in bodies:
            buf = b'\0' * 16 + b
            yield kind, buf, 16, len(buf)

    read = []
    real = _rtnl.ipv6_off

    def counted(name, buf, start, end):
        read.append(name)
        return real(name, buf, start, end)

    monkeypatch.setattr(_rtnl.Rtnl, 'dump', dump)
    monkeypatch.setattr(_rtnl, 'ipv6_off', counted)
    rtnl = _rtnl.Rtnl.__new__(_rtnl.Rtnl)
    got = rtnl.ipv6_off({'v1': None, 'v2': None, 'gone': None})
    assert dumps == [_rtnl.RTM_GETLINK] and read == ['v1', 'v2']
    assert [got[d][0] for d in ('v1', 'v2')] == [_rtnl.IPV6_DISABLED, _rtnl.IPV6_MTU] and 'gone' not in got
