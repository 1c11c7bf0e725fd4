# -*- coding: utf-8 -*-
"""edgenet.linux.route against a real kernel; the oracle is `ip -j -4/-6 route show table all`."""

import re
import subprocess
import time

import pytest

from conftest import (apply_then_unchanged, assert_no_traceback, check_assumes_ipv6_then_real, diff_side, ipj,
                      ns_and_twin, printed_then_real, sh, without_ipv6)

M = 'edgenet.linux.route'
KERNEL_PROTOS = ('kernel', 'ra', 'redirect', 'dhcp')


def all_routes(ns):
    """Every route of both families, as iproute2 prints them (the transaction oracle)."""
    return ipj(ns, '-4', 'route', 'show', 'table', 'all') + ipj(ns, '-6', 'route', 'show', 'table', 'all')


def kernel_routes(ns):
    """{(table, dst, metric): route} for the routes a user made (what the module manages)."""
    out = {}
    for fam in ('-4', '-6'):
        for r in ipj(ns, fam, 'route', 'show', 'table', 'all'):
            table = r.get('table', 'main')
            if r.get('protocol') in KERNEL_PROTOS or table == 'local' or r['dst'].startswith(('fe80:', 'ff00:')):
                continue
            dst = r['dst']
            if dst == 'default':
                dst = 'default6' if fam == '-6' else 'default'
            out[(table, dst, r.get('metric', 0))] = r
    return out


def _links(netns):
    sh('ip', '-n', netns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    for dev, a4, a6 in (('v0', '198.18.0.1/24', 'fd42:ed6e::1/64'), ('v1', '198.18.1.1/24', 'fd42:ed6e:1::1/64')):
        sh('ip', '-n', netns, 'link', 'set', dev, 'up')
        sh('ip', '-n', netns, 'address', 'add', a4, 'dev', dev)
        sh('ip', '-n', netns, 'address', 'add', a6, 'dev', dev, 'nodad')
    # wait until the kernel has made the link-local addresses, so the oracle no longer moves on its own
    for _attempt in range(100):
        local = [r.get('dev') for r in ipj(netns, '-6', 'route', 'show', 'table', 'local') if r['dst'].startswith('fe80')]
        if 'v0' in local and 'v1' in local:
            break
        time.sleep(0.05)
    return netns


ns, twin = ns_and_twin(_links)  # (twin: set up as ns is; the commands a run prints for ns are pasted into it)


CONFIG = [
    {'dst': '198.18.10.0/24', 'gateway': '198.18.0.2', 'dev': 'v0'},
    {'dst': '198.18.11.0/24', 'dev': 'v1', 'table': 100, 'metric': 5, 'protocol': 'static', 'src': '198.18.1.1'},
    {'dst': '198.18.12.0/24', 'nexthops': [{'gateway': '198.18.1.2', 'dev': 'v1'},
                                           {'gateway': '198.18.0.2', 'dev': 'v0', 'weight': 3}]},
    {'dst': 'fd42:ed6e:10:0::/64', 'gateway': 'fd42:ed6e::2', 'dev': 'v0'},
    {'dst': 'default', 'family': 6, 'table': 200,
     'nexthops': [{'gateway': 'fd42:ed6e::2', 'dev': 'v0', 'weight': 2},
                  {'gateway': 'fd42:ed6e:1::2', 'dev': 'v1', 'weight': 5}]},
    {'dst': '198.18.13.0/24', 'type': 'blackhole', 'table': '100'},
    {'dst': '198.18.14.1', 'dev': 'v0', 'mtu': 1400},
    {'dst': 'default', 'gateway': '198.18.0.254', 'metric': 10},
]


def test_merged_check_apply_idempotent(ns, play):
    task = {M: {'netns': ns, 'config': CONFIG}}
    check, apply, again = play([task], check=True)[0], *play([task, task])
    for r in (check, apply, again):
        assert_no_traceback(r)
    assert check['changed'] and check['before'] == [] and 'diff' in check
    assert len(check['commands']) == len(CONFIG)
    k = kernel_routes(ns)
    assert set(k) == {('main', '198.18.10.0/24', 0), ('100', '198.18.11.0/24', 5), ('main', '198.18.12.0/24', 0),
                      ('main', 'fd42:ed6e:10::/64', 1024), ('200', 'default6', 1024), ('100', '198.18.13.0/24', 0),
                      ('main', '198.18.14.1', 0), ('main', 'default', 10)}
    assert k[('main', '198.18.10.0/24', 0)]['gateway'] == '198.18.0.2'
    assert k[('main', '198.18.10.0/24', 0)].get('protocol', 'boot') == 'boot'  # ip omits boot
    r = k[('100', '198.18.11.0/24', 5)]
    assert (r['protocol'], r['prefsrc'], r['scope'], r['dev']) == ('static', '198.18.1.1', 'link', 'v1')
    assert sorted((h['dev'], h['gateway'], h['weight']) for h in k[('main', '198.18.12.0/24', 0)]['nexthops']) == \
        [('v0', '198.18.0.2', 3), ('v1', '198.18.1.2', 1)]
    assert sorted((h['dev'], h['weight']) for h in k[('200', 'default6', 1024)]['nexthops']) == [('v0', 2), ('v1', 5)]
    assert k[('100', '198.18.13.0/24', 0)]['type'] == 'blackhole'
    assert k[('main', '198.18.14.1', 0)]['metrics'] == [{'mtu': 1400}]
    # the gateway without a device: the kernel chose v0, and check mode predicted it
    assert k[('main', 'default', 10)]['dev'] == 'v0'
    assert check['after'] == apply['after'] and check['commands'] == apply['commands']
    assert '198.18.10.0/24' in diff_side(apply, 'after') and '198.18.10.0/24' not in diff_side(apply, 'before')
    assert again['changed'] is False and again['commands'] == []
    assert again['before'] == apply['after']
    # the kernel's own routes are not shown
    assert all(r['protocol'] not in KERNEL_PROTOS for r in apply['after'])


def test_check_diff_prints_one_hunk_per_route_that_changes_named_by_its_header(ns, play):
    """What a user reads: ansible-playbook's own --diff output names each route that changes, and shows no
    route that does not; the real run's diff is the check run's."""
    base = [{'dst': '198.18.%d.0/24' % i, 'dev': 'v0'} for i in range(20, 28)]
    assert not play({M: {'netns': ns, 'config': base}})[0].get('failed')
    want = [dict(r, protocol='static') if r['dst'] == '198.18.24.0/24' else r for r in base[1:]]
    want.append({'dst': '198.18.28.0/24', 'dev': 'v0'})  # 198.18.20.0/24 goes (overridden), .28 comes
    task = {M: {'netns': ns, 'config': want, 'state': 'overridden'}}
    check = play(task, check=True)[0]
    printed = play.stdout
    real = play(task)[0]
    assert_no_traceback(check)
    assert check['diff'] == real['diff'] and check['commands'] == real['commands'] and len(real['commands']) == 3
    head = r'^--- before: edgenet\.linux\.route \(netns %s\): route (\S+) table main metric 0\n' \
           r'\+\+\+ after: edgenet\.linux\.route \(netns %s\): route \1 table main metric 0\n' % (ns, ns)
    assert re.findall(head, printed, re.M) == ['198.18.20.0/24', '198.18.24.0/24', '198.18.28.0/24'], printed
    hunks = dict(zip(re.findall(head, printed, re.M), re.split(head, printed, flags=re.M)[2::2]))
    assert re.search(r'^-dst: 198\.18\.20\.0/24$', hunks['198.18.20.0/24'], re.M)
    assert '+' not in ''.join(line[:1] for line in hunks['198.18.20.0/24'].splitlines() if line[:2] != '++')
    assert '\n-protocol: boot\n+protocol: static\n' in hunks['198.18.24.0/24']
    assert re.search(r'^\+dst: 198\.18\.28\.0/24$', hunks['198.18.28.0/24'], re.M)
    assert printed.count('--- before: edgenet.linux.route') == 3
    assert [r['dst'] for r in ipj(ns, 'route', 'show', 'proto', 'static')] == ['198.18.24.0/24']


def test_a_task_on_a_full_table_reports_its_own_routes_not_the_table(ns, play, tmp_path):
    """A router's table full of a routing daemon's routes (2,000 of protocol bgp here): merged, replaced and
    deleted report the routes they name, check and real alike; gathered and overridden (in a table of its own)
    still report every route in scope. The bgp routes are never touched (the oracle: ip -j route show)."""
    batch = tmp_path / 'bgp.batch'
    batch.write_text(''.join('route add 198.19.%d.%d/32 via 198.18.0.2 dev v0 proto bgp\n' % (i // 250, i % 250)
                             for i in range(2000)))
    sh('ip', '-n', ns, '-batch', str(batch))
    bgp = ipj(ns, 'route', 'show', 'proto', 'bgp')
    assert len(bgp) == 2000
    one = {'dst': '198.18.50.0/24', 'gateway': '198.18.0.2', 'dev': 'v0', 'protocol': 'static'}
    check, real, again = play([{M: {'netns': ns, 'config': [one]}, 'check_mode': True},
                               {M: {'netns': ns, 'config': [one]}}, {M: {'netns': ns, 'config': [one]}}])
    for r in (check, real, again):
        assert_no_traceback(r)
    assert check['before'] == real['before'] == [] and check['after'] == real['after'] == again['before']
    assert [r['dst'] for r in real['after']] == ['198.18.50.0/24'] and real['after'][0]['protocol'] == 'static'
    assert again['changed'] is False and again['after'] == again['before']
    assert len(diff_side(real, 'after').splitlines()) < 20
    # replaced and deleted: the named route only
    changed = dict(one, metric=10)
    check, real = play([{M: {'netns': ns, 'state': 'replaced', 'config': [changed]}, 'check_mode': True},
                        {M: {'netns': ns, 'state': 'replaced', 'config': [changed]}}])
    assert check['before'] == real['before'] == [] and check['after'] == real['after']
    assert [(r['dst'], r['metric']) for r in real['after']] == [('198.18.50.0/24', 10)]
    check, real = play([{M: {'netns': ns, 'state': 'deleted', 'config': [{'protocol': 'static'}]}, 'check_mode': True},
                        {M: {'netns': ns, 'state': 'deleted', 'config': [{'protocol': 'static'}]}}])
    assert check['before'] == real['before'] and [r['metric'] for r in real['before']] == [0, 10]
    assert check['after'] == real['after'] == [] and len(real['commands']) == 2
    # gathered: every route; overridden in table 100: every route of that table
    gathered = play({M: {'netns': ns, 'state': 'gathered', 'family': 4}})[0]
    assert sum(r.get('protocol') == 'bgp' for r in gathered['gathered']) == 2000
    sh('ip', '-n', ns, 'route', 'add', '198.18.60.0/24', 'dev', 'v0', 'table', '100')
    over = play({M: {'netns': ns, 'state': 'overridden', 'table': 100, 'config': [dict(one, table=100)]}})[0]
    assert [r['dst'] for r in over['before']] == ['198.18.60.0/24'] and [r['dst'] for r in over['after']] == [
        '198.18.50.0/24']
    assert ipj(ns, 'route', 'show', 'proto', 'bgp') == bgp
    assert [r['dst'] for r in ipj(ns, 'route', 'show', 'proto', 'static')] == []


def test_check_mode_writes_nothing(ns, play):
    before = all_routes(ns)
    r = play({M: {'netns': ns, 'config': CONFIG}}, check=True)[0]
    assert r['changed'] and all_routes(ns) == before


def test_merged_changes_in_place(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    cfg = [{'dst': '198.18.10.0/24', 'gateway': '198.18.1.2', 'dev': 'v1'},
           {'dst': '198.18.12.0/24', 'nexthops': [{'gateway': '198.18.1.2', 'dev': 'v1', 'weight': 256},
                                                  {'gateway': '198.18.0.2', 'dev': 'v0', 'weight': 3}]},
           {'dst': 'fd42:ed6e:10::/64', 'protocol': 'bgp'}]
    check = play({M: {'netns': ns, 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'config': cfg}}] * 2)
    assert real['commands'] == [
        'ip -n %s route replace 198.18.10.0/24 via 198.18.1.2 dev v1' % ns,
        'ip -n %s route replace 198.18.12.0/24 nexthop via 198.18.1.2 dev v1 weight 256 '
        'nexthop via 198.18.0.2 dev v0 weight 3' % ns,
        'ip -n %s -6 route replace fd42:ed6e:10::/64 via fd42:ed6e::2 dev v0 proto bgp' % ns]
    assert check['after'] == real['after'] and not again['changed']
    k = kernel_routes(ns)
    assert (k[('main', '198.18.10.0/24', 0)]['gateway'], k[('main', '198.18.10.0/24', 0)]['dev']) == ('198.18.1.2', 'v1')
    assert sorted(h['weight'] for h in k[('main', '198.18.12.0/24', 0)]['nexthops']) == [3, 256]
    assert k[('main', 'fd42:ed6e:10::/64', 1024)]['protocol'] == 'bgp'
    assert len(k) == len(CONFIG)


def test_replaced_resets_unnamed_fields(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    cfg = [{'dst': '198.18.11.0/24', 'dev': 'v1', 'table': 100, 'metric': 5},
           {'dst': '198.18.14.1', 'dev': 'v0'},
           {'dst': '198.18.10.0/24', 'type': 'unreachable'}]
    check = play({M: {'netns': ns, 'state': 'replaced', 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'state': 'replaced', 'config': cfg}}] * 2)
    assert real['changed'] and check['after'] == real['after'] and not again['changed']
    k = kernel_routes(ns)
    r = k[('100', '198.18.11.0/24', 5)]
    assert r.get('protocol', 'boot') == 'boot' and 'prefsrc' not in r
    assert 'metrics' not in k[('main', '198.18.14.1', 0)]
    assert k[('main', '198.18.10.0/24', 0)]['type'] == 'unreachable'
    assert len(k) == len(CONFIG)  # replaced leaves the other routes alone


def test_overridden_table_scope_leaves_other_tables(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    before = kernel_routes(ns)
    cfg = [{'dst': '198.18.15.0/24', 'gateway': '198.18.0.3', 'dev': 'v0'}]  # table 100 from the scope
    check = play({M: {'netns': ns, 'state': 'overridden', 'table': 100, 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'state': 'overridden', 'table': 100, 'config': cfg}}] * 2)
    assert check['after'] == real['after'] and real['changed'] and not again['changed']
    assert [r['table'] for r in real['before']] == [100, 100] and real['after'][0]['table'] == 100
    k = kernel_routes(ns)
    assert set(k) == set(key for key in before if key[0] != '100') | {('100', '198.18.15.0/24', 0)}


def test_overridden_whole_namespace_keeps_kernel_routes(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    kernel_before = [r for r in all_routes(ns) if r.get('protocol') == 'kernel' or r.get('table') == 'local']
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': [CONFIG[0]]}})[0]
    assert r['changed'] and set(kernel_routes(ns)) == {('main', '198.18.10.0/24', 0)}
    kernel_after = [r for r in all_routes(ns) if r.get('protocol') == 'kernel' or r.get('table') == 'local']
    assert kernel_after == kernel_before and kernel_after


def test_deleted_by_match_and_all(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    task = {M: {'netns': ns, 'state': 'deleted', 'config': [{'dst': '198.18.11.0/24'}, {'dst': 'default', 'family': 6}]}}
    check = play(task, check=True)[0]
    assert len(kernel_routes(ns)) == len(CONFIG)
    real, again = play([task, task])
    assert check['after'] == real['after'] and real['changed'] and not again['changed']
    assert len(real['commands']) == 2 and ('100', '198.18.11.0/24', 5) not in kernel_routes(ns)
    assert ('main', 'default', 10) in kernel_routes(ns)  # the IPv4 default route stays
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'v0', 'family': 4}]}})[0]
    assert r['changed'] and not any(x.get('dev') == 'v0' for x in kernel_routes(ns).values() if ':' not in x['dst'])
    assert ('main', '198.18.10.0/24', 0) not in kernel_routes(ns) and ('100', '198.18.13.0/24', 0) in kernel_routes(ns)
    r = play({M: {'netns': ns, 'state': 'deleted', 'family': 4}})[0]
    assert r['changed'] and set(kernel_routes(ns)) == {('main', 'fd42:ed6e:10::/64', 1024)}
    r = play({M: {'netns': ns, 'state': 'deleted'}})[0]
    assert r['changed'] and kernel_routes(ns) == {}
    assert any(x.get('protocol') == 'kernel' and x['dst'] == '198.18.0.0/24' for x in all_routes(ns))


