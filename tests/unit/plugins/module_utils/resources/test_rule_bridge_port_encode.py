# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""rule and bridge_port on the bulk path, without a kernel: the bytes of their requests, the parsing of
their dumps, and the engine's rollback of a batch the kernel refused midway."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

from ansible_collections.edgenet.linux.plugins.module_utils import _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Engine, Op
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError
from ansible_collections.edgenet.linux.plugins.module_utils.resources.bridge_port import BridgePort
from ansible_collections.edgenet.linux.plugins.module_utils.resources.rule import Rule

RTM_NEWRULE, RTM_DELRULE, RTM_SETLINK = 32, 33, 19
FIB_RULE_HDR = struct.Struct('=BBBBBBBBI')


class FakeNetlink(object):
    """The slice of the Netlink session these resources use: dumps in, requests out.

    ``refuse`` holds the indexes (into the first batch) the kernel refuses."""

    def __init__(self, dump=(), links=None, refuse=()):
        self.dump = list(dump)
        self.by_index = links or {}
        self.refuse = set(refuse)
        self.batches = []
        self.dumps = []

    def links(self, refresh=False):
        return dict((n, i) for i, n in self.by_index.items()), self.by_index

    def altnames(self):
        return getattr(self, 'alt', {})  # {altname: ifname}

    def device_name(self, name):
        return self.altnames().get(name, name)

    def ifname(self, index):
        return self.by_index.get(index)

    def ifindex(self, name, obj=None, field='dev'):
        for index, n in self.by_index.items():
            if n == name:
                return index
        raise EdgenetError("device '%s' does not exist" % name, obj=obj, field=field)

    def rdump(self, kind, body, what):
        self.dumps.append(kind)
        for mtype, data in self.dump:
            yield mtype, memoryview(data), 0, len(data)

    def transact(self, requests, keep_going=False, echoes=None):
        assert echoes is None, "a resource that does not opt into echoes asked for them"
        self.batches.append(list(requests))
        refuse = self.refuse if len(self.batches) == 1 else set()
        applied = [i for i in range(len(requests)) if i not in refuse]
        return applied, [_rtnl.RtnlError(i, 16, 'refused by the test') for i in sorted(refuse)]

    def close(self):
        pass


def ctx(nl, **params):
    p = {'state': 'merged', 'config': None, 'netns': None}
    p.update(params)
    return Context(p, nl=nl)


# -- rule ------------------------------------------------------------------------------------------------
RICH = {'priority': 101, 'family': 4, 'from': '198.18.0.0/24', 'to': '198.19.1.1/32', 'iif': 'v0', 'oif': 'v1',
        'fwmark': 16, 'fwmask': 255, 'action': 'lookup', 'table': 1000, 'l3mdev': False}


def test_rule_encode_is_the_request_pyroute2_sent():
    # the bodies below are what pyroute2 0.9.7 sent for these rules (read from strace)
    rule, c = Rule(), ctx(FakeNetlink())
    assert rule.encode(c, Op('add', None, RICH)) == (RTM_NEWRULE, 0x605, bytes.fromhex(
        '02201800fc00000100000000080006006500000008000200c612000008000100c61301010700030076300000'
        '070011007631000008000a001000000008001000ff00000008000f00e8030000'))
    v6 = {'priority': 102, 'family': 6, 'from': 'fd42:ed6e::/64', 'action': 'blackhole', 'l3mdev': False}
    assert rule.encode(c, Op('add', None, v6)) == (RTM_NEWRULE, 0x605, bytes.fromhex(
        '0a0040000000000600000000080006006600000014000200fd42ed6e000000000000000000000000'))
    l3 = {'priority': 103, 'family': 4, 'action': 'lookup', 'l3mdev': True}
    assert rule.encode(c, Op('delete', l3, None)) == (RTM_DELRULE, 0x5, bytes.fromhex(
        '02000000000000010000000008000600670000000500130001000000'))


def test_rule_ipproto_by_name_or_number_is_one_value_and_encodes_its_number():
    """ipproto: a name (or an alias), a number, or iproute2's ipproto-N all give iproute2's name for the number (the
    host's /etc/protocols), or the number where there is none; 0 is no IP protocol. The request carries the number
    (FRA_IP_PROTO, 22) and the command the name."""
    rule = Rule()
    c = ctx(FakeNetlink())
    norm = [rule.normalize({'priority': 1, 'ipproto': v}, c).get('ipproto')
            for v in ('tcp', 'TCP', 6, '6', 'ipproto-6', 58, 'ipv6-icmp', 200, 'ipproto-200', 0, 'ip')]
    assert norm == ['tcp'] * 5 + ['ipv6-icmp'] * 2 + [200, 200, None, None]
    for bad, text in (('nosuch', "unknown IP protocol 'nosuch'"), (256, 'out of range'), (True, 'not an IP')):
        try:
            rule.normalize({'priority': 1, 'ipproto': bad}, c)
        except EdgenetError as e:
            assert text in str(e) and e.field == 'ipproto', e
        else:
            raise AssertionError(bad)
    obj = {'priority': 104, 'family': 4, 'ipproto': 'tcp', 'action': 'lookup', 'table': 5, 'l3mdev': False}
    mtype, _flags, body = rule.encode(c, Op('add', None, obj))
    assert mtype == RTM_NEWRULE and _rtnl.attr_u8(22, 6) in body
    assert rule.render(c, Op('add', None, obj)) == ['ip rule add priority 104 ipproto tcp lookup 5']
    assert rule.encode(c, Op('add', None, dict(obj, ipproto=200)))[2].count(_rtnl.attr_u8(22, 200)) == 1
    assert rule.label(obj) == 'rule priority 104 ipproto tcp (IPv4)'


