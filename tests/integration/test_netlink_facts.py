# -*- coding: utf-8 -*-
"""edgenet.linux.netlink_facts against a real kernel.

Oracles: `ip -j address show`, `ip -j neigh show` (nud all, proxy), `ip -j link show`, `ip -j route show table all`,
`ip -j rule show`; and each resource module's own `state: gathered`, which the facts must equal exactly.
"""

import pytest

from conftest import assert_no_traceback, ipj, sh

M = 'edgenet.linux.netlink_facts'
SUBSETS = ['links', 'addresses', 'routes', 'rules', 'neighbors']
MODULES = {'links': 'link', 'addresses': 'address', 'routes': 'route', 'rules': 'rule', 'neighbors': 'neighbor'}


@pytest.fixture
def ns(netns):
    """A namespace with a little of everything: veths, addresses, a route, a rule, neighbours."""
    def ip(*args):
        return sh('ip', '-n', netns, *args)

    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    ip('link', 'set', 'v0', 'up')
    ip('link', 'set', 'v1', 'up')
    ip('address', 'add', '198.18.0.1/24', 'dev', 'v0')
    ip('address', 'add', 'fd42:ed6e::1/64', 'dev', 'v0', 'nodad')
    ip('route', 'add', '198.18.5.0/24', 'via', '198.18.0.2', 'dev', 'v0')
    ip('route', 'add', '198.18.6.0/24', 'nexthop', 'via', '198.18.0.2', 'weight', '1', 'nexthop', 'via', '198.18.0.3',
       'weight', '2')  # (multipath: fed back as it is gathered)
    ip('rule', 'add', 'from', '198.18.7.0/24', 'table', '100', 'priority', '1000')
    ip('rule', 'add', 'from', '198.18.7.0/24', 'table', '100', 'priority', '1000', 'proto', 'openr')  # another rule
    ip('neigh', 'add', '198.18.0.2', 'lladdr', '02:00:00:00:00:02', 'dev', 'v0')
    ip('neigh', 'add', 'fd42:ed6e::2', 'lladdr', '02:00:00:00:00:03', 'dev', 'v0', 'router')
    ip('neigh', 'add', 'proxy', '198.18.0.9', 'dev', 'v1')
    ip('neigh', 'add', '198.18.0.66', 'lladdr', '02:00:00:00:00:66', 'dev', 'v0', 'nud', 'stale')  # "learned"
    return netns


def test_facts_match_iproute2_and_check_mode(ns, play):
    task = {M: {'netns': ns}}
    real = play(task)[0]
    check = play(task, check=True)[0]
    for r in (real, check):
        assert_no_traceback(r)
        assert not r.get('failed'), r.get('msg')
        assert r['changed'] is False
    facts = real['ansible_facts']['netlink']
    assert sorted(facts) == sorted(SUBSETS)
    assert check['ansible_facts']['netlink'] == facts

    # addresses: every address iproute2 shows, in the address module's shape
    oracle = set((l['ifname'], '%s/%s' % (a['local'], a['prefixlen']))
                 for l in ipj(ns, 'address', 'show') for a in l.get('addr_info', []))
    assert set((a['dev'], a['address']) for a in facts['addresses']) == oracle
    assert {'dev': 'v0', 'address': '198.18.0.1/24', 'scope': 'global', 'label': 'v0', 'valid_lft': 'forever',
            'preferred_lft': 'forever', 'noprefixroute': False} in facts['addresses']

    # neighbours: the permanent and proxy entries; not the kernel's multicast entries nor the learned one
    assert facts['neighbors'] == [
        {'dev': 'v0', 'dst': '198.18.0.2', 'proxy': False, 'lladdr': '02:00:00:00:00:02', 'state': 'permanent',
         'router': False},
        {'dev': 'v0', 'dst': 'fd42:ed6e::2', 'proxy': False, 'lladdr': '02:00:00:00:00:03', 'state': 'permanent',
         'router': True},
        {'dev': 'v1', 'dst': '198.18.0.9', 'proxy': True},
    ]
    permanent = set((n['dev'], n['dst'], n['lladdr']) for n in ipj(ns, 'neigh', 'show', 'nud', 'permanent'))
    assert permanent == set((n['dev'], n['dst'], n['lladdr']) for n in facts['neighbors'] if not n['proxy'])
    assert set((n['dev'], n['dst']) for n in ipj(ns, 'neigh', 'show', 'proxy')) == \
        set((n['dev'], n['dst']) for n in facts['neighbors'] if n['proxy'])

    # links: the devices iproute2 shows, with their MTU
    links = dict((l['ifname'], l) for l in ipj(ns, 'link', 'show'))
    got = dict((l['ifname'], l) for l in facts['links'])
    assert set(got) <= set(links) and {'v0', 'v1'} <= set(got)
    for name in ('v0', 'v1'):
        assert got[name].get('mtu', links[name]['mtu']) == links[name]['mtu']

    # routes: the one static route, with its gateway
    assert any(r.get('dst') == '198.18.5.0/24' and r.get('gateway') == '198.18.0.2' for r in facts['routes']), \
        facts['routes']
    assert any(r.get('dst') == '198.18.5.0/24' for r in ipj(ns, 'route', 'show', 'table', 'all'))

    # rules: the policy rules, one of them a routing daemon's (protocol openr)
    assert [r.get('protocol') for r in facts['rules'] if r['priority'] == 1000 and r.get('table') == 100] == \
        [None, 'openr'], facts['rules']
    assert any(r.get('priority') == 1000 for r in ipj(ns, 'rule', 'show'))