def test_rendered_local_type_routes_stay_in_their_table(ns, play):
    """iproute2 puts a local route given without a table in table local: the command the module renders for one
    in table main names table main, so that pasted it makes the module's route."""
    config = [{'dst': '198.18.13.0/24', 'type': 'local', 'dev': 'v0'},
              {'dst': 'fd42:ed6e:77::1/128', 'type': 'local', 'dev': 'v0'}]
    r = play({M: {'netns': ns, 'state': 'rendered', 'config': config}})[0]
    assert 'rendered' in r, r
    for line in r['rendered']:
        assert ' table main' in line, line
        sh(*line.split())
    task = {M: {'netns': ns, 'config': config}}
    again = play(task)[0]  # the pasted routes are the module's: nothing to do
    assert_no_traceback(again)
    assert not again['changed'] and again['commands'] == [], again


def test_gathered_feeds_back_and_rendered_works(ns, play):
    r = play({M: {'netns': ns, 'state': 'rendered', 'config': CONFIG}})[0]
    assert kernel_routes(ns) == {}
    assert 'ip -n %s route add 198.18.10.0/24 via 198.18.0.2 dev v0' % ns in r['rendered']
    # device routes first: a gateway route may need them
    assert r['rendered'][0] == 'ip -n %s route add 198.18.11.0/24 dev v1 table 100 metric 5 proto static ' \
        'src 198.18.1.1' % ns
    for line in r['rendered']:  # the rendered commands really work when pasted
        sh(*line.split())
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    assert not g['changed'] and len(g['gathered']) == len(CONFIG)
    first = [x for x in g['gathered'] if x['dst'] == '198.18.10.0/24'][0]
    assert first == {'dst': '198.18.10.0/24', 'family': 4, 'type': 'unicast', 'gateway': '198.18.0.2', 'dev': 'v0',
                     'onlink': False, 'table': 'main', 'metric': 0, 'protocol': 'boot', 'scope': 'global'}
    # what the commands made is exactly what the module would make
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': CONFIG}})[0]
    assert r['changed'] is False, r['commands']
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': g['gathered']}})[0]
    assert_no_traceback(r)
    assert not r.get('failed') and r['changed'] is False, r.get('msg')  # (a failed task has changed false too)


FIELD_ORDER = ('dst', 'family', 'type', 'gateway', 'dev', 'onlink', 'nexthops', 'table', 'metric', 'protocol', 'scope',
               'prefsrc', 'mtu')


def test_gathered_routes_show_their_fields_in_the_documented_order(ns, play):
    """The engine does not reorder the fields of the routes the gather decodes (Route.gathered_in_order): the
    decoder makes them in the documented order, for every kind of route, and both decoders (a table of plain
    routes takes the fast one; a route with a realm, a preference or next hops the general one)."""
    for line in ('198.18.20.0/24 via 198.18.0.2', '198.18.21.0/24 dev v0 src 198.18.0.1 mtu 1400', 'blackhole 198.18.22.0/24',
                 'unreachable 198.18.23.0/24 metric 5 table 100', '198.18.24.0/24 nexthop via 198.18.0.2 nexthop via 198.18.1.2',
                 'default via 198.18.0.2 proto static', '198.18.25.0/24 via 198.18.0.2 realm 5',
                 '198.18.26.0/24 via 198.18.9.2 dev v0 onlink', 'prohibit 198.18.27.0/24', 'throw 198.18.28.0/24 table 100',
                 '198.18.29.0/24 via inet6 fd42:ed6e::2 dev v0', 'multicast 239.1.0.0/16 dev v0 table 100',
                 '-6 fd42:ed6e:20::/64 via fd42:ed6e::2', '-6 fd42:ed6e:21::/64 dev v0 mtu 1400',
                 '-6 blackhole fd42:ed6e:22::/64', '-6 fd42:ed6e:23::/64 nexthop via fd42:ed6e::2 nexthop via fd42:ed6e:1::2',
                 '-6 default via fd42:ed6e::2 metric 10', '-6 fd42:ed6e:24::/64 via fd42:ed6e::2 pref high',
                 '-6 fd42:ed6e:25::/64 dev v0 src fd42:ed6e::1',
                 # (alike but for their dst: the fast decoder's, which decodes the first of them the general way)
                 '198.18.30.0/24 via 198.18.0.2', '198.18.31.0/24 via 198.18.0.2', '-6 fd42:ed6e:30::/64 via fd42:ed6e::2',
                 '-6 fd42:ed6e:31::/64 via fd42:ed6e::2'):
        words = line.split()
        head = words[:1] if words[0] == '-6' else []
        sh('ip', '-n', ns, *head, 'route', 'add', *words[len(head):])
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    assert_no_traceback(g)
    assert len(g['gathered']) == 23, g['gathered']
    for route in g['gathered']:
        assert list(route) == [f for f in FIELD_ORDER if f in route], route
    # the oracle: the same routes (by dst) as iproute2 shows
    assert set((r['family'], r['dst']) for r in g['gathered']) == set(
        (4 if fam == '-4' else 6, r['dst']) for fam in ('-4', '-6') for r in ipj(ns, fam, 'route', 'show', 'table', 'all')
        if r.get('protocol') != 'kernel' and r.get('table') != 'local' and not r['dst'].startswith(('fe80', 'ff00')))


def test_a_gathered_multipath_route_feeds_back(ns, play):
    """Gathered shows `onlink: false` next to a multipath route's nexthops; fed back (merged, replaced,
    overridden, in check mode too) it is the same route, changed=0 (it was refused: "'onlink' cannot be
    combined with nexthops"). `onlink: true` there is still refused."""
    sh('ip', '-n', ns, 'route', 'add', '198.18.13.0/24', 'nexthop', 'via', '198.18.0.2', 'weight', '1',
       'nexthop', 'via', '198.18.0.3', 'weight', '2')
    before = all_routes(ns)
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    route = [r for r in g['gathered'] if r['dst'] == '198.18.13.0/24']
    assert route == [{'dst': '198.18.13.0/24', 'family': 4, 'type': 'unicast', 'onlink': False,
                      'nexthops': [{'dev': 'v0', 'weight': 1, 'onlink': False, 'gateway': '198.18.0.2'},
                                   {'dev': 'v0', 'weight': 2, 'onlink': False, 'gateway': '198.18.0.3'}],
                      'table': 'main', 'metric': 0, 'protocol': 'boot', 'scope': 'global'}], route
    for state in ('merged', 'replaced', 'overridden'):
        for check in (True, False):
            r = play({M: {'netns': ns, 'state': state, 'config': route}}, check=check)[0]
            assert_no_traceback(r)
            assert not r.get('failed') and r['changed'] is False and r['commands'] == [], (state, r.get('msg'))
    assert all_routes(ns) == before
    bad = dict(route[0], onlink=True)
    r = play({M: {'netns': ns, 'config': [bad]}})[0]
    assert r['failed'] and "field 'onlink'" in r['msg'] and 'cannot be combined with nexthops' in r['msg'], r['msg']
    assert_no_traceback(r)
    assert all_routes(ns) == before