def test_rule_gather_names_the_ip_protocol_as_iproute2_does():
    """A dumped rule's FRA_IP_PROTO is its ipproto field, named as `ip rule show` names it (tcp, not 6); what else
    it has that the module does not model (a port) stays in unmanaged."""
    dport = _rtnl.attr(24, struct.pack('=HH', 22, 22)) + _rtnl.attr(29, struct.pack('=H', 0xffff))
    dump = [(RTM_NEWRULE, rule_msg(2, 0, 5, 1, _rtnl.attr_u32(6, 172), _rtnl.attr_u8(22, 6), dport)),
            (RTM_NEWRULE, rule_msg(10, 0, 5, 1, _rtnl.attr_u32(6, 173), _rtnl.attr_u8(22, 58))),
            (RTM_NEWRULE, rule_msg(2, 0, 5, 1, _rtnl.attr_u32(6, 174), _rtnl.attr_u8(22, 200)))]
    got = Rule().gather(ctx(FakeNetlink(dump)))
    assert [(g['priority'], g.get('ipproto'), g.get('unmanaged')) for g in got] == [
        (172, 'tcp', 'dport 22'), (173, 'ipv6-icmp', None), (174, 200, None)]


def rule_msg(family, src_len, table, action, *attrs):
    return FIB_RULE_HDR.pack(family, 0, src_len, 0, table, 0, 0, action, 0) + b''.join(attrs)


def test_rule_gather_parses_both_families_and_marks_kernel_rules():
    dump = [
        (RTM_NEWRULE, rule_msg(2, 0, 255, 1, _rtnl.attr_u32(15, 255), _rtnl.attr_u8(21, 2))),  # local, kernel
        (RTM_NEWRULE, rule_msg(2, 24, 252, 1, _rtnl.attr_u32(6, 100), _rtnl.attr(2, bytes([198, 18, 0, 0])),
                               _rtnl.attr_str(3, 'v0'), _rtnl.attr_u32(10, 7), _rtnl.attr_u32(16, 0xffffffff),
                               _rtnl.attr_u32(15, 1000))),
        (RTM_NEWRULE, rule_msg(10, 0, 0, 8, _rtnl.attr_u32(6, 200))),
        (RTM_NEWRULE, rule_msg(128, 0, 254, 1, _rtnl.attr_u32(6, 5))),  # ipmr: not a rule of this module
    ]
    rule = Rule()
    nl = FakeNetlink(dump)
    got = rule.gather(ctx(nl))
    assert nl.dumps == [34]  # one RTM_GETRULE dump for both families
    assert got == [
        {'priority': 0, 'family': 4, 'action': 'lookup', 'l3mdev': False, 'table': 'local', 'protocol': 'kernel'},
        {'priority': 100, 'family': 4, 'action': 'lookup', 'l3mdev': False, 'from': '198.18.0.0/24', 'iif': 'v0',
         'fwmark': 7, 'fwmask': 0xffffffff, 'table': 1000},
        {'priority': 200, 'family': 6, 'action': 'prohibit', 'l3mdev': False},
    ]
    assert rule.protected(got[0]) and not rule.protected(got[1])


def test_rule_refusal_midway_rolls_back_what_the_kernel_applied():
    have = {'priority': 100, 'family': 4, 'from': '198.18.0.0/24', 'action': 'lookup', 'table': 100,
            'l3mdev': False}
    dump = [(RTM_NEWRULE, Rule().encode(ctx(FakeNetlink()), Op('add', None, have))[2])]
    nl = FakeNetlink(dump, refuse=[2])
    cfg = [{'priority': 100, 'from': '198.18.0.0/24', 'table': 102}, {'priority': 105, 'table': 7},
           {'priority': 106, 'table': 8}]
    try:
        Engine(Rule(), ctx(nl, config=cfg)).run()
        raise AssertionError('no error')
    except EdgenetError as e:
        assert str(e).startswith('rule priority 105 (IPv4): the kernel refused the rule add; rolled back the 3 '
                                 'change(s)'), str(e)
    sent, undo = nl.batches
    # the change is a delete and an add (the kernel cannot change a rule); the kernel refuses the add of 105
    assert [t for t, _f, _b in sent] == [RTM_DELRULE, RTM_NEWRULE, RTM_NEWRULE, RTM_NEWRULE]
    assert FIB_RULE_HDR.unpack_from(sent[2][2], 0)[4] == 7
    # newest first: the adds of 106 and of the changed 100 are deleted, the old 100 is added back
    assert [(t, b) for t, _f, b in undo] == [(RTM_DELRULE, sent[3][2]), (RTM_DELRULE, sent[1][2]),
                                             (RTM_NEWRULE, sent[0][2])]


