# -*- coding: utf-8 -*-
"""roles/l2_fabric on the host kernel, in check mode only (the host's bridge has no VLAN filtering, so the real
run is in test_l2_fabric_uml.py): the head-end replication list computed from the inventory for each host, every
host's diff, nothing changed; and bad input stopped by meta/argument_specs.yml before any module runs.

The link task refuses a bridge with vlan_filtering on a kernel whose configuration says it lacks the feature, in
check mode too, as the real run would fail. These tests are about the role's check-mode flow, not about this host:
the modules are given no kernel configuration to read (EDGENET_KCONFIG empty: "unknown", as on a host without
/proc/config.gz), so that they plan as on a kernel with the feature. test_link.py checks the refusal itself."""

import json
import os
import subprocess
import uuid

import pytest
import yaml

from conftest import BIN, HERE, PYTHON, bridgej, ipj, sh


def run(tmp, inventory, role_vars, *args):
    with open(os.path.join(str(tmp), 'inventory.yml'), 'w') as f:
        yaml.safe_dump(inventory, f)
    with open(os.path.join(str(tmp), 'site.yml'), 'w') as f:
        yaml.safe_dump([{'hosts': 'all', 'gather_facts': False,
                         'roles': [{'role': 'edgenet.linux.l2_fabric', 'vars': role_vars}]}], f)
    results = os.path.join(str(tmp), 'results.jsonl')
    if os.path.exists(results):
        os.unlink(results)
    env = dict(os.environ, EDGENET_RESULTS=results, ANSIBLE_NOCOLOR='1', EDGENET_KCONFIG='',
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'plugins', 'callback'),
               ANSIBLE_CALLBACKS_ENABLED='result_dump', ANSIBLE_LOCALHOST_WARNING='False',
               ANSIBLE_RETRY_FILES_ENABLED='False', ANSIBLE_LOCAL_TEMP=os.path.join(str(tmp), 'ansible-local'),
               ANSIBLE_REMOTE_TEMP=os.path.join(str(tmp), 'ansible-remote'))
    p = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', os.path.join(str(tmp), 'inventory.yml'),
                        os.path.join(str(tmp), 'site.yml')] + list(args),
                       capture_output=True, text=True, env=env, cwd=str(tmp), check=False)
    out = p.stdout + p.stderr
    assert 'Traceback' not in out, out[-4000:]
    by = {}
    if os.path.exists(results):
        with open(results) as f:
            for line in f:
                r = json.loads(line)
                by[(r['host'], r['task'].split(' : ')[-1])] = r['result']
    return by, out, p.returncode


@pytest.fixture
def hosts():
    tag = uuid.uuid4().hex[:6]
    names = ['edgl2c-%s-%d' % (tag, i) for i in range(3)]
    try:
        for name in names:
            sh('ip', 'netns', 'add', name)
            sh('ip', '-n', name, 'link', 'add', 'p10', 'type', 'veth', 'peer', 'name', 'q10')
        yield names
    finally:
        for name in names:
            subprocess.run(['ip', 'netns', 'del', name], capture_output=True, check=False)


def host(ns, **kw):
    return dict({'ansible_connection': 'local', 'ansible_python_interpreter': PYTHON, 'l2_fabric_netns': ns}, **kw)


HER = 'Head-end replication towards every other VTEP (exactly these on the VXLAN device)'


