# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bridge_fdb gather on hand-built dump messages: the fixed-offset reading of the common message gives
exactly what the attribute-by-attribute decoding gives, and the view's rules hold on both paths."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Engine, Op
from ansible_collections.edgenet.linux.plugins.module_utils.resources import bridge_fdb as F

BR, V0, VX = 2, 4, 5
PORT_MAC = '02:aa:00:00:00:04'


def attr(kind, payload):
    return _rtnl.attr(kind, payload)


def mac_bytes(mac):
    return bytes(int(b, 16) for b in mac.split(':'))


def message(mac, index=V0, nud=F.NUD_NOARP | F.NUD_REACHABLE, flags=F.NTF_MASTER, master=BR, flags_ext=True,
            extra=(), order=None, updated=4200):
    """An RTM_NEWNEIGH body as br_fdb_fill_info lays it out (or in ``order``)."""
    parts = {'lladdr': attr(F.NDA_LLADDR, mac_bytes(mac)),
             'master': attr(F.NDA_MASTER, struct.pack('=I', master)) if master else b'',
             'flags_ext': attr(F.NDA_FLAGS_EXT, struct.pack('=I', 0)) if flags_ext else b'',
             'cacheinfo': attr(F.NDA_CACHEINFO, F.CACHEINFO.pack(0, 0, updated, 0))}
    body = b''.join(parts[k] for k in (order or ('lladdr', 'master', 'flags_ext', 'cacheinfo')))
    return F.NDMSG.pack(F.AF_BRIDGE, index, nud, flags, 0) + body + b''.join(extra)


class FakeNl(object):
    def __init__(self, messages):
        self.messages = messages

    def link_info(self):
        return {'br0': {'index': BR, 'kind': 'bridge', 'address': '02:aa:00:00:00:02', 'master': None,
                        'buf': b'', 'data': {}},
                'v0': {'index': V0, 'kind': 'veth', 'address': PORT_MAC, 'master': BR, 'buf': b'', 'data': {}}}

    def rdump(self, kind, body, what):
        # the real dump reuses one buffer: give each message at an offset inside a larger one
        for msg in self.messages:
            buf = memoryview(b'\xee' * 8 + msg + b'\xee' * 8)
            yield _rtnl.RTM_NEWNEIGH, buf, 8, 8 + len(msg)


def gather(messages, **params):
    ctx = Context(dict({'state': 'gathered', 'include_learned': False, 'dev': None}, **params),
                  nl=FakeNl(messages))
    return F.BridgeFdb().gather(ctx)


def static(mac, **extra):
    return dict({'dev': 'v0', 'mac': mac, 'self': False, 'master': True, 'state': 'static',
                 'extern_learn': False, 'sticky': False}, **extra)


@pytest.mark.parametrize('flags_ext', [True, False], ids=['with-NDA_FLAGS_EXT', 'without'])
def test_the_common_message_is_read_at_fixed_offsets(flags_ext):
    msg = message('02:00:00:00:01:0a', flags_ext=flags_ext)
    assert len(msg) in F.BRIDGE_ENTRY  # the fast path's shape
    assert gather([msg]) == [static('02:00:00:00:01:0a')]


def test_fixed_offsets_and_attribute_decoding_agree():
    """The same entries, once in the kernel's order (fixed offsets), once reordered (decoded)."""
    macs = ['02:00:00:00:01:%02x' % i for i in range(5)]
    kinds = [dict(), dict(nud=F.NUD_PERMANENT | F.NUD_NOARP), dict(flags=F.NTF_MASTER | F.NTF_STICKY),
             dict(nud=F.NUD_REACHABLE, flags=F.NTF_MASTER | F.NTF_EXT_LEARNED), dict(nud=F.NUD_STALE)]
    fast = [message(m, **k) for m, k in zip(macs, kinds)]
    slow = [message(m, order=('cacheinfo', 'lladdr', 'master', 'flags_ext'), **k) for m, k in zip(macs, kinds)]
    assert len(set(len(m) for m in slow)) == 1 and F.BRIDGE_ENTRY[len(slow[0])][0].unpack_from(slow[0]) != \
        F.BRIDGE_ENTRY[len(slow[0])][1], 'the reordered messages take the decoding path'
    for include_learned in (False, True):
        got = gather(fast, include_learned=include_learned)
        assert got == gather(slow, include_learned=include_learned)
    assert [o['state'] for o in got] == ['static', 'permanent', 'static', 'dynamic', 'dynamic']
    assert got[2]['sticky'] and got[3]['extern_learn'] and got[4]['age'] == 42 and 'age' not in got[3]


def test_optional_attributes_take_the_decoding_path():
    msg = message('02:00:00:00:01:0b', extra=[_rtnl.attr_u16(F.NDA_VLAN, 10)])
    assert gather([msg]) == [static('02:00:00:00:01:0b', vlan=10)]


