# -*- coding: utf-8 -*-
"""edgenet.linux.tc_filter with the bpf classifier (host kernel: CONFIG_NET_CLS_BPF, CONFIG_BPF_SYSCALL).

The programs are compiled here from LLVM IR with `llc -march=bpf` (Debian's llvm package; there is no clang on
these machines). The kernel keeps the object's file name, the section and the program's tag (a digest of its
instructions), so a program counts as unchanged when the file name, the section and the code are the same.
Oracle: `tc -j filter show` (bpf_name, direct-action, prog.tag).
"""

import json
import subprocess

import pytest

from conftest import assert_no_traceback, sh

M = 'edgenet.linux.tc_filter'
PROG = '''define i32 @cls(i8* %%skb) section "classifier" {
  ret i32 %d
}
define i32 @other(i8* %%skb) section "action" {
  ret i32 0
}
@_license = global [4 x i8] c"GPL\\00", section "license"
'''


def build(tmp_path, name, ret):
    src = tmp_path / (name + '.ll')
    src.write_text(PROG % ret)
    obj = tmp_path / (name + '.o')
    subprocess.run(['llc', '-march=bpf', '-filetype=obj', '-o', str(obj), str(src)], check=True)
    return str(obj)


def bpf_filters(ns, dev='e0'):
    out = json.loads(sh('tc', '-n', ns, '-j', 'filter', 'show', 'dev', dev, 'ingress') or '[]')
    return dict((f['pref'], f['options']) for f in out if 'options' in f)


@pytest.fixture
def ns(netns):
    sh('ip', '-n', netns, 'link', 'add', 'name', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
    for dev in ('e0', 'e1'):
        sh('tc', '-n', netns, 'qdisc', 'add', 'dev', dev, 'clsact')
    return netns


def test_bpf_states(ns, play, tmp_path):
    ok = build(tmp_path, 'ok', 0)
    shot = build(tmp_path, 'shot', 2)
    # made by tc itself: the same program is no change
    sh('tc', '-n', ns, 'filter', 'add', 'dev', 'e0', 'ingress', 'prio', '9', 'bpf', 'obj', ok, 'sec', 'classifier',
       'da')
    tag = bpf_filters(ns)[9]['prog']['tag']
    want = [{'dev': 'e0', 'parent': 'ingress', 'prio': 9, 'kind': 'bpf',
             'bpf': {'object': ok, 'direct_action': True}},
            {'dev': 'e0', 'parent': 'ingress', 'prio': 10, 'kind': 'bpf', 'classid': '1:5',
             'bpf': {'object': shot, 'section': 'classifier'}}]
    task = {M: {'netns': ns, 'dev': 'e0', 'state': 'overridden', 'config': want}}
    check = play(task, check=True)[0]
    assert_no_traceback(check)
    assert list(bpf_filters(ns)) == [9]
    real, again = play([task, task])
    assert not real.get('failed'), real
    assert check['after'] == real['after'] and check['commands'] == real['commands']
    assert real['commands'] == ['tc -n %s filter add dev e0 ingress protocol all prio 10 handle 0x1 bpf obj %s '
                                'sec classifier classid 1:5' % (ns, shot)]
    k = bpf_filters(ns)
    assert k[9]['bpf_name'] == 'ok.o:[classifier]' and k[9]['direct-action'] and k[9]['prog']['tag'] == tag
    assert k[10]['bpf_name'] == 'shot.o:[classifier]' and 'direct-action' not in k[10]
    assert k[10].get('flowid', k[10].get('classid')) == '1:5'
    assert again['changed'] is False and again['commands'] == []
    gathered = play({M: {'netns': ns, 'state': 'gathered'}})[0]['gathered']
    assert gathered[0]['bpf'] == {'object': 'ok.o', 'section': 'classifier', 'direct_action': True, 'tag': tag}

    # new code in the same file: the tag differs, the filter is replaced
    subprocess.run(['cp', shot, ok], check=True)
    r = play(task)[0]
    assert r['changed'] and [c.split()[4] for c in r['commands']] == ['replace']
    assert bpf_filters(ns)[9]['prog']['tag'] == bpf_filters(ns)[10]['prog']['tag'] != tag
    assert not play(task)[0]['changed']

    # rendered lines work when pasted (on e1)
    rendered = play({M: {'state': 'rendered', 'config': [dict(w, dev='e1') for w in want]}})[0]['rendered']
    for line in rendered:
        sh('tc', '-n', ns, *line.split()[1:])
    assert [(f['bpf_name'], f['prog']['tag']) for f in bpf_filters(ns, 'e1').values()] == \
        [(f['bpf_name'], f['prog']['tag']) for f in bpf_filters(ns).values()]

    # bad input: nothing is sent
    before = bpf_filters(ns)
    for bad, field in ((dict(want[0], bpf={'object': str(tmp_path / 'nope.o')}), 'bpf.object'),
                       (dict(want[0], bpf={'object': ok, 'section': 'nope'}), 'bpf.section'),
                       (dict(want[0], bpf={'object': str(tmp_path / 'ok.ll')}), 'bpf.object'),
                       (dict(want[0], bpf={'object': ok, 'tag': '0123456789abcdef'}), 'bpf.tag'),
                       (dict(want[0], kind='u32'), 'bpf')):
        r = play({M: {'netns': ns, 'config': [bad]}})[0]
        assert_no_traceback(r)
        assert r.get('failed') and r.get('field') == field, (field, r)
    assert bpf_filters(ns) == before

    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'e0', 'kind': 'bpf'}]}})[0]
    assert r['changed'] and bpf_filters(ns) == {}
