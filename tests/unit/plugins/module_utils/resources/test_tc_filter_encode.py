# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tc_filter's requests and commands without a kernel: the u32 adds of a big tree are made from the first add of
their shape with the handle, classid and dst put in (TcFilter._templated). Each one must be exactly what the add
alone makes field by field, and the request tc's own layout (a hand encoder here, from f_u32.c's order)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import itertools
import socket
import struct

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Op
from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_filter import TcFilter

from test_route_encode import FakeNetlink  # (beside this file: a device table, links() and ifindex())


def ctx(netns=None, links=None):
    return Context({'netns': netns, 'state': 'merged', 'config': [], 'dev': None},
                   nl=FakeNetlink(links or {4: 'e0', 300: 'long-dev'}))


def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack('=HH', n, kind) + payload + b'\0' * (((n + 3) & ~3) - n)


def by_hand(obj, ifindex):
    """The RTM_NEWTFILTER body tc sends for ``tc filter add dev D parent P protocol ip prio N handle ::H u32 match ip
    src S match ip dst D match ip protocol X 0xff match ip sport A 0xffff match ip dport B 0xffff classid C``: the
    tcmsg, TCA_KIND, then TCA_OPTIONS (nested) with TCA_U32_CLASSID and TCA_U32_SEL (the keys in tc's order)."""
    def handle(text):
        major, minor = text.split(':')
        return (int(major or '0', 16) << 16) | int(minor or '0', 16)

    match, keys = obj['match'], []
    for field, off in (('src', 12), ('dst', 16)):
        if field in match:
            addr, plen = match[field].split('/')
            mask = (0xFFFFFFFF << (32 - int(plen))) & 0xFFFFFFFF
            keys.append((mask, struct.unpack('>I', socket.inet_aton(addr))[0] & mask, off))
    if 'ip_proto' in match:
        keys.append((0x00FF0000, {'tcp': 6, 'udp': 17, 'icmp': 1}[match['ip_proto']] << 16, 8))
    if 'sport' in match or 'dport' in match:
        keys.append(((0xFFFF0000 if 'sport' in match else 0) | (0xFFFF if 'dport' in match else 0),
                     (match.get('sport', 0) << 16) | match.get('dport', 0), 20))
    sel = struct.pack('=BBBxHHhhI', 1 if 'classid' in obj else 0, 0, len(keys), 0, 0, 0, 0, 0)
    for mask, val, off in keys:
        sel += struct.pack('>II', mask, val) + struct.pack('=ii', off, 0)
    options = (attr(1, struct.pack('=I', handle(obj['classid']))) if 'classid' in obj else b'') + attr(5, sel)
    parent = handle(obj['parent'])
    info = (obj['prio'] << 16) | socket.htons(0x0800)
    return (struct.pack('=B3xiIII', 0, ifindex, int(obj['handle'][2:], 16), parent, info) + attr(1, b'u32\0')
            + attr(2 | 0x8000, options))


#: the shapes of a big tree's u32 filters: (the fields but dev, parent, protocol, kind, handle, classid, dst, the
#: dst's prefix length)
SHAPES = [
    ({'prio': 10, 'match': {'ip_proto': 'tcp', 'dport': 443}}, 32),
    ({'prio': 10, 'match': {'ip_proto': 'tcp', 'dport': 443}, '_no_classid': True}, 32),
    ({'prio': 7, 'match': {'src': '198.18.0.0/15'}}, 24),
    ({'prio': 7, 'match': {'src': '198.18.1.0/24', 'ip_proto': 'udp', 'sport': 53, 'dport': 5353}}, 8),
    ({'prio': 65535, 'match': {'sport': 1}}, 31),
    ({'prio': 1, 'match': {}}, 1),
]


def filters(shape, plen, dev='e0', parent='1:', n=40):
    base, out = dict(shape[0] if isinstance(shape, tuple) else shape), []
    no_classid = base.pop('_no_classid', False)
    for i in range(n):
        addr = socket.inet_ntoa(struct.pack('>I', (0xC6120000 + i * 0x10001 * 7) & (0xFFFFFFFF << (32 - plen))))
        obj = {'dev': dev, 'parent': parent, 'protocol': 'ip', 'prio': base['prio'], 'handle': '::%x' % (0x800 + i),
               'kind': 'u32', 'classid': '1:%x' % (0x10 + i * 3),
               'match': dict(base['match'], dst='%s/%d' % (addr, plen))}
        if 'src' in base['match']:  # (tc's order: src, then dst)
            obj['match'] = dict([('src', base['match']['src']), ('dst', obj['match']['dst'])] + [
                (k, v) for k, v in base['match'].items() if k != 'src'])
        else:
            obj['match'] = dict([('dst', obj['match']['dst'])] + list(base['match'].items()))
        if no_classid:
            del obj['classid']
        out.append(obj)
    return out


