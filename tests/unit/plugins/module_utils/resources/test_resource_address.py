# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The address resource's pure parts: normalize, defaults, render, protected, parse, and gather/apply
against a fake netlink session (no kernel)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import struct

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _rtnl
from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Engine, Op
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError
from ansible_collections.edgenet.linux.plugins.module_utils.resources import address as address_mod
from ansible_collections.edgenet.linux.plugins.module_utils.resources.address import Address

FOREVER = 0xFFFFFFFF


class FakeNetlink(object):
    """The slice of the Netlink session the address resource uses (the bulk path: bytes in, bytes out)."""

    def __init__(self, links=None, messages=()):
        self.by_index = links or {1: 'lo', 2: 'v0', 3: 'v1'}
        self.messages = list(messages)  # encoded RTM_NEWADDR messages (with their nlmsghdr)
        self.sent = []
        self.ipv6 = {}  # device -> its _rtnl.ipv6_off (absent: IPv6 on)
        self.ipv6_reads = []  # the devices each read of their IPv6 state was about

    def links(self, refresh=False):
        return dict((n, i) for i, n in self.by_index.items()), self.by_index

    def altnames(self):
        return getattr(self, 'alt', {})  # {altname: ifname}

    def device_name(self, name):
        return self.altnames().get(name, name)

    def rdump(self, kind, body, what):
        assert kind == 22 and len(body) == 8  # RTM_GETADDR, struct ifaddrmsg
        for data in self.messages:
            yield 20, memoryview(data), 16, len(data)

    def ifindex(self, name, obj=None, field='dev'):
        for index, n in self.by_index.items():
            if n == name:
                return index
        raise EdgenetError("device '%s' does not exist" % name, obj=obj, field=field)

    def ipv6_off(self, names):
        self.ipv6_reads.append(sorted(names))
        return dict((n, self.ipv6.get(n)) for n in names if n in self.by_index.values())

    def transact(self, requests, keep_going=False, echoes=None):
        assert echoes is None, "a resource that does not opt into echoes asked for them"
        self.sent.extend(requests)
        return list(range(len(requests))), []

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
                 'valid_lft': 'infinity', 'preferred_lft': '0'}) == {
        'dev': 'v0', 'address': '198.18.0.1/24', 'peer': '198.18.0.2', 'scope': 'link',
        'valid_lft': 'forever', 'preferred_lft': 0}
    assert norm({'dev': 'v0', 'address': 'fd42:ed6e::1/64', 'valid_lft': 'infinity', 'preferred_lft': '600'}) == {
        'dev': 'v0', 'address': 'fd42:ed6e::1/64', 'valid_lft': 'forever', 'preferred_lft': 600}


def test_a_lone_valid_lft_is_the_preferred_lifetime_too():
    # (it was refused: "preferred_lft None is longer than valid_lft 100")
    res = Address()
    obj = norm({'dev': 'v0', 'address': '198.18.0.1/24', 'valid_lft': 100})
    assert obj == {'dev': 'v0', 'address': '198.18.0.1/24', 'valid_lft': 100}
    assert res.defaults(obj)['preferred_lft'] == 100
    have = dict(res.defaults(obj), dev='v0', address='198.18.0.1/24', valid_lft='forever', preferred_lft='forever')
    assert res.overlay(have, obj)['preferred_lft'] == 100  # merged over an address that never expires
    assert res.overlay(have, {'dev': 'v0', 'address': '198.18.0.1/24', 'preferred_lft': 0})['preferred_lft'] == 0
    # and settles against the preferred lifetime the kernel counts down
    assert res.settle(obj, {'valid_lft': 99, 'preferred_lft': 101}) == {'valid_lft': 100, 'preferred_lft': 100}


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
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'valid_lft': 100.7}, 'valid_lft', 'not a whole number'),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'valid_lft': 100, 'preferred_lft': 0.5}, 'preferred_lft',
     'not a whole number'),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'valid_lft': True}, 'valid_lft', 'not a whole number'),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'valid_lft': 0}, 'valid_lft', 'at least 1 second'),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'preferred_lft': 60, 'valid_lft': 'forever'}, 'preferred_lft',
     'needs a finite valid_lft'),
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


def test_parse_reads_a_scope_without_a_name_as_gathered_shows_it():
    """ip -j prints a scope without a name as its number in a string ("250"); parsed showed the string, gathered
    the number, so a parsed config compared unequal to the kernel's address."""
    data = json.dumps([{'ifindex': 2, 'ifname': 'v0', 'addr_info': [
        {'family': 'inet', 'local': '198.18.4.1', 'prefixlen': 24, 'scope': '250', 'label': 'v0',
         'valid_life_time': FOREVER, 'preferred_life_time': FOREVER}]}])
    assert [a['scope'] for a in Address().parse(ctx(), data)] == [250]