def test_check_mode_every_host_diff_from_inventory(hosts, tmp_path):
    inventory = {'all': {'children': {
        'vteps': {'hosts': {
            'leaf1': host(hosts[0], l2_fabric_vtep_ip='198.18.0.1', l2_fabric_access_ports=[{'dev': 'p10', 'vlan': 10}]),
            'leaf2': host(hosts[1], l2_fabric_vtep_ip='198.18.0.2'),
            'leaf3': host(hosts[2], l2_fabric_vtep_ip='198.18.0.3')}},
        'others': {'hosts': {'mgmt': host(hosts[2])}}}}}
    before = dict((ns, ipj(ns, 'link', 'show')) for ns in hosts)
    by, out, rc = run(tmp_path, inventory, {'l2_fabric_vtep_group': 'vteps', 'l2_fabric_vxlan_dev': 'p10',
                                            'l2_fabric_vlans': [{'vid': 10, 'vni': 10010}, {'vid': 20, 'vni': 10020}]},
                      '--check', '--diff', '--limit', 'vteps')
    assert rc == 0, out[-4000:]
    for name, ns, peers in (('leaf1', hosts[0], ['198.18.0.2', '198.18.0.3']),
                            ('leaf2', hosts[1], ['198.18.0.1', '198.18.0.3']),
                            ('leaf3', hosts[2], ['198.18.0.1', '198.18.0.2'])):
        her = by[(name, HER)]
        assert her['changed'] and 'diff' in her
        assert her['commands'] == ['bridge -n %s fdb append 00:00:00:00:00:00 dev vxlan0 dst %s src_vni %d self '
                                   'permanent' % (ns, peer, vni) for vni in (10010, 10020) for peer in peers]
        link = by[(name, 'Bridge, VXLAN device and access ports')]
        assert 'ip -n %s link add br0 up type bridge vlan_filtering 1 vlan_default_pvid 0' % ns in link['commands']
        vx = [o for o in link['after'] if o['ifname'] == 'vxlan0'][0]
        local = {'leaf1': '198.18.0.1', 'leaf2': '198.18.0.2', 'leaf3': '198.18.0.3'}[name]
        assert vx['vxlan'] == {'external': True, 'vnifilter': True, 'local': local, 'dstport': 4789,
                               'learning': False, 'dev': 'p10'} and vx['master'] == 'br0'
        vni = by[(name, 'VNI filter list of the VXLAN device')]
        assert vni['after'] == [{'dev': 'vxlan0', 'vnis': [{'vni': 10010}, {'vni': 10020}]}]
        assert '--- before: edgenet.linux.bridge_fdb (netns %s)' % ns in out
    # the access port is enslaved by the link call on leaf1 only
    link = by[('leaf1', 'Bridge, VXLAN device and access ports')]
    assert [o for o in link['after'] if o['ifname'] == 'p10'][0]['master'] == 'br0'
    # its VLANs are still planned: check mode assumes the link task makes it a port, and says so
    vlans = by[('leaf1', 'VLANs of the VXLAN port (with their VNIs) and of the access ports')]
    assert not vlans.get('failed') and vlans['changed'], vlans
    assert any("'p10' is neither a bridge nor a bridge port" in w for w in vlans.get('warnings', [])), vlans
    assert dict((ns, ipj(ns, 'link', 'show')) for ns in hosts) == before


@pytest.mark.parametrize('role_vars, text', [
    ({'l2_fabric_vlans': [{'vid': 10, 'vni': 10010}]}, 'l2_fabric_vtep_ip'),
    ({'l2_fabric_vtep_ip': '198.18.0.1', 'l2_fabric_vlans': 'ten'}, 'l2_fabric_vlans'),
    ({'l2_fabric_vtep_ip': '198.18.0.1', 'l2_fabric_vlans': [{'vid': 10}]}, 'vni'),
    ({'l2_fabric_vtep_ip': '198.18.0.1', 'l2_fabric_access_ports': [{'vlan': 10}]}, 'dev'),
    ({'l2_fabric_vtep_ip': '198.18.0.1', 'l2_fabric_dstport': 'http'}, 'l2_fabric_dstport'),
    ({'l2_fabric_vtep_ip': '198.18.0.1', 'l2_fabric_vnifilter': 'perhaps'}, 'l2_fabric_vnifilter'),
    # (a VNI out of range: refused by the role's first condition; with l2_fabric_devices false nothing had checked it,
    # and a negative one made a VLAN-aware fabric)
    ({'l2_fabric_vtep_ip': '198.18.0.1', 'l2_fabric_vni': 16777216}, 'l2_fabric_vni must be 0'),
    ({'l2_fabric_vtep_ip': '198.18.0.1', 'l2_fabric_vni': 16777216, 'l2_fabric_devices': False},
     'l2_fabric_vni must be 0'),
    ({'l2_fabric_vtep_ip': '198.18.0.1', 'l2_fabric_vni': -5, 'l2_fabric_vlans': [{'vid': 10, 'vni': 10010}]},
     'got -5'),
])
def test_bad_input_stopped_by_argument_specs(hosts, tmp_path, role_vars, text):
    before = ipj(hosts[0], 'link', 'show')
    by, out, rc = run(tmp_path, {'all': {'hosts': {'leaf1': host(hosts[0])}}}, role_vars)
    assert rc != 0 and text in out, out[-3000:]
    assert not any(r.get('changed') for r in by.values())
    assert ipj(hosts[0], 'link', 'show') == before


