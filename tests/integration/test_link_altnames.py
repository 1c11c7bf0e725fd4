# -*- coding: utf-8 -*-
"""Alternative device names (altnames, `ip link property add dev X altname Y`, kernel 5.5+) against the host kernel:
the link module gathers and manages them, and every module takes a device named by one as that device. The oracle
is `ip -j link show` (its `altnames` key) and `ip -j address show`."""

import pytest

from conftest import (assert_no_traceback, diff_side, ipj, merged_in_process, ns_and_twin, printed_then_real, sh)

M = 'edgenet.linux.link'
A = 'edgenet.linux.address'
LONG = 'uplink-to-spine1-ethernet7-a-name-longer-than-fifteen-bytes'


def links(ns):
    """{ifname: `ip -j link show` entry}."""
    return dict((link['ifname'], link) for link in ipj(ns, 'link', 'show'))


def altnames(ns):
    """{ifname: its altnames as iproute2 lists them} of every device that has any."""
    return dict((name, link['altnames']) for name, link in links(ns).items() if link.get('altnames'))


def snapshot(ns):
    """What a refused or rolled back task must leave as it was: each device's name, altnames (in order), MTU, master
    and alias."""
    return sorted((name, tuple(link.get('altnames', ())), link['mtu'], link.get('master'), link.get('ifalias'))
                  for name, link in links(ns).items())


def add_altnames(ns, dev, *names):
    sh('ip', '-n', ns, 'link', 'property', 'add', 'dev', dev, *[w for n in names for w in ('altname', n)])


