# -*- coding: utf-8 -*-
"""playbooks/site.yml: its role hooks (1-host tools/lab, check mode) and the whole edge site on a 3-host lab.

site.yml runs edgenet.linux.interfaces, then includes edgenet.linux.l2_fabric and edgenet.linux.qos (in that
order, from one looped task) for a host only when that host sets one of the role's own variables
(l2_fabric_*, qos_*). The hook test runs a copy of site.yml whose group_vars stop before the hook roles'
variables, against a copy of the installed collection in which both roles are replaced by stubs that report
they ran, and against a copy without the roles at all.

The site test runs site.yml as it is (its group_vars set both roles' variables for every host) over three lab
hosts: check mode predicts and changes nothing, the real run makes the fabric (head-end replication towards
the two other hosts' underlay addresses on the site's VXLAN port, no second bridge or VXLAN device) and the
QoS tree (HTB, its classes, u32 filters on the site bridge), as iproute2 shows it, the re-run changes
nothing, and traffic between two sites crosses the fabric and is classified by the tree.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import BIN, bridgej, ipj, ns_exec, sh
from test_fleet_diff import ROOT, assert_unchanged, kernel_view
from test_lab import Lab

HOOKS = ('l2_fabric', 'qos')


@pytest.fixture(scope='module')
def lab1(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp('lab'))
    try:
        lab('up', '1')
        yield lab
    finally:
        left_ns, left_sshd = lab.teardown()
        assert left_ns == [] and left_sshd == [], 'tools/lab down left %s %s' % (left_ns, left_sshd)


def collection_copy(tmp_path, stubs):
    """A copy of the installed collection; roles/<hook> replaced by a stub (stubs=True) or removed."""
    src = os.path.join(os.environ['ANSIBLE_COLLECTIONS_PATH'].split(':')[0], 'ansible_collections', 'edgenet', 'linux')
    root = tmp_path / ('stubs' if stubs else 'bare')
    dst = root / 'ansible_collections' / 'edgenet' / 'linux'
    shutil.copytree(src, str(dst), ignore=shutil.ignore_patterns('tests', '__pycache__'))
    for hook in HOOKS:
        shutil.rmtree(str(dst / 'roles' / hook), ignore_errors=True)
        if stubs:
            (dst / 'roles' / hook / 'tasks').mkdir(parents=True)
            # (site.yml enters a role at tasks/run.yml, its tasks after the validate_roles check of its main.yml)
            (dst / 'roles' / hook / 'tasks' / 'run.yml').write_text(
                '- name: Stub\n  ansible.builtin.debug:\n    msg: "HOOK %s RAN {{ %s_marker }}"\n' % (hook, hook))
            (dst / 'roles' / hook / 'tasks' / 'main.yml').write_text(
                '- name: Stub tasks\n  ansible.builtin.import_tasks: run.yml\n')
    return str(root)


def site_without_hook_vars(tmp_path):
    """A copy of playbooks/ whose group_vars/all.yml stops where the hook roles' variables begin."""
    dst = tmp_path / 'playbooks'
    (dst / 'group_vars').mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, 'playbooks', 'site.yml'), str(dst / 'site.yml'))
    with open(os.path.join(ROOT, 'playbooks', 'group_vars', 'all.yml')) as f:
        text = f.read()
    marker = '# -- hook roles --'
    assert marker in text
    head = text.split(marker)[0]
    assert 'site_links:' in head and 'l2_fabric_' not in head and 'qos_' not in head
    (dst / 'group_vars' / 'all.yml').write_text(head)
    return str(dst / 'site.yml')


def site(lab, collections, *args, playbook=None, check=True):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR='1',
               ANSIBLE_RETRY_FILES_ENABLED='False', ANSIBLE_DEPRECATION_WARNINGS='False',
               ANSIBLE_LOCAL_TEMP=os.path.join(lab.tmp, 'ansible-local'),
               ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(lab.tmp, 'cp'))
    p = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', lab.inventory,
                        playbook or os.path.join(ROOT, 'playbooks', 'site.yml')] + (['--check'] if check else [])
                       + list(args), capture_output=True, text=True, env=env, check=False)
    out = p.stdout + p.stderr
    assert 'Traceback' not in out, out
    return p.returncode, out