@pytest.mark.parametrize('item, field, text', [
    ({'dst': '198.18.20.0/24', 'dev': 'nosuch0'}, 'dev', "device 'nosuch0' does not exist"),
    ({'dst': '198.18.20.0/24', 'nexthops': [{'gateway': '198.18.0.2', 'dev': 'v0'},
                                            {'gateway': '198.18.1.2', 'dev': 'nosuch1'}]},
     'nexthops[1].dev', "device 'nosuch1' does not exist"),
    ({'dst': '198.18.20.1/24', 'dev': 'v0'}, 'dst', 'not a valid prefix'),
    ({'dst': '198.18.300.0/24', 'dev': 'v0'}, 'dst', 'not a valid prefix'),
    ({'dst': 'fd42:ed6e:20::/64', 'gateway': '198.18.0.2', 'dev': 'v0'}, 'gateway', 'is IPv4 but dst'),
    ({'dst': '198.18.20.0/24', 'gateway': 'fd42:ed6e::2'}, 'dev', 'an IPv6 gateway of an IPv4 route needs dev'),
    ({'dst': '198.18.20.0/24', 'nexthops': [{'gateway': '198.18.0.2', 'dev': 'v0', 'weight': 257},
                                            {'gateway': '198.18.1.2', 'dev': 'v1'}]},
     'nexthops[0].weight', 'out of range (1 to 256)'),
    ({'dst': '198.18.20.0/24', 'nexthops': [{'gateway': '198.18.0.2', 'dev': 'v0'}]}, 'nexthops', 'at least 2'),
    ({'dst': 'fd42:ed6e:20::/64', 'dev': 'v0', 'scope': 'link'}, 'scope', 'IPv6 routes have no scope'),
    ({'dst': '198.18.20.0/24', 'type': 'blackhole', 'dev': 'v0'}, 'dev', 'a blackhole route has no'),
    ({'dst': '198.18.20.0/24', 'dev': 'v0', 'table': 'nosuch'}, 'table', "unknown table 'nosuch'"),
    ({'dst': '198.18.0.0/24', 'dev': 'v0'}, 'dst', 'owned by the kernel'),
    ({'dst': '198.18.20.0/24', 'gateway': '198.18.0.2', 'scope': 'host'}, 'scope', 'scope host'),
    ({'dst': '198.18.20.0/24', 'scope': 'host',
      'nexthops': [{'gateway': '198.18.0.2', 'dev': 'v0'}, {'gateway': '198.18.1.2', 'dev': 'v1'}]},
     'scope', 'multiple nexthops'),
    ({'dst': '198.18.20.0/24', 'dev': 'v0', 'scope': 'nowhere'}, 'scope', 'Invalid scope'),
    ({'dst': '198.18.20.0/24', 'gateway': '198.18.0.2', 'dev': 'v0', 'onlink': True, 'scope': 'link'}, 'scope',
     'Nexthop has invalid scope'),
    ({'dst': '198.18.20.0/24'}, 'dev', 'needs dev, gateway or nexthops'),
    ({'dst': 'fd42:ed6e:20::/64', 'table': 100}, 'dev', 'needs dev, gateway or nexthops'),
])
def test_bad_input_is_refused_and_kernel_untouched(ns, play, item, field, text):
    before = all_routes(ns)
    # a good item first: nothing may be applied when a later item is bad
    r = play({M: {'netns': ns, 'config': [{'dst': '198.18.9.0/24', 'dev': 'v1'}, item]}})[0]
    assert r['failed'] and text in r['msg'] and ("field '%s'" % field) in r['msg'], r['msg']
    assert_no_traceback(r)
    assert all_routes(ns) == before


def test_what_is_refused_before_sending_is_what_the_kernel_refuses(ns):
    """The oracle for the scopes and the missing next hop that test_bad_input_is_refused_and_kernel_untouched
    refuses in the module, in check mode too (they had passed check mode): iproute2 sends each, the kernel refuses
    it, and one step away it takes it."""
    for refused, taken in (
            ('198.18.20.0/24 via 198.18.0.2 scope host', '198.18.20.0/24 dev v0 scope host'),
            ('198.18.20.0/24 dev v0 scope nowhere', 'blackhole 198.18.20.0/24 scope nowhere'),
            ('198.18.20.0/24 via 198.18.0.2 dev v0 onlink scope link', '198.18.20.0/24 via 198.18.0.2 dev v0 onlink'),
            ('198.18.20.0/24', '198.18.20.0/24 dev v0')):
        assert subprocess.run(['ip', '-n', ns, 'route', 'add'] + refused.split(), capture_output=True,
                              check=False).returncode != 0, refused
        sh('ip', '-n', ns, 'route', 'add', *taken.split())
        sh('ip', '-n', ns, 'route', 'del', *taken.split())


def test_check_mode_warns_of_what_the_kernel_would_refuse_as_the_host_stands(ns, play):
    """A gateway that no link reaches, a prefsrc that is no address of the host, a gateway for a route of scope link
    that is not the host's own address: the kernel refuses each, but an earlier task of the play may add what it
    needs, and check mode runs no earlier task. Check mode showed the change and said nothing; it now warns, naming
    the route, the field and the kernel's refusal, and the real run fails with the kernel's word and changes
    nothing."""
    before = all_routes(ns)
    for item, field, kernel in (
            ({'dst': '198.18.94.0/24', 'gateway': '198.18.9.9'}, 'gateway 198.18.9.9', 'Nexthop has invalid gateway'),
            ({'dst': '198.18.94.0/24', 'gateway': '198.18.1.9', 'dev': 'v0'}, 'gateway 198.18.1.9',
             'Nexthop has invalid gateway'),
            ({'dst': '198.18.94.0/24', 'gateway': '198.18.0.2', 'scope': 'link'}, 'gateway 198.18.0.2',
             'Nexthop has invalid gateway'),
            ({'dst': '198.18.94.0/24', 'nexthops': [{'gateway': '198.18.0.2', 'dev': 'v0'},
                                                    {'gateway': '198.18.9.9', 'dev': 'v1'}]},
             'nexthops[1].gateway 198.18.9.9', 'Nexthop has invalid gateway'),
            ({'dst': '198.18.94.0/24', 'dev': 'v0', 'prefsrc': '198.18.0.7'}, 'prefsrc 198.18.0.7',
             'Invalid prefsrc address'),
            ({'dst': 'fd42:ed6e:94::/64', 'gateway': 'fd42:ed6e:9::9'}, 'gateway fd42:ed6e:9::9', 'No route to host'),
            ({'dst': 'fd42:ed6e:94::/64', 'gateway': 'fd42:ed6e::1'}, 'gateway fd42:ed6e::1',
             'Gateway can not be a local address'),
            ({'dst': 'fd42:ed6e:94::/64', 'dev': 'v0', 'prefsrc': 'fd42:ed6e::7'}, 'prefsrc fd42:ed6e::7',
             'Invalid source address')):
        task = {M: {'netns': ns, 'config': [item]}}
        check, = play(task, check=True)
        assert_no_traceback(check)
        assert check['changed'] and not check.get('failed'), check
        said = [w for w in check.get('warnings') or [] if 'check mode' in w and field + ' ' in w]
        assert len(said) == 1 and kernel in said[0] and 'earlier task' in said[0], (item, check.get('warnings'))
        real, = play(task)
        assert_no_traceback(real)
        assert real['failed'] and kernel in real['msg'], (item, real['msg'])
        assert all_routes(ns) == before
    # what the host reaches, or the same task adds, is no warning: a gateway on a device route of the task, the
    # host's own address as the gateway of a route of scope link, the host's own address as prefsrc, a gateway in
    # another table that the kernel's lookup reaches through the rules
    # (and, found by a probe: a gateway in a rule's table under a more specific route through a gateway, which
    # the kernel's scoped lookup passes over; a gateway of a route of scope link on a device route of scope host)
    sh('ip', '-n', ns, 'route', 'add', '198.18.96.0/24', 'dev', 'v1', 'table', '300')
    sh('ip', '-n', ns, 'route', 'add', '198.18.96.64/26', 'via', '198.18.0.2', 'table', '300')
    sh('ip', '-n', ns, 'rule', 'add', 'to', '198.18.96.0/24', 'table', '300', 'pref', '300')
    sh('ip', '-n', ns, 'route', 'add', '198.18.89.0/24', 'dev', 'v1', 'scope', 'host')
    try:
        task = {M: {'netns': ns, 'config': [
            {'dst': '198.18.95.0/24', 'dev': 'v1'}, {'dst': '198.18.94.0/24', 'gateway': '198.18.95.1'},
            {'dst': '198.18.97.0/24', 'gateway': '198.18.0.1', 'scope': 'link'},
            {'dst': '198.18.98.0/24', 'dev': 'v0', 'prefsrc': '198.18.1.1'},
            {'dst': '198.18.99.0/24', 'gateway': '198.18.96.1', 'dev': 'v1'},
            {'dst': '198.18.90.0/24', 'gateway': '198.18.96.70'},
            {'dst': '198.18.91.0/24', 'gateway': '198.18.89.7', 'scope': 'link'},
            {'dst': 'fd42:ed6e:94::/64', 'dev': 'v0', 'prefsrc': 'fd42:ed6e:1::1'}]}}
        check, = play(task, check=True)
        assert check['changed'] and not check.get('warnings'), check.get('warnings')
        first, _again, _check = apply_then_unchanged(play, task)
        # (a gateway reached only through a rule's table gets the kernel's device: check mode shows none, as the
        # module's docs say)
        assert [r for r in first['after'] if r['dst'] != '198.18.90.0/24'] == [
            r for r in check['after'] if r['dst'] != '198.18.90.0/24']
    finally:
        sh('ip', '-n', ns, 'rule', 'del', 'pref', '300')


def test_check_mode_of_a_play_whose_earlier_task_adds_the_address(ns, play):
    """The warning's case: check mode cannot know of the address an earlier task adds, so it warns and goes on; the
    real run adds the address, then the route, as predicted."""
    tasks = [{'edgenet.linux.address': {'netns': ns, 'config': [{'dev': 'v0', 'address': '198.18.2.1/24'}]}},
             {M: {'netns': ns, 'config': [{'dst': '198.18.94.0/24', 'gateway': '198.18.2.2',
                                           'prefsrc': '198.18.2.1'}]}}]
    _addr, check = play(tasks, check=True)
    assert check['changed'] and len([w for w in check['warnings'] if 'earlier task' in w]) == 2, check['warnings']
    _addr, real = play(tasks)
    # (the device the kernel will pick is the one fact check mode could not tell: it shows none)
    assert real['changed'] and not real.get('warnings'), real
    assert [dict(r, dev=None) for r in real['after']] == [dict(r, dev=None) for r in check['after']], (check, real)
    got = ipj(ns, 'route', 'show', '198.18.94.0/24')
    assert [(r['gateway'], r['dev'], r['prefsrc']) for r in got] == [('198.18.2.2', 'v0', '198.18.2.1')], got


def test_an_ipv4_next_hop_listed_twice_is_the_kernels_and_feeds_back(ns, play):
    """The kernel keeps an IPv4 next hop listed twice (as listed, each with its weight); the module refused such a
    route ("the same nexthop is listed twice"), so a gathered route with one did not feed back. It refuses it of an
    IPv6 route only, as the kernel does (File exists), before anything is sent."""
    hops = [{'gateway': '198.18.0.2', 'dev': 'v0'}, {'gateway': '198.18.0.2', 'dev': 'v0', 'weight': 3}]
    task = {M: {'netns': ns, 'config': [{'dst': '198.18.97.0/24', 'nexthops': hops}]}}
    check = play(task, check=True)[0]
    first, _again, _check = apply_then_unchanged(play, task)
    assert check['commands'] == first['commands'] == [
        'ip -n %s route add 198.18.97.0/24 nexthop via 198.18.0.2 dev v0 weight 1 nexthop via 198.18.0.2 dev v0 '
        'weight 3' % ns], first['commands']
    got = ipj(ns, 'route', 'show', '198.18.97.0/24')
    assert [(h['gateway'], h['dev'], h['weight']) for h in got[0]['nexthops']] == [
        ('198.18.0.2', 'v0', 1), ('198.18.0.2', 'v0', 3)], got
    sh('ip', '-n', ns, 'route', 'add', '198.18.98.0/24', 'nexthop', 'via', '198.18.1.2', 'dev', 'v1', 'nexthop', 'via',
       '198.18.1.2', 'dev', 'v1')
    gathered = play({M: {'netns': ns, 'state': 'gathered'}})[0]['gathered']
    mine = [r for r in gathered if r['dst'] in ('198.18.97.0/24', '198.18.98.0/24')]
    again = play({M: {'netns': ns, 'config': mine}})[0]
    assert len(mine) == 2 and not again.get('failed') and not again['changed'] and again['commands'] == [], again
    before = all_routes(ns)
    six = {M: {'netns': ns, 'config': [{'dst': 'fd42:ed6e:97::/64', 'nexthops': [
        {'gateway': 'fd42:ed6e::2', 'dev': 'v0'}, {'gateway': 'fd42:ed6e::2', 'dev': 'v0'}]}]}}
    for r in play(six, check=True) + play(six):
        assert r['failed'] and "field 'nexthops'" in r['msg'] and 'File exists' in r['msg'], r['msg']
    assert all_routes(ns) == before