def _pair(ns):
    """A veth pair v0/v1, v0 with the altnames a1, a2, a3 (in that order) and LONG."""
    sh('ip', '-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    add_altnames(ns, 'v0', 'a1', 'a2', 'a3', LONG)
    return ns


ns, twin = ns_and_twin(_pair)


def test_gathered_shows_the_altnames_in_the_kernels_order(ns, play):
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    assert_no_traceback(g)
    by = dict((o['ifname'], o) for o in g['gathered'])
    assert by['v0']['altnames'] == links(ns)['v0']['altnames'] == ['a1', 'a2', 'a3', LONG]
    assert 'altnames' not in by['v1'] and 'altnames' not in by['lo']
    # fed back, nothing changes
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': g['gathered']}})[0]
    assert not r.get('failed') and r['changed'] is False and r['commands'] == [], r


@pytest.mark.parametrize('name', ['a2', LONG])
def test_merged_names_a_device_by_its_altname(ns, play, name):
    """The probe's case: merged with ifname an altname tried to create a device of that name (check mode predicted the
    create, the real run failed with EEXIST; one longer than a device name was refused as a bad name). It changes the
    device the altname names, which the result shows by its name."""
    before = snapshot(ns)
    task = {M: {'netns': ns, 'config': [{'ifname': name, 'mtu': 1400, 'alias': 'by altname'}]}}
    check = play(task, check=True)[0]
    assert snapshot(ns) == before
    real, again = play([task, task])
    for r in (check, real, again):
        assert_no_traceback(r)
        assert not r.get('failed'), r.get('msg')
    assert real['commands'] == ["ip -n %s link set v0 mtu 1400 alias 'by altname'" % ns] == check['commands']
    assert check['after'] == real['after'] and [o['ifname'] for o in real['after']] == ['v0']
    assert real['before'][0]['ifname'] == 'v0' and real['before'][0]['mtu'] == 1500
    assert 'link v0' in real['diff'][0]['after_header']
    k = links(ns)
    assert k['v0']['mtu'] == 1400 and k['v0']['ifalias'] == 'by altname' and set(k) == {'lo', 'v0', 'v1'}
    assert not again['changed'] and again['commands'] == []
    # an element that names the device twice (by its name and by an altname) is one device twice
    r = play({M: {'netns': ns, 'config': [{'ifname': 'v0'}, {'ifname': 'a2', 'mtu': 1300}]}})[0]
    assert r['failed'] and 'duplicate key (ifname=v0)' in r['msg'] and "field 'ifname'" in r['msg'], r['msg']


def test_deleted_names_a_device_by_its_altname(ns, play):
    """state=deleted with an altname silently did nothing: it deletes the device (and the kernel its peer)."""
    task = {M: {'netns': ns, 'state': 'deleted', 'config': [{'ifname': 'a3'}]}}
    check = play(task, check=True)[0]
    assert set(links(ns)) == {'lo', 'v0', 'v1'}
    real, again = play([task, task])
    for r in (check, real):
        assert_no_traceback(r)
        assert r['changed'] and not r.get('failed'), r
    assert real['commands'] == check['commands'] == ['ip -n %s link del v0' % ns]
    assert real['after'] == check['after'] == []
    assert set(links(ns)) == {'lo'} and not again['changed']


def test_a_master_and_a_lower_device_named_by_an_altname(ns, play):
    """master: ALTNAME said the master "does not exist": it names the bridge, and a vxlan's dev likewise. So does an
    altname that another element of the same task gives its device, in check mode as in the real run."""
    sh('ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge')
    add_altnames(ns, 'br0', 'blue0')
    first = {M: {'netns': ns, 'config': [
        {'ifname': 'v0', 'master': 'blue0'},
        {'ifname': 'vx5', 'kind': 'vxlan', 'vxlan': {'id': 5, 'dev': 'a1', 'dstport': 4790}}]}}
    second = {M: {'netns': ns, 'config': [
        {'ifname': 'br1', 'kind': 'bridge', 'altnames': ['tenant-red-bridge']},
        {'ifname': 'v1', 'master': 'tenant-red-bridge'}]}}
    for task in (first, second):
        check = play(task, check=True)[0]
        real, again = play([task, task])
        for r in (check, real, again):
            assert_no_traceback(r)
            assert not r.get('failed'), r.get('msg')
        assert check['commands'] == real['commands'] and not check.get('warnings'), check
        assert check['after'] == real['after'] or task is first  # (vx5's random MAC: check mode cannot know it)
        assert not again['changed'] and again['commands'] == []
        if task is first:
            assert 'ip -n %s link set v0 master br0' % ns in real['commands']
            assert 'ip -n %s link add vx5 type vxlan id 5 dev v0 dstport 4790 learning' % ns in real['commands']
        else:
            assert real['commands'] == ['ip -n %s link add br1 type bridge' % ns,
                                        'ip -n %s link set v1 master br1' % ns,
                                        'ip -n %s link property add dev br1 altname tenant-red-bridge' % ns]
        by = dict((o['ifname'], o) for o in real['after'])
        assert by.get('v0', by.get('v1'))['master'] in ('br0', 'br1')
    k = links(ns)
    assert k['v0']['master'] == 'br0' and k['v1']['master'] == 'br1' and k['br1']['altnames'] == ['tenant-red-bridge']
    assert ipj(ns, '-d', 'link', 'show', 'vx5')[0]['linkinfo']['info_data']['link'] == 'v0'


def test_merged_adds_the_missing_altnames(ns, twin, play):
    task = {M: {'netns': ns, 'config': [{'ifname': 'v0', 'altnames': ['b2', 'a2', 'b1']},
                                        {'ifname': 'v1', 'altnames': ['peer-of-v0']},
                                        {'ifname': 'br7', 'kind': 'bridge', 'address': '02:00:00:00:00:77',
                                         'altnames': ['new-bridge']}]}}
    real = printed_then_real(play, task, ns, twin, snapshot)
    assert real['commands'] == ['ip -n %s link add br7 address 02:00:00:00:00:77 type bridge' % ns,
                                'ip -n %s link property add dev v0 altname b2 altname b1' % ns,
                                'ip -n %s link property add dev v1 altname peer-of-v0' % ns,
                                'ip -n %s link property add dev br7 altname new-bridge' % ns], real['commands']
    assert altnames(ns) == {'v0': ['a1', 'a2', 'a3', LONG, 'b2', 'b1'], 'v1': ['peer-of-v0'], 'br7': ['new-bridge']}
    assert dict((o['ifname'], o.get('altnames')) for o in real['after']) == altnames(ns)
    assert 'new-bridge' in diff_side(real, 'after') and 'b1' not in diff_side(real, 'before')
    # a re-run sends nothing (in process: the netlink writes are counted); gathered objects are fixpoints
    for check_mode in (True, False):
        r, _normalized, writes = merged_in_process('link', ns, task[M]['config'], check_mode)
        assert not r['changed'] and r['commands'] == [] and writes == 0, r


def test_replaced_makes_the_list_exact_in_the_kernels_order(ns, twin, play):
    """Removing an altname that is not the last removes the ones after it too and adds them back, so the kernel's
    order is the predicted one (and a rollback's is the one before)."""
    task = {M: {'netns': ns, 'state': 'replaced', 'config': [
        {'ifname': 'v0', 'kind': 'veth', 'veth': {'peer': 'v1'}, 'altnames': ['new', LONG, 'a1', 'a3']}]}}
    real = printed_then_real(play, task, ns, twin, snapshot)
    assert real['commands'] == [
        'ip -n %s link property del dev v0 altname a2 altname a3 altname %s' % (ns, LONG),
        'ip -n %s link property add dev v0 altname a3 altname %s altname new' % (ns, LONG)], real['commands']
    assert altnames(ns) == {'v0': ['a1', 'a3', LONG, 'new']}
    assert real['after'][0]['altnames'] == ['a1', 'a3', LONG, 'new']
    # left out, a device of a kind the module manages loses them; an empty list likewise
    task = {M: {'netns': ns, 'state': 'replaced', 'config': [{'ifname': 'v0', 'kind': 'veth', 'veth': {'peer': 'v1'}}]}}
    real = printed_then_real(play, task, ns, twin, snapshot)
    assert real['commands'] == ['ip -n %s link property del dev v0 altname a1 altname a3 altname %s altname new'
                                % (ns, LONG)] and altnames(ns) == {}


def test_overridden_and_a_device_of_no_managed_kind(ns, play):
    """overridden makes each listed device's list exact; lo (no kind this module manages, as a NIC whose altnames
    udev gives) keeps its altnames when its element gives none, and loses them to an empty list. deleted never
    removes altnames alone: lo is kept, with its altnames."""
    add_altnames(ns, 'lo', 'loopback0')
    task = {M: {'netns': ns, 'state': 'overridden', 'config': [
        {'ifname': 'lo', 'mtu': 65536},
        {'ifname': 'v0', 'kind': 'veth', 'veth': {'peer': 'v1'}, 'altnames': ['a1', 'a2']},
        {'ifname': 'v1', 'kind': 'veth', 'veth': {'peer': 'v0'}}]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    for r in (check, real, again):
        assert_no_traceback(r)
        assert not r.get('failed'), r.get('msg')
    assert real['commands'] == check['commands'] == ['ip -n %s link property del dev v0 altname a3 altname %s'
                                                     % (ns, LONG)]
    assert check['after'] == real['after'] and not again['changed']
    assert altnames(ns) == {'lo': ['loopback0'], 'v0': ['a1', 'a2']}
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'ifname': 'lo'}, {'ifname': 'loopback0'}]}})[0]
    assert not r.get('failed') and not r['changed'] and altnames(ns)['lo'] == ['loopback0'], r
    r = play({M: {'netns': ns, 'state': 'replaced', 'config': [{'ifname': 'lo', 'altnames': []}]}})[0]
    assert r['commands'] == ['ip -n %s link property del dev lo altname loopback0' % ns], r
    assert 'lo' not in altnames(ns)


