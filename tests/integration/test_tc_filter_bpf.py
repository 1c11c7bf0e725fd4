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


# -- programs with maps (struct bpf_elf_map in section "maps", as tc's own ELF loader reads them) ---------------
MAP_PROG = '''%%struct.bpf_elf_map = type { %(fields)s }
@counts = global %%struct.bpf_elf_map { %(counts)s }, section "maps", align 4
@spare = global %%struct.bpf_elf_map { %(spare)s }, section "maps", align 4
%(extra)s
define i32 @cls(i8* %%skb) section "classifier" {
  %%k = alloca i32, align 4
  store i32 0, i32* %%k, align 4
  %%kp = bitcast i32* %%k to i8*
  %%f = inttoptr i64 1 to i8* (i8*, i8*)*
  %%v = call i8* %%f(i8* bitcast (%%struct.bpf_elf_map* @counts to i8*), i8* %%kp)
  %%n = icmp eq i8* %%v, null
  br i1 %%n, label %%out, label %%hit
hit:
  %%c = bitcast i8* %%v to i64*
  %%o = atomicrmw add i64* %%c, i64 1 seq_cst
  br label %%out
out:
  %%r = %(ret)s
  ret i32 %%r
}
@_license = global [4 x i8] c"GPL\\00", section "license"
'''


def build_ir(tmp_path, name, ir):
    src = tmp_path / (name + '.ll')
    src.write_text(ir)
    obj = tmp_path / (name + '.o')
    subprocess.run(['llc', '-march=bpf', '-filetype=obj', '-o', str(obj), str(src)], check=True)
    return str(obj)


def build_map(tmp_path, name, ret=0, counts=(2, 4, 8, 4, 0, 0, 0, 0, 0), spare=(1, 4, 4, 16, 0, 0, 0, 0, 0),
              extra='', ret_expr=None):
    """A program counting in map @counts (struct bpf_elf_map: type, size_key, size_value, max_elem, flags, id,
    pinning, inner_id, inner_idx); @spare is declared, not used."""
    return build_ir(tmp_path, name, MAP_PROG % {
        'fields': ', '.join(['i32'] * len(counts)), 'counts': ', '.join('i32 %d' % n for n in counts),
        'spare': ', '.join('i32 %d' % n for n in spare), 'extra': extra, 'ret': ret_expr or 'add i32 0, %d' % ret})


def bpf_prog_maps(prog_id):
    """[(type, key_size, value_size, max_entries, name)] of the maps the kernel program ``prog_id`` holds
    (BPF_PROG_GET_FD_BY_ID, BPF_OBJ_GET_INFO_BY_FD of the program - map_ids - and of each map)."""
    import ctypes
    import os
    import struct

    libc = ctypes.CDLL(None, use_errno=True)

    def bpf(cmd, attr):
        buf = ctypes.create_string_buffer(attr + b'\0' * (128 - len(attr)))
        r = libc.syscall(ctypes.c_long(321), ctypes.c_int(cmd), buf, ctypes.c_uint(128))
        assert r >= 0, os.strerror(ctypes.get_errno())
        return r

    def info(fd, size, extra=None):
        out = ctypes.create_string_buffer(extra or b'\0' * size, size)
        bpf(15, struct.pack('=IIQ', fd, size, ctypes.addressof(out)))
        return out.raw

    fd = bpf(13, struct.pack('=I', prog_id))
    try:
        nr = struct.unpack_from('=I', info(fd, 80), 52)[0]
        ids = ctypes.create_string_buffer(4 * nr)
        request = bytearray(80)
        struct.pack_into('=IQ', request, 52, nr, ctypes.addressof(ids))
        info(fd, 80, bytes(request))
    finally:
        os.close(fd)
    out = []
    for map_id in struct.unpack('=%dI' % nr, ids.raw):
        mfd = bpf(14, struct.pack('=I', map_id))
        try:
            m = info(mfd, 40)
        finally:
            os.close(mfd)
        t, _id, key, value, entries, _flags = struct.unpack_from('=6I', m)
        out.append((map_id, t, key, value, entries, m[24:40].rstrip(b'\0').decode()))
    return out


def our_tag(path):
    """The SHA-256 tag (6.18) the installed module computes for the program, without loading it."""
    import os
    import sys

    sys.path.insert(0, os.environ['ANSIBLE_COLLECTIONS_PATH'].split(':')[0])
    from ansible_collections.edgenet.linux.plugins.module_utils import _tc_filter as codec

    with open(path, 'rb') as f:
        return codec.bpf_tags(codec.bpf_program(f.read(), 'classifier')[0])[0]