def test_duplicate_keys_and_missing_dst_refused(ns, play):
    before = all_routes(ns)
    r = play({M: {'netns': ns, 'config': [CONFIG[0], {'dst': '198.18.10.0/24', 'dev': 'v1', 'metric': 0}]}})[0]
    assert r['failed'] and 'duplicate key' in r['msg'] and 'config[0]' in r['msg'] and 'config[1]' in r['msg']
    assert "field 'dst'" in r['msg'], r['msg']  # (it named 'table', the first key field)
    r2 = play({M: {'netns': ns, 'config': [{'gateway': '198.18.0.2', 'dev': 'v0'}]}})[0]
    assert r2['failed'] and 'dst' in r2['msg'] and 'missing' in r2['msg']
    for x in (r, r2):
        assert_no_traceback(x)
    assert all_routes(ns) == before


def test_an_ipv6_next_hop_on_a_device_without_ipv6_is_refused_before_anything_is_sent(ns, play):
    """The kernel refuses an IPv6 next hop (of an IPv6 route, single or multipath, or the IPv6 gateway of an IPv4
    route) on a device with IPv6 disabled (disable_ipv6, set in the task's namespace: EACCES, "IPv6 is disabled on
    nexthop device"), and on a device without IPv6 (an MTU below 1280 removes it: ENODEV). Check mode showed such a
    route made, and the real run failed in the kernel and rolled back what it had made before. The real run now
    refuses it before anything is sent, naming the route and the field of the hop; the kernel is as it was. Check
    mode, which runs no earlier task of the play, warns with the same words that its prediction assumes an earlier
    task sets disable_ipv6 to 0 or raises the MTU, and predicts the route made, as it does for a device an earlier
    task makes (it refused it, so the --check of a play whose earlier task gives the device IPv6 failed where the
    real play succeeds). An IPv4 route through an IPv6 gateway outlives disable_ipv6: a change of it is refused the
    same way, and a delete is the kernel's to take. IPv4 routes on those devices and IPv6 routes without a next hop
    are made."""
    sh('ip', '-n', ns, 'route', 'add', '198.18.63.0/24', 'via', 'inet6', 'fe80::1', 'dev', 'v1')
    sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.v1.disable_ipv6=1')
    sh('ip', '-n', ns, 'link', 'add', 'v2', 'mtu', '1000', 'type', 'veth', 'peer', 'name', 'v3')
    sh('ip', '-n', ns, 'link', 'set', 'v2', 'up')  # (v3 stays down: it would get IPv6 link-local routes meanwhile)
    before, kept = all_routes(ns), set(kernel_routes(ns))
    assert [r['dst'] for r in ipj(ns, 'route', 'show', 'dev', 'v1') if r.get('via', {}).get('host') == 'fe80::1'] == [
        '198.18.63.0/24']
    good = {'dst': '198.18.60.0/24', 'dev': 'v0'}
    disabled = 'v1 has IPv6 disabled (net.ipv6.conf.v1.disable_ipv6 = 1); the kernel refuses an IPv6 next hop on it ' \
               '(IPv6 is disabled on nexthop device)'
    enable = 'sets net.ipv6.conf.v1.disable_ipv6 = 0'
    for item, label, field, why, assumed in (
            ({'dst': 'fd42:ed6e:50::/64', 'dev': 'v1'}, 'route fd42:ed6e:50::/64 table main metric 1024', 'dev',
             disabled, enable),
            ({'dst': 'fd42:ed6e:51::/64', 'nexthops': [{'gateway': 'fd42:ed6e::2', 'dev': 'v0'},
                                                       {'gateway': 'fe80::1', 'dev': 'v1'}]},
             'route fd42:ed6e:51::/64 table main metric 1024', 'nexthops[1].dev', disabled, enable),
            ({'dst': '198.18.61.0/24', 'gateway': 'fe80::2', 'dev': 'v1'}, 'route 198.18.61.0/24 table main metric 0',
             'dev', disabled, enable),
            ({'dst': '198.18.63.0/24', 'gateway': 'fe80::1', 'dev': 'v1', 'protocol': 'static'},
             'route 198.18.63.0/24 table main metric 0', 'dev', disabled, enable),
            ({'dst': 'fd42:ed6e:52::/64', 'gateway': 'fe80::1', 'dev': 'v2'},
             'route fd42:ed6e:52::/64 table main metric 1024', 'dev',
             'v2 has no IPv6 (the kernel removes it from a device whose MTU is below 1280; this one has 1000); the '
             'kernel refuses an IPv6 next hop on it (No such device)', 'raises the MTU of v2 to 1280 or more')):
        task = {M: {'netns': ns, 'config': [good, {'dst': 'fd42:ed6e:53::/64', 'dev': 'v0'}, item]}}
        check, real = play(task, check=True)[0], play(task)[0]
        for r in (check, real):
            assert_no_traceback(r)
        assert real.get('failed') and real['object'] == label and real['field'] == field, real
        assert real['msg'] == "%s: field '%s': %s" % (label, field, why), real['msg']
        assert not real.get('rolled_back') and not real.get('failed_command'), real
        assert not check.get('failed') and check['changed'], check
        warned = 'check mode: %s; this prediction assumes an earlier task of the play %s' % (real['msg'], assumed)
        assert [w for w in check['warnings'] if 'IPv6' in w] == [warned], check['warnings']
        assert [r for r in check['after'] if r['dst'] == item['dst']], check
        assert all_routes(ns) == before
    cfg = [{'dst': 'fd42:ed6e:54::/64', 'type': 'blackhole'}, {'dst': '198.18.61.0/24', 'dev': 'v1'},
           {'dst': '198.18.62.0/24', 'dev': 'v2'}, {'dst': 'fd42:ed6e:53::/64', 'dev': 'v0'}]
    apply_then_unchanged(play, {M: {'netns': ns, 'config': cfg}})
    made = set(kernel_routes(ns)) - kept
    assert made == {('main', 'fd42:ed6e:54::/64', 1024), ('main', '198.18.61.0/24', 0), ('main', '198.18.62.0/24', 0),
                    ('main', 'fd42:ed6e:53::/64', 1024)}, made
    apply_then_unchanged(play, {M: {'netns': ns, 'state': 'deleted', 'config': [{'dst': '198.18.63.0/24'}]}})
    assert ('main', '198.18.63.0/24', 0) not in kernel_routes(ns)


def test_check_mode_assumes_an_earlier_task_gives_the_device_ipv6(ns, play):
    """A play that gives devices IPv6 (sets disable_ipv6 to 0 on one, raises the MTU of another with the link
    module) and then adds IPv6 routes through them: check mode, where those tasks changed nothing, warns and predicts
    what the real run then makes (it failed: the --check of the play failed where the play succeeds)."""
    without_ipv6(ns)
    cfg = [{'dst': 'fd42:ed6e:55::/64', 'dev': 'v1'}, {'dst': 'fd42:ed6e:56::/64', 'gateway': 'fe80::1', 'dev': 'v2'}]
    check_assumes_ipv6_then_real(play, ns, {M: {'netns': ns, 'config': cfg}}, lambda: all_routes(ns))
    assert {('main', 'fd42:ed6e:55::/64', 1024), ('main', 'fd42:ed6e:56::/64', 1024)} <= set(kernel_routes(ns))


def test_transaction_rolls_back_when_third_of_five_fails(ns, play):
    """The kernel refuses the third route (its gateway is not on any link); everything else it applied is undone.

    The plan goes out pipelined (the bulk path): the kernel processes every request of the batch, so the two
    routes after the refused one were made too, and all four are rolled back, newest first.
    """
    play({M: {'netns': ns, 'config': [CONFIG[0], CONFIG[1]]}})
    before = all_routes(ns)
    cfg = [{'dst': '198.18.20.0/24', 'dev': 'v0'},
           {'dst': '198.18.21.0/24', 'gateway': '198.18.0.5', 'dev': 'v0'},
           {'dst': '198.18.22.0/24', 'gateway': '198.18.50.2', 'dev': 'v0'},
           {'dst': '198.18.23.0/24', 'gateway': '198.18.1.5', 'dev': 'v1'},
           {'dst': '198.18.24.0/24', 'gateway': '198.18.1.6', 'dev': 'v1'}]
    r = play({M: {'netns': ns, 'config': cfg}})[0]
    assert r['failed'], r
    assert_no_traceback(r)
    assert 'route 198.18.22.0/24 table main metric 0' in r['msg'], r['msg']
    assert 'Nexthop has invalid gateway' in r['msg'] and 'ENETUNREACH' in r['msg'], r['msg']
    assert 'rolled back the 4 change(s)' in r['msg']
    assert r['failed_command'] == ['ip -n %s route add 198.18.22.0/24 via 198.18.50.2 dev v0' % ns]
    assert r['rolled_back'] == ['ip -n %s route del %s metric 0' % (ns, dst)
                                for dst in ('198.18.24.0/24', '198.18.23.0/24', '198.18.21.0/24', '198.18.20.0/24')]
    assert r['rollback_failed'] == []
    assert all_routes(ns) == before


def test_elements_that_spell_a_route_as_gathered(ns, play):
    """State merged gathers first and takes an element that spells a route exactly as the kernel has it as that
    route, without normalizing it (the engine's fast path, most of a 20,000-route re-check). It must behave as
    the normal path: no change on a re-run (check mode too), the same error for a duplicate (both elements
    fast, or one fast and one spelled otherwise), the same error for bad input, a real change when a field
    differs, and the table of the module's scope for an element without one."""
    config = [
        {'dst': '198.18.20.0/24', 'gateway': '198.18.0.2', 'dev': 'v0', 'table': 100, 'metric': 7,
         'protocol': 'static'},
        {'dst': 'fd42:ed6e:20::/64', 'gateway': 'fd42:ed6e::2'},
        {'dst': '198.18.21.0/24', 'dev': 'v1'},
    ]
    apply_then_unchanged(play, {M: {'netns': ns, 'config': config}})
    routes = kernel_routes(ns)
    assert (routes[('100', '198.18.20.0/24', 7)]['protocol'], routes[('main', 'fd42:ed6e:20::/64', 1024)]['dev']) \
        == ('static', 'v0')
    before = all_routes(ns)
    # duplicates: the same route twice as gathered; once as gathered and once in another spelling
    for dup in ([config[1], config[1]], [config[1], {'dst': 'FD42:ED6E:20:0::/64', 'gateway': 'FD42:ED6E::2'}],
                [{'dst': '198.18.21.0/24', 'dev': 'v1', 'metric': 0}, config[2]]):
        r = play({M: {'netns': ns, 'config': dup}})[0]
        assert r['failed'] and 'duplicate key' in r['msg'] and 'config[1]' in r['msg'] and 'config[0]' in r['msg'], r
    # bad input on an element that otherwise names an existing route: the normal path's error
    r = play({M: {'netns': ns, 'config': [dict(config[2], type='blackhole')]}})[0]
    assert r['failed'] and "has no 'dev'" in r['msg'] and r.get('object') == 'config[0]', r
    r = play({M: {'netns': ns, 'config': [dict(config[1], family=4)]}})[0]
    assert r['failed'] and 'IPv' in r['msg'], r
    for r in play([{M: {'netns': ns, 'config': dup}} for dup in ([config[1], config[1]],)]):
        assert_no_traceback(r)
    assert all_routes(ns) == before
    # the module's table scope: an element without a table is in that table
    scoped = {M: {'netns': ns, 'table': 100, 'config': [dict((k, v) for k, v in config[0].items() if k != 'table')]}}
    r = play([scoped], check=True)[0]
    assert not r['failed'] and not r['changed'], r
    # a field that differs is a change (protocol static -> boot), made and then stable
    changed = {M: {'netns': ns, 'config': [dict(config[0], protocol='boot')]}}
    r, r2 = play([changed, changed])
    assert r['changed'] and not r2['changed'], (r, r2)
    assert kernel_routes(ns)[('100', '198.18.20.0/24', 7)].get('protocol', 'boot') == 'boot'


