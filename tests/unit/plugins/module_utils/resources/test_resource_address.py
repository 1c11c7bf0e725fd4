# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The address resource's pure parts: normalize, defaults, render, protected, parse, and gather/apply
against a fake netlink session (no kernel)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Engine, Op
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError
from ansible_collections.edgenet.linux.plugins.module_utils.resources import address as address_mod
from ansible_collections.edgenet.linux.plugins.module_utils.resources.address import Address

FOREVER = 0xFFFFFFFF


class FakeNetlink(object):
    """The slice of the Netlink session the address resource uses."""

    def __init__(self, links=None, messages=()):
        self.links = links or {1: 'lo', 2: 'v0', 3: 'v1'}
        self.messages = list(messages)
        self.writes = []

    def dump(self, method):
        assert method == 'get_addr'
        return list(self.messages)

    def ifname(self, index):
        return self.links[index]

    def ifindex(self, name, obj=None, field='dev'):
        for index, n in self.links.items():
            if n == name:
                return index
        raise EdgenetError("device '%s' does not exist" % name, obj=obj, field=field)

    def write(self, obj, method, *args, **kwargs):
        self.writes.append((obj, method, args, kwargs))

    def close(self):
        pass


def ctx(netns=None, **params):
    p = {'state': 'merged', 'config': None, 'netns': netns, 'dev': None}
    p.update(params)
    return Context(p, nl=FakeNetlink())


def norm(item):
    return Address().normalize(item, ctx())


def norm_error(item):
    with pytest.raises(EdgenetError) as e:
        norm(item)
    return e.value


# -- normalize ---------------------------------------------------------------------------------------------
def test_normalize_canonical_forms():
    assert norm({'dev': 'v0', 'address': 'FD42:ED6E:0::1/64'}) == {'dev': 'v0', 'address': 'fd42:ed6e::1/64'}
    assert norm({'dev': 'v0', 'address': '198.18.0.1/24', 'peer': '198.18.0.2', 'scope': 253,
                 'valid_lft': 'infinity', 'preferred_lft': '600'}) == {
        'dev': 'v0', 'address': '198.18.0.1/24', 'peer': '198.18.0.2', 'scope': 'link',
        'valid_lft': 'forever', 'preferred_lft': 600}


def test_normalize_fills_no_defaults():
    assert norm({'dev': 'v0', 'address': '198.18.0.1/24'}) == {'dev': 'v0', 'address': '198.18.0.1/24'}


def test_normalize_deleted_may_select_by_device_only():
    assert norm({'dev': 'v0'}) == {'dev': 'v0'}


@pytest.mark.parametrize('item, field, text', [
    ({'dev': 'v0', 'address': '198.18.0.1'}, 'address', 'needs a prefix length'),
    ({'dev': 'v0', 'address': '198.18.0.300/24'}, 'address', 'not an address with a valid prefix length'),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'peer': 'fd42:ed6e::2'}, 'peer', 'not of the same family'),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'peer': 'nope'}, 'peer', 'is not an IP address'),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'scope': 'galactic'}, 'scope', "unknown scope 'galactic'"),
    ({'dev': 'v0', 'address': 'fd42:ed6e::1/64', 'scope': 'link'}, 'scope', 'derives IPv6 address scope'),
    ({'dev': 'v0', 'address': 'fd42:ed6e::1/64', 'label': 'v0:1'}, 'label', 'only for IPv4'),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'label': 'eth0:1'}, 'label', "must start with the device name"),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'label': 'v0:0123456789abc'}, 'label', 'at most 15'),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'valid_lft': 'soon'}, 'valid_lft', 'not a whole number'),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'valid_lft': -1}, 'valid_lft', 'out of range'),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'valid_lft': 60, 'preferred_lft': 120}, 'preferred_lft',
     'longer than valid_lft'),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'preferred_lft': 'forever', 'valid_lft': 60}, 'preferred_lft',
     'longer than valid_lft'),
])
def test_normalize_rejects_bad_input_naming_the_field(item, field, text):
    e = norm_error(item)
    assert e.field == field
    assert text in e.msg
    assert "field '%s'" % field in str(e)


