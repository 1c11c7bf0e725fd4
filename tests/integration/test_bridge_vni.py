# -*- coding: utf-8 -*-
"""edgenet.linux.bridge_vni against the host kernel (6.18 has VXLAN vnifilter); the oracle is `bridge -j vni show`."""

import pytest

from conftest import assert_no_traceback, bridgej, check_real_again, diff_side, sh

M = 'edgenet.linux.bridge_vni'


def kernel(ns):
    """{dev: [{vni, group/remote}]} in the module's shape, from iproute2."""
    out = {}
    for dev in bridgej(ns, 'vni', 'show'):
        entries = []
        for v in dev.get('vnis', []):
            e = {'vni': v['vni'] if 'vniEnd' not in v else '%d-%d' % (v['vni'], v['vniEnd'])}
            for k in ('group', 'remote'):
                if k in v:
                    e[k] = v[k]
            entries.append(e)
        if entries:
            out[dev['ifname']] = entries
    return out


def flood(ns, dev):
    """[(vni, dst)] of the kernel's flood entries (the all-zero FDB entries a VNI's remote makes) of dev."""
    return sorted((e.get('vni'), e.get('dst')) for e in bridgej(ns, 'fdb', 'show', 'dev', dev)
                  if e['mac'] == '00:00:00:00:00:00')


@pytest.fixture
def ns(netns):
    def ip(*args):
        sh('ip', '-n', netns, *args)
    ip('link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1')
    ip('link', 'add', 'vxlan0', 'type', 'vxlan', 'external', 'vnifilter', 'dstport', '4789', 'local', '198.18.0.1',
       'dev', 'u0')
    ip('link', 'add', 'vxz', 'type', 'vxlan', 'external', 'vnifilter', 'dstport', '4790', 'local', '198.18.0.1')
    ip('link', 'add', 'vx5', 'type', 'vxlan', 'id', '5', 'dstport', '4791')
    return netns


CONFIG = [{'dev': 'vxlan0', 'vnis': [
    {'vni': '151-200'}, {'vni': 100}, {'vni': '101-150'},  # folds into 100-200
    {'vni': 300, 'remote': '198.18.0.2'},
    {'vni': '400-410', 'group': '239.1.1.1'},
    {'vni': 411, 'group': '239.1.1.1'},
]}]
WANT = [{'vni': '100-200'}, {'vni': 300, 'remote': '198.18.0.2'}, {'vni': '400-411', 'group': '239.1.1.1'}]


def test_merged_check_apply_idempotent(ns, play):
    task = {M: {'netns': ns, 'config': CONFIG}}
    check = play(task, check=True)[0]
    assert check['changed'] and kernel(ns) == {}
    real, again = play([task, task])
    assert real['changed'] and not again['changed'] and again['commands'] == []
    assert real['commands'] == [
        'bridge -n %s vni add dev vxlan0 vni 100-200' % ns,
        'bridge -n %s vni add dev vxlan0 vni 300 remote 198.18.0.2' % ns,
        'bridge -n %s vni add dev vxlan0 vni 400-411 group 239.1.1.1' % ns]
    assert check['commands'] == real['commands'] and check['after'] == real['after']
    assert real['after'] == [{'dev': 'vxlan0', 'vnis': WANT}]
    assert kernel(ns) == {'vxlan0': WANT}
    assert 'vni: 100-200' in diff_side(real, 'after') and diff_side(real, 'before') == ''
    # merged adds and updates: 201 joins the range, 300 loses its remote, 150 gets a group
    vnis = [{'vni': 201}, {'vni': 300}, {'vni': 150, 'group': '239.1.1.9'}]
    more = {M: {'netns': ns, 'config': [{'dev': 'vxlan0', 'vnis': vnis}]}}
    check = play(more, check=True)[0]
    real, again = play([more, more])
    want = [{'vni': '100-149'}, {'vni': 150, 'group': '239.1.1.9'}, {'vni': '151-201'}, {'vni': 300},
            {'vni': '400-411', 'group': '239.1.1.1'}]
    assert kernel(ns) == {'vxlan0': want} and real['after'] == [{'dev': 'vxlan0', 'vnis': want}]
    assert check['after'] == real['after'] and not again['changed']
    assert real['commands'] == ['bridge -n %s vni add dev vxlan0 vni 150 group 239.1.1.9' % ns,
                                'bridge -n %s vni add dev vxlan0 vni 201' % ns,
                                'bridge -n %s vni add dev vxlan0 vni 300' % ns]


