# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alternative device names (altnames): the IFLA_PROP_LIST parse of a device dump, the RTM_NEWLINKPROP /
RTM_DELLINKPROP requests and their commands, the steps and order of a change, the checks of a given altname, and
the engine's lookup of a device named by one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _engine, _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Op
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError
from ansible_collections.edgenet.linux.plugins.module_utils._netlink import Netlink
from ansible_collections.edgenet.linux.plugins.module_utils.resources.link import Link

NEST = 0x8000  # NLA_F_NESTED
LONG = 'x' * 127


def alt(name):
    """One IFLA_ALT_IFNAME attribute, as the kernel writes it (NUL-terminated, padded)."""
    raw = name.encode() + b'\0'
    return struct.pack('=HH', 4 + len(raw), 53) + raw + b'\0' * ((4 - len(raw) % 4) % 4)


def link_message(index, name, altnames=()):
    """The body of an RTM_NEWLINK message of a dump: ifinfomsg, IFLA_IFNAME and (with altnames) IFLA_PROP_LIST."""
    body = _rtnl.IFINFOMSG.pack(0, 1, index, 0, 0) + _rtnl.attr_str(3, name)
    if altnames:
        nest = b''.join(alt(n) for n in altnames)
        body += struct.pack('=HH', 4 + len(nest), 52 | NEST) + nest
    return body


def test_the_prop_list_is_read_in_the_kernels_order():
    msg = link_message(7, 'v0', ['a1', 'uplink:7', LONG, '\u00e9t\u00e9'])
    found = _rtnl.attrs(msg, 16, len(msg))
    assert _rtnl.get_altnames(msg, found[_rtnl.IFLA_PROP_LIST]) == ['a1', 'uplink:7', LONG, '\u00e9t\u00e9']
    # another attribute type in the nest is not an altname
    nest = alt('a1') + _rtnl.attr_u32(1, 5) + alt('a2')
    assert _rtnl.get_altnames(nest, (0, len(nest))) == ['a1', 'a2']


class FakeRtnl(object):
    """The dump side of ``_rtnl.Rtnl``: the device messages it yields."""

    def __init__(self, messages):
        self.messages = messages
        self.dumps = 0

    def dump(self, kind, body):
        assert kind == _rtnl.RTM_GETLINK
        self.dumps += 1
        for msg in self.messages:
            yield kind, memoryview(msg), 0, len(msg)

    links = _rtnl.Rtnl.links
    link_info = _rtnl.Rtnl.link_info


def test_the_names_cache_reads_the_altnames_and_ifindex_takes_them():
    rtnl = FakeRtnl([link_message(1, 'lo'), link_message(7, 'v0', ['a1', LONG]), link_message(8, 'v1')])
    nl = Netlink()
    nl._rtnl = rtnl
    assert nl.altnames() == {'a1': 'v0', LONG: 'v0'} and rtnl.dumps == 1
    assert nl.ifindex(LONG) == 7 == nl.ifindex('v0') and nl.ifindex('v1') == 8 and rtnl.dumps == 1
    assert nl.device_name('a1') == 'v0' and nl.device_name('v1') == 'v1' and nl.device_name('none') == 'none'
    with pytest.raises(EdgenetError) as e:
        nl.ifindex('none', obj='x', field='dev')
    assert "device 'none' does not exist" in e.value.msg
    # a cache from a dump that did not read them (a tc dump's, before) is read again when they are asked for
    nl.remember_links({'lo': 1, 'v0': 7})
    assert nl.altnames() == {'a1': 'v0', LONG: 'v0'} and rtnl.dumps == 2
    # the bulk path's device dump has them per device, and fills the cache
    info = nl.link_info()
    assert list(info['v0']['altnames']) == ['a1', LONG] and not info['v1']['altnames']
    assert nl.altnames() == {'a1': 'v0', LONG: 'v0'} and rtnl.dumps == 3


class Names(object):
    """The slice of the netlink session the link resource's encode reads: device indexes."""

    def ifindex(self, name, obj=None, field='dev'):
        return {'v0': 7}[name]

    def links(self, refresh=False):
        return {'v0': 7}, {7: 'v0'}


def ctx(**params):
    return Context(dict({'state': 'merged', 'recreate': False, 'netns': None}, **params), nl=Names())


V0 = {'ifname': 'v0', 'kind': 'veth', 'mtu': 1500, 'state': 'down', 'txqlen': 1000, 'veth': {'peer': 'v1'}}


def v0(*names, **fields):
    out = dict(V0, **fields)
    if names:
        out['altnames'] = list(names)
    return Link().shape(out)