def test_routes_with_a_tos_or_a_source_prefix_are_left_out_as_documented(ns, play):
    """The routes subset is the route module's gathered: IPv4 routes with a TOS and IPv6 routes with a source prefix
    are not in it. The route module documented this; the facts module did not."""
    import os

    import yaml

    sh('ip', '-n', ns, 'route', 'add', '198.18.16.0/24', 'tos', '0x10', 'via', '198.18.0.2', 'dev', 'v0')
    sh('ip', '-n', ns, '-6', 'route', 'add', 'fd42:ed6e:6::/64', 'from', 'fd42:ed6e:9::/64', 'via', 'fd42:ed6e::2',
       'dev', 'v0')
    kernel = ipj(ns, 'route', 'show', 'table', 'all') + ipj(ns, '-6', 'route', 'show', 'table', 'all')
    assert any(r['dst'] == '198.18.16.0/24' for r in kernel) and any(r['dst'] == 'fd42:ed6e:6::/64' for r in kernel)
    r = play({M: {'netns': ns, 'gather': ['routes']}})[0]
    assert not r.get('failed'), r.get('msg')
    dsts = [o.get('dst') for o in r['ansible_facts']['netlink']['routes']]
    assert '198.18.5.0/24' in dsts and '198.18.16.0/24' not in dsts and 'fd42:ed6e:6::/64' not in dsts, dsts
    # and the module's documentation says so
    here = os.path.dirname(os.path.abspath(__file__))
    source = open(os.path.join(here, '..', '..', 'plugins', 'modules', 'netlink_facts.py')).read()
    doc = yaml.safe_load(source.split("DOCUMENTATION = r'''", 1)[1].split("'''", 1)[0])
    text = ' '.join(doc['description'])
    assert 'with a TOS' in text and 'with a source prefix' in text, text


@pytest.mark.parametrize('subset', SUBSETS)
def test_each_subset_is_the_modules_gathered_and_feeds_back(ns, play, subset):
    module = 'edgenet.linux.%s' % MODULES[subset]
    facts, gathered = play([{M: {'netns': ns, 'gather': [subset]}},
                            {module: {'netns': ns, 'state': 'gathered'}}])
    assert not facts.get('failed') and not gathered.get('failed'), (facts.get('msg'), gathered.get('msg'))
    got = facts['ansible_facts']['netlink']
    assert list(got) == [subset]  # only what was asked for
    assert got[subset] == gathered['gathered']
    # fed back as config: nothing to do, in check mode and for real
    task = {module: {'netns': ns, 'state': 'overridden', 'config': got[subset]}}
    check, real = play(task, check=True)[0], play(task)[0]
    for r in (check, real):
        assert_no_traceback(r)
        assert not r.get('failed'), r.get('msg')
        assert r['changed'] is False and r['commands'] == [], r['commands']


def test_gather_subset_order_and_empty(ns, play):
    r1, r2 = play([{M: {'netns': ns, 'gather': ['neighbors', 'addresses']}}, {M: {'netns': ns, 'gather': []}}])
    assert sorted(r1['ansible_facts']['netlink']) == ['addresses', 'neighbors']
    assert r2['ansible_facts']['netlink'] == {}


def snapshot(ns):
    """Addresses and permanent neighbours (not address flags: DAD clears 'tentative' on its own)."""
    return (sorted((l['ifname'], a['local'], a['prefixlen']) for l in ipj(ns, 'address', 'show')
                   for a in l.get('addr_info', [])),
            ipj(ns, 'neigh', 'show', 'nud', 'permanent'))


@pytest.mark.parametrize('args, field, text', [
    ({'netns': 'edgt-does-not-exist'}, 'netns', "network namespace 'edgt-does-not-exist' does not exist"),
    ({'netns': '/etc/hostname'}, 'netns', 'cannot enter network namespace'),
    ({'netns': ''}, 'netns', 'may not be empty'),
    # a relative path would reach past /run/netns (../netns/NAME opens another file than `ip -n NAME` does)
    ({'netns': '../netns/edgt-x'}, 'netns', 'is not a network namespace name'),
    ({'netns': '..'}, 'netns', 'is not a network namespace name'),
    ({'gather': ['addresses', 'bogus']}, 'gather', 'bogus'),
    ({'state': 'gathered'}, 'state', 'Unsupported parameters'),
    ({'gather': 'links,nope'}, 'gather', 'nope'),
])
def test_bad_input_is_refused(ns, play, args, field, text):
    before = snapshot(ns)
    r = play({M: dict({'netns': ns}, **args)})[0]
    assert r['failed'] and text in r['msg'] and field in r['msg'], r['msg']
    if 'Unsupported' not in r['msg'] and 'bogus' not in r['msg'] and 'nope' not in r['msg']:
        assert ("field '%s'" % field) in r['msg'], r['msg']
    assert_no_traceback(r)
    assert snapshot(ns) == before
