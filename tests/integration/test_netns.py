# -*- coding: utf-8 -*-
"""edgenet.linux.netns on the host; the oracle is `ip -j netns list` (and `ip -n NAME link`)."""

import json
import subprocess
import uuid

import pytest

from conftest import assert_no_traceback, diff_side, sh

M = 'edgenet.linux.netns'


def netns_names():
    out = sh('ip', '-j', 'netns', 'list')
    return set(n['name'] for n in json.loads(out)) if out.strip() else set()


@pytest.fixture
def pfx():
    """A unique prefix; every namespace starting with it is deleted afterwards."""
    base = 'edgt-%s-' % uuid.uuid4().hex[:8]
    try:
        yield base
    finally:
        for name in netns_names():
            if name.startswith(base):
                subprocess.run(['ip', 'netns', 'del', name], capture_output=True, check=False)


def mine(pfx):
    return set(n for n in netns_names() if n.startswith(pfx))


def test_merged_check_apply_idempotent(pfx, play):
    a, b = pfx + 'a', pfx + 'b'
    task = {M: {'prefix': pfx, 'config': [{'name': b}, {'name': a}]}}
    check = play(task, check=True)[0]
    assert mine(pfx) == set()  # check mode created nothing
    apply, again = play([task, task])
    for r in (check, apply, again):
        assert_no_traceback(r)
    assert check['changed'] and check['before'] == [] and 'diff' in check
    assert mine(pfx) == {a, b}
    # real, usable namespaces: iproute2 can enter them, and each is its own namespace
    for name in (a, b):
        assert json.loads(sh('ip', '-n', name, '-j', 'link', 'show', 'lo'))[0]['ifname'] == 'lo'
    sh('ip', '-n', a, 'link', 'add', 'x0', 'type', 'veth', 'peer', 'name', 'x1')
    assert 'x0' not in sh('ip', '-n', b, 'link', 'show')
    # /run/netns is a shared mount point, as ip netns add leaves it
    assert 'shared' in sh('findmnt', '-n', '-o', 'PROPAGATION', '/run/netns')
    assert check['after'] == apply['after'] == [{'name': a}, {'name': b}]
    # commands keep the order of config; after is sorted by name
    assert check['commands'] == apply['commands'] == ['ip netns add %s' % b, 'ip netns add %s' % a]
    assert apply['changed'] and a in diff_side(apply, 'after') and a not in diff_side(apply, 'before')
    assert again['changed'] is False and again['commands'] == [] and again['before'] == apply['after']
    # replaced is merged for a namespace
    r = play({M: {'prefix': pfx, 'state': 'replaced', 'config': [{'name': a}]}})[0]
    assert r['changed'] is False and mine(pfx) == {a, b}


def test_overridden_needs_prefix_and_stays_in_it(pfx, play):
    keep = pfx + 'other'  # outside the scope prefix below
    scope = pfx + 's-'
    sh('ip', 'netns', 'add', keep)
    sh('ip', 'netns', 'add', scope + 'old')
    everything = mine(pfx)  # other tests create and delete namespaces in parallel: only ours are compared
    # without prefix, overridden would delete namespaces config does not name: refused, nothing touched
    r = play({M: {'state': 'overridden', 'config': [{'name': scope + 'new'}]}})[0]
    assert r['failed'] and "field 'prefix'" in r['msg'] and 'needs the prefix option' in r['msg'], r['msg']
    assert_no_traceback(r)
    assert mine(pfx) == everything
    task = {M: {'state': 'overridden', 'prefix': scope, 'config': [{'name': scope + 'new'}]}}
    check = play(task, check=True)[0]
    assert mine(pfx) == {keep, scope + 'old'}
    real, again = play([task, task])
    assert check['after'] == real['after'] == [{'name': scope + 'new'}]
    assert real['commands'] == ['ip netns del %s' % (scope + 'old'), 'ip netns add %s' % (scope + 'new')]
    assert real['changed'] and not again['changed']
    assert mine(pfx) == {keep, scope + 'new'}


def test_deleted_by_name_and_all_in_prefix(pfx, play):
    names = [pfx + x for x in ('a', 'b', 'c')]
    play({M: {'config': [{'name': n} for n in names]}})
    assert mine(pfx) == set(names)
    task = {M: {'state': 'deleted', 'config': [{'name': names[0]}]}}
    check = play(task, check=True)[0]
    assert mine(pfx) == set(names)
    real, again = play([task, task])
    assert real['changed'] and not again['changed'] and real['commands'] == ['ip netns del %s' % names[0]]
    assert check['commands'] == real['commands']
    assert mine(pfx) == set(names[1:])
    # every namespace, without a prefix: refused
    r = play({M: {'state': 'deleted'}})[0]
    assert r['failed'] and "field 'prefix'" in r['msg'], r['msg']
    assert mine(pfx) == set(names[1:])
    r = play({M: {'state': 'deleted', 'prefix': pfx}})[0]
    assert r['changed'] and r['after'] == [] and mine(pfx) == set()