def test_replaced_overridden_deleted(ns, play):
    play({M: {'netns': ns, 'config': CONFIG + [{'dev': 'vxz', 'vnis': [{'vni': '5000-9999'}]}]}})
    assert kernel(ns)['vxz'] == [{'vni': '5000-9999'}]
    # replaced: exactly these VNIs on vxlan0 (a hole cut out of the range, 300's remote changed); vxz stays
    task = {M: {'netns': ns, 'state': 'replaced', 'config': [{'dev': 'vxlan0', 'vnis': [
        {'vni': '100-120'}, {'vni': '181-200'}, {'vni': 300, 'remote': '198.18.0.3'}]}]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    want = [{'vni': '100-120'}, {'vni': '181-200'}, {'vni': 300, 'remote': '198.18.0.3'}]
    assert kernel(ns) == {'vxlan0': want, 'vxz': [{'vni': '5000-9999'}]}
    assert check['after'] == real['after'] and not again['changed'] and again['commands'] == []
    # 300's remote for another: a delete then an add, so that only the new remote is flooded to
    assert real['commands'] == ['bridge -n %s vni delete dev vxlan0 vni 121-180' % ns,
                                'bridge -n %s vni delete dev vxlan0 vni 300' % ns,
                                'bridge -n %s vni delete dev vxlan0 vni 400-411' % ns,
                                'bridge -n %s vni add dev vxlan0 vni 300 remote 198.18.0.3' % ns]
    assert flood(ns, 'vxlan0') == [(300, '198.18.0.3')]
    # overridden: vxz loses its list (the whole device), vxlan0 becomes exact
    task = {M: {'netns': ns, 'state': 'overridden', 'config': [{'dev': 'vxlan0', 'vnis': [{'vni': '100-120'}]}]}}
    check = play(task, check=True)[0]
    assert 'vxz' in kernel(ns)
    real, again = play([task, task])
    assert kernel(ns) == {'vxlan0': [{'vni': '100-120'}]}
    assert check['after'] == real['after'] == [{'dev': 'vxlan0', 'vnis': [{'vni': '100-120'}]}]
    assert 'bridge -n %s vni delete dev vxz vni 5000-9999' % ns in real['commands'] and not again['changed']
    # gathered feeds back; deleted empties the device
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    assert g['gathered'] == [{'dev': 'vxlan0', 'vnis': [{'vni': '100-120'}]}] and not g['changed']
    task = {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'vxlan0'}]}}
    check = play(task, check=True)[0]
    assert check['after'] == [] and kernel(ns) != {}
    real, again = play([task, task])
    assert real['changed'] and kernel(ns) == {} and not again['changed']
    assert real['commands'] == ['bridge -n %s vni delete dev vxlan0 vni 100-120' % ns]


def test_rendered_lines_work_when_pasted(ns, play):
    r = play({M: {'netns': ns, 'state': 'rendered', 'config': CONFIG}})[0]
    assert kernel(ns) == {}
    for line in r['rendered']:
        sh('bash', '-c', line)
    assert kernel(ns) == {'vxlan0': WANT}
    assert play({M: {'netns': ns, 'config': CONFIG}})[0]['changed'] is False


def _vni_in_use(ns):
    """vxy, another vnifilter device on vxz's port (4790), holds VNI 8: the kernel refuses VNI 8 on vxz ("VNI in
    use"), which only the kernel checks."""
    sh('ip', '-n', ns, 'link', 'add', 'vxy', 'type', 'vxlan', 'external', 'vnifilter', 'dstport', '4790')
    sh('bridge', '-n', ns, 'vni', 'add', 'dev', 'vxy', 'vni', '8')


def test_kernel_refusal_rolls_back(ns, play):
    """The kernel refuses VNI 8 on vxz (in use on its port): vxlan0's VNIs are undone."""
    _vni_in_use(ns)
    cfg = [{'dev': 'vxlan0', 'vnis': [{'vni': 7}]}, {'dev': 'vxz', 'vnis': [{'vni': 8}]}]
    r = play({M: {'netns': ns, 'config': cfg}})[0]
    assert r['failed'] and 'bridge_vni dev vxz' in r['msg'] and "field 'vnis'" in r['msg'], r['msg']
    assert 'VNI in use' in r['msg'] and 'rolled back' in r['msg'], r['msg']
    assert_no_traceback(r)
    assert kernel(ns) == {'vxy': [{'vni': 8}]}