def test_two_fabrics_in_one_play(hosts, tmp_path):
    """Hosts of one play in two fabrics (two l2_fabric_vtep_groups): each host replicates towards the other VTEPs of
    its own fabric. Before, the VTEP list read once per play was the first host's group's, for every host: the
    second fabric's hosts tunnelled to the first fabric's VTEPs, without a word."""
    extra = 'edgl2c-%s-x' % uuid.uuid4().hex[:6]
    sh('ip', 'netns', 'add', extra)
    try:
        inventory = {'all': {'children': {
            'fabA': {'vars': {'l2_fabric_vtep_group': 'fabA', 'l2_fabric_vni': 1001},
                     'hosts': {'a1': host(hosts[0], l2_fabric_vtep_ip='198.18.0.1'),
                               'a2': host(hosts[1], l2_fabric_vtep_ip='198.18.0.2')}},
            'fabB': {'vars': {'l2_fabric_vtep_group': 'fabB', 'l2_fabric_vni': 2002},
                     'hosts': {'b1': host(hosts[2], l2_fabric_vtep_ip='198.18.0.3'),
                               'b2': host(extra, l2_fabric_vtep_ip='198.18.0.4')}}}}}
        by, out, rc = run(tmp_path, inventory, {}, '--check', '--diff')
        assert rc == 0, out[-4000:]
        for name, ns, peer in (('a1', hosts[0], '198.18.0.2'), ('a2', hosts[1], '198.18.0.1'),
                               ('b1', hosts[2], '198.18.0.4'), ('b2', extra, '198.18.0.3')):
            her = by[(name, HER)]
            assert her['commands'] == ['bridge -n %s fdb append 00:00:00:00:00:00 dev vxlan0 dst %s self permanent'
                                       % (ns, peer)], (name, her['commands'])
    finally:
        subprocess.run(['ip', 'netns', 'del', extra], capture_output=True, check=False)


def test_a_bad_vtep_address_of_a_second_fabric_stops_every_host_before_any_change(hosts, tmp_path):
    """The read once per play covered the first host's fabric only: a bad address in a second fabric was refused by
    that fabric's hosts' head-end replication call, after their devices were made. The read now covers the group of
    every host of the play, and refuses it in the role's first task, naming the host and its group."""
    before = dict((ns, ipj(ns, 'link', 'show')) for ns in hosts)
    inventory = {'all': {'children': {
        'fabA': {'vars': {'l2_fabric_vtep_group': 'fabA', 'l2_fabric_vni': 1001},
                 'hosts': {'a1': host(hosts[0], l2_fabric_vtep_ip='198.18.0.1'),
                           'a2': host(hosts[1], l2_fabric_vtep_ip='198.18.0.2')}},
        'fabB': {'vars': {'l2_fabric_vtep_group': 'fabB', 'l2_fabric_vni': 2002},
                 'hosts': {'b1': host(hosts[2], l2_fabric_vtep_ip='198.18.0.3'),
                           'b2': {'l2_fabric_vtep_ip': '198.18.0.400'}}}}}}
    by, out, rc = run(tmp_path, inventory, {}, '--limit', 'a1,a2,b1')
    assert rc != 0 and "l2_fabric_vtep_ip of host b2 (a VTEP of group fabB): '198.18.0.400' is not an IPv4" in out, \
        out[-3000:]
    assert not any(r.get('changed') for r in by.values()), by
    assert out.split("TASK [edgenet.linux.l2_fabric : The VTEPs of the play's fabrics")[1].count('TASK [') == 0, \
        out[-3000:]
    assert dict((ns, ipj(ns, 'link', 'show')) for ns in hosts) == before