def test_deleted_selects_by_altnames_in_any_order(ns, play):
    """An element of state=deleted that gives altnames matches a device that has each of them (the kernel's order is
    not the task's to choose); one that has not is kept, with a warning naming the field."""
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'ifname': 'v0', 'altnames': ['a3', 'zz']}]}})[0]
    assert not r.get('failed') and not r['changed'] and 'v0' in links(ns), r
    assert any('altnames' in w for w in r.get('warnings', [])), r
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'ifname': 'v0', 'altnames': ['a3', 'a1']}]}})[0]
    assert not r.get('failed') and r['changed'] and set(links(ns)) == {'lo'}, r


def test_an_altname_moves_from_one_device_to_another_in_one_task(ns, play):
    """The altnames a task removes are removed first and those it adds are added last: a name can change hands."""
    task = {M: {'netns': ns, 'state': 'replaced', 'config': [
        {'ifname': 'v0', 'kind': 'veth', 'veth': {'peer': 'v1'}, 'altnames': ['a1', 'a2', 'a3']},
        {'ifname': 'v1', 'kind': 'veth', 'veth': {'peer': 'v0'}, 'mtu': 1400, 'altnames': [LONG]}]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    for r in (check, real, again):
        assert_no_traceback(r)
        assert not r.get('failed'), r.get('msg')
    assert real['commands'] == check['commands'] == [
        'ip -n %s link property del dev v0 altname %s' % (ns, LONG), 'ip -n %s link set v1 mtu 1400' % ns,
        'ip -n %s link property add dev v1 altname %s' % (ns, LONG)]
    assert check['after'] == real['after'] and not again['changed']
    assert altnames(ns) == {'v0': ['a1', 'a2', 'a3'], 'v1': [LONG]}


@pytest.mark.parametrize('config, text', [
    ([{'ifname': 'v0', 'altnames': ['x' * 128]}], 'is not a valid alternative name (1 to 127 bytes'),
    ([{'ifname': 'v0', 'altnames': ['ok', 'a/b']}], "'a/b' is not a valid alternative name"),
    ([{'ifname': 'v0', 'altnames': ['a b']}], "'a b' is not a valid alternative name"),
    ([{'ifname': 'v0', 'altnames': ['a\tb']}], 'is not a valid alternative name'),
    ([{'ifname': 'v0', 'altnames': ['..']}], "'..' is not a valid alternative name"),
    ([{'ifname': 'v0', 'altnames': ['']}], "'' is not a valid alternative name"),
    ([{'ifname': 'v0', 'altnames': ['n1', 'n1']}], "'n1' is given twice"),
    ([{'ifname': 'v0', 'altnames': ['v0']}], "'v0' is the device's own name"),
    ([{'ifname': 'v0', 'altnames': ['v1']}], "'v1' is the name of device 'v1': a name names one device"),
    ([{'ifname': 'v1', 'altnames': ['a2']}], "'a2' is an altname of device 'v0': a name names one device"),
    ([{'ifname': 'v0', 'altnames': ['n1']}, {'ifname': 'v1', 'altnames': ['n1']}],
     "'n1' is an altname of device 'v1' as this task leaves it"),
    ([{'ifname': 'v0', 'altnames': ['br9']}, {'ifname': 'br9', 'kind': 'bridge'}],
     "'br9' is the name of device 'br9' as this task leaves it"),
])
def test_a_bad_altname_is_refused_before_anything_is_sent(ns, play, config, text):
    before = snapshot(ns)
    for check in (True, False):
        r = play({M: {'netns': ns, 'config': config}}, check=check)[0]
        assert_no_traceback(r)
        assert r['failed'] and text in r['msg'] and "field 'altnames'" in r['msg'], r['msg']
        assert r['msg'].startswith(('config[', 'link v')), r['msg']
        assert snapshot(ns) == before


def test_a_refusal_later_in_the_task_rolls_the_altnames_back(ns, play):
    """The kernel refuses the last device (its VNI and port are taken): the altnames the task removed come back in
    their order, the ones it added go, and a device it deleted comes back with its altnames."""
    sh('ip', '-n', ns, 'link', 'add', 'old0', 'type', 'vxlan', 'id', '7', 'dstport', '4789')
    sh('ip', '-n', ns, 'link', 'add', 'keep0', 'type', 'ifb')
    add_altnames(ns, 'keep0', 'keep-me-1', 'keep-me-2')
    before = snapshot(ns)
    assert altnames(ns) == {'v0': ['a1', 'a2', 'a3', LONG], 'keep0': ['keep-me-1', 'keep-me-2']}
    cfg = [{'ifname': 'v0', 'kind': 'veth', 'veth': {'peer': 'v1'}, 'altnames': ['a1', 'a3', 'n1']},
           {'ifname': 'v1', 'kind': 'veth', 'veth': {'peer': 'v0'}, 'altnames': ['n2']},
           {'ifname': 'br0', 'kind': 'bridge', 'altnames': ['n3']},
           {'ifname': 'old0', 'kind': 'vxlan', 'vxlan': {'id': 7, 'dstport': 4789}},
           {'ifname': 'vx8', 'kind': 'vxlan', 'vxlan': {'id': 7, 'dstport': 4789}}]  # (the kernel refuses it)
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': cfg}})[0]
    assert_no_traceback(r)
    assert r['failed'] and 'link vx8' in r['msg'] and 'rolled back' in r['msg'], r.get('msg')
    assert r['rollback_failed'] == [] and 'ROLLBACK INCOMPLETE' not in r['msg'], r['msg']
    assert snapshot(ns) == before
    assert altnames(ns) == {'v0': ['a1', 'a2', 'a3', LONG], 'keep0': ['keep-me-1', 'keep-me-2']}
    # the rollback's commands say it: keep0 made again with its altnames, v0's put back in their order
    assert 'ip -n %s link property add dev keep0 altname keep-me-1 altname keep-me-2' % ns in r['rolled_back']
    assert 'ip -n %s link property add dev v0 altname a2 altname a3 altname %s' % (ns, LONG) in r['rolled_back']
    assert 'ip -n %s link property del dev v1 altname n2' % ns in r['rolled_back'], r['rolled_back']


def test_the_address_module_takes_a_device_by_its_altname(ns, play):
    """address: dev ALTNAME said the device did not exist; now the address goes on v0, a second run finds it
    (changed=0), the module's dev option scopes by altname too, and deleted by altname deletes it."""
    task = {A: {'netns': ns, 'config': [{'dev': LONG, 'address': '198.18.7.1/24'},
                                        {'dev': 'a1', 'address': 'fd42:ed6e:7::1/64'}]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    for r in (check, real, again):
        assert_no_traceback(r)
        assert not r.get('failed'), r.get('msg')
    assert real['commands'] == check['commands'] == ['ip -n %s address add 198.18.7.1/24 dev v0' % ns,
                                                     'ip -n %s address add fd42:ed6e:7::1/64 dev v0' % ns]
    assert set(o['dev'] for o in real['after']) == {'v0'} and not again['changed'] and again['commands'] == []
    addrs = ipj(ns, 'address', 'show', 'dev', 'v0')[0]['addr_info']
    assert {'198.18.7.1', 'fd42:ed6e:7::1'} <= set(a['local'] for a in addrs)
    g = play({A: {'netns': ns, 'dev': 'a2', 'state': 'gathered'}})[0]
    assert {'198.18.7.1/24', 'fd42:ed6e:7::1/64'} <= set(o['address'] for o in g['gathered']), g
    assert set(o['dev'] for o in g['gathered']) == {'v0'}
    r = play({A: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'a3', 'address': '198.18.7.1/24'}]}})[0]
    assert r['changed'] and r['commands'] == ['ip -n %s address del 198.18.7.1/24 dev v0' % ns], r
    assert '198.18.7.1' not in set(a['local'] for a in ipj(ns, 'address', 'show', 'dev', 'v0')[0]['addr_info'])


def test_rendered_commands_give_the_altnames(ns, twin, play):
    """state rendered (no kernel read) spells a new device's altnames after its add; pasted, they make it."""
    r = play({M: {'netns': ns, 'state': 'rendered', 'config': [
        {'ifname': 'br5', 'kind': 'bridge', 'alias': 'five', 'altnames': ['bridge-five', 'b5']}]}})[0]
    assert r['rendered'] == ['ip -n %s link add br5 type bridge' % ns, "ip -n %s link set br5 alias five" % ns,
                             'ip -n %s link property add dev br5 altname bridge-five altname b5' % ns], r
    for line in r['rendered']:
        words = line.split()
        sh(*(words[:2] + [twin] + words[3:]))
    assert altnames(twin)['br5'] == ['bridge-five', 'b5']