@pytest.mark.parametrize('item, field, text', [
    ({'dev': 'vxlan0', 'vnis': [{'vni': 0}]}, 'vnis', 'out of range'),
    ({'dev': 'vxlan0', 'vnis': [{'vni': '20-10'}]}, 'vnis', 'out of range'),
    ({'dev': 'vxlan0', 'vnis': [{'vni': 16777216}]}, 'vnis', 'out of range'),
    ({'dev': 'vxlan0', 'vnis': [{'vni': 'ten'}]}, 'vnis', 'not a VNI'),
    ({'dev': 'vxlan0', 'vnis': [{'vni': '10-20'}, {'vni': 15}]}, 'vnis', 'given twice'),
    ({'dev': 'vxlan0', 'vnis': [{'vni': 10, 'group': '198.18.0.2'}]}, 'vnis', 'not a multicast'),
    ({'dev': 'vxlan0', 'vnis': [{'vni': 10, 'remote': '239.1.1.1'}]}, 'vnis', 'is a multicast'),
    ({'dev': 'vxlan0', 'vnis': [{'vni': 10, 'remote': '198.18.0.2', 'group': '239.1.1.1'}]}, 'vnis',
     'mutually exclusive'),
    ({'dev': 'vxlan0', 'vnis': []}, 'vnis', 'empty'),
    ({'dev': 'vx5', 'vnis': [{'vni': 10}]}, 'dev', 'without vnifilter'),
    ({'dev': 'u0', 'vnis': [{'vni': 10}]}, 'dev', 'a veth device'),
    ({'dev': 'nosuch0', 'vnis': [{'vni': 10}]}, 'dev', 'does not exist'),
    ({'vnis': [{'vni': 10}]}, 'dev', 'missing required'),
    # the unspecified address: the kernel keeps no remote (before: sent again on every run)
    ({'dev': 'vxlan0', 'vnis': [{'vni': 10, 'remote': '0.0.0.0'}]}, 'vnis', 'remote 0.0.0.0 is no address'),
    ({'dev': 'vxlan0', 'vnis': [{'vni': 10, 'remote': '::'}]}, 'vnis', 'remote :: is no address'),
])
def test_bad_input_is_refused_and_kernel_untouched(ns, play, item, field, text):
    before = kernel(ns)
    r = play({M: {'netns': ns, 'config': [{'dev': 'vxz', 'vnis': [{'vni': 1}]}, item]}})[0]
    assert r['failed'] and text in r['msg'] and ("field '%s'" % field) in r['msg'], r['msg']
    assert_no_traceback(r)
    assert kernel(ns) == before


def test_refusal_midway_rolls_back_every_step(ns, play):
    """A replaced plan whose change of vxlan0 is several requests (deletes, an update, new VNIs), then an add the
    kernel refuses (VNI 8 on vxz, in use on its port): every applied step is undone, in one batch."""
    _vni_in_use(ns)
    start = [{'dev': 'vxlan0', 'vnis': [{'vni': '100-200'}, {'vni': 300, 'remote': '198.18.0.2'}]},
             {'dev': 'vxz', 'vnis': [{'vni': 9}]}]
    play({M: {'netns': ns, 'config': start}})
    before = kernel(ns)
    assert before == {'vxlan0': [{'vni': '100-200'}, {'vni': 300, 'remote': '198.18.0.2'}], 'vxz': [{'vni': 9}],
                      'vxy': [{'vni': 8}]}
    cfg = [{'dev': 'vxlan0', 'vnis': [{'vni': '100-150'}, {'vni': 300, 'remote': '198.18.0.3'}, {'vni': 500}]},
           {'dev': 'vxz', 'vnis': [{'vni': 9}, {'vni': 8}]}]
    task = {M: {'netns': ns, 'state': 'replaced', 'config': cfg}}
    check = play(task, check=True)[0]
    assert check['commands'] == ['bridge -n %s vni delete dev vxlan0 vni 151-200' % ns,
                                 'bridge -n %s vni delete dev vxlan0 vni 300' % ns,
                                 'bridge -n %s vni add dev vxlan0 vni 300 remote 198.18.0.3' % ns,
                                 'bridge -n %s vni add dev vxlan0 vni 500' % ns,
                                 'bridge -n %s vni add dev vxz vni 8' % ns], check['commands']
    flooded = flood(ns, 'vxlan0')
    assert flooded == [(300, '198.18.0.2')]
    r = play(task)[0]
    assert r['failed'] and 'bridge_vni dev vxz' in r['msg'] and "field 'vnis'" in r['msg'], r['msg']
    assert 'rolled back the 2 change(s)' in r['msg'], r['msg']
    assert r['rolled_back'] == ['bridge -n %s vni delete dev vxlan0 vni 300' % ns,
                                'bridge -n %s vni delete dev vxlan0 vni 500' % ns,
                                'bridge -n %s vni add dev vxlan0 vni 151-200' % ns,
                                'bridge -n %s vni add dev vxlan0 vni 300 remote 198.18.0.2' % ns], r['rolled_back']
    assert not r['rollback_failed']
    assert_no_traceback(r)
    assert kernel(ns) == before and flood(ns, 'vxlan0') == flooded