def test_engine_names_the_config_element_of_bad_input():
    eng = Engine(Address(), ctx())
    with pytest.raises(EdgenetError) as e:
        eng.normalize_config([{'dev': 'v0', 'address': '198.18.0.1/24'}, {'dev': 'v0', 'address': 'x'}])
    assert str(e.value).startswith("config[1]: field 'address':")


def test_engine_requires_dev_and_address_except_for_deleted():
    eng = Engine(Address(), ctx())
    with pytest.raises(EdgenetError) as e:
        eng.normalize_config([{'dev': 'v0'}])
    assert e.value.field == 'address'
    assert eng.normalize_config([{'dev': 'v0'}], fill_keys=False) == [{'dev': 'v0'}]


def test_engine_duplicate_address_in_another_spelling():
    eng = Engine(Address(), ctx())
    with pytest.raises(EdgenetError) as e:
        eng.normalize_config([{'dev': 'v0', 'address': 'fd42:ed6e::1/64'},
                              {'dev': 'v0', 'address': 'FD42:ED6E:0:0::1/64'}])
    assert 'duplicate key' in str(e.value)


# -- defaults ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('address, expected', [
    ('198.18.0.1/24', {'scope': 'global', 'label': 'v0'}),
    ('127.0.0.2/8', {'scope': 'host', 'label': 'v0'}),
    ('fd42:ed6e::1/64', {'scope': 'global'}),
    ('fe80::1/64', {'scope': 'link'}),
    ('::1/128', {'scope': 'host'}),
])
def test_defaults_are_what_the_kernel_reports(address, expected):
    out = Address().defaults({'dev': 'v0', 'address': address})
    want = dict(expected, valid_lft='forever', preferred_lft='forever', noprefixroute=False)
    assert out == want


# -- protected ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize('dev, address, protected', [
    ('lo', '127.0.0.1/8', True),
    ('lo', '::1/128', True),
    ('v0', 'fe80::1/64', True),
    ('v0', '198.18.0.1/24', False),
    ('lo', '198.18.0.9/32', False),
    ('v0', 'fd42:ed6e::1/64', False),
])
def test_protected(dev, address, protected):
    assert Address().protected({'dev': dev, 'address': address}) is protected


# -- settle ------------------------------------------------------------------------------------------------
def test_settle_absorbs_lifetime_countdown_within_slack():
    res = Address()
    want = {'valid_lft': 600, 'preferred_lft': 300}
    assert res.settle(want, {'valid_lft': 599, 'preferred_lft': 302}) == want
    assert res.settle(want, {'valid_lft': 590, 'preferred_lft': 300})['valid_lft'] == 590
    assert res.settle(want, {'valid_lft': 'forever'})['valid_lft'] == 'forever'


# -- render ------------------------------------------------------------------------------------------------
def render(action, obj, netns=None):
    before, after = (obj, None) if action == 'delete' else (None, obj)
    if action == 'change':
        before = obj
    return Address().render(ctx(netns), Op(action, before, after))


def full(**kw):
    obj = {'dev': 'v0', 'address': '198.18.0.1/24', 'scope': 'global', 'label': 'v0',
           'valid_lft': 'forever', 'preferred_lft': 'forever', 'noprefixroute': False}
    obj.update(kw)
    return obj


@pytest.mark.parametrize('action, obj, command', [
    ('add', full(), 'ip address add 198.18.0.1/24 dev v0'),
    ('delete', full(), 'ip address del 198.18.0.1/24 dev v0'),
    ('change', full(valid_lft=600, preferred_lft=300),
     'ip address replace 198.18.0.1/24 dev v0 valid_lft 600 preferred_lft 300'),
    ('add', full(peer='198.18.0.2', address='198.18.0.1/32'), 'ip address add 198.18.0.1 peer 198.18.0.2/32 dev v0'),
    ('add', full(label='v0:1', scope='link'), 'ip address add 198.18.0.1/24 dev v0 scope link label v0:1'),
    ('add', full(noprefixroute=True), 'ip address add 198.18.0.1/24 dev v0 noprefixroute'),
    ('add', full(valid_lft=600), 'ip address add 198.18.0.1/24 dev v0 valid_lft 600 preferred_lft forever'),
    ('add', {'dev': 'v0', 'address': 'fd42:ed6e::1/64', 'scope': 'global', 'valid_lft': 'forever',
             'preferred_lft': 'forever', 'noprefixroute': False}, 'ip address add fd42:ed6e::1/64 dev v0'),
])
def test_render(action, obj, command):
    assert render(action, obj) == [command]


