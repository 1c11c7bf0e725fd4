# -*- coding: utf-8 -*-
"""roles/qos applied to a fresh namespace (qos_netns) through ansible-playbook -c local, with an HTB tree
(the host kernel has htb and u32).

Oracle: `tc -d qdisc/class show` (text: tc 6.1 prints HTB classes as text even with -j) and `tc -j filter
show` in the namespace. Check mode that changes nothing and predicts the real run, the real run, an
idempotent second run, deletion in reverse order, bad input stopped before anything is sent.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid

import yaml

from conftest import BIN, HERE, PYTHON, lab_third, sh

TASKS = ('Qdiscs', 'Classes', 'Filters')


def run_role(tmp, name, role_vars, *args, rc=0):
    """Apply edgenet.linux.qos with role_vars; returns ({task name: result}, output)."""
    base = os.path.join(str(tmp), name)
    with open(base + '.yml', 'w') as f:
        yaml.safe_dump([{'name': 'qos role', 'hosts': 'localhost', 'gather_facts': False,
                         'roles': [{'role': 'edgenet.linux.qos', 'vars': role_vars}]}], f)
    env = dict(os.environ, EDGENET_RESULTS=base + '.jsonl', ANSIBLE_NOCOLOR='1',
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, 'plugins', 'callback'),
               ANSIBLE_CALLBACKS_ENABLED='result_dump', ANSIBLE_LOCALHOST_WARNING='False',
               ANSIBLE_RETRY_FILES_ENABLED='False', ANSIBLE_LOCAL_TEMP=os.path.join(str(tmp), 'ansible-local'),
               ANSIBLE_REMOTE_TEMP=os.path.join(str(tmp), 'ansible-remote'))
    p = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                        '-e', 'ansible_python_interpreter=%s' % PYTHON, base + '.yml'] + list(args),
                       capture_output=True, text=True, env=env, cwd=str(tmp), check=False)
    out = p.stdout + p.stderr
    assert p.returncode == rc, out[-4000:]
    assert 'Traceback' not in out, out[-4000:]
    results = {}
    if os.path.exists(base + '.jsonl'):
        with open(base + '.jsonl') as f:
            for line in f:
                r = json.loads(line)
                name = r['task'].split(' : ')[-1].replace(' (deleted)', '')
                if name not in results or r['status'] != 'skipped':  # (two "Filters" tasks: the one that ran)
                    results[name] = r['result']
    return results, out


def tc_state(ns):
    """What tc shows in the namespace: qdiscs and classes (text, counters and refcnt dropped), filters."""
    qd = sorted(re.sub(r' refcnt \d+', '', ln).strip() for dev in ('e0', 'e1')
                for ln in sh('tc', '-n', ns, '-d', 'qdisc', 'show', 'dev', dev).splitlines()
                if not ln.startswith('qdisc noqueue'))
    cl = sorted(ln.strip() for dev in ('e0', 'e1') for ln in sh('tc', '-n', ns, '-d', 'class', 'show', 'dev', dev)
                .splitlines())
    fl = []
    for dev in ('e0', 'e1'):
        out = sh('tc', '-n', ns, '-j', 'filter', 'show', 'dev', dev)
        fl += [(dev, f.get('kind'), f.get('options', {}).get('flowid')) for f in json.loads(out or '[]')
               if f.get('options', {}).get('flowid')]
    return qd, cl, sorted(fl)


def trees():
    t = [{'dev': 'e0',
          'qdiscs': [{'handle': '1:', 'kind': 'htb', 'default': 30}],
          'classes': [{'classid': '1:1', 'parent': '1:', 'rate': '10mbit'},
                      {'classid': '1:10', 'parent': '1:1', 'rate': '1mbit', 'ceil': '10mbit', 'prio': 0},
                      {'classid': '1:20', 'parent': '1:1', 'rate': '6mbit', 'ceil': '10mbit', 'prio': 1},
                      {'classid': '1:30', 'parent': '1:1', 'rate': '3mbit', 'ceil': '10mbit', 'prio': 2}]},
         {'dev': 'e1',
          'qdiscs': [{'handle': '2:', 'kind': 'tbf', 'rate': '5mbit', 'burst': '20kb', 'latency': '40ms'}]}]
    t[0]['filters'] = [{'parent': '1:', 'protocol': 'ip', 'prio': 1, 'kind': 'u32', 'classid': '1:10',
                        'match': {'ip_proto': 'tcp', 'dport': 22}}]
    return t


def test_qos_role(netns, tmp_path):
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    sh('ip', '-n', ns, 'link', 'set', 'e0', 'up')
    sh('ip', '-n', ns, 'link', 'set', 'e1', 'up')
    empty = tc_state(ns)
    role_vars = {'qos_netns': ns, 'qos_trees': trees()}
    names = TASKS

    # check mode: nothing changes, every list predicts its change
    check, out = run_role(tmp_path, 'check', role_vars, '--check', '--diff')
    assert tc_state(ns) == empty
    assert all(check[n]['changed'] for n in names), out[-3000:]
    assert check['Classes']['after'][0]['kind'] == 'htb'  # the role gave the class its qdisc's kind

    apply, out = run_role(tmp_path, 'apply', role_vars)
    for n in names:
        assert apply[n]['changed'] and apply[n]['commands'] == check[n]['commands'], (n, out[-3000:])
        assert apply[n]['after'] == check[n]['after'], n
    qd, cl, fl = tc_state(ns)
    assert any(q.startswith('qdisc htb 1: root') and 'default 0x30' in q for q in qd), qd
    assert any(q.startswith('qdisc tbf 2: root rate 5Mbit burst 20Kb') for q in qd), qd
    assert len([c for c in cl if c.startswith('class htb ')]) == 4, cl
    assert any(re.match(r'class htb 1:20 parent 1:1 prio 1 .*rate 6Mbit ceil 10Mbit', c) for c in cl), cl
    assert fl == [('e0', 'u32', '1:10')], fl
    done = tc_state(ns)

    again, out = run_role(tmp_path, 'again', role_vars)
    for n in names:
        assert again[n]['changed'] is False and again[n]['commands'] == [], (n, again[n]['commands'])
    assert 'changed=0' in out, out[-2000:]

    # bad input: a class whose parent does not exist is refused before anything is sent
    bad = trees()
    bad[0]['classes'].append({'classid': '1:40', 'parent': '1:99', 'rate': '1mbit'})
    res, out = run_role(tmp_path, 'bad', dict(role_vars, qos_trees=bad), rc=2)
    assert res['Classes'].get('failed') and res['Classes']['field'] == 'parent', res['Classes']
    # a tree without dev is stopped by argument_specs before any module runs
    res, out = run_role(tmp_path, 'nodev', dict(role_vars, qos_trees=[{'qdiscs': []}]), rc=2)
    assert 'dev' in out and 'Qdiscs' not in res
    assert tc_state(ns) == done

    # deleted: filters, classes, then qdiscs; back to the kernel's defaults
    gone, out = run_role(tmp_path, 'deleted', dict(role_vars, qos_state='deleted'))
    order = [n for n in ('Filters', 'Classes', 'Qdiscs') if n in gone and gone[n].get('changed')]
    assert order == [n for n in ('Filters', 'Classes', 'Qdiscs') if n in names], (order, out[-2000:])
    assert tc_state(ns) == empty


def test_molecule_qos(tmp_path):
    """extensions/molecule/qos: `molecule test -s qos` (tools/lab host over SSH: create, converge,
    idempotence, testinfra verify, destroy), run as the interfaces scenario is (test_fleet_molecule.py):
    in a copy of the installed collection turned back into a source tree."""
    root = os.path.abspath(os.path.join(HERE, '..', '..'))
    project = tmp_path / 'edgenet_linux'
    shutil.copytree(root, str(project), ignore=shutil.ignore_patterns('.ansible', '__pycache__', 'output'))
    with open(os.path.join(root, 'MANIFEST.json')) as f:
        info = json.load(f)['collection_info']
    galaxy = {k: info[k] for k in ('namespace', 'name', 'version', 'readme', 'authors', 'license')}
    (project / 'galaxy.yml').write_text(yaml.safe_dump(galaxy))
    (project / 'MANIFEST.json').unlink()
    (project / 'FILES.json').unlink()
    prefix = 'eltq' + uuid.uuid4().hex[:6]
    home = tempfile.mkdtemp(prefix='eltq', dir='/tmp')  # a short HOME: ssh's ControlPath must fit a socket path
    env = dict(os.environ, EDGELAB_PREFIX=prefix, EDGELAB_NET='198.18.%d' % lab_third(),
               EDGELAB_PYTHON=PYTHON, HOME=home, ANSIBLE_NOCOLOR='1', NO_COLOR='1',
               PATH=BIN + os.pathsep + os.environ.get('PATH', ''))
    env.pop('EDGELAB_STATE', None)
    try:
        p = subprocess.run([os.path.join(BIN, 'molecule'), 'test', '-s', 'qos'], cwd=str(project), env=env,
                           capture_output=True, text=True, check=False, timeout=900)
        out = p.stdout + p.stderr
        assert p.returncode == 0, out[-6000:]
        for step in ('create', 'converge', 'idempotence', 'verify', 'destroy'):
            assert re.search(r'^qos \S+ %s: Executed: Successful$' % step, out, re.M), (step, out[-6000:])
        assert '3 passed' in out, out[-6000:]
        assert 'changed: [qos-h1]' in out  # converge changed the host; idempotence then passed
    finally:
        subprocess.run(['bash', os.path.join(root, 'tools', 'lab'), '--prefix', prefix, '--uplink', 'veth', 'down'],
                       capture_output=True, check=False)
        left = [n for n in sh('ip', 'netns', 'list').split() if n.startswith(prefix)]
        for ns in left:
            subprocess.run(['ip', 'netns', 'del', ns], capture_output=True, check=False)
        subprocess.run(['ip', 'link', 'del', prefix + '0'], capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)
    assert left == [], 'molecule destroy left %s' % left


def test_overridden_removes_a_class_and_the_filter_that_points_at_it(netns, tmp_path):
    """qos_state overridden without a class and the filter that classifies into it: the filter goes before the class
    (the kernel refuses to delete a class in use). Before, the classes call came first and failed on every run,
    while check mode said the run would work. Check mode changes nothing; the real run leaves the tree as given; a
    second run changes nothing."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    first = trees()[:1]
    first[0]['filters'].append({'parent': '1:', 'protocol': 'ip', 'prio': 3, 'kind': 'u32', 'classid': '1:30',
                                'match': {'ip_proto': 'udp', 'dport': 53}})
    run_role(tmp_path, 'first', {'qos_netns': ns, 'qos_trees': first})
    before = tc_state(ns)
    assert ('e0', 'u32', '1:30') in before[2], before
    second = trees()[:1]
    second[0]['classes'] = [c for c in second[0]['classes'] if c['classid'] != '1:30']
    role_vars = {'qos_netns': ns, 'qos_trees': second, 'qos_state': 'overridden'}
    check, out = run_role(tmp_path, 'check', role_vars, '--check', '--diff')
    assert tc_state(ns) == before
    real, out = run_role(tmp_path, 'real', role_vars)
    assert real['Filters']['changed'] and real['Classes that config does not list (overridden)']['changed'], out
    qd, cl, fl = tc_state(ns)
    assert fl == [('e0', 'u32', '1:10')] and not [c for c in cl if c.startswith('class htb 1:30 ')], (cl, fl)
    assert len([c for c in cl if c.startswith('class htb ')]) == 3, cl
    for name in ('Filters', 'Classes that config does not list (overridden)'):
        assert check[name]['commands'] == real[name]['commands'], (name, check[name], real[name])
    again, out = run_role(tmp_path, 'again', role_vars)
    assert 'changed=0' in out and all(not r.get('changed') for r in again.values()), out[-2000:]