def test_another_hosts_bad_vtep_address_stops_every_host_before_any_change(hosts, tmp_path):
    """A VTEP's address is every other VTEP's peer. A bad one on leaf2 was refused only by each host's last call
    (the head-end replication entries towards it), after the bridge and the VXLAN device were made: every host was
    left half-configured. The role's first task, which reads the VTEPs once, now refuses it, naming the host; no
    host changes anything (a single-VNI fabric, which the host kernel can make)."""
    before = dict((ns, ipj(ns, 'link', 'show')) for ns in hosts)
    inventory = {'all': {'vars': {'l2_fabric_vni': 1001}, 'hosts': {
        'leaf1': host(hosts[0], l2_fabric_vtep_ip='198.18.0.1'),
        'leaf2': host(hosts[1], l2_fabric_vtep_ip='198.18.0.260'),
        'leaf3': host(hosts[2], l2_fabric_vtep_ip='198.18.0.3')}}}
    by, out, rc = run(tmp_path, inventory, {})
    assert rc != 0 and "l2_fabric_vtep_ip of host leaf2 (a VTEP of group all): '198.18.0.260' is not an IPv4" in out, \
        out[-3000:]
    assert not any(r.get('changed') for r in by.values()), by
    assert dict((ns, ipj(ns, 'link', 'show')) for ns in hosts) == before
    # (a run_once task that fails stops the play for every host: no task after it ran anywhere)
    assert out.split("TASK [edgenet.linux.l2_fabric : The VTEPs of the play's fabrics")[1].count('TASK [') == 0, out[-3000:]


CHECK = 'Inputs of the role (edgenet.linux.validate_roles)'
MODULE_TASKS = ('Bridge, VXLAN device and access ports', 'VXLAN port maps VLANs to VNIs',
                'VNI filter list of the VXLAN device',
                'VLANs of the VXLAN port (with their VNIs) and of the access ports', HER)


def test_role_on_its_own_refuses_a_bad_vlan_before_any_change(hosts, tmp_path):
    """The role run on its own with a VLAN ID out of range (which meta/argument_specs.yml cannot refuse): its first
    task (edgenet.linux.validate_roles, the check playbooks/site.yml runs) refuses it, naming the task, the field
    and the value, and no module call runs on any host. Before, the link call ran first (and made the bridge, the
    VXLAN device and the access port's enslavement where the kernel can) and only the VLAN call refused the ID."""
    before = dict((ns, ipj(ns, 'link', 'show')) for ns in hosts[:2])
    inventory = {'all': {'hosts': {
        'leaf1': host(hosts[0], l2_fabric_vtep_ip='198.18.0.1', l2_fabric_access_ports=[{'dev': 'p10', 'vlan': 10}]),
        'leaf2': host(hosts[1], l2_fabric_vtep_ip='198.18.0.2')}}}
    by, out, rc = run(tmp_path, inventory, {'l2_fabric_vlans': [{'vid': 10, 'vni': 10010}, {'vid': 5000, 'vni': 15000}]})
    assert rc != 0, out[-3000:]
    for name in ('leaf1', 'leaf2'):
        first = by.get((name, CHECK)) or {}
        assert first.get('failed') and "field 'vlans': '5000' is out of range" in first['msg'], (name, out[-3000:])
        assert not any((name, t) in by for t in MODULE_TASKS), by
    assert dict((ns, ipj(ns, 'link', 'show')) for ns in hosts[:2]) == before


def fdb_dsts(ns, dev='vxlan0'):
    """The head-end replication entries of ``dev`` in ``ns`` (bridge -j fdb show): their dst, sorted."""
    return sorted(e['dst'] for e in bridgej(ns, 'fdb', 'show', 'dev', dev)
                  if e.get('mac') == '00:00:00:00:00:00' and e.get('dst'))