def test_parse_rejects_text_that_is_not_json():
    with pytest.raises(EdgenetError) as e:
        Address().parse(ctx(), 'inet 198.18.0.1/24 scope global v0')
    assert e.value.field == 'running_config' and 'not valid JSON' in e.value.msg


# -- gather and encode over a fake netlink session; pyroute2 is the independent codec -------------------------
def msg(index, family, prefixlen, scope, attrs, flags=0):
    """An RTM_NEWADDR as the kernel sends it, encoded by pyroute2 (not by the code under test)."""
    from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg

    m = ifaddrmsg()
    m['header']['type'] = 20
    m.update({'index': index, 'family': family, 'prefixlen': prefixlen, 'scope': scope, 'flags': flags})
    m['attrs'] = list(attrs.items())
    m.encode()
    return bytes(m.data)


def decode(request):
    """pyroute2's reading of a request the resource encoded: (type, flags, {field: value}, {attr: value})."""
    from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg

    kind, flags, body = request
    data = struct.pack('=IHHII', 16 + len(body), kind, flags, 1, 0) + body
    m = ifaddrmsg(data)
    m.decode()
    fields = dict((k, m[k]) for k in ('family', 'prefixlen', 'flags', 'scope', 'index'))
    return kind, flags, fields, dict((name, value) for name, value in m['attrs'])


def cacheinfo(valid, preferred, tstamp):
    return {'ifa_valid': valid, 'ifa_preferred': preferred, 'cstamp': 0, 'tstamp': tstamp}