def test_bpf_maps(ns, play, tmp_path):
    prog = build_map(tmp_path, 'count', 0)
    want = [{'dev': 'e0', 'parent': 'ingress', 'prio': 5, 'kind': 'bpf',
             'bpf': {'object': prog, 'direct_action': True}}]
    task = {M: {'netns': ns, 'dev': 'e0', 'state': 'overridden', 'config': want}}
    check = play(task, check=True)[0]
    assert_no_traceback(check)
    assert check['changed'] and bpf_filters(ns) == {}
    real, again = play([task, task])
    assert not real.get('failed'), real
    assert check['after'] == real['after'] and check['commands'] == real['commands']
    k = bpf_filters(ns)[5]
    assert k['bpf_name'] == 'count.o:[classifier]' and k['direct-action']
    # the tag the module computes without loading (from the relocated code: map fds zeroed) is the kernel's
    tag = our_tag(prog)
    assert k['prog']['tag'] == tag
    # the kernel's program holds one map: the one it uses (a 4-entry array of 8-byte values), not @spare
    maps = bpf_prog_maps(k['prog']['id'])
    assert [m[1:] for m in maps] == [(2, 4, 8, 4, 'counts')]
    assert again['changed'] is False and again['commands'] == []
    assert bpf_filters(ns)[5]['prog']['id'] == k['prog']['id']

    # (tc 6.1 here cannot load this object: built with libbpf 1.1, it refuses the legacy "maps" section)
    assert 'legacy map definitions' in subprocess.run(
        ['tc', '-n', ns, 'filter', 'add', 'dev', 'e1', 'ingress', 'prio', '5', 'bpf', 'obj', prog, 'sec',
         'classifier', 'da'], capture_output=True, text=True, check=False).stderr

    # other code using the same map: a replace, with a new map (PIN_NONE: a fresh map per load, as tc makes)
    other = build_map(tmp_path, 'other', 1)
    subprocess.run(['cp', other, prog], check=True)
    r = play(task)[0]
    assert r['changed'] and [c.split()[4] for c in r['commands']] == ['replace']
    k2 = bpf_filters(ns)[5]
    assert k2['prog']['tag'] != tag and k2['prog']['tag'] == our_tag(prog)
    maps2 = bpf_prog_maps(k2['prog']['id'])
    assert [m[1:] for m in maps2] == [(2, 4, 8, 4, 'counts')] and maps2[0][0] != maps[0][0]
    assert not play(task)[0]['changed']

    # unsupported relocations, bad maps sections, a map the kernel refuses: refused naming bpf.object
    before = bpf_filters(ns)
    data = build_map(tmp_path, 'data', extra='@g = global i32 5, section ".data", align 4',
                     ret_expr='load i32, i32* @g, align 4')
    call = build_map(tmp_path, 'call', extra='define i32 @sub(i32 %x) noinline section ".text" {\n  ret i32 %x\n}',
                     ret_expr='call i32 @sub(i32 3)')
    short = build_map(tmp_path, 'short', counts=(2, 4, 8), spare=(1, 4, 4))
    unknown = build_map(tmp_path, 'unknown', counts=(99, 4, 8, 4, 0, 0, 0, 0, 0))
    pinned = build_map(tmp_path, 'pinned', counts=(2, 4, 8, 4, 0, 0, 2, 0, 0))
    mapofmaps = build_map(tmp_path, 'mapofmaps', counts=(12, 4, 4, 4, 0, 0, 0, 0, 0))
    refused = build_map(tmp_path, 'refused', counts=(2, 4, 0, 4, 0, 0, 0, 0, 0))
    cases = ((data, 'global variable g in section .data'), (call, 'call to function sub'),
             (short, '12-byte map entries'), (unknown, 'map counts has an unknown type 99'),
             (pinned, 'PIN_GLOBAL_NS'), (mapofmaps, 'map of maps'), (refused, 'refused to create map counts'))
    results = play([{M: {'netns': ns, 'config': [dict(want[0], prio=6, bpf={'object': case[0]})]}} for case in cases])
    for (path, text), r in zip(cases, results):
        assert_no_traceback(r)
        assert r.get('failed') and r.get('field') == 'bpf.object', (path, r)
        assert path in r['msg'] and text in r['msg'], (text, r['msg'])
    assert bpf_filters(ns) == before