def test_refusal_partway_through_a_range_is_undone(ns, play):
    """The kernel applies a VNI range VNI by VNI and keeps those it applied when it refuses one: VNI 250 is in use
    by vxy, another vnifilter device on port 4789, so `add 121-300` stops at 250 with 121-249 made. The module
    reads the device again and removes them, besides rolling back the steps before (oracle: bridge -j vni show)."""
    sh('ip', '-n', ns, 'link', 'add', 'vxy', 'type', 'vxlan', 'external', 'vnifilter', 'dstport', '4789')
    sh('bridge', '-n', ns, 'vni', 'add', 'dev', 'vxy', 'vni', '250')
    play({M: {'netns': ns, 'config': [{'dev': 'vxlan0', 'vnis': [{'vni': 120, 'remote': '198.18.0.2'}]}]}})
    before = kernel(ns)
    assert before == {'vxlan0': [{'vni': 120, 'remote': '198.18.0.2'}], 'vxy': [{'vni': 250}]}
    task = {M: {'netns': ns, 'state': 'replaced', 'config': [{'dev': 'vxlan0', 'vnis': [{'vni': '100-300'}]}]}}
    check = play(task, check=True)[0]
    assert check['commands'] == ['bridge -n %s vni add dev vxlan0 vni 100-119' % ns,
                                 'bridge -n %s vni add dev vxlan0 vni 120' % ns,
                                 'bridge -n %s vni add dev vxlan0 vni 121-300' % ns], check['commands']
    r = play(task)[0]
    assert_no_traceback(r)
    assert r['failed'] and 'VNI in use' in r['msg'] and 'vni 121-300' in r['msg'], r['msg']
    assert 'rolled back the 2 change(s)' in r['msg'] and 'what the kernel had applied' in r['msg'], r['msg']
    assert r['rolled_back'] == ['bridge -n %s vni delete dev vxlan0 vni 121-249' % ns,
                                'bridge -n %s vni add dev vxlan0 vni 120 remote 198.18.0.2' % ns,
                                'bridge -n %s vni delete dev vxlan0 vni 100-119' % ns], r['rolled_back']
    assert not r['rollback_failed']
    assert kernel(ns) == before


def test_a_group_on_a_device_without_a_lower_device_is_refused(ns, play):
    """A multicast group needs the VXLAN device's lower device: the kernel refuses it on one without ("Local
    interface required for multicast remote group"). Refused before anything is sent, in check mode too (before,
    check mode showed the add, and the real run failed and rolled back)."""
    sh('bridge', '-n', ns, 'vni', 'add', 'dev', 'vxz', 'vni', '5')
    before = kernel(ns)
    config = [{'dev': 'vxlan0', 'vnis': [{'vni': 7}]}, {'dev': 'vxz', 'vnis': [{'vni': '10-12', 'group': '239.1.1.1'}]}]
    task = {M: {'netns': ns, 'config': config}}
    for check_mode in (True, False):
        r = play(task, check=check_mode)[0]
        assert_no_traceback(r)
        assert r.get('failed') and r['object'] == 'bridge_vni dev vxz' and r['field'] == 'vnis', r
        assert 'VNI 10-12: a multicast group needs' in r['msg'] and not r.get('rolled_back'), r
        assert kernel(ns) == before
    # a remote is fine there, and so is a group on the device with one
    task[M]['config'][1]['vnis'] = [{'vni': '10-12', 'remote': '198.18.0.9'}]
    task[M]['config'][0]['vnis'] = [{'vni': 7, 'group': '239.1.1.7'}]
    r, again = play([task, task])
    assert r['changed'] and not again['changed'], r
    assert kernel(ns)['vxz'] == [{'vni': 5}, {'vni': '10-12', 'remote': '198.18.0.9'}]


def test_vnis_leave_a_multicast_group_for_none(ns, play):
    """A VNI taken from its group to none was an update, which leaves the group: the kernel (6.18) has left it
    already when another VNI of the group left it, and refused the update (EADDRNOTAVAIL) after check mode had shown
    it working. It is a delete then an add, which the kernel takes."""
    for cmd in (('addr', 'add', '198.18.0.1/24', 'dev', 'u0'), ('link', 'set', 'u0', 'up'),
                ('link', 'set', 'vxlan0', 'up')):
        sh('ip', '-n', ns, *cmd)
    sh('bridge', '-n', ns, 'vni', 'add', 'dev', 'vxlan0', 'vni', '100-103', 'group', '239.1.1.1')
    tasks = [({'dev': 'vxlan0', 'vnis': [{'vni': '100-101'}]}, 'merged',
              [{'vni': '100-101'}, {'vni': '102-103', 'group': '239.1.1.1'}]),
             ({'dev': 'vxlan0', 'vnis': [{'vni': 100}, {'vni': 101, 'group': '239.1.1.1'}, {'vni': 102}]},
              'replaced', [{'vni': 100}, {'vni': 101, 'group': '239.1.1.1'}, {'vni': 102}])]
    for cfg, state, want in tasks:
        task = {M: {'netns': ns, 'state': state, 'config': [cfg]}}
        check_real_again(play, task)
        assert kernel(ns) == {'vxlan0': want}, kernel(ns)