def test_site_role_hooks(lab1, tmp_path):
    lab = lab1
    stubs = collection_copy(tmp_path, stubs=True)
    bare = collection_copy(tmp_path, stubs=False)
    nohooks = site_without_hook_vars(tmp_path)

    # the site as it is sets both roles' variables: both stubs run, in order
    rc, out = site(lab, stubs, '-e', 'qos_marker=Q0', '-e', 'l2_fabric_marker=L0')
    assert rc == 0, out[-4000:]
    assert out.index('HOOK l2_fabric RAN L0') < out.index('HOOK qos RAN Q0')

    # no hook variables: both hooks skip, even when the roles are not installed at all
    for collections in (stubs, bare):
        rc, out = site(lab, collections, playbook=nohooks)
        assert rc == 0, out[-4000:]
        assert 'HOOK' not in out and 'skipping: [%s]' % lab.ns(1) in out.split('TASK [Roles the host sets')[1]
        assert 'edgenet.linux.interfaces : Links' in out and 'changed=4' in out

    # qos_* set: only the qos role runs, after the interfaces role
    rc, out = site(lab, stubs, '-e', 'qos_marker=Q1', playbook=nohooks)
    assert rc == 0, out[-4000:]
    assert 'HOOK qos RAN Q1' in out and 'HOOK l2_fabric' not in out
    assert out.index('interfaces : Policy rules') < out.index('HOOK qos RAN')

    # both set: l2_fabric before qos
    rc, out = site(lab, stubs, '-e', 'qos_marker=Q2', '-e', 'l2_fabric_marker=L2', playbook=nohooks)
    assert rc == 0, out[-4000:]
    assert out.index('HOOK l2_fabric RAN L2') < out.index('HOOK qos RAN Q2')

    # a hook variable set but the role missing: the host fails, naming the role, before the first role runs
    rc, out = site(lab, bare, '-e', 'l2_fabric_marker=L2', playbook=nohooks)
    assert rc != 0 and "edgenet.linux.l2_fabric" in out and 'was not found' in out, out[-4000:]
    assert 'TASK [edgenet.linux.interfaces : ' not in out, out[-4000:]

    # the real qos role, as installed, joins through the hook: an HTB tree on the site bridge is predicted
    # after the interfaces role (check mode: br0 does not exist yet, the tc modules assume it will)
    qos = tmp_path / 'qos.yml'
    qos.write_text('qos_trees:\n  - dev: br0\n    qdiscs:\n      - {handle: "1:", kind: htb, default: 10}\n'
                   '    classes:\n      - {classid: "1:10", parent: "1:", rate: 10mbit}\n')
    rc, out = site(lab, os.environ['ANSIBLE_COLLECTIONS_PATH'], '-e', '@%s' % qos, '--diff', playbook=nohooks)
    assert rc == 0, out[-4000:]
    assert out.index('interfaces : Policy rules') < out.index('TASK [edgenet.linux.qos : ')
    qos_part = out.split('TASK [edgenet.linux.qos : ', 1)[1]
    assert 'kind: htb' in qos_part and 'rate: 10000000' in qos_part, out[-4000:]
    assert 'changed=6' in out  # link, address, route, rule, tc_qdisc, tc_class

    # the site's single-VNI fabric refuses VLANs: the role's link call would fail naming them (not the
    # head-end-replication-only case), and site.yml's first task finds that out before any role runs
    rc, out = site(lab, os.environ['ANSIBLE_COLLECTIONS_PATH'], '-e', '{"l2_fabric_vlans": [{"vid": 10, "vni": 10010}]}')
    assert rc != 0 and 'l2_fabric_vlans must be empty when l2_fabric_vni is set' in out, out[-4000:]
    assert 'edgenet.linux.l2_fabric: task "Bridge, VXLAN device and access ports"' in out, out[-4000:]
    assert 'TASK [edgenet.linux.' not in out and 'changed=0' in out and 'failed=1' in out, out[-4000:]


@pytest.fixture
def lab3(tmp_path):
    lab = Lab(tmp_path)
    try:
        lab('up', '3')
        yield lab
    finally:
        left_ns, left_sshd = lab.teardown()
        assert left_ns == [] and left_sshd == [], 'tools/lab down left %s %s' % (left_ns, left_sshd)