def test_overridden_moves_a_qdisc_to_another_class(netns, tmp_path):
    """qos_state overridden with a class's qdisc moved to another class (the same handle): the qdiscs of the classes
    were made as given first (replaced), and that call was refused on its handle, which the old qdisc still held
    (the kernel refuses a second qdisc with a handle too); only the last call would have deleted the old one. The
    qdiscs of the classes are now made exactly as given in one call (overridden), which deletes the old qdisc
    before it adds the new one. Check mode shows the same commands, tc shows the qdisc moved, and a second run
    changes nothing."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    first = trees()[:1]
    first[0]['qdiscs'].append({'handle': '10:', 'parent': '1:10', 'kind': 'pfifo', 'limit': 50})
    run_role(tmp_path, 'first', {'qos_netns': ns, 'qos_trees': first})
    assert 'qdisc pfifo 10: parent 1:10 limit 50p' in tc_state(ns)[0], tc_state(ns)
    before = tc_state(ns)
    second = trees()[:1]
    second[0]['qdiscs'].append({'handle': '10:', 'parent': '1:20', 'kind': 'pfifo', 'limit': 50})
    role_vars = {'qos_netns': ns, 'qos_trees': second, 'qos_state': 'overridden'}
    check, out = run_role(tmp_path, 'check', role_vars, '--check', '--diff')
    assert tc_state(ns) == before
    real, out = run_role(tmp_path, 'real', role_vars)
    name = 'Qdiscs of the classes'
    assert real[name]['changed'] and check[name]['commands'] == real[name]['commands'], (check[name], real[name])
    assert real[name]['commands'] == ['tc -n %s qdisc del dev e0 parent 1:10 handle 10:' % ns,
                                      'tc -n %s qdisc add dev e0 parent 1:20 handle 10: pfifo limit 50' % ns], real[name]
    qd = tc_state(ns)[0]
    assert 'qdisc pfifo 10: parent 1:20 limit 50p' in qd and not [q for q in qd if 'parent 1:10' in q], qd
    again, out = run_role(tmp_path, 'again', role_vars)
    assert 'changed=0' in out and all(not r.get('changed') for r in again.values()), out[-2000:]


def _nested(parent):
    """The first tree, with an htb 10: in class ``parent`` that has a class 10:1 of its own, a pfifo 101: in it,
    and a filter of 10: that classifies into 10:1 (depth 2)."""
    t = trees()[:1]
    t[0]['qdiscs'] += [{'handle': '10:', 'parent': parent, 'kind': 'htb', 'default': 1},
                       {'handle': '101:', 'parent': '10:1', 'kind': 'pfifo', 'limit': 40}]
    t[0]['classes'].append({'classid': '10:1', 'parent': '10:', 'rate': '1mbit'})
    t[0]['filters'].append({'parent': '10:', 'protocol': 'ip', 'prio': 1, 'kind': 'u32', 'classid': '10:1',
                            'match': {'ip_proto': 'udp'}})
    return t


def _commands(results):
    return dict((name, r.get('commands')) for name, r in results.items() if r.get('commands') is not None)


def test_a_nested_tree_is_made_depth_by_depth(netns, tmp_path):
    """A qdisc in a class with classes of its own, and a qdisc in one of those (depth 2): the role made every class
    before the qdiscs of the classes, so the classes of the qdisc in a class were refused ("device e0 has no qdisc
    10:") after the top qdisc was made. The role now makes it depth by depth; check mode shows the commands the real
    run sends, a second run changes nothing, overridden moves the htb 10: to another class with its tree (tc_qdisc
    makes again what the kernel deleted with it), and deleted goes from the deepest up, each in both modes alike.
    tc is the oracle."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    for state, parent in (('merged', '1:10'), ('overridden', '1:20'), ('deleted', '1:20')):
        role_vars = {'qos_netns': ns, 'qos_trees': _nested(parent), 'qos_state': state}
        before = tc_state(ns)
        check, out = run_role(tmp_path, 'check-' + state, role_vars, '--check', '--diff')
        assert tc_state(ns) == before, state
        real, out = run_role(tmp_path, 'real-' + state, role_vars)
        assert _commands(check) == _commands(real), (state, _commands(check), _commands(real))
        assert any(real[name].get('changed') for name in real), (state, out[-2000:])
        qd, cl, fl = tc_state(ns)
        if state == 'deleted':
            assert (qd, cl, fl) == ([], [], []), (qd, cl, fl)
            assert sorted(_commands(real)) == ['Classes', 'Classes of those qdiscs', 'Filters', 'Qdiscs',
                                               'Qdiscs of the classes', 'Qdiscs of those classes'], _commands(real)
            continue
        assert 'qdisc htb 10: parent %s ' % parent in ' '.join(qd) and 'qdisc pfifo 101: parent 10:1 limit 40p' in qd, qd
        assert [c for c in cl if c.startswith('class htb 10:1 root leaf 101: ')], cl
        inner = json.loads(sh('tc', '-n', ns, '-j', 'filter', 'show', 'dev', 'e0', 'parent', '10:') or '[]')
        assert [f for f in inner if f.get('options', {}).get('flowid') == '10:1'], inner
        again, out = run_role(tmp_path, 'again-' + state, role_vars)
        assert 'changed=0' in out and all(not r.get('changed') for r in again.values()), out[-2000:]
    assert 'class htb 10:1 ' in ' '.join(before[1])


def test_a_tree_deeper_than_the_role_makes_fails_before_any_change(netns, tmp_path):
    """A qdisc at depth 3, parents in a circle, or (with a qdisc at depth 2) a qdisc whose class's qdisc is not in the
    tree: the role's first task fails naming the tree and the item, and nothing changes; the validate_roles
    preflight of site.yml sees the same error before any role runs."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    deep = _nested('1:10')
    deep[0]['qdiscs'].append({'handle': '102:', 'parent': '101:1', 'kind': 'pfifo'})
    circle = trees()[:1]
    circle[0]['qdiscs'] += [{'handle': '10:', 'parent': '20:1', 'kind': 'htb'},
                            {'handle': '20:', 'parent': '10:1', 'kind': 'htb'}]
    # (found by a probe: a qdisc whose class's qdisc is not in the tree was taken to be at depth 1, and the
    # depth-1 call refused it on a host that has that qdisc at depth 1, after the classes were made)
    orphan = _nested('1:10')
    orphan[0]['qdiscs'].append({'handle': '201:', 'parent': '20:1', 'kind': 'pfifo'})
    for t, words in ((deep, 'qos_trees[0].qdiscs[3] (parent 101:1) is at depth 3'),
                     (circle, 'qos_trees[0].qdiscs[1] (parent 20:1): its parents go round in a circle'),
                     (orphan, 'qos_trees[0].qdiscs[3] (parent 20:1): the qdisc of its class is in no tree')):
        for args in (('--check',), ()):
            results, out = run_role(tmp_path, 'deep', {'qos_netns': ns, 'qos_trees': t}, *args, rc=2)
            assert words in out, out[-3000:]
            assert tc_state(ns) == ([], [], []), tc_state(ns)


def test_role_on_its_own_refuses_a_bad_item_before_any_change(netns, tmp_path):
    """The role run on its own (no playbooks/site.yml, whose first task checks every role's input) with a class
    rate that is not one: the role's first task (edgenet.linux.validate_roles, the check site.yml runs) refuses it,
    naming the field, and no module call runs. Before, the role's module calls ran one after the other: the htb
    qdisc was made (changed) and only then did "Classes" refuse 'fast'."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    sh('ip', '-n', ns, 'link', 'set', 'e0', 'up')
    empty = tc_state(ns)
    bad = [{'dev': 'e0', 'qdiscs': [{'handle': '1:', 'kind': 'htb', 'default': 30}],
            'classes': [{'classid': '1:1', 'parent': '1:', 'rate': '10mbit'},
                        {'classid': '1:10', 'parent': '1:1', 'rate': 'fast', 'ceil': '10mbit'}]}]
    for args in ((), ('--check',)):
        res, out = run_role(tmp_path, 'bad-rate' + ''.join(args), {'qos_netns': ns, 'qos_trees': bad}, *args, rc=2)
        first = res.get('Inputs of the role (edgenet.linux.validate_roles)') or {}
        assert first.get('failed') and "field 'rate': 'fast' is not a rate" in first.get('msg', ''), out[-3000:]
        assert not any(n in res for n in TASKS), res
        assert tc_state(ns) == empty


def test_a_refused_item_is_named_as_the_trees_give_it(netns, tmp_path):
    """An error about an item names it as qos_trees[I].<list>[J], the way the user wrote it, with the field. Before, it
    named the item's index into the role's combined list of the module call (config[4]: the fifth class of all
    trees), which is nowhere in the user's input."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    empty = tc_state(ns)
    bad = trees()
    bad[0]['classes'] = bad[0]['classes'][:3]
    bad[1] = {'dev': 'e1', 'qdiscs': [{'handle': '2:', 'kind': 'htb'}],
              'classes': [{'classid': '2:1', 'parent': '2:', 'rate': '10mbit'},
                          {'classid': '2:10', 'parent': '2:1', 'rate': '1mbit', 'ceil': 'slow'}]}
    res, out = run_role(tmp_path, 'bad-ceil', {'qos_netns': ns, 'qos_trees': bad}, rc=2)
    msg = (res.get('Inputs of the role (edgenet.linux.validate_roles)') or {}).get('msg', '')
    assert "qos_trees[1].classes[1]: field 'ceil': 'slow' is not a rate" in msg, out[-3000:]
    assert 'config[' not in msg, msg
    assert tc_state(ns) == empty
    # a duplicate: both items named so
    dup = trees()[:1]
    dup.append({'dev': 'e1', 'qdiscs': [{'handle': '2:', 'kind': 'htb'}],
                'classes': [{'classid': '2:1', 'parent': '2:', 'rate': '10mbit'},
                            {'classid': '2:1', 'parent': '2:', 'rate': '5mbit'}]})
    res, out = run_role(tmp_path, 'dup', {'qos_netns': ns, 'qos_trees': dup}, rc=2)
    msg = (res.get('Inputs of the role (edgenet.linux.validate_roles)') or {}).get('msg', '')
    assert 'qos_trees[1].classes[' in msg and 'config[' not in msg, out[-3000:]
    assert tc_state(ns) == empty


def test_overridden_check_mode_shows_a_class_change_once(netns, tmp_path):
    """qos_state overridden with a class changed (1:10 from 1mbit to 2mbit) and one left out (1:30): the classes are
    made by a replaced call, and a last overridden call deletes those the trees do not list. In check mode that last
    call read the host as it was, and showed the change of 1:10 a second time (the real run, after the first call,
    showed it once). It now only deletes (tc_class purge_only): every task of `--check --diff` shows what the same
    task of the real run shows, and tc shows the change made once."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    run_role(tmp_path, 'first', {'qos_netns': ns, 'qos_trees': trees()})
    before = tc_state(ns)
    second = trees()
    second[0]['classes'] = [dict(c, rate='2mbit') if c['classid'] == '1:10' else c for c in second[0]['classes']
                            if c['classid'] != '1:30']
    role_vars = {'qos_netns': ns, 'qos_trees': second, 'qos_state': 'overridden'}
    check, out = run_role(tmp_path, 'check', role_vars, '--check', '--diff')
    assert tc_state(ns) == before
    real, out = run_role(tmp_path, 'real', role_vars, '--diff')
    last = 'Classes that config does not list (overridden)'

    def shown(results):
        return dict((name, [(d.get('before_header'), d.get('before'), d.get('after')) for d in r.get('diff') or []])
                    for name, r in results.items() if r.get('changed'))
    assert shown(check) == shown(real), (shown(check), shown(real))
    assert _commands(check) == _commands(real), (_commands(check), _commands(real))
    about_10 = [name for name, diffs in shown(check).items() if any('class 1:10 ' in (h or '') for h, _b, _a in diffs)]
    assert about_10 == ['Classes'], shown(check)
    assert [c.split()[4:] for c in real[last]['commands']] == [
        ['del', 'dev', 'e0', 'parent', '1:1', 'classid', '1:30']], real[last]
    qd, cl, fl = tc_state(ns)
    assert any(re.match(r'class htb 1:10 parent 1:1 .*rate 2Mbit ceil 10Mbit', c) for c in cl), cl
    assert not [c for c in cl if c.startswith('class htb 1:30 ')] and len([c for c in cl if 'htb' in c]) == 3, cl
    again, out = run_role(tmp_path, 'again', role_vars)
    assert 'changed=0' in out and all(not r.get('changed') for r in again.values()), out[-2000:]


def _renumbered(major):
    """The trees, with e0's htb and its classes and filter under another handle (``major``:)."""
    t = trees()
    for q in t[0]['qdiscs']:
        q['handle'] = major + ':'
    for c in t[0]['classes']:
        c['classid'] = major + c['classid'][1:]
        c['parent'] = major + c['parent'][1:]
    for f in t[0]['filters']:
        f['parent'], f['classid'] = major + ':', major + f['classid'][1:]
    return t


def test_overridden_check_mode_leaves_out_what_an_earlier_qdisc_call_takes_along(netns, tmp_path):
    """qos_state overridden with e0's htb under another handle (1: becomes 2:): the top qdiscs call deletes htb 1:,
    and the kernel deletes its classes and filters with it. The real run's later calls then find none of them, but
    in check mode (which reads the host as it is) the filters call and the last classes call showed deleting them.
    Every task of `--check --diff` now shows what the same task of the real run shows; tc shows the new tree."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    run_role(tmp_path, 'first', {'qos_netns': ns, 'qos_trees': trees()})
    before = tc_state(ns)
    role_vars = {'qos_netns': ns, 'qos_trees': _renumbered('2'), 'qos_state': 'overridden'}
    check, out = run_role(tmp_path, 'check', role_vars, '--check', '--diff')
    assert tc_state(ns) == before
    real, out = run_role(tmp_path, 'real', role_vars, '--diff')

    def shown(results):
        return dict((name, [(d.get('before_header'), d.get('before'), d.get('after')) for d in r.get('diff') or []])
                    for name, r in results.items() if r.get('changed'))

    def headers(results):
        return dict((name, [h for h, _b, _a in diffs]) for name, diffs in shown(results).items())
    assert headers(check) == headers(real), (headers(check), headers(real))
    assert shown(check) == shown(real), (shown(check), shown(real))
    assert _commands(check) == _commands(real), (_commands(check), _commands(real))
    qd, cl, fl = tc_state(ns)
    assert any(q.startswith('qdisc htb 2: root') for q in qd) and not [q for q in qd if q.startswith('qdisc htb 1:')]
    assert sorted(c.split()[2] for c in cl if c.startswith('class htb ')) == ['2:1', '2:10', '2:20', '2:30'], cl
    assert fl == [('e0', 'u32', '2:10')], fl
    again, out = run_role(tmp_path, 'again', role_vars)
    assert 'changed=0' in out and all(not r.get('changed') for r in again.values()), out[-2000:]


def _qdiscs_j(ns, dev):
    """tc -j qdisc show of ``dev``: (kind, handle, parent) of each qdisc but the kernel's defaults."""
    return sorted((q['kind'], q['handle'], q.get('parent', 'root')) for q in json.loads(
        sh('tc', '-n', ns, '-j', 'qdisc', 'show', 'dev', dev) or '[]') if q['kind'] not in ('noqueue', 'noop'))


def test_overridden_check_mode_leaves_out_a_child_qdisc_an_earlier_call_takes_along(netns, tmp_path):
    """qos_state overridden with trees for e0 only, while e1 has an htb 1: with a tbf 5: in its class 1:1: the top
    qdiscs call deletes e1's htb 1:, and the kernel deletes tbf 5: with it. Check mode's "Qdiscs of the classes"
    (which read the host as it was) showed `qdisc del dev e1 parent 1:1 handle 5:` too, which the real run does not
    send. Every later qdisc and class call of the role is now told what the calls before it delete (gone_qdiscs):
    check mode shows what the real run shows; tc -j shows e1 without a qdisc of its own."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    first = trees()[:1]
    first[0]['qdiscs'].append({'handle': '10:', 'parent': '1:10', 'kind': 'pfifo', 'limit': 50})
    run_role(tmp_path, 'first', {'qos_netns': ns, 'qos_trees': first})
    for line in ('qdisc add dev e1 root handle 1: htb', 'class add dev e1 parent 1: classid 1:1 htb rate 5mbit',
                 'qdisc add dev e1 parent 1:1 handle 5: tbf rate 1mbit burst 10kb latency 50ms'):
        sh('tc', '-n', ns, *line.split())
    assert ('tbf', '5:', '1:1') in _qdiscs_j(ns, 'e1'), _qdiscs_j(ns, 'e1')
    before = tc_state(ns)
    role_vars = {'qos_netns': ns, 'qos_trees': first, 'qos_state': 'overridden'}
    check, out = run_role(tmp_path, 'check', role_vars, '--check', '--diff')
    assert tc_state(ns) == before
    real, out = run_role(tmp_path, 'real', role_vars, '--diff')
    assert _commands(check) == _commands(real), (_commands(check), _commands(real))
    for name in real:
        assert check[name].get('changed') == real[name].get('changed'), (name, check[name], real[name])
        for side in ('before', 'after'):
            if name.startswith('Qdiscs') and side in real[name]:
                assert check[name][side] == real[name][side], (name, side, check[name][side], real[name][side])
    assert not [c for c in _commands(real).get('Qdiscs of the classes', []) if 'e1' in c], _commands(real)
    assert _qdiscs_j(ns, 'e1') == [], _qdiscs_j(ns, 'e1')
    assert ('pfifo', '10:', '1:10') in _qdiscs_j(ns, 'e0'), _qdiscs_j(ns, 'e0')
    again, out = run_role(tmp_path, 'again', role_vars)
    assert 'changed=0' in out and all(not r.get('changed') for r in again.values()), out[-2000:]


def test_overridden_without_filters_deletes_the_filter_of_a_class_that_goes(netns, tmp_path):
    """qos_state overridden with trees that have no filters, while the host has a u32 filter (parent 1: prio 2) that
    points at class 1:20, which the trees drop: the filters call was skipped (its list is empty), so check mode said
    `class del ... classid 1:20` and the real run failed on it ("a u32 filter ... points at this class"), after it
    had changed the host. Under overridden an empty list still runs (it deletes what is in scope): the filters go
    first, then the class; check mode shows the same commands. tc -j is the oracle."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    first = trees()[:1]
    first[0]['qdiscs'].append({'handle': '20:', 'parent': '1:20', 'kind': 'pfifo', 'limit': 20})
    first[0]['filters'] = [{'parent': '1:', 'protocol': 'ip', 'prio': 2, 'kind': 'u32', 'classid': '1:20',
                            'match': {'ip_proto': 'udp', 'dport': 53}}]
    run_role(tmp_path, 'first', {'qos_netns': ns, 'qos_trees': first})
    assert tc_state(ns)[2] == [('e0', 'u32', '1:20')], tc_state(ns)
    before = tc_state(ns)
    second = trees()[:1]
    del second[0]['filters']
    second[0]['classes'] = [c for c in second[0]['classes'] if c['classid'] != '1:20']
    role_vars = {'qos_netns': ns, 'qos_trees': second, 'qos_state': 'overridden'}
    check, out = run_role(tmp_path, 'check', role_vars, '--check', '--diff')
    assert tc_state(ns) == before
    assert not [r for r in check.values() if r.get('failed')], out[-3000:]
    real, out = run_role(tmp_path, 'real', role_vars, '--diff')
    assert not [r for r in real.values() if r.get('failed')], out[-3000:]
    assert _commands(check) == _commands(real), (_commands(check), _commands(real))
    assert json.loads(sh('tc', '-n', ns, '-j', 'filter', 'show', 'dev', 'e0', 'parent', '1:') or '[]') == []
    cl = tc_state(ns)[1]
    assert sorted(c.split()[2] for c in cl if c.startswith('class htb ')) == ['1:1', '1:10', '1:30'], cl
    assert _qdiscs_j(ns, 'e0') == [('htb', '1:', 'root')], _qdiscs_j(ns, 'e0')
    again, out = run_role(tmp_path, 'again', role_vars)
    assert 'changed=0' in out and all(not r.get('changed') for r in again.values()), out[-2000:]


def test_deleted_a_class_with_a_qdisc_whose_class_the_trees_list_too(netns, tmp_path):
    """qos_state deleted with trees that list class 1:10 and class 10:1 of an htb 10: in 1:10 (10: itself in no tree):
    both are classes of the first classes call, which deleted 1:10 (the kernel takes 10: and 10:1 along) and then
    failed on 10:1 (ENOENT), and rolled back; check mode had said it would work. The delete of 1:10 now takes 10:1
    along in both modes (no delete of its own, gone in after). tc -j is the oracle."""
    ns = netns
    sh('ip', '-n', ns, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    first = trees()[:1]
    del first[0]['filters']
    run_role(tmp_path, 'first', {'qos_netns': ns, 'qos_trees': first})
    for line in ('qdisc add dev e0 parent 1:10 handle 10: htb', 'class add dev e0 parent 10: classid 10:1 htb rate 1mbit'):
        sh('tc', '-n', ns, *line.split())
    before = tc_state(ns)
    gone = trees()[:1]
    del gone[0]['filters']
    gone[0]['qdiscs'] = []
    gone[0]['classes'] = [{'classid': '1:10', 'parent': '1:1'}, {'classid': '10:1', 'parent': '10:'}]
    role_vars = {'qos_netns': ns, 'qos_trees': gone, 'qos_state': 'deleted'}
    check, out = run_role(tmp_path, 'check', role_vars, '--check', '--diff')
    assert tc_state(ns) == before
    real, out = run_role(tmp_path, 'real', role_vars, '--diff')
    assert not real['Classes'].get('failed'), real['Classes']
    assert _commands(check) == _commands(real), (_commands(check), _commands(real))
    assert check['Classes']['after'] == real['Classes']['after'], (check['Classes'], real['Classes'])
    assert _qdiscs_j(ns, 'e0') == [('htb', '1:', 'root')], _qdiscs_j(ns, 'e0')
    cl = tc_state(ns)[1]
    assert sorted(c.split()[2] for c in cl if c.startswith('class htb ')) == ['1:1', '1:20', '1:30'], cl
    again, out = run_role(tmp_path, 'again', role_vars)
    assert 'changed=0' in out and all(not r.get('changed') for r in again.values()), out[-2000:]