def test_the_view_rules_hold_on_the_fast_path():
    msgs = [message(PORT_MAC, nud=F.NUD_PERMANENT),          # the bridge's local entry for the port's address
            message('02:00:00:00:01:0c', nud=F.NUD_REACHABLE),  # learned
            message('33:33:00:00:00:01', index=V0, nud=F.NUD_PERMANENT, flags=F.NTF_SELF, master=0),  # multicast
            message('02:00:00:00:01:0d', index=BR, master=BR),  # an entry of the bridge itself
            message('02:00:00:00:01:0e')]
    got = gather(msgs)
    assert [(o['dev'], o['mac']) for o in got] == [('br0', '02:00:00:00:01:0d'), ('v0', '02:00:00:00:01:0e')]
    assert got[0]['self'] and not got[0]['master']
    assert [o['mac'] for o in gather(msgs, dev='v0')] == ['02:00:00:00:01:0e']
    assert [o['mac'] for o in gather(msgs, include_learned=True)] == [
        '02:00:00:00:01:0c', '02:00:00:00:01:0d', '02:00:00:00:01:0e']


def test_encode_of_a_port_entry_is_the_generic_encoding():
    class Links(object):
        def links(self):
            return {'v0': V0}, {V0: 'v0'}

    ctx = Context({'state': 'merged'}, nl=Links())
    res = F.BridgeFdb()
    obj = static('02:00:00:00:01:0f', sticky=True)
    kind, flags, body = res.encode(ctx, Op('add', None, obj))
    assert (kind, flags) == (_rtnl.RTM_NEWNEIGH, _rtnl.REPLACE)
    assert body == F.NDMSG.pack(F.AF_BRIDGE, V0, F.STATE_NUD['static'], F.NTF_MASTER | F.NTF_STICKY, 0) + \
        attr(F.NDA_LLADDR, mac_bytes(obj['mac']))
    kind, flags, body = res.encode(ctx, Op('delete', obj, None))
    assert (kind, flags) == (_rtnl.RTM_DELNEIGH, _rtnl.DELETE)
    assert body[12:] == attr(F.NDA_LLADDR, mac_bytes(obj['mac']))


def test_validate_checks_every_distinct_kind_of_entry():
    """validate checks an entry without optional fields once per kind: a bad kind after many good
    entries is still refused, naming its first entry."""
    class Links(object):
        assumed = []

        def links(self):
            return {'v0': V0, 'br0': BR}, {}

    ctx = Context({'state': 'merged', 'include_learned': False}, nl=Links())
    res = F.BridgeFdb()
    res.devices = {'br0': {'index': BR, 'kind': 'bridge', 'master': None},
                   'v0': {'index': V0, 'kind': 'veth', 'master': BR}}
    plan = [Op('add', None, static('02:00:00:00:02:%02x' % i)) for i in range(50)]
    res.validate(ctx, plan, [])
    bad = static('02:00:00:00:03:00', state='permanent', sticky=True)
    with pytest.raises(Exception) as e:
        res.validate(ctx, plan + [Op('add', None, bad), Op('add', None, dict(bad, mac='02:00:00:00:03:01'))], [])
    assert e.value.field == 'sticky' and '02:00:00:00:03:00' in e.value.obj


def test_engine_normalizes_a_config_element_in_place_without_touching_the_caller():
    item = {'dev': 'v0', 'mac': '02:00:00:00:04:00', 'master': True, 'state': 'static', 'vlan': None}
    eng = Engine(F.BridgeFdb(), Context({'state': 'merged'}))
    want = eng.normalize_config([item])
    assert want == [{'dev': 'v0', 'mac': '02:00:00:00:04:00', 'master': True, 'state': 'static', 'self': False}]
    assert item == {'dev': 'v0', 'mac': '02:00:00:00:04:00', 'master': True, 'state': 'static', 'vlan': None}
    assert eng.normalize_config([{'dev': 'v0', 'mac': '02:00:00:00:04:01'}])[0]['self'] is True  # defaults()
    assert eng.normalize_config([{'mac': '02:00:00:00:04:01'}], fill_keys=False) == [{'mac': '02:00:00:00:04:01'}]


@pytest.mark.parametrize('have', [
    {'dev': 'v0', 'mac': '02:00:00:00:00:01', 'self': False, 'master': True, 'state': 'static', 'extern_learn': False,
     'sticky': False},
    {'dev': 'v0', 'mac': '02:00:00:00:00:02', 'vlan': 10, 'self': False, 'master': True, 'state': 'dynamic',
     'extern_learn': True, 'sticky': False, 'age': 30},
    {'dev': 'vx0', 'mac': '00:00:00:00:00:00', 'dst': '198.18.0.2', 'vni': 200, 'port': 4800, 'self': True,
     'master': False, 'state': 'permanent', 'extern_learn': False, 'sticky': False},
])
def test_merged_restating_a_gathered_entry_changes_nothing(have):
    # the engine's merged fast path leaves an element that spelled a gathered entry as it is, without reconcile
    # (Resource.match_have): exact only if reconcile keeps such a target equal to the entry
    res = F.BridgeFdb()
    res.devices = {'vx0': {'kind': 'vxlan', 'vni': 100, 'port': 4789}}
    assert res.reconcile(have, res.overlay(have, dict(have))) == have