def recap(out):
    """{host: {field: n}} from the PLAY RECAP."""
    return {m.group(1): {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', m.group(2))}
            for m in re.finditer(r'^(\S+)\s+:\s+(ok=.*)$', out.split('PLAY RECAP', 1)[-1], re.M)}


def htb_classes(ns):
    """{classid: (parent, prio, rate, ceil, packets sent)} from `tc -s class show dev br0` (iproute2 6.1
    prints HTB classes as text even with -j)."""
    text = sh('tc', '-n', ns, '-s', 'class', 'show', 'dev', 'br0')
    out = {}
    for m in re.finditer(r'^class htb (\S+) (?:root|parent (\S+))(?: prio (\d+))? rate (\S+) ceil (\S+) .*\n'
                         r' Sent \d+ bytes (\d+) pkt', text, re.M):
        out[m.group(1)] = (m.group(2), int(m.group(3) or 0), m.group(4), m.group(5), int(m.group(6)))
    return out


def u32_filters(ns):
    """[(pref, flowid, [(value, mask, off)...])] of the u32 nodes on br0's root qdisc, from `tc -j filter show`
    (whose JSON repeats the "match" key per key: read them all)."""
    def pairs(items):
        out = {}
        for k, v in items:
            out.setdefault(k, []).append(v) if k == 'match' else out.__setitem__(k, v)
        return out
    text = sh('tc', '-n', ns, '-j', 'filter', 'show', 'dev', 'br0', 'parent', '1:')
    nodes = [f for f in json.loads(text, object_pairs_hook=pairs) if 'flowid' in f.get('options', {})]
    return sorted((f['pref'], f['options']['flowid'],
                   [(k['value'], k['mask'], k['off']) for k in f['options'].get('match', [])]) for f in nodes)


def test_site_bad_role_input_changes_nothing(lab1):
    """site.yml checks every role's variables in its first task (edgenet.linux.validate_roles): a bad value for a
    later role, or for the first, fails the host in a real run before any role runs, and names the role and the
    variable; the host's kernel state (iproute2's view) is untouched."""
    lab = lab1
    collections = os.environ['ANSIBLE_COLLECTIONS_PATH']
    before = {1: kernel_view(lab, 1)}
    for extra, role, field in [('qos_state=bogus', 'edgenet.linux.qos', 'qos_state'),
                               ('{"qos_trees": "br0"}', 'edgenet.linux.qos', 'qos_trees'),
                               ('{"l2_fabric_vlans": [5]}', 'edgenet.linux.l2_fabric', 'l2_fabric_vlans'),
                               ('{"interfaces_routes": "not a list"}', 'edgenet.linux.interfaces',
                                'interfaces_routes'),
                               # (the spec converted a list to a string; the role used the list: a filter's
                               # "unhashable type" after the interfaces role had changed the host)
                               ('{"l2_fabric_vtep_group": ["all"]}', 'edgenet.linux.l2_fabric',
                                "l2_fabric_vtep_group must be a string, got a list (['all'])"),
                               # (a name the modules refuse, found only by a module call after others changed the host)
                               ('qos_netns=../x', 'edgenet.linux.qos',
                                "field 'netns': '../x' is not a network namespace name")]:
        rc, out = site(lab, collections, '-e', extra, check=False)
        assert rc != 0 and 'Validation of role arguments failed' in out, out[-4000:]
        assert '%s: ' % role in out and field in out, out[-4000:]
        assert 'TASK [edgenet.linux.' not in out and 'changed=0' in out and 'failed=1' in out, out[-4000:]
        assert_unchanged(lab, before)


def test_site_value_a_module_refuses_changes_nothing(lab1):
    """Values that the roles' argument specifications accept but a module call of a later role refuses (a rate
    that is not one, a ceil below the rate, a VTEP address that is not an address, a VLAN out of range): site.yml's
    first task renders every module call of every role the host runs and checks the values as the module does,
    so a real run fails there, naming the role, the task and the field in the module's words, before the interfaces
    role has changed anything (iproute2's view of the host is unchanged)."""
    lab = lab1
    collections = os.environ['ANSIBLE_COLLECTIONS_PATH']
    before = {1: kernel_view(lab, 1)}
    for extras, role, words in [
            (['site_rate=fast', 'site_rule_priority=2000'], 'edgenet.linux.qos',
             'task "Classes" (edgenet.linux.tc_class): qos_trees[0].classes[0]: field \'rate\': \'fast\' is not a rate'),
            (['site_rate=50mbit'], 'edgenet.linux.qos', "field 'ceil': ceil 50000000bit is below rate 70000000bit"),
            (['l2_fabric_vtep_ip=not-an-ip'], 'edgenet.linux.l2_fabric',
             "(l2_fabric_vtep_ip) 'not-an-ip' is not an IPv4 or IPv6 address"),
            (['l2_fabric_vni=16777216'], 'edgenet.linux.l2_fabric',
             'l2_fabric_vni must be 0 (a VLAN-aware fabric) or a VNI from 1 to 16777215, got 16777216'),
            (['{"qos_trees": [{"dev": "br0", "qdiscs": [{"handle": "1:", "kind": "htb", "default": 30}], '
              '"classes": [{"classid": "1:1", "parent": "1:", "rate": "fast"}]}]}'], 'edgenet.linux.qos',
             "qos_trees[0].classes[0]: field 'rate': 'fast' is not a rate"),
            (['{"l2_fabric_vni": 0, "l2_fabric_devices": true, "l2_fabric_vlans": [{"vid": 99999, "vni": -1}]}'],
             'edgenet.linux.l2_fabric', "field 'vnis': '-1' is not a VNI")]:
        args = []
        for extra in extras:
            args += ['-e', extra]
        rc, out = site(lab, collections, *args, check=False)
        assert rc != 0 and 'Validation of role arguments failed' in out, out[-4000:]
        assert '%s: ' % role in out and words in out, out[-4000:]
        assert 'TASK [edgenet.linux.' not in out and 'changed=0' in out and 'failed=1' in out, out[-4000:]
        assert_unchanged(lab, before)


def test_site_another_hosts_bad_vtep_changes_no_host(lab3, tmp_path):
    """A VTEP address is every other VTEP's peer. Host 2's bad l2_fabric_vtep_ip failed host 2 in site.yml's first
    task, but hosts 1 and 3 went on: the interfaces role changed them, then the l2_fabric role's read of every VTEP
    stopped the play, leaving them half-configured. site.yml now runs that read (the hook's tasks/play_inputs.yml)
    before any role: the play stops there for every host, naming the host, and no host's kernel state (iproute2's
    view) changes."""
    lab = lab3
    collections = os.environ['ANSIBLE_COLLECTIONS_PATH']
    hosts = [lab.ns(i) for i in (1, 2, 3)]
    before = {i: kernel_view(lab, i) for i in (1, 2, 3)}
    extra = tmp_path / 'bad-vtep.yml'
    extra.write_text('all:\n  hosts:\n    %s:\n      l2_fabric_vtep_ip: 198.18.0.300\n' % hosts[1])
    rc, out = site(lab, collections, '-i', str(extra), check=False)
    assert rc != 0, out[-4000:]
    assert ("l2_fabric_vtep_ip of host %s (a VTEP of group all): '198.18.0.300' is not an IPv4" % hosts[1]) in out, \
        out[-4000:]
    assert 'TASK [edgenet.linux.interfaces' not in out, out[-4000:]
    # (a run_once task that fails stops the play for every host: no task after it ran anywhere; Ansible counts the
    # failure against the host it ran on)
    assert out.split("TASK [edgenet.linux.l2_fabric : The VTEPs of the play's fabrics")[1].count('TASK [') == 0, \
        out[-3000:]
    assert all(r['changed'] == 0 for r in recap(out).values()) and recap(out)[hosts[1]]['failed'] == 1, out[-3000:]
    assert_unchanged(lab, before)
    # check mode stops there too, and so does a play of the hosts without the bad one (it is still a VTEP of theirs)
    rc, out = site(lab, collections, '-i', str(extra), '--limit', '%s,%s' % (hosts[0], hosts[2]), '--diff')
    assert rc != 0 and "'198.18.0.300' is not an IPv4" in out, out[-4000:]
    assert 'TASK [edgenet.linux.interfaces' not in out, out[-4000:]
    assert_unchanged(lab, before)


def test_site_fabric_and_qos(lab3):
    lab = lab3
    collections = os.environ['ANSIBLE_COLLECTIONS_PATH']
    hosts = [lab.ns(i) for i in (1, 2, 3)]
    before = {i: kernel_view(lab, i) for i in (1, 2, 3)}

    # check mode: every host would change its 8 module tasks (interfaces 4, the fabric's head-end
    # replication, the QoS qdisc, classes and filters); the kernel is untouched
    rc, out = site(lab, collections, '--diff')
    assert rc == 0, out[-4000:]
    assert_unchanged(lab, before)
    assert {h: (r['changed'], r['failed']) for h, r in recap(out).items()} == {h: (8, 0) for h in hosts}, out[-3000:]
    her = out.split('TASK [edgenet.linux.l2_fabric : Head-end replication', 1)[1].split('TASK [', 1)[0]
    assert 'edgenet.linux.bridge_fdb' in her and lab.addr(2) in her and lab.addr(3) in her, her

    # apply
    rc, out = site(lab, collections, '--diff', check=False)
    assert rc == 0, out[-4000:]
    assert {h: (r['changed'], r['failed']) for h, r in recap(out).items()} == {h: (8, 0) for h in hosts}, out[-3000:]
    for i, ns in enumerate(hosts, 1):
        links = {link['ifname']: link for link in ipj(ns, '-d', 'link', 'show')}
        kinds = sorted(link.get('linkinfo', {}).get('info_kind', '') for link in links.values())
        # one bridge and one VXLAN device: the fabric uses the interfaces role's, it makes no second one
        assert kinds.count('bridge') == 1 and kinds.count('vxlan') == 1, kinds
        assert links['br0']['linkinfo']['info_data']['vlan_filtering'] == 0
        vx = links['vx100']['linkinfo']['info_data']
        assert (vx['id'], vx['local'], vx['port'], vx['learning']) == (100, lab.addr(i), 4789, False)
        assert links['vx100']['master'] == 'br0'
        # head-end replication: one all-zero entry towards each other host's underlay address, nothing else
        her = sorted((e['mac'], e['dst'], e['state'], tuple(e['flags']))
                     for e in bridgej(ns, 'fdb', 'show', 'dev', 'vx100') if 'dst' in e)
        assert her == [('00:00:00:00:00:00', lab.addr(j), 'permanent', ('self',)) for j in (1, 2, 3) if j != i]
        # QoS: HTB at the root of br0, default class 1:30, the four classes, the four u32 filters
        qd = json.loads(sh('tc', '-n', ns, '-j', 'qdisc', 'show', 'dev', 'br0'))
        assert [(q['kind'], q['handle'], q.get('root'), q['options']['default']) for q in qd] == [
            ('htb', '1:', True, '0x30')]
        classes = {k: v[:4] for k, v in htb_classes(ns).items()}
        assert classes == {'1:1': (None, 0, '100Mbit', '100Mbit'), '1:10': ('1:1', 0, '10Mbit', '100Mbit'),
                           '1:20': ('1:1', 1, '20Mbit', '100Mbit'), '1:30': ('1:1', 2, '70Mbit', '100Mbit')}
        assert u32_filters(ns) == [
            (1, '1:10', [('b80000', 'fc0000', 0)]),                          # voice: DSCP EF (TOS 0xb8/0xfc)
            (2, '1:20', [('60000', 'ff0000', 8), ('16', 'ffff', 20)]),       # TCP, destination port 22
            (2, '1:20', [('60000', 'ff0000', 8), ('160000', 'ffff0000', 20)]),  # TCP, source port 22
            (3, '1:30', [('200000', 'fc0000', 0)])]                          # bulk: DSCP CS1

    # idempotence
    rc, out = site(lab, collections, check=False)
    assert rc == 0, out[-4000:]
    assert {h: (r['changed'], r['failed']) for h, r in recap(out).items()} == {h: (0, 0) for h in hosts}, out[-3000:]

    # traffic: two sites on one segment of the stretched bridge (a test address, not the site's) reach each
    # other across the VXLAN fabric; what host 1 sends marked EF goes through the voice class, the rest is
    # not counted there
    for i in (1, 2):
        sh('ip', '-n', hosts[i - 1], 'address', 'add', '198.19.200.%d/24' % i, 'dev', 'br0')
    voice0 = htb_classes(hosts[0])['1:10'][4]
    ns_exec(hosts[0], 'ping', '-c', '3', '-i', '0.2', '-W', '5', '198.19.200.2')
    assert htb_classes(hosts[0])['1:10'][4] == voice0
    ns_exec(hosts[0], 'ping', '-c', '3', '-i', '0.2', '-W', '5', '-Q', '0xb8', '198.19.200.2')
    assert htb_classes(hosts[0])['1:10'][4] == voice0 + 3
    assert htb_classes(hosts[0])['1:30'][4] >= 3