def test_an_altname_step_is_one_request_of_its_own():
    c = ctx()
    kind, flags, body = Link().encode(c, Op('change', v0('a1'), v0('a1', 'b1', LONG)))
    assert kind == 108 and flags & _rtnl.NLM_F_ACK and flags & _rtnl.NLM_F_REQUEST  # RTM_NEWLINKPROP
    nest = b''.join(alt(n) for n in ('b1', LONG))
    assert body == _rtnl.IFINFOMSG.pack(0, 0, 7, 0, 0) + struct.pack('=HH', 4 + len(nest), 52 | NEST) + nest
    kind, flags, body = Link().encode(c, Op('change', v0('a1', 'b1'), v0('a1')))
    assert kind == 109 and body == _rtnl.IFINFOMSG.pack(0, 0, 7, 0, 0) + struct.pack('=HH', 12, 52 | NEST) + alt('b1')
    for op in (Op('change', v0('a1'), v0('b1')), Op('change', v0('a1'), v0('a1', 'b1', mtu=1400))):
        with pytest.raises(EdgenetError) as e:
            Link().encode(c, op)
        assert 'internal error' in e.value.msg and e.value.field == 'altnames'
    # a change of other fields sends no altname (RTM_NEWLINK)
    assert Link().encode(c, Op('change', v0('a1'), v0('a1', mtu=1400)))[0] == _rtnl.RTM_NEWLINK


def test_the_commands_are_ip_link_property():
    c = ctx(netns='blue')
    assert Link().render(c, Op('change', v0('a1'), v0('a1', 'b 1', 'c$'))) == [
        "ip -n blue link property add dev v0 altname 'b 1' altname 'c$'"]
    assert Link().render(c, Op('change', v0('a1', 'b1', 'c1'), v0('a1'))) == [
        'ip -n blue link property del dev v0 altname b1 altname c1']
    # the add of a device with altnames (rendered, a rollback's add): the add, then its altnames
    assert Link().render(c, Op('add', None, dict(v0('n1', 'n2'), veth={'peer': 'v1'}))) == [
        'ip -n blue link add v0 type veth peer name v1', 'ip -n blue link property add dev v0 altname n1 altname n2']


def apply(names, op):
    """What an altname step does to a device's list (the kernel appends new ones)."""
    gone, came = Link._altname_change(op)
    assert not (gone and came)
    assert names == ((op.before or {}).get('altnames') or []), (names, op)
    return [n for n in names if n not in gone] + came


@pytest.mark.parametrize('old, given, result', [
    (['a', 'b', 'c'], ['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd']),
    (['a', 'b', 'c'], ['c', 'a'], ['a', 'c']),
    (['a', 'b', 'c'], ['d', 'c'], ['c', 'd']),
    (['a', 'b', 'c'], [], []),
    ([], ['z', 'y'], ['z', 'y']),
    (['a', 'b', 'c'], ['c', 'b', 'a'], ['a', 'b', 'c']),
])
def test_the_steps_end_in_the_predicted_order_and_undo_exactly(old, given, result):
    res = Link()
    target = res.reconcile(v0(*old), dict(v0(*old), altnames=list(given)))
    assert target.get('altnames', []) == result
    op = Op('change', v0(*old), target)
    out, losses, gains = res._altname_steps([op])
    assert out == ([op] if result == old else []) and len(losses) <= 1 >= len(gains)
    assert all(s.action == 'change' for s in losses + gains)
    names = list(old)
    for step in losses + gains:
        names = apply(names, step)
    assert names == result
    for step in reversed(losses + gains):  # the rollback: each step's inverse, in reverse order
        names = apply(names, step.inverse())
    assert names == old
    if result == old:
        assert losses == gains == []


def test_a_change_of_other_fields_stays_one_request_and_a_new_device_gets_its_altnames_after_it():
    res = Link()
    op = Op('change', v0('a', 'b'), v0('a', 'c', mtu=1400))
    out, losses, gains = res._altname_steps([op])
    assert [(o.before, o.after) for o in out] == [(v0('a', 'b'), v0('a', 'b', mtu=1400))]
    assert [(o.before.get('altnames'), o.after.get('altnames')) for o in losses + gains] == \
        [(['a', 'b'], ['a']), (['a'], ['a', 'c'])]
    new = dict(v0('n1'), veth={'peer': 'v1'})
    out, losses, gains = res._altname_steps([Op('add', None, new)])
    assert out[0].action == 'add' and 'altnames' not in out[0].after and not losses
    assert gains[0].before == out[0].after and gains[0].after == new


def test_merged_adds_and_a_device_of_no_managed_kind_keeps_its_altnames():
    res = Link()
    have = v0('a', 'b')
    assert res.reconcile(have, res.overlay(have, {'ifname': 'v0', 'altnames': ['c', 'a']}))['altnames'] == \
        ['a', 'b', 'c']
    assert res.reconcile(have, res.overlay(have, {'ifname': 'v0', 'altnames': []}))['altnames'] == ['a', 'b']
    lo = {'ifname': 'lo', 'mtu': 65536, 'state': 'up', 'txqlen': 1000, 'altnames': ['loopback0']}
    assert res.reconcile(lo, {'ifname': 'lo'})['altnames'] == ['loopback0']  # (replaced without altnames)
    assert 'altnames' not in res.reconcile(lo, {'ifname': 'lo', 'altnames': []})
    assert 'altnames' not in res.reconcile(have, dict(V0))  # a veth's go with replaced