def test_render_in_a_namespace():
    assert render('add', full(), netns='blue') == ['ip -n blue address add 198.18.0.1/24 dev v0']


# -- parse (state=parsed) ----------------------------------------------------------------------------------
IP_J_ADDRESS = json.dumps([
    {'ifindex': 1, 'ifname': 'lo', 'addr_info': [
        {'family': 'inet', 'local': '127.0.0.1', 'prefixlen': 8, 'scope': 'host', 'label': 'lo',
         'valid_life_time': FOREVER, 'preferred_life_time': FOREVER}]},
    {'ifindex': 2, 'ifname': 'v0', 'addr_info': [
        {'family': 'inet', 'local': '198.18.0.1', 'address': '198.18.0.2', 'prefixlen': 32, 'scope': 'global',
         'label': 'v0:p', 'valid_life_time': 600, 'preferred_life_time': 300},
        {'family': 'inet6', 'local': 'fd42:ed6e::1', 'prefixlen': 64, 'scope': 'global', 'noprefixroute': True,
         'valid_life_time': FOREVER, 'preferred_life_time': FOREVER}]},
])


def test_parse_ip_j_address_show():
    out = Address().parse(ctx(), IP_J_ADDRESS)
    assert out == [
        {'dev': 'lo', 'address': '127.0.0.1/8', 'scope': 'host', 'noprefixroute': False, 'label': 'lo',
         'valid_lft': 'forever', 'preferred_lft': 'forever'},
        {'dev': 'v0', 'address': '198.18.0.1/32', 'scope': 'global', 'noprefixroute': False, 'label': 'v0:p',
         'peer': '198.18.0.2', 'valid_lft': 600, 'preferred_lft': 300},
        {'dev': 'v0', 'address': 'fd42:ed6e::1/64', 'scope': 'global', 'noprefixroute': True,
         'valid_lft': 'forever', 'preferred_lft': 'forever'},
    ]


def test_parse_rejects_text_that_is_not_json():
    with pytest.raises(EdgenetError) as e:
        Address().parse(ctx(), 'inet 198.18.0.1/24 scope global v0')
    assert e.value.field == 'running_config' and 'not valid JSON' in e.value.msg


# -- gather and apply over a fake netlink session ----------------------------------------------------------
def msg(index, family, prefixlen, scope, attrs, flags=0):
    return {'index': index, 'family': family, 'prefixlen': prefixlen, 'scope': scope, 'flags': flags,
            'attrs': list(attrs.items())}