# -- bridge_port -------------------------------------------------------------------------------------------
IFINFOMSG = struct.Struct('=BxHiII')


def link_msg(index, name, master=None, slave=None):
    parts = [_rtnl.attr_str(3, name)]
    if master:
        parts.append(_rtnl.attr_u32(10, master))
    if slave is not None:
        parts.append(_rtnl.attr_nested(18, _rtnl.attr_str(4, 'bridge'), _rtnl.attr_nested(5, *slave)))
    return IFINFOMSG.pack(0, 1, index, 0, 0) + b''.join(parts)


def port_data(values=None):
    """Slave data of a port (IFLA_BRPORT_*: value) with every flag at the kernel default but the ones given."""
    flags = {8: 1, 9: 1, 27: 1, 30: 1, 4: 0, 33: 0, 32: 0, 29: 0, 5: 0, 6: 0, 39: 0, 40: 0}
    flags.update(values or {})
    return [_rtnl.attr_u8(k, v) for k, v in flags.items()] + [
        _rtnl.attr_u32(3, 2), _rtnl.attr_u16(2, 32), _rtnl.attr_u8(1, 3)]


def test_bridge_port_gather_reads_slave_data_of_one_dump():
    # the port comes before its bridge in the dump: the master's name is resolved at the end
    dump = [(16, link_msg(1, 'lo')), (16, link_msg(4, 'v0', master=9, slave=port_data({8: 0}))),
            (16, link_msg(9, 'br0'))]
    res = BridgePort()
    got = res.gather(ctx(FakeNetlink(dump)))
    assert got == [{'dev': 'v0', 'learning': False, 'flood': True, 'mcast_flood': True, 'bcast_flood': True,
                    'hairpin': False, 'isolated': False, 'neigh_suppress': False, 'vlan_tunnel': False,
                    'guard': False, 'root_block': False, 'locked': False, 'mab': False, 'cost': 2,
                    'priority': 32, 'state': 'forwarding'}]
    assert res.ports == {'v0': 'br0'}


def test_bridge_port_encode_is_bridge_link_set():
    res = BridgePort()
    nl = FakeNetlink([(16, link_msg(4, 'v0', master=9, slave=port_data()))])
    c = ctx(nl)
    have = res.gather(c)[0]
    want = dict(have, state='disabled', learning=False, cost=200, priority=5)
    kind, flags, body = res.encode(c, Op('change', have, want))
    assert (kind, flags) == (RTM_SETLINK, 0x5)  # NLM_F_REQUEST | NLM_F_ACK, as `bridge link set`
    assert body[:16] == IFINFOMSG.pack(7, 0, 4, 0, 0)  # AF_BRIDGE, the port's index
    assert struct.unpack_from('=HH', body, 16) == (len(body) - 16, 12 | 0x8000)  # IFLA_PROTINFO, nested
    inner = _rtnl.attrs(body, 20, len(body))
    assert sorted(inner) == [1, 2, 3, 8]
    assert (body[inner[8][0]], _rtnl.get_u32(body, inner[3]), struct.unpack_from('=H', body, inner[2][0])[0],
            body[inner[1][0]]) == (0, 200, 5, 0)
    assert max(inner.values())[0] == inner[1][0]  # the state goes last


def test_bridge_port_refusal_rolls_back_the_other_ports():
    dump = [(16, link_msg(4, 'v0', master=9, slave=port_data())),
            (16, link_msg(5, 'v2', master=9, slave=port_data())), (16, link_msg(9, 'br0'))]
    nl = FakeNetlink(dump, refuse=[1])
    cfg = [{'dev': 'v0', 'isolated': True}, {'dev': 'v2', 'state': 'blocking'}]
    try:
        Engine(BridgePort(), ctx(nl, config=cfg)).run()
        raise AssertionError('no error')
    except EdgenetError as e:
        assert e.obj == 'bridge_port v2' and e.field == 'state' and e.code == 16, str(e)  # EBUSY: STP runs
        assert 'rolled back the 1 change(s)' in e.msg
    sent, undo = nl.batches
    assert len(sent) == 2 and len(undo) == 1
    inner = _rtnl.attrs(undo[0][2], 20, len(undo[0][2]))
    assert IFINFOMSG.unpack_from(undo[0][2], 0)[2] == 4 and sorted(inner) == [33]
    assert undo[0][2][inner[33][0]] == 0  # isolated off again