def test_vtep_group_in_the_role_vars_is_the_group_read(hosts, tmp_path):
    """l2_fabric_vtep_group given in the role's vars (the README's own example style), with a host outside the play
    and outside the fabric whose l2_fabric_vtep_ip is bad. The VTEP read took every play host's group from hostvars,
    which hold the inventory's variables only, not the role's: group all, whose stray host stopped the play ("a VTEP
    of group all"), while the same inventory with the group in group_vars worked. Now the group the role is given is
    the one read: the play runs, each VTEP replicates towards the other (bridge fdb), the stray host is not read."""
    before = ipj(hosts[2], 'link', 'show')
    inventory = {'all': {'hosts': {'stray': host(hosts[2], l2_fabric_vtep_ip='198.18.0.999')},
                         'children': {'vteps': {'hosts': {'leaf1': host(hosts[0], l2_fabric_vtep_ip='198.18.0.1'),
                                                          'leaf2': host(hosts[1], l2_fabric_vtep_ip='198.18.0.2')}}}}}
    role_vars = {'l2_fabric_vtep_group': 'vteps', 'l2_fabric_vni': 100}
    # (the play is the fabric's group, as in the README, and also the play of all hosts limited to the fabric)
    by, out, rc = run(tmp_path, inventory, role_vars, '--limit', 'vteps')
    assert rc == 0, out[-3000:]
    assert 'group all' not in out
    assert by[('leaf1', HER)]['changed'] and by[('leaf2', HER)]['changed'], by
    assert fdb_dsts(hosts[0]) == ['198.18.0.2'] and fdb_dsts(hosts[1]) == ['198.18.0.1']
    assert ipj(hosts[2], 'link', 'show') == before
    by, out, rc = run(tmp_path, inventory, role_vars, '--limit', 'vteps')
    assert rc == 0 and 'changed=0' in out and 'changed=1' not in out, out[-3000:]


def test_a_fabric_of_ipv4_and_ipv6_vteps_is_refused_before_any_change(hosts, tmp_path):
    """VTEP addresses of both families in one fabric: a VXLAN device reaches the VTEPs of its own family only. Before,
    nothing refused it up front: the IPv4 hosts made their bridge and VXLAN device and then failed at the last call,
    the kernel's EAFNOSUPPORT on 'fdb append ... dst fd42:ed6e::3'. Now the VTEP read refuses the fabric, naming the
    field, the hosts and their addresses, and no host changes anything."""
    before = dict((ns, ipj(ns, 'link', 'show')) for ns in hosts)
    inventory = {'all': {'vars': {'l2_fabric_vni': 1001}, 'hosts': {
        'leaf1': host(hosts[0], l2_fabric_vtep_ip='198.18.0.1'),
        'leaf2': host(hosts[1], l2_fabric_vtep_ip='198.18.0.2'),
        'leaf3': host(hosts[2], l2_fabric_vtep_ip='fd42:ed6e::3')}}}
    by, out, rc = run(tmp_path, inventory, {})
    assert rc != 0, out[-3000:]
    assert ('l2_fabric_vtep_ip of the VTEPs of group all: IPv4 (leaf1 198.18.0.1, leaf2 198.18.0.2) and IPv6 '
            '(leaf3 fd42:ed6e::3) addresses in one fabric') in out, out[-3000:]
    assert not any(r.get('changed') for r in by.values()), by
    assert not any((h, t) in by for h in ('leaf1', 'leaf2', 'leaf3') for t in MODULE_TASKS), by
    assert dict((ns, ipj(ns, 'link', 'show')) for ns in hosts) == before


def test_vnifilter_given_as_the_string_false_makes_no_vni_filter(hosts, tmp_path):
    """l2_fabric_vnifilter "false" (what -e l2_fabric_vnifilter=false or an INI inventory gives): the argument spec
    (type bool) takes it, and the role's vars tested the string itself, which is true: the VXLAN device got a VNI
    filter and the VNI filter call ran. Check mode: the link call plans no vnifilter, the VNI filter call skips."""
    by, out, rc = run(tmp_path, {'all': {'hosts': {'leaf1': host(hosts[0], l2_fabric_vtep_ip='198.18.0.1')}}},
                      {'l2_fabric_vnifilter': 'false', 'l2_fabric_vlans': [{'vid': 10, 'vni': 10010}]}, '--check')
    assert rc == 0, out[-4000:]
    link = by[('leaf1', 'Bridge, VXLAN device and access ports')]
    [vx] = [o['vxlan'] for o in link['after'] if o['ifname'] == 'vxlan0']
    assert 'vnifilter' not in vx, vx
    assert by[('leaf1', 'VNI filter list of the VXLAN device')].get('false_condition') == '__l2_fabric_vnis != []', by