def test_gather_decodes_rtm_newaddr(monkeypatch):
    monkeypatch.setattr(address_mod, '_uptime_cs', lambda: 100000)
    c = ctx()
    c.nl.messages = [
        msg(1, 2, 8, 254, {'IFA_LOCAL': '127.0.0.1', 'IFA_ADDRESS': '127.0.0.1', 'IFA_LABEL': 'lo',
                           'IFA_CACHEINFO': {'ifa_valid': FOREVER, 'ifa_preferred': FOREVER, 'tstamp': 5}}),
        # 600 s valid / 300 s preferred, set 10 s ago: 590 and 290 left
        msg(2, 2, 32, 0, {'IFA_LOCAL': '198.18.0.1', 'IFA_ADDRESS': '198.18.0.2', 'IFA_LABEL': 'v0',
                          'IFA_FLAGS': 0x200,
                          'IFA_CACHEINFO': {'ifa_valid': 590, 'ifa_preferred': 290, 'tstamp': 99000}}),
        msg(3, 10, 64, 253, {'IFA_ADDRESS': 'fe80::1', 'IFA_PROTO': 3,
                             'IFA_CACHEINFO': {'ifa_valid': FOREVER, 'ifa_preferred': FOREVER, 'tstamp': 5}}),
    ]
    res = Address()
    out = res.gather(c)
    assert out[0] == {'dev': 'lo', 'address': '127.0.0.1/8', 'scope': 'host', 'noprefixroute': False,
                      'label': 'lo', 'valid_lft': 'forever', 'preferred_lft': 'forever'}
    assert out[1] == {'dev': 'v0', 'address': '198.18.0.1/32', 'scope': 'global', 'noprefixroute': True,
                      'peer': '198.18.0.2', 'label': 'v0', 'valid_lft': 600, 'preferred_lft': 300}
    assert out[2] == {'dev': 'v1', 'address': 'fe80::1/64', 'scope': 'link', 'noprefixroute': False,
                      'valid_lft': 'forever', 'preferred_lft': 'forever'}
    assert res.protected(out[2])


def test_apply_sends_the_request_the_kernel_needs():
    c = ctx()
    res = Address()
    res.apply(c, Op('add', None, full(address='198.18.0.1/24', valid_lft=600, preferred_lft=300)))
    res.apply(c, Op('add', None, {'dev': 'v1', 'address': 'fd42:ed6e::1/64', 'noprefixroute': True}))
    res.apply(c, Op('delete', full(), None))
    res.apply(c, Op('change', full(), full(valid_lft=60, preferred_lft=60)))
    (l1, m1, a1, k1), (l2, m2, a2, k2), (l3, m3, a3, k3), (l4, m4, a4, k4) = c.nl.writes
    assert (l1, m1, a1) == ('address 198.18.0.1/24 dev v0', 'addr', ('add',))
    assert k1 == {'index': 2, 'local': '198.18.0.1', 'address': '198.18.0.1', 'prefixlen': 24, 'scope': 0,
                  'IFA_FLAGS': 0, 'valid_lft': 600, 'preferred_lft': 300, 'label': 'v0'}
    assert (m2, a2) == ('addr', ('add',))
    assert k2 == {'index': 3, 'address': 'fd42:ed6e::1', 'prefixlen': 64, 'scope': 0, 'IFA_FLAGS': 0x200,
                  'valid_lft': FOREVER, 'preferred_lft': FOREVER}
    assert (m3, a3, k3) == ('addr', ('del',), {'index': 2, 'local': '198.18.0.1', 'address': '198.18.0.1',
                                               'prefixlen': 24})
    assert (m4, a4) == ('addr', ('replace',))
    assert k4['field'] == 'preferred_lft,valid_lft' and k4['valid_lft'] == 60
    assert l3 == l4 == 'address 198.18.0.1/24 dev v0'


def test_validate_names_an_unknown_device():
    c = ctx()
    with pytest.raises(EdgenetError) as e:
        Address().validate(c, [Op('add', None, {'dev': 'nope', 'address': '198.18.0.1/24'})], [])
    assert e.value.field == 'dev' and 'nope' in str(e.value)


def test_check_mode_run_over_fake_kernel(monkeypatch):
    monkeypatch.setattr(address_mod, '_uptime_cs', lambda: 100000)
    c = ctx(state='replaced', config=[{'dev': 'v0', 'address': '198.18.0.1/24'}])
    c.check_mode = True
    c.nl.messages = [msg(2, 2, 24, 0, {'IFA_LOCAL': '198.18.0.1', 'IFA_ADDRESS': '198.18.0.1', 'IFA_LABEL': 'v0',
                                       'IFA_CACHEINFO': {'ifa_valid': 590, 'ifa_preferred': 590,
                                                         'tstamp': 99000}})]
    result = Engine(Address(), c).run(diff=True)
    assert result['changed'] is True
    assert result['commands'] == ['ip address replace 198.18.0.1/24 dev v0']
    assert result['after'][0]['valid_lft'] == 'forever'
    assert c.nl.writes == []