@pytest.mark.parametrize('names, text', [
    (['x' * 128], 'is not a valid alternative name (1 to 127 bytes'),
    (['\u00e9' * 64], 'is not a valid alternative name'),  # (128 bytes of UTF-8)
    (['a/b'], 'not a valid alternative name'),
    (['a b'], 'not a valid alternative name'),
    (['a\nb'], 'not a valid alternative name'),
    (['a\x01b'], 'not a valid alternative name'),
    (['.'], 'not a valid alternative name'),
    (['..'], 'not a valid alternative name'),
    ([''], 'not a valid alternative name'),
    (['n', 'n'], "'n' is given twice"),
    (['v0'], "'v0' is the device's own name"),
])
def test_a_bad_altname_is_refused_naming_the_field(names, text):
    with pytest.raises(EdgenetError) as e:
        Link().normalize({'ifname': 'v0', 'altnames': names}, ctx())
    assert e.value.field == 'altnames' and text in e.value.msg


def test_a_good_altname_is_taken_as_given():
    names = [LONG, 'a:b', '-x', 'a.b', '\u00e9t\u00e9', 'a\u2003b', '...']
    assert Link().normalize({'ifname': 'v0', 'altnames': names}, ctx())['altnames'] == names


def test_a_name_too_long_for_a_device_may_be_an_altname():
    """Not a device name, but maybe an altname: the run has taken it already if it was one (the error says so); the
    roles' preflight, without a kernel, leaves it to the module (its context raises when the kernel is reached)."""
    with pytest.raises(EdgenetError) as e:
        Link().normalize({'ifname': 'a-name-of-twenty-bytes'}, ctx())
    assert 'no device has it as an alternative name' in e.value.msg and e.value.field == 'ifname'

    class NoKernel(Context):
        @property
        def nl(self):
            raise LookupError('no kernel here')

    with pytest.raises(LookupError):
        Link().normalize({'ifname': 'v0', 'master': 'a-name-of-twenty-bytes'}, NoKernel({}))
    with pytest.raises(EdgenetError):  # (not an altname either: refused without the kernel)
        Link().normalize({'ifname': 'v0', 'master': 'a/b'}, NoKernel({}))


def test_the_resolver_takes_altnames_in_every_device_field():
    resolve = _engine.device_resolver(('dev', 'vxlan.dev', 'nexthops[].dev'), {'up0': 'v0', 'up1': 'v1'})
    vx = {'dev': 'up1'}
    hops = [{'dev': 'up0', 'weight': 1}, {'dev': 'v9'}]
    item = {'dev': 'up0', 'vxlan': vx, 'nexthops': hops, 'other': 'up0'}
    out = resolve(dict(item))
    assert out == {'dev': 'v0', 'vxlan': {'dev': 'v1'}, 'nexthops': [{'dev': 'v0', 'weight': 1}, {'dev': 'v9'}],
                   'other': 'up0'}
    assert vx == {'dev': 'up1'} and hops[0] == {'dev': 'up0', 'weight': 1}  # (the caller's values are not changed)
    same = {'dev': 'v0', 'nexthops': [{'dev': 'v9'}]}
    assert resolve(dict(same)) == same


def test_a_deleted_selector_matches_a_set_field_in_any_order():
    obj = {'ifname': 'v0', 'altnames': ['a', 'b', 'c']}
    assert _engine._selects(obj, {'altnames': ['c', 'a']}, ('altnames',))
    assert not _engine._selects(obj, {'altnames': ['c', 'z']}, ('altnames',))
    assert not _engine._selects(obj, {'altnames': ['c', 'a']})  # (other list fields: as given)
    assert not _engine._selects({'ifname': 'v1'}, {'altnames': ['a']}, ('altnames',))


def test_given_altnames_name_devices_of_the_same_task():
    config = [{'ifname': 'br0', 'altnames': ['blue', 'br9']}, {'ifname': 'up', 'altnames': ['x']},
              {'ifname': 'br9'}, {'ifname': 'v0', 'master': 'blue'}]
    # (an element's ifname names that device, not the altname another gives: br9)
    assert Link().given_altnames(config, {'up': 'eth0'}) == {'blue': 'br0', 'x': 'eth0'}


def test_a_kernel_without_altnames_is_named():
    e = EdgenetError('the kernel refused the link change', obj='link v0', field='altnames', code=95)
    e = Link().refine_error(Op('change', v0('a'), v0('a', 'b')), e)
    assert 'need Linux 5.5 or later' in e.msg and e.field == 'altnames'
