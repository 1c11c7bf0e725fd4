# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bridge_vlan.repair: the kernel applies the VLAN and tunnel entries of a request one by one and keeps what it
applied when it refuses one. The engine asks the resource, after the refusal, for the ops that restore what the
refused op touched; here the device's state after the refusal is given instead of read from a kernel (the
engine's use of repair is covered by test_engine.py, and bridge_vni's by a host test on a real kernel)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils._engine import Op
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError
from ansible_collections.edgenet.linux.plugins.module_utils.resources.bridge_vlan import (
    BridgeVlan, expand_tunnels, expand_vlans)


def obj(vlans, tunnels=()):
    return {'dev': 'vx0', 'vlans': [dict({'pvid': False, 'untagged': False, 'state': 'forwarding'}, vid=v)
                                    for v in vlans], 'tunnels': [{'vid': v, 'vni': n} for v, n in tunnels]}


def resource(now):
    res = BridgeVlan()
    res.gather = lambda ctx: [now]
    return res


def state_after(start, ops):
    """The VLANs and tunnels of the device after applying ops (each op's before must match the state)."""
    v, t = expand_vlans(start['vlans']), expand_tunnels(start['tunnels'])
    for op in ops:
        assert (expand_vlans(op.before['vlans']), expand_tunnels(op.before['tunnels'])) == (v, t)
        v, t = expand_vlans(op.after['vlans']), expand_tunnels(op.after['tunnels'])
    return v, t


def test_tunnels_kept_from_a_refused_request_are_removed():
    before = obj(['100-106', 200], [('100-102', '1100-1102'), (200, 1105)])
    refused = Op('change', before, obj(['100-106', 200], [('100-106', '1100-1106'), (200, 1105)]))
    now = obj(['100-106', 200], [('100-104', '1100-1104'), (200, 1105)])  # 103 and 104 were made
    ops = resource(now).repair(None, refused)
    assert state_after(now, ops) == (expand_vlans(before['vlans']), expand_tunnels(before['tunnels']))


def test_vlans_kept_from_a_refused_add_are_removed_and_others_left_alone():
    before = obj([1, 10])
    refused = Op('change', before, obj([1, 10, '20-29']))
    now = obj([1, 10, '20-24', 500])  # 20-24 made before the refusal; 500 is someone else's, made meanwhile
    ops = resource(now).repair(None, refused)
    assert state_after(now, ops) == (expand_vlans(obj([1, 10, 500])['vlans']), {})


def test_nothing_kept_means_nothing_to_repair():
    before = obj([1, 10])
    assert resource(before).repair(None, Op('change', before, obj([1, 10, '20-29']))) == []


def test_a_vni_mapped_twice_on_a_port_is_refused_before_anything_is_sent():
    res = BridgeVlan()

    class Nl(object):
        @staticmethod
        def ifindex(dev, obj=None):
            return 5

    class Ctx(object):
        nl = Nl()
        check_mode = False
    res.devices = {'vx0': 'br0'}
    after = obj(['100-106', 200], [('100-106', '1100-1106'), (200, 1105)])
    with pytest.raises(EdgenetError) as e:
        res.validate(Ctx(), [Op('change', obj([]), after)], [after])
    assert e.value.field == 'tunnels' and 'VNI 1105 to both VID 105 and VID 200' in str(e.value)


def test_a_request_larger_than_one_attribute_is_split_on_whole_ranges():
    """An IFLA_AF_SPEC attribute's length is 16 bits: a change of thousands of single VLANs and tunnels goes in
    several requests (before: a Python error packing the length), each within the limit, each range's begin and end
    in one request, together every entry once in order; such a plan goes op by op (the bulk path needs one request
    per op)."""
    import struct

    from ansible_collections.edgenet.linux.plugins.module_utils.resources import bridge_vlan

    res = BridgeVlan()
    res.index, res.devices = {'vx0': 7}, {'vx0': 'br0'}
    have = obj(list(range(1, 4095, 2)))  # every other VID: the adds below are 2047 single VLANs
    want = obj(['1-4094'], [(v, 10 * v) for v in range(1, 2001)] + [('3001-3010', '9001-9010')])
    op = Op('change', have, want)
    requests = res._requests(None, op)
    assert len(requests) == 2 and res._splits(res._diff(op))
    entries = []
    for mtype, _flags, body, field in requests:
        assert mtype == bridge_vlan.RTM_SETLINK and field == 'vlans,tunnels' and len(body) <= 65535 + 16
        length, kind = struct.unpack_from('=HH', body, 16)
        assert kind & 0x7FFF == bridge_vlan.IFLA_AF_SPEC and length == len(body) - 16
        offset, begins = 20, 0
        while offset < len(body):
            alen, akind = struct.unpack_from('=HH', body, offset)
            if akind == bridge_vlan.IFLA_BRIDGE_VLAN_INFO:
                flags, vid = struct.unpack_from('=HH', body, offset + 4)
                begins += 1 if flags & bridge_vlan.VLAN_RANGE_BEGIN else -1 if flags & bridge_vlan.VLAN_RANGE_END else 0
                entries.append(('vlan', vid))
            else:
                entries.append(('tunnel', body[offset:offset + alen]))
            offset += (alen + 3) & ~3
        assert begins == 0  # (no range cut in two)
    expected = b''.join(res._vlan_attrs(sorted((v, f) for v, f in expand_vlans(want['vlans']).items() if v % 2 == 0)))
    sent = [struct.unpack_from('=H', expected, i + 6)[0] for i in range(0, len(expected), 8)]
    assert [e for e in entries if e[0] == 'vlan'] == [('vlan', vid) for vid in sent]
    assert len([e for e in entries if e[0] == 'tunnel']) == 2000 + 2
