# -*- coding: utf-8 -*-
"""roles/l2_fabric across two "hosts": two namespaces inside the user-mode-Linux guest (the host kernel has no
bridge VLAN filtering), joined by a veth underlay (198.18.0.1 <-> 198.18.0.2). Each host runs the role (an
inventory of two hosts, ansible_connection=local, l2_fabric_netns = that host's namespace) and has two access
namespaces, one in VLAN 10 and one in VLAN 20, each on a veth into the host's bridge.

One test doing a lot, as UML is slow: --check --diff (every host's diff, nothing changes), the real run (the
oracles `bridge -j vlan show/tunnelshow`, `bridge -j vni show`, `bridge -j fdb show`), ping across the VXLAN in a
shared VLAN and no ping across different VLANs, a second run with changed=0, then an FDB entry with a VLAN
(bridge_fdb, which the host kernel refuses) on an access port.
"""

import json
import os
import subprocess
import time
import uuid

import pytest
import yaml

from conftest import BIN, HERE, PYTHON, bridgej, ipj, sh

pytestmark = pytest.mark.uml

VLANS = [{'vid': 10, 'vni': 10010}, {'vid': 20, 'vni': 10020}]
#: host -> (underlay address, {access namespace suffix: (VLAN, address in the shared access subnet)})
HOSTS = {
    'h1': ('198.18.0.1', {'a10': (10, '198.19.0.11'), 'a20': (20, '198.19.0.21')}),
    'h2': ('198.18.0.2', {'b10': (10, '198.19.0.12'), 'b20': (20, '198.19.0.22')}),
}


def run(tmp, name, *args):
    """ansible-playbook over the two-host inventory; returns ({(host, task): result}, output, rc)."""
    base = os.path.join(str(tmp), name)
    env = dict(os.environ, EDGENET_RESULTS=base + '.jsonl', ANSIBLE_NOCOLOR='1',
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'plugins', 'callback'),
               ANSIBLE_CALLBACKS_ENABLED='result_dump', ANSIBLE_LOCALHOST_WARNING='False',
               ANSIBLE_RETRY_FILES_ENABLED='False', ANSIBLE_HOST_KEY_CHECKING='False',
               ANSIBLE_LOCAL_TEMP=os.path.join(str(tmp), 'ansible-local'),
               ANSIBLE_REMOTE_TEMP=os.path.join(str(tmp), 'ansible-remote'))
    p = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', os.path.join(str(tmp), 'inventory.yml'),
                        os.path.join(str(tmp), 'site.yml')] + list(args),
                       capture_output=True, text=True, env=env, cwd=str(tmp), check=False)
    out = p.stdout + p.stderr
    assert 'Traceback' not in out, out[-4000:]
    results = {}
    if os.path.exists(base + '.jsonl'):
        with open(base + '.jsonl') as f:
            for line in f:
                r = json.loads(line)
                results[(r['host'], r['task'].split(' : ')[-1])] = r
    return results, out, p.returncode


def ping(ns, addr):
    return subprocess.run(['ip', 'netns', 'exec', ns, 'ping', '-n', '-q', '-c', '2', '-W', '1', addr],
                          capture_output=True, text=True, check=False).returncode == 0


def diag(ns):
    """What the two hosts' bridges and VXLAN devices hold, for a failed ping's message."""
    out = []
    for host in ('h1', 'h2'):
        for cmd in (['bridge', '-n', ns[host], 'fdb', 'show'], ['bridge', '-n', ns[host], 'vlan', 'show'],
                    ['bridge', '-n', ns[host], 'vlan', 'tunnelshow'], ['ip', '-n', ns[host], '-s', '-d', 'link']):
            p = subprocess.run(cmd, capture_output=True, text=True, check=False)
            out.append('$ %s\n%s%s' % (' '.join(cmd), p.stdout, p.stderr))
    return '\n'.join(out)