def test_a_program_the_verifier_refuses_says_why(ns, play, tmp_path):
    """The verifier's reason is the line before its summary ("processed 2 insns ..."): the error gave the summary
    alone, which says nothing about what is wrong. Nothing is sent, in either mode."""
    src = tmp_path / 'bad.ll'
    src.write_text('define i32 @cls(i8* %skb) section "classifier" {\n  %p = inttoptr i64 4096 to i32*\n'
                   '  %v = load i32, i32* %p\n  ret i32 %v\n}\n'
                   '@_license = global [4 x i8] c"GPL\\00", section "license"\n')
    bad = str(tmp_path / 'bad.o')
    subprocess.run(['llc', '-march=bpf', '-filetype=obj', '-o', bad, str(src)], check=True)
    task = {M: {'netns': ns, 'config': [{'dev': 'e0', 'parent': 'ingress', 'prio': 3, 'kind': 'bpf',
                                         'bpf': {'object': bad, 'section': 'classifier'}}]}}
    for r in (play(task, check=True)[0], play(task)[0]):
        assert_no_traceback(r)
        assert r.get('failed') and r['field'] == 'bpf.object' and 'refused the bpf program' in r['msg'], r
        assert 'invalid mem access' in r['extack'] and r['extack'].index('invalid') < r['extack'].index('processed'), r
    assert bpf_filters(ns) == {}


def test_deleted_selectors_without_kind_select_bpf_filters(ns, play, tmp_path):
    """A selector without kind never matched a bpf filter by its program (Ansible's None suboptions stayed in the
    selector; the kernel keeps the file's name only) or by its handle spelled 1 (gather shows 0x1)."""
    ok = build(tmp_path, 'ok', 0)
    for prio in ('8', '9'):
        sh('tc', '-n', ns, 'filter', 'add', 'dev', 'e0', 'ingress', 'prio', prio, 'bpf', 'obj', ok, 'sec',
           'classifier', 'da')
    by_object = {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'e0', 'prio': 8, 'bpf': {'object': ok}}]}}
    by_handle = {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'e0', 'prio': 9, 'handle': '1'}]}}
    for task, prio in ((by_object, 8), (by_handle, 9)):
        check = play(task, check=True)[0]
        real = play(task)[0]
        assert_no_traceback(real)
        assert check['commands'] == real['commands'] == [
            'tc -n %s filter del dev e0 ingress protocol all prio %d handle 0x1 bpf' % (ns, prio)], real
        assert prio not in bpf_filters(ns)
    assert bpf_filters(ns) == {}


def test_a_rollback_makes_a_deleted_bpf_filter_again_with_its_own_program(ns, play, tmp_path, monkeypatch):
    """The rollback of a task that deleted (or replaced the program of) a bpf filter loaded the program again from
    the file name the kernel keeps, relative to the module's directory: ROLLBACK INCOMPLETE, and the filter lost
    (or, run from the file's directory, the rebuilt file's code put back). It gives the kernel the program the
    filter had, held before anything was sent."""
    monkeypatch.setenv('EDGENET_KCONFIG', '')  # (the kernel itself refuses gact, part way through the apply)
    ok = build(tmp_path, 'ok', 0)
    sh('tc', '-n', ns, 'filter', 'add', 'dev', 'e0', 'ingress', 'prio', '9', 'bpf', 'obj', ok, 'sec', 'classifier',
       'da')
    before = bpf_filters(ns)
    build(tmp_path, 'ok', 2)  # (the file rebuilt since: other code)
    refused = {'dev': 'e0', 'parent': 'ingress', 'protocol': 'ip', 'prio': 20, 'kind': 'u32',
               'match': {'dst': '198.18.1.0/24'}, 'actions': [{'kind': 'gact', 'action': 'drop'}]}
    for state in ('overridden', 'replaced'):
        cfg = [refused] if state == 'overridden' else [
            {'dev': 'e0', 'parent': 'ingress', 'prio': 9, 'kind': 'bpf', 'handle': '0x1',
             'bpf': {'object': ok, 'direct_action': True}}, refused]
        r = play({M: {'netns': ns, 'dev': 'e0', 'state': state, 'config': cfg}})[0]
        assert_no_traceback(r)
        assert r.get('failed') and 'gact' in r['failed_command'][0] and r['rolled_back'], r
        assert r['rollback_failed'] == [] and 'ROLLBACK INCOMPLETE' not in r['msg'], r
        assert bpf_filters(ns) == before, (state, bpf_filters(ns), before)