@pytest.mark.parametrize('shape,plen', SHAPES)
@pytest.mark.parametrize('netns,dev', [(None, 'e0'), ('lab-ns', 'long-dev')])
def test_every_u32_add_of_a_shape_is_its_own_request_and_command(shape, plen, netns, dev):
    res, c = TcFilter(), ctx(netns)
    index = c.nl.ifindex(dev)
    objs = filters(shape, plen, dev=dev)
    for obj in objs:
        op = Op('add', None, obj)
        alone = TcFilter()
        request, words = res.encode(c, op), res.render(c, op)
        assert request == alone.request(c, op), obj
        assert request[2] == by_hand(obj, index), obj
        assert words == alone._render_one(c, op) == [c.cmd('tc', *(
            ['filter', 'add', 'dev', dev, 'parent', obj['parent'], 'protocol', 'ip', 'prio', obj['prio'],
             'handle', obj['handle'], 'u32'] + _match_words(obj['match'])
            + (['classid', obj['classid']] if 'classid' in obj else [])))], obj
    # (the first of the shape made the templates the others took)
    assert len(res._templates[1]) == len(res._templates[2]) == 1
    assert all(res._templates[1].values()) and all(res._templates[2].values())


def _match_words(match):
    words = []
    for field in ('src', 'dst'):
        if field in match:
            words += ['match', 'ip', field, match[field]]
    if 'ip_proto' in match:
        words += ['match', 'ip', 'protocol', str({'tcp': 6, 'udp': 17}[match['ip_proto']]), '0xff']
    for field in ('sport', 'dport'):
        if field in match:
            words += ['match', 'ip', field, str(match[field]), '0xffff']
    return words


def test_templates_are_per_task_and_per_shape():
    """A task of another namespace (another device index, another ``-n``) makes its own templates; shapes that differ
    in a field a template holds (prio, the dst's length, the other match fields, their classes: 1 == True) take
    theirs."""
    res = TcFilter()
    a, b = ctx(), ctx('other', {9: 'e0'})
    objs = filters(SHAPES[0], 32, n=3)
    for c, index in ((a, 4), (b, 9), (a, 4)):
        for obj in objs:
            op = Op('add', None, obj)
            assert res.encode(c, op)[2] == by_hand(obj, index)
            assert res.render(c, op)[0].startswith('tc -n other ' if c is b else 'tc filter')
    mixed = [dict(objs[0], prio=11), dict(objs[1], match=dict(objs[1]['match'], dst='198.18.0.0/16')),
             dict(objs[2], match=dict(objs[2]['match'], dport=80)), dict(objs[0], prio=1),
             dict(objs[1], prio=True)]
    c = ctx()
    for obj in objs + mixed:
        op = Op('add', None, obj)
        assert res.encode(c, op) == TcFilter().request(c, op)
        assert res.render(c, op) == TcFilter()._render_one(c, op), obj
    assert res.render(c, Op('add', None, mixed[-1]))[0].split()[10] == 'True'  # (prio True: as the word shows it)


@pytest.mark.parametrize('action,change', [
    ('add', {'protocol': 'ipv6', 'match': {'dst': 'fd42:ed6e::/64'}}),
    ('add', {'match': {'dst': '198.18.0.1/32', 'dscp': 46}}),
    ('add', {'match': {'src': '198.18.0.1/32'}}),                       # no dst
    ('add', {'actions': [{'kind': 'gact', 'action': 'drop'}]}),
    ('add', {'kind': 'flower', 'handle': '0x1'}),
    ('change', {}),
    ('delete', {}),
])
def test_other_filters_are_made_field_by_field(action, change):
    def known(res):  # (a change or delete names the kernel's handle, which a gather found)
        res._full[res.key(obj)] = 0x80000800
        return res

    obj = dict(filters(SHAPES[0], 32, n=1)[0], **change)
    res, c = known(TcFilter()), ctx()
    for _round in range(3):
        op = Op(action, obj if action != 'add' else None, obj if action != 'delete' else None)
        assert res.encode(c, op) == known(TcFilter()).request(c, op)
        assert res.render(c, op) == known(TcFilter())._render_one(c, op)
    assert not any(itertools.chain(res._templates[1].values(), res._templates[2].values()))
