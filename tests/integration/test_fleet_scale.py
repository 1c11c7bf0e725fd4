# -*- coding: utf-8 -*-
"""The fleet scale run of bench/fleet.py: N lab hosts, 5 in the integration suite, 50 in `make scale`
(EDGENET_SCALE_HOSTS=50; part of `make test`, after the integration suite, each step's wall time printed).

The steps: 1. tools/lab brings the hosts up; 2. site.yml --check --diff with the fleet_diff
summary, every host would change; 3. apply, every host changes exactly what check mode predicted (the
two fleet_diff JSONs agree) and iproute2 shows the site on every host (links, addresses, routes, the
fabric's head-end replication towards every other host, the QoS tree on the site bridge); 4. the re-run changes nothing on
any host (PLAY RECAP and fleet_diff); 5. tools/lab down leaves no namespace behind.
"""

import importlib.util
import json
import os
import uuid

from conftest import bridgej, ipj, lab_third, sh
from test_fleet_diff import ROOT

HOSTS = int(os.environ.get('EDGENET_SCALE_HOSTS', '5'))


def load_bench():
    spec = importlib.util.spec_from_file_location('bench_fleet', os.path.join(ROOT, 'bench', 'fleet.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_fleet_scale_run():
    fleet = load_bench()
    prefix = 'elt' + uuid.uuid4().hex[:6]
    net = '198.18.%d' % lab_third()
    seen = []

    def verify(hosts):
        assert len(hosts) == HOSTS
        for i, ns in enumerate(sorted(hosts, key=lambda h: int(h.rsplit('-h', 1)[1])), 1):
            links = {link['ifname']: link for link in ipj(ns, '-d', 'link', 'show')}
            assert links['br0']['linkinfo']['info_kind'] == 'bridge' and links['vx100']['master'] == 'br0'
            assert links['vx100']['linkinfo']['info_data']['local'] == '%s.%d' % (net, 10 + i)
            addrs = [a['local'] for link in ipj(ns, 'address', 'show', 'dev', 'br0') for a in link['addr_info']]
            assert '198.19.%d.1' % i in addrs
            routes = [r['dst'] for r in ipj(ns, 'route', 'show', 'table', '100')]
            assert routes == ['default']
            her = sorted(e['dst'] for e in bridgej(ns, 'fdb', 'show', 'dev', 'vx100')
                         if e['mac'] == '00:00:00:00:00:00' and 'dst' in e)
            assert her == sorted('%s.%d' % (net, 10 + j) for j in range(1, HOSTS + 1) if j != i)
            qd = json.loads(sh('tc', '-n', ns, '-j', 'qdisc', 'show', 'dev', 'br0'))
            assert [(q['kind'], q['handle']) for q in qd] == [('htb', '1:')]
            flowids = sorted(f['options']['flowid'] for f in json.loads(sh('tc', '-n', ns, '-j', 'filter', 'show',
                                                                           'dev', 'br0'))
                             if 'flowid' in f.get('options', {}))
            assert flowids == ['1:10', '1:20', '1:20', '1:30']
            seen.append(ns)

    r = fleet.scale_run(hosts=HOSTS, prefix=prefix, net=net, forks=min(HOSTS, 10), bench=False, log=print,
                        verify=verify)
    assert len(seen) == HOSTS
    assert r['check_totals']['hosts'] == HOSTS and r['check_totals']['changed_hosts'] == HOSTS
    assert r['check_totals']['change_sets'] == HOSTS  # each host its own site_id and underlay address
    assert all(r[k] > 0 for k in ('up', 'check', 'apply', 'again', 'down'))
    left = [n for n in os.listdir('/run/netns') if n.startswith(prefix + '-')]
    assert left == [] and not os.path.exists('/run/%s' % prefix)
    rows = fleet.rows(r)
    assert [row['name'].split(',')[0] for row in rows] == [
        'fleet: lab up', 'fleet: site.yml --check --diff', 'fleet: site.yml apply', 'fleet: site.yml re-run',
        'fleet: lab down']