@pytest.mark.parametrize('field, value', [('protocol', 256), ('scope', 256), ('protocol', '300')])
def test_numbers_above_255_refused_in_check_mode_too(ns, play, field, value):
    """protocol and scope are one byte of the rtmsg: a larger number is bad input, named by its field, before
    anything is sent, in check mode too (it was accepted there, and the real run failed with a struct error)."""
    before = all_routes(ns)
    task = {M: {'netns': ns, 'config': [{'dst': '198.18.9.0/24', 'dev': 'v1'},
                                        {'dst': '198.18.20.0/24', 'gateway': '198.18.0.2', field: value}]}}
    check, real = play(task, check=True)[0], play(task)[0]
    for r in (check, real):
        assert_no_traceback(r)
        assert r['failed'] and r['msg'] == "config[1]: field '%s': %s is out of range (0 to 255)" % (field, value), r
    assert all_routes(ns) == before
    if field == 'protocol':  # 255 is a byte: accepted, and a re-run finds it
        first, _again, _check = apply_then_unchanged(play, {M: {'netns': ns, 'config': [
            {'dst': '198.18.20.0/24', 'gateway': '198.18.0.2', field: 255}]}})
        assert first['after'][0][field] == 255 and ipj(ns, 'route', 'show', '198.18.20.0/24')[0]['protocol'] == '255'


def test_a_route_with_a_source_prefix_is_not_the_route_without_one(ns, play):
    """IPv6 routes with a source prefix (`from`) are to the kernel other routes than the one without: the module
    manages the latter only, and never shows, changes or deletes the former (it took one for the plain route)."""
    src = ['fd42:ed6e:51::/64', 'from', 'fd42:ed6e:99::/64', 'dev', 'v0']
    sh('ip', '-n', ns, '-6', 'route', 'add', *src)

    def routes_51():
        return sorted(r.get('from', '') for r in ipj(ns, '-6', 'route', 'show', 'fd42:ed6e:51::/64'))
    one = {'dst': 'fd42:ed6e:51::/64', 'dev': 'v0'}
    check = play({M: {'netns': ns, 'config': [one]}}, check=True)[0]
    first, _again, _check = apply_then_unchanged(play, {M: {'netns': ns, 'config': [one]}})
    assert check['changed'] and check['before'] == [] and check['commands'] == first['commands']
    assert routes_51() == ['', 'fd42:ed6e:99::/64']
    r = play({M: {'netns': ns, 'state': 'deleted', 'family': 6}})[0]
    assert_no_traceback(r)
    assert r['changed'] and not r.get('failed') and routes_51() == ['fd42:ed6e:99::/64'], r


