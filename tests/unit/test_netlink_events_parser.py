# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netlink_events event source's parser and tracker on hand-built rtnetlink bytes (no kernel)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import socket
import struct

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGIN = os.path.join(HERE, '..', '..', 'extensions', 'eda', 'plugins', 'event_source', 'netlink_events.py')


def _load():
    spec = importlib.util.spec_from_file_location('edgenet_netlink_events', PLUGIN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ne = _load()


# -- byte builders (independent of the plugin's own structs) ------------------------------------------
def rta(atype, payload):
    length = 4 + len(payload)
    return struct.pack('=HH', length, atype) + payload + b'\0' * ((4 - length % 4) % 4)


def nlmsg(mtype, payload, flags=0, seq=0):
    return struct.pack('=IHHII', 16 + len(payload), mtype, flags, seq, 0) + payload


def u32(v):
    return struct.pack('=I', v)


def link_msg(index, name, flags, mtype=16, family=0, kind=None, master=None, operstate=None):
    body = struct.pack('=BxHiII', family, 1, index, flags, 0xffffffff)
    body += rta(3, name.encode() + b'\0') + rta(4, u32(1500)) + rta(1, b'\x02\x00\x00\x00\x00\x01')
    if master is not None:
        body += rta(10, u32(master))
    if operstate is not None:
        body += rta(16, bytes([operstate]))
    if kind is not None:
        body += rta(18 | 0x8000, rta(1, kind.encode() + b'\0'))
    return nlmsg(mtype, body)


def fdb_msg(mtype, index, mac, master=None, vlan=None, state=0x40, flags=0x04, dst=None, vni=None):
    body = struct.pack('=BxxxiHBB', 7, index, state, flags, 0)
    body += rta(2, bytes(int(x, 16) for x in mac.split(':')))
    if vlan is not None:
        body += rta(5, struct.pack('=H', vlan))
    if master is not None:
        body += rta(9, u32(master))
    if dst is not None:
        body += rta(1, socket.inet_aton(dst))
    if vni is not None:
        body += rta(7, u32(vni))
    return nlmsg(mtype, body)


def tracker_with_links():
    t = ne.Tracker('blue')
    t.load([ne.parse_link(16, link_msg(i, n, 0x41)[16:]) for i, n in ((1, 'lo'), (2, 'br0'), (3, 'v1'), (4, 'v3'))],
           [])
    return t


def events(t, data):
    return [e for e in (t.event(m, p) for m, _f, _s, p in ne.messages(data)) if e]


# -- the framing ---------------------------------------------------------------------------------
def test_messages_split_and_align():
    a = nlmsg(16, b'\1\2\3')        # 19 bytes: the next message starts 4-aligned at 20
    b = nlmsg(17, b'abcd')
    data = a + b'\0' + b
    out = ne.messages(data)
    assert [(m, p) for m, _f, _s, p in out] == [(16, b'\1\2\3'), (17, b'abcd')]


def test_messages_stop_at_truncation():
    good = nlmsg(16, b'abcd')
    bad = struct.pack('=IHHII', 400, 16, 0, 0, 0) + b'x' * 10   # claims more than there is
    assert len(ne.messages(good + bad)) == 1
    assert ne.messages(b'\0' * 8) == []


def test_attrs_nested_flag_and_padding():
    data = rta(3, b'br0\0') + rta(18 | 0x8000, rta(1, b'bridge\0')) + rta(10, u32(7))
    a = ne.attrs(data)
    assert a[3] == b'br0\0' and a[10] == u32(7)
    assert ne.attrs(a[18])[1] == b'bridge\0'


# -- parsers --------------------------------------------------------------------------------------
def test_parse_link():
    link = ne.parse_link(16, link_msg(5, 'veth0', 0x1 | 0x40, kind='veth', master=2, operstate=6)[16:])
    assert link == {'ifindex': 5, 'ifname': 'veth0', 'admin_up': True, 'up': True, 'deleted': False,
                    'mtu': 1500, 'address': '02:00:00:00:00:01', 'master_index': 2, 'operstate': 'UP',
                    'kind': 'veth'}
    down = ne.parse_link(17, link_msg(5, 'veth0', 0x1, operstate=2)[16:])
    assert down['up'] is False and down['admin_up'] is True and down['deleted'] is True
    assert down['operstate'] == 'DOWN'


def test_parse_link_ignores_bridge_port_messages_and_short_input():
    assert ne.parse_link(16, link_msg(5, 'v1', 0x41, family=7)[16:]) is None
    assert ne.parse_link(16, b'\0' * 8) is None


def test_parse_fdb_entry():
    ev = ne.parse_neigh(28, fdb_msg(28, 3, '02:aa:bb:cc:dd:ee', master=2, vlan=10)[16:])
    assert ev == {'type': 'fdb_add', 'ifindex': 3, 'mac': '02:aa:bb:cc:dd:ee', 'vlan': 10,
                  'master_index': 2, 'state': 'static', 'flags': ['master']}
    ev = ne.parse_neigh(29, fdb_msg(29, 9, '00:00:00:00:00:00', state=0x80, flags=0x02,
                                    dst='198.18.0.2', vni=100)[16:])
    assert ev['type'] == 'fdb_del' and ev['dst'] == '198.18.0.2' and ev['vni'] == 100
    assert ev['state'] == 'permanent' and ev['flags'] == ['self']
    assert ne.parse_neigh(28, fdb_msg(28, 3, '02:00:00:00:00:01', state=0x02, flags=0x14)[16:])['flags'] \
        == ['master', 'extern_learn']


def test_parse_neighbour():
    body = struct.pack('=BxxxiHBB', 10, 4, 0x02, 0x80, 1) + rta(1, socket.inet_pton(socket.AF_INET6, 'fd42:ed6e::1')) \
        + rta(2, b'\x02\x00\x00\x00\x00\x09')
    ev = ne.parse_neigh(28, body)
    assert ev == {'type': 'neigh_add', 'family': 6, 'ifindex': 4, 'dst': 'fd42:ed6e::1',
                  'lladdr': '02:00:00:00:00:09', 'state': ['REACHABLE'], 'flags': ['router']}
    assert ne.parse_neigh(28, struct.pack('=BxxxiHBB', 17, 4, 0, 0, 0)) is None  # AF_PACKET: not ours


def test_parse_addr():
    body = struct.pack('=BBBBi', 2, 24, 0, 0, 3) + rta(1, socket.inet_aton('198.18.1.1')) \
        + rta(2, socket.inet_aton('198.18.1.1')) + rta(3, b'v1\0')
    assert ne.parse_addr(20, body) == {'type': 'addr_add', 'family': 4, 'ifindex': 3, 'prefixlen': 24,
                                       'scope': 'global', 'address': '198.18.1.1', 'label': 'v1'}
    body = struct.pack('=BBBBi', 10, 64, 0, 253, 3) + rta(1, socket.inet_pton(socket.AF_INET6, 'fe80::1'))
    assert ne.parse_addr(21, body)['address'] == 'fe80::1'
    assert ne.parse_addr(21, body)['scope'] == 'link'
    ptp = struct.pack('=BBBBi', 2, 32, 0, 0, 3) + rta(1, socket.inet_aton('198.18.1.2')) \
        + rta(2, socket.inet_aton('198.18.1.1'))
    assert ne.parse_addr(20, ptp)['peer'] == '198.18.1.2'


def test_parse_route():
    body = struct.pack('=BBBBBBBBI', 2, 24, 0, 0, 254, 4, 0, 1, 0) + rta(1, socket.inet_aton('198.19.0.0')) \
        + rta(5, socket.inet_aton('198.18.0.1')) + rta(4, u32(3)) + rta(15, u32(100)) + rta(6, u32(10))
    assert ne.parse_route(24, body) == {'type': 'route_add', 'family': 4, 'dst': '198.19.0.0/24', 'table': 100,
                                        'route_type': 'unicast', 'protocol': 'static', 'scope': 'global',
                                        'ifindex': 3, 'gateway': '198.18.0.1', 'metric': 10}
    default = struct.pack('=BBBBBBBBI', 10, 0, 0, 0, 254, 3, 0, 6, 0)
    ev = ne.parse_route(25, default)
    assert ev['dst'] == 'default' and ev['table'] == 'main' and ev['route_type'] == 'blackhole'
    cloned = struct.pack('=BBBBBBBBI', 2, 32, 0, 0, 254, 2, 0, 1, 0x200)
    assert ne.parse_route(24, cloned) is None


def test_parse_multipath_route():
    def hop(index, gateway, weight=1):
        attrs_ = rta(5, socket.inet_aton(gateway))
        return struct.pack('=HBBi', 8 + len(attrs_), 0, weight - 1, index) + attrs_

    body = struct.pack('=BBBBBBBBI', 2, 24, 0, 0, 254, 4, 0, 1, 0) + rta(1, socket.inet_aton('198.19.249.0')) \
        + rta(9, hop(3, '198.18.249.2') + hop(4, '198.18.249.3', weight=5))
    ev = ne.parse_route(24, body)
    assert 'gateway' not in ev and 'ifindex' not in ev
    assert ev['nexthops'] == [{'ifindex': 3, 'gateway': '198.18.249.2', 'weight': 1},
                              {'ifindex': 4, 'gateway': '198.18.249.3', 'weight': 5}]
    t = tracker_with_links()
    route, = events(t, nlmsg(24, body))
    assert [(h['dev'], h['gateway']) for h in route['nexthops']] == [('v1', '198.18.249.2'), ('v3', '198.18.249.3')]
    assert ne.Options({'devices': ['v3']}).wanted(route) and not ne.Options({'devices': ['br0']}).wanted(route)


# -- the tracker: names, up/down, moves -----------------------------------------------------------
def test_tracker_fdb_add_move_del():
    t = tracker_with_links()
    add, = events(t, fdb_msg(28, 3, '02:00:00:00:00:01', master=2, vlan=5))
    assert add['type'] == 'fdb_add' and add['dev'] == 'v1' and add['master'] == 'br0' and add['netns'] == 'blue'
    assert 'timestamp' in add and 'ifindex' not in add and 'master_index' not in add
    same, = events(t, fdb_msg(28, 3, '02:00:00:00:00:01', master=2, vlan=5))
    assert same['type'] == 'fdb_add'           # refreshed in place: not a move
    other_vlan, = events(t, fdb_msg(28, 4, '02:00:00:00:00:01', master=2, vlan=6))
    assert other_vlan['type'] == 'fdb_add'     # another VLAN is another entry
    move, = events(t, fdb_msg(28, 4, '02:00:00:00:00:01', master=2, vlan=5))
    assert move['type'] == 'fdb_move' and move['old_dev'] == 'v1' and move['dev'] == 'v3'
    gone, = events(t, fdb_msg(29, 4, '02:00:00:00:00:01', master=2, vlan=5))
    assert gone['type'] == 'fdb_del'
    again, = events(t, fdb_msg(28, 3, '02:00:00:00:00:01', master=2, vlan=5))
    assert again['type'] == 'fdb_add'          # deleted first, so not a move


def test_tracker_self_entries_are_per_device():
    t = tracker_with_links()
    # the same head-end replication entry on two VXLAN devices: two entries, not a move
    first, = events(t, fdb_msg(28, 3, '00:00:00:00:00:00', state=0x80, flags=0x02, dst='198.18.0.2'))
    second, = events(t, fdb_msg(28, 4, '00:00:00:00:00:00', state=0x80, flags=0x02, dst='198.18.0.2'))
    assert (first['type'], second['type']) == ('fdb_add', 'fdb_add')
    assert 'master' not in second and second['dev'] == 'v3' and second['dst'] == '198.18.0.2'
    other_dst, = events(t, fdb_msg(28, 3, '00:00:00:00:00:00', state=0x80, flags=0x02, dst='198.18.0.3'))
    assert other_dst['type'] == 'fdb_add'


def test_tracker_link_transitions():
    t = tracker_with_links()
    assert events(t, link_msg(3, 'v1', 0x41)) == []                     # no change: nothing
    down, = events(t, link_msg(3, 'v1', 0x01, operstate=2))
    assert down['type'] == 'link_down' and down['ifname'] == 'v1'
    assert events(t, link_msg(3, 'v1', 0x01, operstate=2)) == []
    up, = events(t, link_msg(3, 'v1', 0x41, operstate=6))
    assert up['type'] == 'link_up'
    ren, = events(t, link_msg(3, 'v9', 0x41, operstate=6))
    assert ren['type'] == 'link_change' and ren['old_ifname'] == 'v1'
    new, = events(t, link_msg(7, 'v7', 0x00, master=2))
    assert new['type'] == 'link_add' and new['master'] == 'br0'
    dele, = events(t, link_msg(7, 'v7', 0x00, mtype=17))
    assert dele['type'] == 'link_del'
    late, = events(t, fdb_msg(29, 7, '02:00:00:00:00:07', master=2))
    assert late['dev'] == 'v7'                 # a deleted port's name still resolves


def test_tracker_resolves_unknown_index():
    asked = []
    t = ne.Tracker(None, resolve=lambda i: asked.append(i) or {'ifindex': i, 'ifname': 'brX'})
    ev, = events(t, fdb_msg(28, 12, '02:00:00:00:00:01', master=12, state=0x80, flags=0))
    assert ev['dev'] == 'brX' and ev['master'] == 'brX' and asked == [12]


# -- options --------------------------------------------------------------------------------------
def test_options_filters():
    o = ne.Options({'types': ['fdb', 'link_down'], 'devices': ['br*', 'v?']})
    assert o.types == {'fdb_add', 'fdb_move', 'fdb_del', 'link_down', 'ready', 'resync'}
    assert o.wanted({'type': 'fdb_add', 'dev': 'eth0', 'master': 'br0'})
    assert o.wanted({'type': 'link_down', 'ifname': 'v1'})
    assert not o.wanted({'type': 'link_down', 'ifname': 'veth1'})
    assert not o.wanted({'type': 'link_up', 'ifname': 'v1'})
    assert not o.wanted({'type': 'fdb_add', 'dev': 'eth0'})
    assert o.wanted({'type': 'resync'}) and o.wanted({'type': 'ready'})
    assert ne.Options({}).types is None and sorted(ne.Options({}).groups) == [1, 3, 5, 7, 9, 11]


@pytest.mark.parametrize('args, word', [
    ({'types': ['fdb_ad']}, 'fdb_ad'),
    ({'types': 'nonsense'}, 'types'),
    ({'devices': [1]}, 'devices'),
    ({'groups': ['links']}, 'links'),
    ({'rcvbuf': 'big'}, 'rcvbuf'),
    ({'rcvbuf': 10}, 'rcvbuf'),
    ({'rcvbuf': 2147483648}, 'rcvbuf'),
    ({'resync_snapshot': 'yes'}, 'resync_snapshot'),
    ({'netns': 5}, 'netns'),
    ({'nets': 'x'}, 'nets'),
])
def test_options_refuse_bad_input(args, word):
    with pytest.raises(ne.NetlinkEventsError) as e:
        ne.Options(args)
    assert word in str(e.value)


def test_options_rcvbuf_up_to_int_max():
    assert ne.Options({'rcvbuf': 2147483647}).rcvbuf == 2147483647