def test_gather_decodes_rtm_newaddr(monkeypatch):
    monkeypatch.setattr(address_mod, '_uptime_cs', lambda: 100000)
    c = ctx()
    c.nl.messages = [
        msg(1, 2, 8, 254, {'IFA_LOCAL': '127.0.0.1', 'IFA_ADDRESS': '127.0.0.1', 'IFA_LABEL': 'lo',
                           'IFA_CACHEINFO': cacheinfo(FOREVER, FOREVER, 5)}),
        # 600 s valid / 300 s preferred, set 10 s ago: 590 and 290 left
        msg(2, 2, 32, 0, {'IFA_LOCAL': '198.18.0.1', 'IFA_ADDRESS': '198.18.0.2', 'IFA_LABEL': 'v0',
                          'IFA_FLAGS': 0x200, 'IFA_CACHEINFO': cacheinfo(590, 290, 99000)}),
        msg(3, 10, 64, 253, {'IFA_ADDRESS': 'fe80::1', 'IFA_PROTO': 3,
                             'IFA_CACHEINFO': cacheinfo(FOREVER, FOREVER, 5)}),
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


def test_gather_reads_a_deprecated_address_as_preferred_lft_0(monkeypatch):
    # (read as forever, or as its age: a task with preferred_lft 0 changed it on every run)
    monkeypatch.setattr(address_mod, '_uptime_cs', lambda: 100000)
    c = ctx()
    c.nl.messages = [
        # IPv4, never expiring, added with preferred_lft 0: both lifetimes read forever; only the flag tells
        msg(2, 2, 24, 0, {'IFA_LOCAL': '198.18.0.1', 'IFA_ADDRESS': '198.18.0.1', 'IFA_LABEL': 'v0',
                          'IFA_FLAGS': 0xa0, 'IFA_CACHEINFO': cacheinfo(FOREVER, FOREVER, 99000)}),
        # 200 s valid, set 10 s ago, deprecated: 190 left, and 0 of a preferred lifetime of 0 to 10 s
        msg(2, 10, 64, 0, {'IFA_ADDRESS': 'fd42:ed6e::1', 'IFA_FLAGS': 0x20,
                           'IFA_CACHEINFO': cacheinfo(190, 0, 99000)}),
    ]
    res = Address()
    out = res.gather(c)
    assert [(o['valid_lft'], o['preferred_lft']) for o in out] == [('forever', 0), (200, 0)]
    # the preferred lifetime it was given (any up to its age) settles to the task's; a longer one does not
    for given, settled in ((0, 0), (5, 5), (12, 12), (13, 0)):
        want = {'dev': 'v1', 'address': 'fd42:ed6e::1/64', 'valid_lft': 200, 'preferred_lft': given}
        assert res.settle(want, dict(out[1]))['preferred_lft'] == settled, given


def test_encode_builds_the_request_the_kernel_needs():
    c = ctx()
    res = Address()
    add4 = decode(res.encode(c, Op('add', None, full(address='198.18.0.1/24', valid_lft=600, preferred_lft=300))))
    assert add4[:3] == (20, 0x605, {'family': 2, 'prefixlen': 24, 'flags': 0, 'scope': 0, 'index': 2})
    assert add4[3]['IFA_LOCAL'] == add4[3]['IFA_ADDRESS'] == '198.18.0.1' and add4[3]['IFA_LABEL'] == 'v0'
    assert add4[3]['IFA_FLAGS'] == 0
    assert (add4[3]['IFA_CACHEINFO']['ifa_valid'], add4[3]['IFA_CACHEINFO']['ifa_preferred']) == (600, 300)

    add6 = decode(res.encode(c, Op('add', None, {'dev': 'v1', 'address': 'fd42:ed6e::1/64', 'noprefixroute': True})))
    assert add6[2] == {'family': 10, 'prefixlen': 64, 'flags': 0, 'scope': 0, 'index': 3}
    # (both, as ip address sends them: IFA_ADDRESS alone is the address; with IFA_LOCAL, a different one is the peer)
    assert add6[3]['IFA_ADDRESS'] == add6[3]['IFA_LOCAL'] == 'fd42:ed6e::1' and 'IFA_LABEL' not in add6[3]
    assert add6[3]['IFA_FLAGS'] == 0x200 and add6[3]['IFA_CACHEINFO']['ifa_valid'] == FOREVER

    peer = decode(res.encode(c, Op('add', None, full(address='198.18.0.1/32', peer='198.18.0.2'))))
    assert (peer[3]['IFA_LOCAL'], peer[3]['IFA_ADDRESS']) == ('198.18.0.1', '198.18.0.2')
    peer6 = decode(res.encode(c, Op('add', None, {'dev': 'v1', 'address': 'fd42:ed6e::1/128', 'peer': 'fd42:ed6e::2'})))
    assert (peer6[3]['IFA_LOCAL'], peer6[3]['IFA_ADDRESS']) == ('fd42:ed6e::1', 'fd42:ed6e::2')

    delete = decode(res.encode(c, Op('delete', full(), None)))
    assert delete[:3] == (21, 0x5, {'family': 2, 'prefixlen': 24, 'flags': 0, 'scope': 0, 'index': 2})
    assert delete[3] == {'IFA_LOCAL': '198.18.0.1', 'IFA_ADDRESS': '198.18.0.1'}

    change = decode(res.encode(c, Op('change', full(), full(valid_lft=60, preferred_lft=60))))
    assert change[:2] == (20, 0x505)  # NLM_F_REQUEST|ACK|CREATE|REPLACE
    assert res.error_field(Op('change', full(), full(valid_lft=60, preferred_lft=60))) == 'preferred_lft,valid_lft'


def test_a_write_keeps_the_metric_flags_and_protocol_it_does_not_model(monkeypatch):
    """What the kernel's address has beyond the options (a metric, IPv6 nodad/home/mngtmpaddr, a protocol, which
    iproute2 6.1 cannot set) goes out again with a change and a re-add of the same address, never with another one;
    the command spells the metric and flags and names the protocol in a closing comment."""
    monkeypatch.setattr(address_mod, '_uptime_cs', lambda: 100000)
    c = ctx(netns='n1')
    c.nl.messages = [
        msg(2, 2, 24, 0, {'IFA_LOCAL': '198.18.0.1', 'IFA_ADDRESS': '198.18.0.1', 'IFA_LABEL': 'v0',
                          'IFA_RT_PRIORITY': 100, 'IFA_PROTO': 99, 'IFA_CACHEINFO': cacheinfo(FOREVER, FOREVER, 5)}),
        msg(2, 10, 64, 0, {'IFA_ADDRESS': 'fd42:ed6e::1', 'IFA_FLAGS': 0x80 | 0x02 | 0x10 | 0x100 | 0x200,
                           'IFA_CACHEINFO': cacheinfo(FOREVER, FOREVER, 5)}),
    ]
    res = Address()
    four, six = res.gather(c)
    assert 'metric' not in four and 'nodad' not in six  # (before, after and the diff: the options only)
    for action in ('change', 'add'):
        op = Op(action, four if action == 'change' else None, dict(four, valid_lft=60, preferred_lft=60))
        got = decode(res.encode(c, op))
        assert (got[3]['IFA_RT_PRIORITY'], got[3]['IFA_PROTO'], got[3]['IFA_FLAGS']) == (100, 99, 0), got
        assert res.render(c, op) == ['ip -n n1 address %s 198.18.0.1/24 dev v0 valid_lft 60 preferred_lft 60 metric 100 '
                                     "# also keeps the address's protocol 99" % ('replace' if action == 'change' else
                                                                                 'add')]
    got = decode(res.encode(c, Op('change', six, dict(six, valid_lft=60, preferred_lft=60))))
    assert got[3]['IFA_FLAGS'] == 0x200 | 0x02 | 0x10 | 0x100 and 'IFA_RT_PRIORITY' not in got[3], got
    assert res.render(c, Op('change', six, dict(six, valid_lft=60, preferred_lft=60))) == [
        'ip -n n1 address replace fd42:ed6e::1/64 dev v0 valid_lft 60 preferred_lft 60 noprefixroute nodad home '
        'mngtmpaddr']
    other = decode(res.encode(c, Op('add', None, dict(four, address='198.18.0.2/24'))))
    assert 'IFA_RT_PRIORITY' not in other[3] and 'IFA_PROTO' not in other[3]


def test_engine_sends_the_whole_plan_in_one_batch():
    c = ctx(state='merged', config=[{'dev': 'v0', 'address': '198.18.0.%d/24' % i} for i in range(1, 4)])
    result = Engine(Address(), c).run()
    assert result['changed'] and len(c.nl.sent) == 3 and all(kind == 20 for kind, _f, _b in c.nl.sent)


def test_validate_names_an_unknown_device():
    c = ctx()
    with pytest.raises(EdgenetError) as e:
        Address().validate(c, [Op('add', None, {'dev': 'nope', 'address': '198.18.0.1/24'})], [])
    assert e.value.field == 'dev' and 'nope' in str(e.value)


def test_the_ipv6_state_of_devices_is_read_once_and_only_for_those_with_an_ipv6_address_to_add():
    """An IPv6 address on a device with IPv6 disabled or removed is refused before anything is sent, naming the
    first one in the plan's order and dev; the devices' IPv6 state is read once per task, only for the devices the
    plan adds an IPv6 address to (not at all for a plan without one: no deletes, no IPv4)."""
    four = [Op('add', None, {'dev': 'v1', 'address': '198.18.0.%d/24' % i}) for i in range(1, 4)]
    c = ctx()
    Address().validate(c, four + [Op('delete', {'dev': 'v1', 'address': 'fd42:ed6e::9/64'}, None)], [])
    assert c.nl.ipv6_reads == []
    six = [Op('add', None, {'dev': dev, 'address': 'fd42:ed6e:%d::%d/64' % (i, j)})
           for i, dev in enumerate(('v0', 'v1')) for j in (1, 2)]
    Address().validate(c, four + six, [])
    assert c.nl.ipv6_reads == [['v0', 'v1']]
    for kind, text, words in ((_rtnl.IPV6_DISABLED, 'v1 has IPv6 disabled', 'IPv6 is disabled on this device'),
                              (_rtnl.IPV6_MTU, 'v1 has no IPv6 (MTU)', 'Invalid argument')):
        c.nl.ipv6 = {'v1': (kind, text)}
        with pytest.raises(EdgenetError) as e:
            Address().validate(c, four + six, [])
        assert (e.value.obj, e.value.field) == ('address fd42:ed6e:1::1/64 dev v1', 'dev')
        assert e.value.msg == '%s; the kernel refuses an IPv6 address on it (%s)' % (text, words)
    # (without IPv6 for another reason, the kernel makes the device's IPv6 with its first IPv6 address)
    c.nl.ipv6 = {'v1': (_rtnl.IPV6_ABSENT, 'v1 has no IPv6')}
    Address().validate(c, four + six, [])


def test_check_mode_run_over_fake_kernel(monkeypatch):
    monkeypatch.setattr(address_mod, '_uptime_cs', lambda: 100000)
    c = ctx(state='replaced', config=[{'dev': 'v0', 'address': '198.18.0.1/24'}])
    c.check_mode = True
    c.nl.messages = [msg(2, 2, 24, 0, {'IFA_LOCAL': '198.18.0.1', 'IFA_ADDRESS': '198.18.0.1', 'IFA_LABEL': 'v0',
                                       'IFA_CACHEINFO': cacheinfo(590, 590, 99000)})]
    result = Engine(Address(), c).run(diff=True)
    assert result['changed'] is True
    assert result['commands'] == ['ip address replace 198.18.0.1/24 dev v0']
    assert result['after'][0]['valid_lft'] == 'forever'
    assert c.nl.sent == []