def test_delete_keeps_a_namespace_in_use_alive(pfx, play):
    """Like ip netns del: the name goes, a process inside keeps the namespace (no error)."""
    name = pfx + 'busy'
    play({M: {'config': [{'name': name}]}})
    sh('ip', '-n', name, 'link', 'set', 'lo', 'up')
    proc = subprocess.Popen(['ip', 'netns', 'exec', name, 'sleep', '30'])
    try:
        r = play({M: {'state': 'deleted', 'config': [{'name': name}]}})[0]
        assert r['changed'] and not r.get('failed') and name not in netns_names()
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_gathered_feeds_back_and_rendered_commands_work(pfx, play):
    names = [pfx + 'r1', pfx + 'r2']
    r = play({M: {'state': 'rendered', 'config': [{'name': n} for n in names]}})[0]
    assert r['rendered'] == ['ip netns add %s' % n for n in names] and mine(pfx) == set()
    for line in r['rendered']:
        sh(*line.split())
    g = play({M: {'state': 'gathered', 'prefix': pfx}})[0]
    assert g['gathered'] == [{'name': n} for n in names] and not g['changed']
    r = play({M: {'state': 'overridden', 'prefix': pfx, 'config': g['gathered']}})[0]
    assert r['changed'] is False
    # without a prefix, gathered lists what ip netns list lists
    g = play({M: {'state': 'gathered'}})[0]
    assert set(n['name'] for n in g['gathered']) >= set(names)


@pytest.mark.parametrize('name, text', [
    ('', 'may not be empty'),
    ('a/b', "may not contain '/'"),
    ('.', 'not a valid namespace name'),
    ('..', 'not a valid namespace name'),
    ('x' * 255, 'too long'),
    ('../../etc/x', "may not contain '/'"),
])
def test_bad_names_refused_and_nothing_created(pfx, play, name, text):
    # a good name first: nothing may be created when a later item is bad
    r = play({M: {'config': [{'name': pfx + 'good'}, {'name': name}]}})[0]
    assert r['failed'] and text in r['msg'] and "field 'name'" in r['msg'], r['msg']
    assert_no_traceback(r)
    assert mine(pfx) == set()


def test_duplicates_outside_prefix_and_bad_prefix_refused(pfx, play):
    r1 = play({M: {'config': [{'name': pfx + 'd'}, {'name': pfx + 'd'}]}})[0]
    assert r1['failed'] and 'duplicate key' in r1['msg'] and 'config[1]' in r1['msg']
    r2 = play({M: {'prefix': pfx + 'in-', 'config': [{'name': pfx + 'out'}]}})[0]
    assert r2['failed'] and "field 'name'" in r2['msg'] and 'outside the scope of prefix' in r2['msg']
    r3 = play({M: {'prefix': 'a/b', 'state': 'deleted'}})[0]
    assert r3['failed'] and "field 'prefix'" in r3['msg']
    r4 = play({M: {'netns': 'x', 'config': [{'name': pfx + 'n'}]}})[0]
    assert r4['failed'] and 'netns' in r4['msg']
    for r in (r1, r2, r3, r4):
        assert_no_traceback(r)
    assert mine(pfx) == set()


def test_a_stale_name_the_task_does_not_look_at_is_not_warned_of(pfx, play):
    """Every stale name in /run/netns was warned of, so another tool's namespace caught between its unmount and its
    unlink put a warning on an unrelated task (a CI run saw it). Only names under the task's prefix, or named by its
    config, are warned of now."""
    inside, outside = pfx + 'in-', pfx + 'out-stale'
    with open('/run/netns/' + outside, 'w'):
        pass
    for task in ({M: {'prefix': inside, 'state': 'gathered'}}, {M: {'config': [{'name': inside + 'a'}]}},
                 {M: {'prefix': inside, 'config': [{'name': inside + 'a'}], 'state': 'overridden'}}):
        r = play(task)[0]
        assert_no_traceback(r)
        assert not any(outside in w for w in r.get('warnings') or []), (task, r)
    r = play({M: {'state': 'gathered'}})[0]  # (every name is this task's)
    assert any(outside in w for w in r.get('warnings') or []), r
    r = play({M: {'config': [{'name': outside}]}}, check=True)[0]
    assert any(outside in w for w in r.get('warnings') or []) and r['changed'], r


def test_a_stale_name_is_no_namespace(pfx, play):
    """A file in /run/netns that is not a mount (a stale name: its namespace's mount went away) was taken for a
    namespace: a task that wanted it reported no change, and no namespace existed. It is now left out and warned of,
    and an add of its name removes the file first, as `ip netns del` then `ip netns add` would."""
    stale = pfx + 'stale'
    with open('/run/netns/' + stale, 'w'):
        pass
    assert subprocess.run(['ip', 'netns', 'exec', stale, 'true'], capture_output=True, check=False).returncode != 0
    gathered = play({M: {'prefix': pfx, 'state': 'gathered'}})[0]
    assert gathered['gathered'] == [] and any(stale in w and 'stale name' in w for w in gathered['warnings']), gathered
    task = {M: {'prefix': pfx, 'config': [{'name': stale}]}}
    check = play(task, check=True)[0]
    first, again = play([task, task])
    for r in (check, first, again):
        assert_no_traceback(r)
    assert check['commands'] == first['commands'] == ['ip netns del %s' % stale, 'ip netns add %s' % stale], first
    assert check['after'] == first['after'] == [{'name': stale}] and check['before'] == first['before'] == []
    assert not again['changed'] and not again.get('warnings'), again
    sh('ip', '-n', stale, 'link', 'show', 'lo')  # (a namespace now)
