# -*- coding: utf-8 -*-
"""testinfra, over SSH into the lab host: the kernel shows what converge.yml asked the role for."""

import json


def ipj(host, *args):
    out = host.check_output('ip -j ' + ' '.join(args))
    return json.loads(out) if out.strip() else []


def test_links(host):
    links = {link['ifname']: link for link in ipj(host, '-d', 'link', 'show')}
    assert links['br0']['linkinfo']['info_kind'] == 'bridge' and 'UP' in links['br0']['flags']
    vx = links['vx100']
    assert vx['linkinfo']['info_kind'] == 'vxlan' and vx['master'] == 'br0'
    assert vx['linkinfo']['info_data']['id'] == 100 and vx['linkinfo']['info_data']['port'] == 4789


def test_address(host):
    addrs = [(a['local'], a['prefixlen']) for link in ipj(host, 'address', 'show', 'dev', 'br0')
             for a in link['addr_info'] if a['family'] == 'inet']
    assert addrs == [('198.19.1.1', 24)]


def test_routes(host):
    main = {r['dst']: r for r in ipj(host, 'route', 'show')}
    assert main['198.19.101.0/24']['dev'] == 'br0'
    assert main['198.19.250.0/24']['type'] == 'blackhole'
    table = ipj(host, 'route', 'show', 'table', '100')
    assert [(r['dst'], r['gateway'], r['dev']) for r in table] == [('default', '198.19.1.254', 'br0')]


def test_rule(host):
    rules = [r for r in ipj(host, 'rule', 'show') if r['priority'] == 1000]
    assert [(r['src'], r['srclen'], r['table']) for r in rules] == [('198.19.1.0', 24, '100')]