def test_a_route_with_a_tos_is_not_the_route_without_one(ns, play):
    """The kernel tells IPv4 routes apart by their TOS too; the module manages the routes without one (TOS 0).
    A route with a TOS is never shown, changed or deleted: it is not the TOS-0 route of the same key, which
    was taken for present, and a delete of that key planned a delete per route (the second failed, and the
    rollback put back the wrong route)."""
    tos = ['198.18.51.0/24', 'via', '198.18.0.2', 'dev', 'v0', 'tos', '0x10']

    def routes_51():
        return sorted((r.get('tos', '0'), r.get('gateway'), tuple(m.get('mtu') for m in r.get('metrics', ())))
                      for r in ipj(ns, 'route', 'show', '198.18.51.0/24'))

    sh('ip', '-n', ns, 'route', 'add', *tos)
    gathered = play({M: {'netns': ns, 'state': 'gathered', 'family': 4}})[0]
    assert [r for r in gathered['gathered'] if r['dst'] == '198.18.51.0/24'] == []
    # merged: the TOS-0 route does not exist, so it is added (check mode predicts it), beside the TOS route
    one = {'dst': '198.18.51.0/24', 'gateway': '198.18.0.2', 'mtu': 1400}
    check = play({M: {'netns': ns, 'config': [one]}}, check=True)[0]
    first, again, _check = apply_then_unchanged(play, {M: {'netns': ns, 'config': [one]}})
    assert check['changed'] and check['before'] == [] and check['commands'] == first['commands'] == [
        'ip -n %s route add 198.18.51.0/24 via 198.18.0.2 dev v0 mtu 1400' % ns]
    assert check['after'] == first['after'] and [r['dst'] for r in first['after']] == ['198.18.51.0/24']
    assert routes_51() == [('0', '198.18.0.2', (1400,)), ('0x10', '198.18.0.2', ())]
    # deleted by dst: one route (the TOS-0 one), check mode as the real run; the TOS route stays
    task = {M: {'netns': ns, 'state': 'deleted', 'config': [{'dst': '198.18.51.0/24'}]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    for r in (check, real, again):
        assert_no_traceback(r)
    assert not real.get('failed') and real['changed'] and not again['changed'], real
    assert check['commands'] == real['commands'] == ['ip -n %s route del 198.18.51.0/24 metric 0' % ns]
    assert check['before'] == real['before'] and len(real['before']) == 1 and check['after'] == real['after'] == []
    assert routes_51() == [('0x10', '198.18.0.2', ())]
    # overridden and deleted of the whole namespace leave it alone too
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': [CONFIG[0]]}})[0]
    assert r['changed'] and not any(o['dst'] == '198.18.51.0/24' for o in r['before'] + r['after'])
    r = play({M: {'netns': ns, 'state': 'deleted'}})[0]
    assert r['changed'] and list(kernel_routes(ns)) == [('main', '198.18.51.0/24', 0)]
    assert routes_51() == [('0x10', '198.18.0.2', ())]


def test_a_key_the_kernel_holds_twice_is_never_written(ns, play):
    """`ip route append` (IPv4) and `ip -6 route append` make a second route of one (table, dst, metric), which the
    module's writes cannot tell from the first: a replace or delete names the key and the kernel takes the first
    route. A task that one of the routes already satisfies changes nothing (it used to plan a replace of the key
    on every run: the kernel's first route already was what it asked); any write to the key is refused, in check
    mode as in the real run, and nothing is sent; once the extra route is gone, the key is managed as usual."""
    sh('ip', '-n', ns, 'route', 'add', '198.18.52.0/24', 'via', '198.18.0.2', 'dev', 'v0', 'metric', '7')
    sh('ip', '-n', ns, 'route', 'append', '198.18.52.0/24', 'dev', 'v1', 'metric', '7')
    sh('ip', '-n', ns, '-6', 'route', 'add', 'fd42:ed6e:52::/64', 'dev', 'v0')
    sh('ip', '-n', ns, '-6', 'route', 'append', 'fd42:ed6e:52::/64', 'dev', 'v1')
    v4 = {'dst': '198.18.52.0/24', 'metric': 7}
    v6 = {'dst': 'fd42:ed6e:52::/64'}
    routes = all_routes(ns)
    assert len([r for r in routes if r['dst'] in ('198.18.52.0/24', 'fd42:ed6e:52::/64')]) == 4
    for config in ([dict(v4, gateway='198.18.0.2', dev='v0')], [dict(v4, dev='v1')], [dict(v6, dev='v0')],
                   [dict(v6, dev='v1')], [dict(v4, dev='v1'), dict(v6, dev='v0', protocol='boot')]):
        task = {M: {'netns': ns, 'config': config}}
        for r in play([task], check=True) + play([task]):
            assert_no_traceback(r)
            assert not r.get('failed') and not r['changed'] and r['commands'] == [], (config, r)
            assert len(r['before']) == 2 * len(config) and r['before'] == r['after']
    refused = [('merged', [dict(v4, dev='v1', protocol='static')], '198.18.52.0/24 table main metric 7', 'change'),
               ('replaced', [dict(v6, dev='v1', metric=1024, protocol='static')], 'fd42:ed6e:52::/64', 'change'),
               ('deleted', [dict(v4, dev='v1')], '198.18.52.0/24', 'delete'),
               ('deleted', [v6], 'fd42:ed6e:52::/64', 'delete'),
               ('overridden', [{'dst': '198.18.53.0/24', 'dev': 'v0'}], '198.18.52.0/24', 'delete')]
    for state, config, label, action in refused:
        task = {M: {'netns': ns, 'state': state, 'config': config}}
        for r in play([task], check=True) + play([task]):
            assert_no_traceback(r)
            assert r['failed'] and label in r['msg'] and 'the kernel holds 2 objects of this key' in r['msg'], r
            assert 'cannot tell which of them this task would %s: nothing was changed' % action in r['msg'], r['msg']
            assert '`ip route del` with its dev or gateway deletes one' in r['msg'], r['msg']
        assert all_routes(ns) == routes, (state, config)
    # another route of the task changes: both routes of the key stay, in check mode's after as in the real run's
    task = {M: {'netns': ns, 'config': [dict(v4, dev='v1'), {'dst': '198.18.53.0/24', 'dev': 'v0'}]}}
    check = play([task], check=True)[0]
    real = play([task])[0]
    assert real['changed'] and check['commands'] == real['commands'] == ['ip -n %s route add 198.18.53.0/24 dev v0' % ns]
    assert check['after'] == real['after'] and [r.get('dev') for r in real['after']] == ['v0', 'v1', 'v0'], real['after']
    # the extra routes gone, the keys are managed as usual
    sh('ip', '-n', ns, 'route', 'del', '198.18.52.0/24', 'via', '198.18.0.2', 'dev', 'v0', 'metric', '7')
    sh('ip', '-n', ns, '-6', 'route', 'del', 'fd42:ed6e:52::/64', 'dev', 'v0')
    task = {M: {'netns': ns, 'config': [dict(v4, protocol='static'), dict(v6, protocol='static')]}}
    check = play([task], check=True)[0]
    first, _again, _check = apply_then_unchanged(play, task)
    assert check['commands'] == first['commands'] == [
        'ip -n %s route replace 198.18.52.0/24 dev v1 metric 7 proto static' % ns,
        'ip -n %s -6 route replace fd42:ed6e:52::/64 dev v1 proto static' % ns]
    assert check['after'] == first['after']
    k = kernel_routes(ns)
    assert [(k[key]['dev'], k[key]['protocol']) for key in (('main', '198.18.52.0/24', 7),
                                                            ('main', 'fd42:ed6e:52::/64', 1024))] == [('v1', 'static')] * 2


@pytest.mark.parametrize('state', ['merged', 'replaced'])
def test_a_new_gateway_without_dev_goes_where_the_kernel_reaches_it(ns, play, state):
    """A new gateway that the route's device does not reach, given without a dev: the old device was kept and sent
    with it (check mode showed it, the kernel refused it: "Nexthop has invalid gateway"). As `ip route replace DST
    via GATEWAY` does, the device that reaches the gateway is taken; a device that still reaches it stays."""
    sh('ip', '-n', ns, 'route', 'add', '198.18.40.0/24', 'via', '198.18.0.2', 'dev', 'v0')
    sh('ip', '-n', ns, '-6', 'route', 'add', 'fd42:ed6e:60::/64', 'dev', 'v0')
    cfg = [{'dst': '198.18.40.0/24', 'gateway': '198.18.1.2'}, {'dst': 'fd42:ed6e:60::/64', 'gateway': 'fd42:ed6e:1::2'}]
    task = {M: {'netns': ns, 'state': state, 'config': cfg}}
    check = play(task, check=True)[0]
    first, again, _check = apply_then_unchanged(play, task)
    assert check['commands'] == first['commands'] == [
        'ip -n %s route replace 198.18.40.0/24 via 198.18.1.2 dev v1' % ns,
        'ip -n %s -6 route replace fd42:ed6e:60::/64 via fd42:ed6e:1::2 dev v1' % ns], first
    assert check['after'] == first['after']
    k = kernel_routes(ns)
    keys = (('main', '198.18.40.0/24', 0), ('main', 'fd42:ed6e:60::/64', 1024))
    assert [(k[key]['gateway'], k[key]['dev']) for key in keys] == [('198.18.1.2', 'v1'), ('fd42:ed6e:1::2', 'v1')]
    # a new gateway on the same link: the device stays
    task = {M: {'netns': ns, 'state': state, 'config': [{'dst': '198.18.40.0/24', 'gateway': '198.18.1.3'}]}}
    first = play(task)[0]
    assert first['commands'] == ['ip -n %s route replace 198.18.40.0/24 via 198.18.1.3 dev v1' % ns], first


def test_a_gateway_is_reached_through_link_scope_routes_only(ns, play):
    """The kernel checks a gateway against the routes of scope link (fib_check_nh): a device route of scope global
    that holds it does not count. The module predicted that route's device (check mode said so, the kernel refused)."""
    sh('ip', '-n', ns, 'route', 'add', '198.18.0.128/25', 'dev', 'v1', 'scope', 'global')
    task = {M: {'netns': ns, 'config': [{'dst': '198.18.92.0/24', 'gateway': '198.18.0.130'}]}}
    check = play(task, check=True)[0]
    first, _again, _check = apply_then_unchanged(play, task)
    assert check['commands'] == first['commands'] == ['ip -n %s route add 198.18.92.0/24 via 198.18.0.130 dev v0' % ns]
    assert check['after'] == first['after'] and kernel_routes(ns)[('main', '198.18.92.0/24', 0)]['dev'] == 'v0'


def test_what_the_kernel_refuses_of_ipv6_gateways_is_refused_before_anything_is_sent(ns, play):
    """A link-local gateway without a dev (the kernel: "Egress device not specified"; the module picked a link), and
    an IPv6 multipath route with a next hop without a gateway (the kernel: "Device only routes can not be added for
    IPv6 using the multipath API"; check mode had shown it)."""
    before = all_routes(ns)
    for config, field, text in (
            ([{'dst': 'fd42:ed6e:90::/64', 'gateway': 'fe80::1'}], 'dev', 'a link-local gateway needs dev'),
            ([{'dst': 'fd42:ed6e:91::/64', 'nexthops': [{'dev': 'v0'}, {'dev': 'v1', 'gateway': 'fd42:ed6e:1::2'}]}],
             'nexthops[0].gateway', 'every next hop of an IPv6 multipath route needs a gateway')):
        task = {M: {'netns': ns, 'config': [{'dst': '198.18.93.0/24', 'dev': 'v0'}] + config}}
        for r in play(task, check=True) + play(task):
            assert_no_traceback(r)
            assert r['failed'] and text in r['msg'] and "field '%s'" % field in r['msg'], r['msg']
        assert all_routes(ns) == before
    task = {M: {'netns': ns, 'config': [{'dst': 'fd42:ed6e:90::/64', 'gateway': 'fe80::1', 'dev': 'v1'}]}}
    first, _again, _check = apply_then_unchanged(play, task)
    assert first['commands'] == ['ip -n %s -6 route add fd42:ed6e:90::/64 via fe80::1 dev v1' % ns]


# routes with what the module does not model: a realm, metrics but mtu (one of them locked), an IPv6 preference
UNMODELLED = [
    ('198.18.30.0/24', 'dev v0 realm 7 advmss 1400 initcwnd 10 mtu 1400'),
    ('198.18.31.0/24', 'via 198.18.0.2 dev v0 realms 3/4 rtt 100ms initrwnd 20 quickack 1 congctl lock cubic '
                       'mtu lock 1300'),
    ('fd42:ed6e:30::/64', 'via fd42:ed6e::2 dev v0 pref high hoplimit 9'),
]


def add_unmodelled(ns):
    for dst, rest in UNMODELLED:
        sh('ip', '-n', ns, '-6' if ':' in dst else '-4', 'route', 'add', dst, *rest.split())


def unmodelled_state(ns):
    """The routes of UNMODELLED as iproute2 shows them, JSON and text (the JSON has no metric locks)."""
    out = {}
    for fam in ('-4', '-6'):
        text = sh('ip', '-n', ns, fam, '-d', 'route', 'show')
        for r in ipj(ns, fam, '-d', 'route', 'show'):
            if r['dst'] in [dst for dst, _rest in UNMODELLED]:
                out[r['dst']] = (r, [line for line in text.splitlines() if line.split()[1] == r['dst']][0])
    return out


def test_a_change_keeps_what_the_module_does_not_model(ns, twin, play):
    """A change is a replace of the whole route (NLM_F_REPLACE): the attributes the module does not model (realm,
    metrics but mtu, an IPv6 preference or expiry) were dropped by every change. They are kept, in every state;
    the printed command says them too (pasted into a twin, it makes the same routes); check mode predicts the
    real run; a second run changes nothing."""
    add_unmodelled(ns)
    add_unmodelled(twin)
    cfg = [{'dst': '198.18.30.0/24', 'mtu': 1300},
           {'dst': '198.18.31.0/24', 'gateway': '198.18.1.2', 'dev': 'v1', 'mtu': 1280},
           {'dst': 'fd42:ed6e:30::/64', 'protocol': 'static'}]
    real = printed_then_real(play, {M: {'netns': ns, 'config': cfg}}, ns, twin, unmodelled_state)
    # the kernel's routes (oracle: iproute2)
    state = unmodelled_state(ns)
    r, text = state['198.18.30.0/24']
    assert r['flow'] == {'to': '7'} and r['metrics'] == [{'mtu': 1300, 'advmss': 1400, 'initcwnd': 10}], r
    r, text = state['198.18.31.0/24']
    assert (r['gateway'], r['dev'], r['flow']) == ('198.18.1.2', 'v1', {'from': '3', 'to': '4'}), r
    assert 'mtu lock 1280' in text and 'rtt 100ms' in text and 'initrwnd 20 quickack 1 congctl lock cubic' in text
    r, text = state['fd42:ed6e:30::/64']
    assert (r['protocol'], r['pref'], r['metrics']) == ('static', 'high', [{'hoplimit': 9}]), r
    assert real['changed'] and real['commands'][:2] == [
        'ip -n %s route replace 198.18.30.0/24 dev v0 mtu 1300 realm 7 advmss 1400 initcwnd 10' % ns,
        'ip -n %s route replace 198.18.31.0/24 via 198.18.1.2 dev v1 mtu lock 1280 realms 3/4 rtt 100ms '
        'initrwnd 20 quickack 1 congctl lock cubic' % ns]
    assert real['commands'][2] == ('ip -n %s -6 route replace fd42:ed6e:30::/64 via fd42:ed6e::2 dev v0 proto static '
                                   'hoplimit 9 pref high' % ns)
    # before and after show the modelled fields only: the diff is the change asked for
    assert 'mtu: 1300' in diff_side(real, 'after') and 'realm' not in diff_side(real, 'after')

    # an IPv6 route's expiry (it counts down: the command gives the seconds left when the task read the route)
    sh('ip', '-n', ns, '-6', 'route', 'add', 'fd42:ed6e:31::/64', 'via', 'fd42:ed6e::2', 'dev', 'v0', 'expires', '600')
    first, _again, _check = apply_then_unchanged(
        play, {M: {'netns': ns, 'config': [{'dst': 'fd42:ed6e:31::/64', 'protocol': 'static'}]}})
    assert re.match(r'ip -n %s -6 route replace fd42:ed6e:31::/64 via fd42:ed6e::2 dev v0 proto static expires '
                    r'(59\d|600)$' % ns, first['commands'][0]), first['commands']
    r = ipj(ns, '-6', 'route', 'show', 'fd42:ed6e:31::/64')[0]
    assert r['protocol'] == 'static' and 500 < r['expires'] <= 600, r

    # replaced: the fields the module models are reset (mtu, and its lock, go); the others stay all the same
    cfg = [{'dst': '198.18.30.0/24', 'dev': 'v0'}, {'dst': '198.18.31.0/24', 'gateway': '198.18.0.2', 'dev': 'v0'}]
    task = {M: {'netns': ns, 'state': 'replaced', 'config': cfg}}
    real = printed_then_real(play, task, ns, twin, unmodelled_state)
    assert real['commands'] == [
        'ip -n %s route replace 198.18.30.0/24 dev v0 realm 7 advmss 1400 initcwnd 10' % ns,
        'ip -n %s route replace 198.18.31.0/24 via 198.18.0.2 dev v0 realms 3/4 rtt 100ms initrwnd 20 quickack 1 '
        'congctl lock cubic' % ns]
    state = unmodelled_state(ns)
    assert state['198.18.30.0/24'][0]['metrics'] == [{'advmss': 1400, 'initcwnd': 10}]
    assert state['198.18.30.0/24'][0]['flow'] == {'to': '7'}
    assert 'mtu' not in state['198.18.31.0/24'][1] and 'congctl lock cubic' in state['198.18.31.0/24'][1]

    # deleted by key: the routes go
    task = {M: {'netns': ns, 'state': 'deleted', 'config': [{'dst': dst} for dst, _rest in UNMODELLED]}}
    first, _again, _check = apply_then_unchanged(play, task)
    assert len(first['commands']) == 3 and unmodelled_state(ns) == {}
    assert ipj(ns, '-6', 'route', 'show', 'fd42:ed6e:31::/64')  # (not named)


def test_a_rollback_restores_what_the_module_does_not_model(ns, play):
    """A refused request later in the batch rolls back a change made before it: the route it restores is the
    route that was there, with its realm and metrics (the rollback re-made it from the modelled fields only)."""
    add_unmodelled(ns)
    before = unmodelled_state(ns)
    cfg = [{'dst': '198.18.30.0/24', 'mtu': 1200},
           {'dst': '198.18.40.0/24', 'gateway': '198.18.50.2', 'dev': 'v0'}]  # no link reaches the gateway
    r = play({M: {'netns': ns, 'config': cfg}})[0]
    assert r['failed'] and 'Nexthop has invalid gateway' in r['msg'] and 'rolled back the 1 change(s)' in r['msg'], r
    assert_no_traceback(r)
    assert unmodelled_state(ns) == before
    assert r['rolled_back'] == ['ip -n %s route replace 198.18.30.0/24 dev v0 mtu 1400 realm 7 advmss 1400 '
                                'initcwnd 10' % ns] and r['rollback_failed'] == []


def _multipath(ns):
    """The multipath route of the next-hop tests, as iproute2 shows it: JSON (its next hops) and text."""
    text = sh('ip', '-n', ns, '-d', 'route', 'show', '198.18.33.0/24')
    return ipj(ns, '-d', 'route', 'show', '198.18.33.0/24'), text


def test_a_multipath_change_keeps_what_its_next_hops_have(ns, play):
    """A next hop of a multipath route can have attributes of its own that the module does not model (a realm, an
    SRv6 encap). A change of the route (a replace of the whole route) dropped them without a word, and check mode
    did not say so. Each next hop the config keeps (same dev and gateway) now keeps them, in the request, in the
    printed command (the realm; the encap, which ip route has no short words for, in the closing comment) and
    through a rollback; a next hop the config drops goes with what it had."""
    sh('ip', '-n', ns, 'route', 'add', '198.18.33.0/24',
       'nexthop', 'via', '198.18.0.2', 'dev', 'v0', 'realms', '5', 'encap', 'seg6', 'mode', 'encap', 'segs',
       'fd42:ed6e::9', 'nexthop', 'via', '198.18.1.2', 'dev', 'v1', 'weight', '2', 'realms', '3/4')
    hops = [{'gateway': '198.18.0.2', 'dev': 'v0'}, {'gateway': '198.18.1.2', 'dev': 'v1', 'weight': 3}]
    task = {M: {'netns': ns, 'config': [{'dst': '198.18.33.0/24', 'protocol': 'static', 'nexthops': hops}]}}
    check = play(task, check=True)[0]
    first, _again, _check = apply_then_unchanged(play, task)
    assert check['commands'] == first['commands'] == [
        'ip -n %s route replace 198.18.33.0/24 proto static nexthop via 198.18.0.2 dev v0 weight 1 realm 5 '
        'nexthop via 198.18.1.2 dev v1 weight 3 realms 3/4 # also keeps the route\'s encap of the next hop '
        '198.18.0.2' % ns], first['commands']
    (r,), text = _multipath(ns)
    assert r['protocol'] == 'static', r
    one, two = r['nexthops']
    assert (one['gateway'], one['dev'], one['flow'], one['encap'], one['segs']) == (
        '198.18.0.2', 'v0', {'to': '5'}, 'seg6', ['fd42:ed6e::9']), r
    assert (two['gateway'], two['dev'], two['weight'], two['flow']) == (
        '198.18.1.2', 'v1', 3, {'from': '3', 'to': '4'}), r
    # a refusal later in the batch: the rollback re-makes the route with what its next hops had
    before = _multipath(ns)
    bad = {'dst': '198.18.40.0/24', 'gateway': '198.18.50.2', 'dev': 'v0'}  # no link reaches the gateway
    r = play({M: {'netns': ns, 'config': [{'dst': '198.18.33.0/24', 'protocol': 'boot', 'nexthops': hops}, bad]}})[0]
    assert_no_traceback(r)
    assert r['failed'] and 'rolled back the 1 change(s)' in r['msg'], r
    assert _multipath(ns) == before
    # a next hop dropped by the config goes, with its attributes; the one kept keeps its own; a new one has none
    task = {M: {'netns': ns, 'config': [{'dst': '198.18.33.0/24', 'nexthops': [
        hops[0], {'gateway': '198.18.1.3', 'dev': 'v1'}]}]}}
    apply_then_unchanged(play, task)
    (r,), text = _multipath(ns)
    assert [(h['gateway'], h.get('flow'), h.get('encap')) for h in r['nexthops']] == [
        ('198.18.0.2', {'to': '5'}, 'seg6'), ('198.18.1.3', None, None)], r


def test_a_route_on_a_nexthop_object_keeps_it(ns, play):
    """A route that uses a nexthop object (`nhid`) shows the next hop the object resolves to. A change that keeps
    that next hop keeps the object (the change dropped it, or with the object's id sent beside the next hop the
    kernel refused it); one that names another next hop replaces the object with it, as asked."""
    sh('ip', '-n', ns, 'nexthop', 'add', 'id', '5', 'via', '198.18.0.2', 'dev', 'v0')
    sh('ip', '-n', ns, 'route', 'add', '198.18.32.0/24', 'nhid', '5')
    first, _again, _check = apply_then_unchanged(
        play, {M: {'netns': ns, 'config': [{'dst': '198.18.32.0/24', 'protocol': 'static'}]}})
    r = ipj(ns, 'route', 'show', '198.18.32.0/24')[0]
    assert (r.get('nhid'), r['protocol'], r['gateway']) == (5, 'static', '198.18.0.2'), r
    assert first['commands'] == ['ip -n %s route replace 198.18.32.0/24 proto static nhid 5' % ns]
    first, _again, _check = apply_then_unchanged(
        play, {M: {'netns': ns, 'config': [{'dst': '198.18.32.0/24', 'gateway': '198.18.1.2', 'dev': 'v1'}]}})
    r = ipj(ns, 'route', 'show', '198.18.32.0/24')[0]
    assert 'nhid' not in r and (r['gateway'], r['dev'], r['protocol']) == ('198.18.1.2', 'v1', 'static'), r


def test_throw_routes(ns, twin, play):
    """`throw` (the end of a policy routing table: the lookup goes on with the next rule) is a route type like
    blackhole, without a next hop, in both families. Before, a gathered throw route could not be given back (the type
    was not one of the choices), and overridden deleted it with no way to keep it. Made by iproute2, gathered and fed
    back it changes nothing; made by the module, check mode predicts it and the printed commands make the same."""
    for n in (ns, twin):
        sh('ip', '-n', n, 'route', 'add', 'throw', '198.18.18.0/24', 'table', '100')
        sh('ip', '-n', n, '-6', 'route', 'add', 'throw', 'fd42:ed6e:18::/64', 'table', '100')
    g = play({M: {'netns': ns, 'state': 'gathered', 'table': 100}})[0]
    assert_no_traceback(g)
    throws = [r for r in g['gathered'] if r['type'] == 'throw']
    assert sorted(r['dst'] for r in throws) == ['198.18.18.0/24', 'fd42:ed6e:18::/64'] and \
        not [r for r in throws if 'dev' in r or 'gateway' in r], throws
    before = kernel_routes(ns)
    fed = play({M: {'netns': ns, 'state': 'overridden', 'table': 100, 'config': g['gathered']}})[0]
    assert_no_traceback(fed)
    assert not fed['changed'] and kernel_routes(ns) == before, fed
    config = [{'dst': '198.18.19.0/24', 'type': 'throw', 'table': 100},
              {'dst': 'fd42:ed6e:19::/64', 'type': 'throw', 'table': 100}]
    task = {M: {'netns': ns, 'config': config}}
    printed_then_real(play, task, ns, twin, kernel_routes)
    got = [r for r in ipj(ns, 'route', 'show', 'table', '100') if r['dst'] == '198.18.19.0/24']
    assert got and got[0]['type'] == 'throw', got
    r = play({M: {'netns': ns, 'config': [{'dst': '198.18.20.0/24', 'type': 'throw', 'dev': 'v0'}]}})[0]
    assert r.get('failed') and r['field'] == 'dev' and 'a throw route has no' in r['msg'], r


def test_broadcast_anycast_and_multicast_routes_outside_table_local(ns, twin, play):
    """Routes of the types broadcast, anycast and multicast outside table local (`ip route add broadcast ... table
    100`) were gathered, but type had no such choice: the gathered output could not be fed back (nor such a route
    made). They are made now as `ip route add` makes them (IPv4 ones of scope link), the printed commands make the
    same routes, gathered fed back changes nothing, and what the kernel refuses is refused first, naming the field."""
    for name in (ns, twin):
        sh('ip', '-n', name, 'route', 'add', 'broadcast', '198.18.73.255', 'dev', 'v0', 'table', '100')
        sh('ip', '-n', name, '-6', 'route', 'add', 'anycast', 'fd42:ed6e:73::/64', 'dev', 'v0', 'table', '100')
    cfg = [{'dst': '198.18.70.255', 'type': 'broadcast', 'dev': 'v0', 'table': 100},
           {'dst': '198.18.71.0/24', 'type': 'anycast', 'dev': 'v0', 'table': 100},
           {'dst': '224.3.0.0/16', 'type': 'multicast', 'dev': 'v0', 'table': 100},
           {'dst': 'fd42:ed6e:70::/64', 'type': 'anycast', 'dev': 'v0', 'table': 100},
           {'dst': '198.18.72.255', 'type': 'broadcast', 'dev': 'v1'}]
    real = printed_then_real(play, {M: {'netns': ns, 'config': cfg}}, ns, twin, kernel_routes)
    assert ['route add broadcast 198.18.72.255/32 dev v1 table main' in c for c in real['commands']].count(True) == 1
    made = dict((r['dst'], r) for r in ipj(ns, 'route', 'show', 'table', 'all') if r.get('table', 'main') != 'local')
    for dst, table, rtype in (('198.18.70.255', '100', 'broadcast'), ('198.18.71.0/24', '100', 'anycast'),
                              ('224.3.0.0/16', '100', 'multicast'), ('198.18.72.255', 'main', 'broadcast')):
        assert (made[dst]['type'], made[dst].get('table', 'main'), made[dst]['scope']) == (rtype, table, 'link'), made
    six = [r for r in ipj(ns, '-6', 'route', 'show', 'table', '100') if r['dst'] == 'fd42:ed6e:70::/64']
    assert [r['type'] for r in six] == ['anycast'], six
    before = all_routes(ns)
    gathered = play({M: {'netns': ns, 'state': 'gathered'}})[0]['gathered']
    assert len([r for r in gathered if r['type'] in ('broadcast', 'anycast', 'multicast')]) == 7, gathered
    for state, scope in (('merged', {}), ('overridden', {'table': 100})):
        config = [r for r in gathered if r['table'] == 100] if scope else gathered
        for check in (True, False):
            r = play({M: dict({'netns': ns, 'state': state, 'config': config}, **scope)}, check=check)[0]
            assert_no_traceback(r)
            assert not r.get('failed') and not r['changed'] and r['commands'] == [], (state, check, r)
    assert all_routes(ns) == before
    for item, field, text in (
            ({'dst': '198.18.74.255', 'type': 'broadcast', 'dev': 'v0', 'scope': 'global'}, 'scope',
             'the kernel refuses a broadcast route of a scope wider than link'),
            ({'dst': '198.18.74.255', 'type': 'broadcast', 'dev': 'v0', 'table': 'local'}, 'type',
             'the module does not manage broadcast routes in table local')):
        for check in (True, False):
            r = play({M: {'netns': ns, 'config': [{'dst': '198.18.75.0/24', 'dev': 'v0'}, item]}}, check=check)[0]
            assert_no_traceback(r)
            assert r.get('failed') and r['field'] == field and text in r['msg'], r
    assert all_routes(ns) == before


def test_a_gateway_of_an_ipv4_broadcast_or_anycast_route_is_refused_first(ns, play):
    """The kernel refuses a gateway on an IPv4 broadcast or anycast route at every scope (the oracle below). Check mode
    used to warn and predict such a route, and the real run sent it and rolled back; now both refuse it before
    anything is sent, naming the gateway's field, also for a merged element that gives a gateway alone to such a
    route (it keeps its type)."""
    for line in ('broadcast 198.18.76.255 via 198.18.0.2 dev v0 table 100',
                 'broadcast 198.18.76.255 via 198.18.0.2 dev v0 table 100 scope global',
                 'broadcast 198.18.76.255 via 198.18.0.2 dev v0 table 100 scope host',
                 'anycast 198.18.77.0/24 via 198.18.0.2 dev v0 table 100',
                 'broadcast 198.18.76.255 table 100 nexthop via 198.18.0.2 dev v0 nexthop via 198.18.1.2 dev v1'):
        assert subprocess.run(['ip', '-n', ns, 'route', 'add'] + line.split(), capture_output=True,
                              check=False).returncode != 0, line
    sh('ip', '-n', ns, 'route', 'add', 'broadcast', '198.18.78.255', 'dev', 'v0', 'table', '100')
    before = all_routes(ns)
    for item, field in (
            ({'dst': '198.18.76.255', 'type': 'broadcast', 'gateway': '198.18.0.2', 'dev': 'v0', 'table': 100},
             'gateway'),
            ({'dst': '198.18.77.0/24', 'type': 'anycast', 'gateway': '198.18.0.2', 'table': 100}, 'gateway'),
            ({'dst': '198.18.76.255', 'type': 'broadcast', 'table': 100,
              'nexthops': [{'dev': 'v0'}, {'gateway': '198.18.1.2', 'dev': 'v1'}]}, 'nexthops[1].gateway'),
            ({'dst': '198.18.78.255', 'gateway': '198.18.0.2', 'table': 100}, 'gateway')):  # (merged: stays broadcast)
        for check in (True, False):
            r = play({M: {'netns': ns, 'config': [{'dst': '198.18.79.0/24', 'dev': 'v0'}, item]}}, check=check)[0]
            assert_no_traceback(r)
            assert r.get('failed') and r['field'] == field and 'refuses a gateway on a' in r['msg'], (check, r)
            assert 'rolled_back' not in r and 'failed_command' not in r, r
    assert all_routes(ns) == before
    # the device alone, as the message says, is taken
    r = play({M: {'netns': ns, 'config': [{'dst': '198.18.76.255', 'type': 'broadcast', 'table': 100,
                                           'nexthops': [{'dev': 'v0'}, {'dev': 'v1'}]}]}})[0]
    assert not r.get('failed') and r['changed'], r


def test_a_hop_whose_device_is_down_is_named_when_the_kernel_refuses_the_route(ns, play):
    """A multipath route with a hop whose device was set down: the kernel keeps the route (the hop dead), but refuses
    every write of it while the hop's gateway is unreachable, and any change sends every hop again. The error blamed
    field 'nexthops' as a whole; it now names the hop's gateway and says why, and nothing changes. Check mode warns
    of the same hop. iproute2 is the oracle of the refusal and of the route."""
    for dev, net in (('h0', 71), ('h1', 72)):
        sh('ip', '-n', ns, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', dev + 'p')
        sh('ip', '-n', ns, 'addr', 'add', '198.18.%d.1/24' % net, 'dev', dev)
        sh('ip', '-n', ns, 'link', 'set', dev, 'up')
    hops = [{'gateway': '198.18.71.2', 'dev': 'h0'}, {'gateway': '198.18.72.2', 'dev': 'h1'}]
    first, = play({M: {'netns': ns, 'config': [{'dst': '198.18.73.0/24', 'nexthops': hops}]}})
    assert first['changed'] and not first.get('failed'), first
    sh('ip', '-n', ns, 'link', 'set', 'h1', 'down')
    route = ipj(ns, 'route', 'show', '198.18.73.0/24')
    assert 'dead' in route[0]['nexthops'][1]['flags'], route
    oracle = subprocess.run(['ip', '-n', ns, 'route', 'replace', '198.18.73.0/24', 'nexthop', 'via', '198.18.71.2',
                             'dev', 'h0', 'weight', '2', 'nexthop', 'via', '198.18.72.2', 'dev', 'h1'],
                            capture_output=True, text=True, check=False)
    assert oracle.returncode != 0, oracle
    task = {M: {'netns': ns, 'config': [{'dst': '198.18.73.0/24', 'nexthops': [dict(hops[0], weight=2), hops[1]]}]}}
    check, = play(task, check=True)
    assert_no_traceback(check)
    assert any('nexthops[1].gateway 198.18.72.2' in w for w in check.get('warnings') or []), check
    real, = play(task)
    assert_no_traceback(real)
    assert real['failed'] and real['field'] == 'nexthops[1].gateway', real
    assert 'nexthops[1].gateway 198.18.72.2 is held by no device route on dev h1' in real['msg'], real['msg']
    assert 'bring the device up' in real['msg'], real['msg']
    assert ipj(ns, 'route', 'show', '198.18.73.0/24') == route
    # with the device up again, the same task is taken
    sh('ip', '-n', ns, 'link', 'set', 'h1', 'up')
    again, = play(task)
    assert again['changed'] and not again.get('failed'), again
    assert ipj(ns, 'route', 'show', '198.18.73.0/24')[0]['nexthops'][0]['weight'] == 2
    # (found by a probe) a hop held only by a device route of another table that no rule reaches is the one the
    # kernel refuses, not a healthy hop after it; a route of scope link is refused for a gateway that is no own address
    sh('ip', '-n', ns, 'route', 'add', '198.18.74.0/24', 'dev', 'h0', 'table', '100')
    before = all_routes(ns)
    for item, field, why in (
            ({'dst': '198.18.75.0/24', 'nexthops': [{'gateway': '198.18.74.7', 'dev': 'h0'},
                                                    {'gateway': '198.18.71.2', 'dev': 'h0'}]},
             'nexthops[0].gateway', 'held by no device route on dev h0 of table main'),
            ({'dst': '198.18.75.0/24', 'gateway': '198.18.71.7', 'dev': 'h0', 'scope': 'link'},
             'gateway', 'no route of scope host holds it')):
        r, = play({M: {'netns': ns, 'config': [item]}})
        assert_no_traceback(r)
        assert r['failed'] and r['field'] == field and why in r['msg'], (item, r['field'], r['msg'])
        assert all_routes(ns) == before


def test_merged_next_hop_over_a_route_without_one_is_refused_naming_the_field(ns, play):
    """merged keeps the type a route has: a gateway, dev or nexthops given for a blackhole, unreachable or prohibit
    route (which has none) was dropped without a word (changed=false, the route left as it was). Refused before
    anything is sent, in check mode too, naming the route and the field; with its type given, the route becomes one
    with a next hop, as check mode shows."""
    sh('ip', '-n', ns, 'route', 'add', 'blackhole', '198.18.13.0/24')
    sh('ip', '-n', ns, 'route', 'add', 'unreachable', '198.18.14.0/24')
    sh('ip', '-n', ns, '-6', 'route', 'add', 'prohibit', 'fd42:ed6e:13::/64')
    before = all_routes(ns)
    cases = [
        ({'dst': '198.18.13.0/24', 'gateway': '198.18.0.9'}, 'route 198.18.13.0/24 table main metric 0', 'gateway',
         'blackhole'),
        ({'dst': '198.18.14.0/24', 'dev': 'v0'}, 'route 198.18.14.0/24 table main metric 0', 'dev', 'unreachable'),
        ({'dst': 'fd42:ed6e:13::/64', 'nexthops': [{'gateway': 'fd42:ed6e::2', 'dev': 'v0'},
                                                   {'gateway': 'fd42:ed6e:1::2', 'dev': 'v1'}]},
         'route fd42:ed6e:13::/64 table main metric 1024', 'nexthops', 'prohibit'),
    ]
    for item, label, field, rtype in cases:
        task = {M: {'netns': ns, 'config': [{'dst': '198.18.30.0/24', 'dev': 'v0'}, item]}}
        for r in (play(task, check=True)[0], play(task)[0]):
            assert_no_traceback(r)
            assert r['failed'] and r['msg'] == (
                "%s: field '%s': the route is a %s route on the host, which has no '%s'; to make it a route with a "
                "next hop, give its type too (type: unicast)" % (label, field, rtype, field)), r
        assert all_routes(ns) == before
    task = {M: {'netns': ns, 'config': [{'dst': '198.18.13.0/24', 'gateway': '198.18.0.9', 'type': 'unicast'}]}}
    check, real, again = play(task, check=True)[0], *play([task, task])
    assert not real.get('failed') and check['commands'] == real['commands'] == [
        'ip -n %s route replace 198.18.13.0/24 via 198.18.0.9 dev v0' % ns], real
    assert check['after'] == real['after'] and not again['changed']
    r = kernel_routes(ns)[('main', '198.18.13.0/24', 0)]
    assert (r.get('type', 'unicast'), r['gateway'], r['dev']) == ('unicast', '198.18.0.9', 'v0'), r


@pytest.mark.parametrize('item,field,what', [
    ({'dst': 'fe80::/64', 'dev': 'v0'}, 'dst', 'IPv6 routes inside fe80::/64 (link-local) or ff00::/8 (multicast)'),
    ({'dst': 'ff00::/8', 'dev': 'v0', 'table': 100}, 'dst',
     'IPv6 routes inside fe80::/64 (link-local) or ff00::/8 (multicast)'),
    ({'dst': '198.18.40.0/24', 'dev': 'v0', 'protocol': 'dhcp'}, 'protocol',
     "routes of protocol dhcp (the kernel's, or a daemon's)"),
    ({'dst': '198.18.41.0/24', 'dev': 'v0', 'type': 'local', 'table': 'local'}, 'type', 'local routes in table local'),
])
def test_a_route_the_module_would_not_show_is_refused_before_anything_is_sent(ns, play, item, field, what):
    """A route of the kind the module leaves to the kernel (and does not show) was made: the run's after left it
    out (check mode showed it), and the next run refused its key as the kernel's. Refused before anything is sent,
    in check mode too, naming the field."""
    before = all_routes(ns)
    task = {M: {'netns': ns, 'config': [{'dst': '198.18.30.0/24', 'dev': 'v0'}, item]}}
    for r in (play(task, check=True)[0], play(task)[0]):
        assert_no_traceback(r)
        assert r['failed'] and r['msg'].endswith(
            "field '%s': the module does not manage %s: it leaves such routes to the kernel and does not show them"
            % (field, what)), r
    assert all_routes(ns) == before


def test_ipv4_routes_through_ipv6_next_hops(ns, twin, play):
    """RFC 5549 (BGP unnumbered): an IPv4 route through an IPv6 next hop (`ip route add DST via inet6 GW dev DEV`,
    RTA_VIA). Before, such a route was gathered as a device route without its gateway (a device-only element counted
    as done while the kernel still routed through the IPv6 next hop), and a new IPv4 gateway was sent next to the kept
    RTA_VIA: check mode showed it, the kernel refused it (GATEWAY and VIA). Now the gateway is the IPv6 address, made,
    gathered, changed and fed back like any other, single or per hop, in check mode and for real, and the printed
    commands make the same routes."""
    for n in (ns, twin):
        sh('ip', '-n', n, 'route', 'add', '198.18.20.0/24', 'via', 'inet6', 'fd42:ed6e::2', 'dev', 'v0')
        sh('ip', '-n', n, 'route', 'add', '198.18.21.0/24', 'nexthop', 'via', 'inet6', 'fd42:ed6e::2', 'dev', 'v0',
           'nexthop', 'via', '198.18.1.2', 'dev', 'v1')
    g = play({M: {'netns': ns, 'state': 'gathered', 'family': 4}})[0]
    assert_no_traceback(g)
    got = dict((r['dst'], r) for r in g['gathered'])
    assert got['198.18.20.0/24']['gateway'] == 'fd42:ed6e::2' and got['198.18.20.0/24']['dev'] == 'v0', got
    assert [h.get('gateway') for h in got['198.18.21.0/24']['nexthops']] == ['fd42:ed6e::2', '198.18.1.2'], got
    fed = play({M: {'netns': ns, 'state': 'overridden', 'family': 4, 'config': g['gathered']}})[0]
    assert_no_traceback(fed)
    assert not fed['changed'] and fed['commands'] == [], fed
    # a device-only element is a change now (the IPv6 next hop goes), as is a new gateway of either family
    config = [{'dst': '198.18.20.0/24', 'gateway': '198.18.0.2', 'dev': 'v0'},
              {'dst': '198.18.21.0/24', 'dev': 'v1'},
              {'dst': '198.18.22.0/24', 'gateway': 'fe80::2', 'dev': 'v1'},
              {'dst': '198.18.23.0/24', 'nexthops': [{'gateway': 'fd42:ed6e::3', 'dev': 'v0'},
                                                     {'gateway': 'fd42:ed6e:1::3', 'dev': 'v1', 'weight': 2}]}]
    real = printed_then_real(play, {M: {'netns': ns, 'state': 'replaced', 'config': config}}, ns, twin,
                             kernel_routes)
    assert 'ip -n %s route add 198.18.22.0/24 via inet6 fe80::2 dev v1' % ns in real['commands'], real['commands']
    routes = dict((r['dst'], r) for r in ipj(ns, '-4', 'route', 'show'))
    assert routes['198.18.20.0/24']['gateway'] == '198.18.0.2', routes
    assert 'gateway' not in routes['198.18.21.0/24'] and routes['198.18.21.0/24']['dev'] == 'v1', routes
    assert routes['198.18.22.0/24']['via'] == {'family': 'inet6', 'host': 'fe80::2'}, routes
    assert [h['via']['host'] for h in routes['198.18.23.0/24']['nexthops']] == ['fd42:ed6e::3', 'fd42:ed6e:1::3']
    # back to an IPv6 next hop, in place
    back = [{'dst': '198.18.20.0/24', 'gateway': 'fd42:ed6e::2', 'dev': 'v0'}]
    printed_then_real(play, {M: {'netns': ns, 'config': back}}, ns, twin, kernel_routes)
    assert ipj(ns, '-4', 'route', 'show', '198.18.20.0/24')[0]['via']['host'] == 'fd42:ed6e::2'
    # refused before anything is sent: without dev, and an IPv4 next hop of an IPv6 route (the kernel has none)
    for item, field in (({'dst': '198.18.24.0/24', 'gateway': 'fd42:ed6e::2'}, 'dev'),
                        ({'dst': 'fd42:ed6e:24::/64', 'gateway': '198.18.0.2', 'dev': 'v0'}, 'gateway')):
        before = kernel_routes(ns)
        r = play({M: {'netns': ns, 'config': [item]}})[0]
        assert_no_traceback(r)
        assert r.get('failed') and r['field'] == field, r
        assert kernel_routes(ns) == before