def test_l2_fabric_two_hosts(tmp_path):
    tag = uuid.uuid4().hex[:6]
    ns = dict((name, 'edgl2-%s-%s' % (tag, name)) for name in ['h1', 'h2', 'a10', 'a20', 'b10', 'b20'])
    created = []
    try:
        for name in ns.values():
            sh('ip', 'netns', 'add', name)
            created.append(name)
            sh('ip', '-n', name, 'link', 'set', 'lo', 'up')
        # the underlay: one veth between the two hosts
        sh('ip', '-n', ns['h1'], 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u0', 'netns', ns['h2'])
        inventory = {'all': {'children': {'vteps': {'hosts': {}}}}}
        for host, (vtep, access) in sorted(HOSTS.items()):
            sh('ip', '-n', ns[host], 'address', 'add', vtep + '/24', 'dev', 'u0')
            sh('ip', '-n', ns[host], 'link', 'set', 'u0', 'up')
            ports = []
            for acc, (vlan, addr) in sorted(access.items()):
                port = 'p%d' % vlan
                sh('ip', '-n', ns[host], 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0',
                   'netns', ns[acc])
                sh('ip', '-n', ns[acc], 'address', 'add', addr + '/24', 'dev', 'eth0')
                sh('ip', '-n', ns[acc], 'link', 'set', 'eth0', 'up')
                ports.append({'dev': port, 'vlan': vlan})
            inventory['all']['children']['vteps']['hosts'][host] = {
                'ansible_connection': 'local', 'ansible_python_interpreter': PYTHON,
                'l2_fabric_netns': ns[host], 'l2_fabric_vtep_ip': vtep, 'l2_fabric_vxlan_dev': 'u0',
                'l2_fabric_access_ports': ports}
        with open(os.path.join(str(tmp_path), 'inventory.yml'), 'w') as f:
            yaml.safe_dump(inventory, f)
        with open(os.path.join(str(tmp_path), 'site.yml'), 'w') as f:
            yaml.safe_dump([{'name': 'L2 fabric', 'hosts': 'vteps', 'gather_facts': False,
                             'roles': [{'role': 'edgenet.linux.l2_fabric',
                                        'vars': {'l2_fabric_vtep_group': 'vteps', 'l2_fabric_vlans': VLANS}}]}], f)
        tasks = ['Bridge, VXLAN device and access ports', 'VXLAN port maps VLANs to VNIs',
                 'VNI filter list of the VXLAN device', 'VLANs of the VXLAN port (with their VNIs) and of the access '
                 'ports', 'Head-end replication towards every other VTEP (exactly these on the VXLAN device)']
        # the underlay's carrier comes up a moment after both ends are up (linkwatch): wait for it, so that the
        # "check mode changes nothing" comparison below sees only what the module could have changed
        for _i in range(100):
            if all(l['operstate'] == 'UP' for h in HOSTS for l in ipj(ns[h], 'link', 'show') if l['ifname'] == 'u0'):
                break
            time.sleep(0.1)
        untouched = dict((h, ipj(ns[h], 'link', 'show')) for h in HOSTS)

        # --- check mode: every host's diff, nothing changes
        check, out, rc = run(tmp_path, 'check', '--check', '--diff')
        assert rc == 0, out[-4000:]
        for host in HOSTS:
            for task in tasks:
                r = check[(host, task)]['result']
                # (bridge_vlan plans the VLANs of access ports that only the unapplied link task makes bridge
                # ports: check mode assumes it, with a warning)
                assert not r.get('failed') and r['changed'] and r['commands'] and 'diff' in r, (host, task, r)
            assert '--- before: edgenet.linux.link (netns %s)' % ns[host] in out, out[-3000:]
            assert untouched[host] == ipj(ns[host], 'link', 'show')
        her = check[('h1', tasks[4])]['result']
        # head-end replication: one entry per other VTEP and VNI (an external VXLAN device has a table per VNI)
        assert her['commands'] == ['bridge -n %s fdb append 00:00:00:00:00:00 dev vxlan0 dst 198.18.0.2 src_vni %d '
                                   'self permanent' % (ns['h1'], vni) for vni in (10010, 10020)]

        # --- the real run: the oracles show the fabric
        real, out, rc = run(tmp_path, 'apply', '--diff')
        assert rc == 0, out[-4000:]
        for host in HOSTS:
            for task in tasks:
                r = real[(host, task)]['result']
                assert r['changed'] and not r.get('failed'), (host, task, r)
                if task in (tasks[0], tasks[2], tasks[4]):
                    # (bridge_port plans a port that does not exist yet as all of its flags, in check mode)
                    assert r['commands'] == check[(host, task)]['result']['commands'], (host, task)
        for host, peer in (('h1', '198.18.0.2'), ('h2', '198.18.0.1')):
            n = ns[host]
            info = [l for l in ipj(n, '-d', 'link', 'show') if l['ifname'] == 'vxlan0'][0]['linkinfo']
            assert info['info_data']['external'] and info['info_data']['vnifilter']
            assert info['info_slave_data']['vlan_tunnel'] is True
            vl = dict((d['ifname'], [(v['vlan'], sorted(v.get('flags', []))) for v in d['vlans']])
                      for d in bridgej(n, 'vlan', 'show'))
            assert vl['vxlan0'] == [(10, []), (20, [])] and vl['p10'] == [(10, ['Egress Untagged', 'PVID'])]
            assert vl['p20'] == [(20, ['Egress Untagged', 'PVID'])]
            tun = dict((d['ifname'], [(t['vlan'], t['tunid']) for t in d['tunnels']])
                       for d in bridgej(n, 'vlan', 'tunnelshow'))
            assert tun['vxlan0'] == [(10, 10010), (20, 10020)]
            assert bridgej(n, 'vni', 'show') == [{'ifname': 'vxlan0', 'vnis': [{'vni': 10010}, {'vni': 10020}]}]
            her = [e for e in bridgej(n, 'fdb', 'show', 'dev', 'vxlan0') if e['mac'] == '00:00:00:00:00:00']
            assert sorted((e.get('dst'), e.get('src_vni'), e['flags']) for e in her) == [
                (peer, 10010, ['self']), (peer, 10020, ['self'])], her

        # --- traffic: the shared VLAN pings across the VXLAN, different VLANs do not
        assert ping(ns['a10'], '198.19.0.12'), 'VLAN 10: h1 -> h2 across the VXLAN\n' + diag(ns)
        assert ping(ns['b20'], '198.19.0.21'), 'VLAN 20: h2 -> h1 across the VXLAN\n' + diag(ns)
        assert not ping(ns['a10'], '198.19.0.22'), 'VLAN 10 must not reach VLAN 20'
        assert not ping(ns['b10'], '198.19.0.21'), 'VLAN 10 must not reach VLAN 20'
        assert not ping(ns['a10'], '198.19.0.21'), 'VLAN 10 must not reach VLAN 20 on the same host'
        # the frames went through the tunnel: the VXLAN device counted them
        stats = [l for l in ipj(ns['h1'], '-s', 'link', 'show') if l['ifname'] == 'vxlan0'][0]['stats64']
        assert stats['tx']['packets'] > 0 and stats['rx']['packets'] > 0

        # --- second run: nothing to change on any host
        again, out, rc = run(tmp_path, 'again')
        assert rc == 0 and 'changed=0' in out, out[-3000:]
        for (host, task), r in again.items():
            assert not r['result'].get('changed') and not r['result'].get('commands'), (host, task, r)
        assert all((host, task) in again for host in HOSTS for task in tasks), sorted(again)

        # --- an FDB entry with a VLAN (the host kernel refuses these): pin a MAC to p10 in VLAN 10
        with open(os.path.join(str(tmp_path), 'site.yml'), 'w') as f:
            yaml.safe_dump([{'name': 'FDB', 'hosts': 'h1', 'gather_facts': False, 'tasks': [
                {'name': 'pin', 'edgenet.linux.bridge_fdb': {'netns': ns['h1'], 'config': [
                    {'dev': 'p10', 'mac': '02:00:00:00:10:01', 'vlan': 10, 'master': True, 'state': 'static'}]}},
                {'name': 'pin again', 'edgenet.linux.bridge_fdb': {'netns': ns['h1'], 'config': [
                    {'dev': 'p10', 'mac': '02:00:00:00:10:01', 'vlan': 10, 'master': True, 'state': 'static'}]}},
                {'name': 'not a VLAN of the port', 'ignore_errors': True, 'edgenet.linux.bridge_fdb': {
                    'netns': ns['h1'], 'config': [{'dev': 'p10', 'mac': '02:00:00:00:10:02', 'vlan': 20,
                                                   'master': True, 'state': 'static'}]}}]}], f)
        fdb, out, rc = run(tmp_path, 'fdb')
        assert fdb[('h1', 'pin')]['result']['changed'] and not fdb[('h1', 'pin again')]['result']['changed'], out
        pinned = [e for e in bridgej(ns['h1'], 'fdb', 'show', 'dev', 'p10') if e['mac'] == '02:00:00:00:10:01']
        assert [(e.get('vlan'), e['state']) for e in pinned] == [(10, 'static')], pinned
        bad = fdb[('h1', 'not a VLAN of the port')]['result']
        assert bad['failed'] and "field 'vlan'" in bad['msg'] and 'not a VLAN of p10' in bad['msg'], bad['msg']
        assert not [e for e in bridgej(ns['h1'], 'fdb', 'show') if e['mac'] == '02:00:00:00:10:02']
    finally:
        for name in created:
            subprocess.run(['ip', 'netns', 'del', name], capture_output=True, check=False)
