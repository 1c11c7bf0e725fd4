# -*- coding: utf-8 -*-
"""A task that would create an object of a kind the host kernel certainly lacks (its configuration says so) fails
up front, in check mode as in the real run, naming the object, the field and the kernel option; nothing is sent.
The oracles are `tc -j` and `ip -j`. On a kernel that has the kind, the same task simply works (the other branch)."""

import gzip
import json
import subprocess
import uuid

import pytest

from conftest import assert_no_traceback, ipj, sh


def kernel_config():
    """{symbol: value} of the running kernel's /proc/config.gz (None: not readable)."""
    try:
        with gzip.open('/proc/config.gz', 'rt') as f:
            text = f.read()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        if line.startswith('CONFIG_') and '=' in line:
            k, v = line.split('=', 1)
            out[k] = v
    return out


def lacks(symbol):
    config = kernel_config()
    return config is not None and config.get(symbol) in (None, 'n') and 'CONFIG_MODULES' not in config


@pytest.fixture
def ns():
    """A fresh namespace (prefix edgb-) with a veth pair e0/e1 and a clsact qdisc on e0; deleted afterwards."""
    name = 'edgb-%s' % uuid.uuid4().hex[:8]
    sh('ip', 'netns', 'add', name)
    try:
        sh('ip', '-n', name, 'link', 'set', 'lo', 'up')
        sh('ip', '-n', name, 'link', 'add', 'e0', 'type', 'veth', 'peer', 'name', 'e1')
        sh('tc', '-n', name, 'qdisc', 'add', 'dev', 'e0', 'clsact')
        yield name
    finally:
        subprocess.run(['ip', 'netns', 'del', name], capture_output=True, check=False)


def tcj(ns, *args):
    out = sh('tc', '-n', ns, '-j', *args)
    return json.loads(out) if out.strip() else []


def state(ns):
    """What the kernel shows of the namespace: its devices (no counters), qdiscs and ingress filters."""
    links = [(d['ifname'], d.get('linkinfo', {}).get('info_kind')) for d in ipj(ns, '-d', 'link', 'show')]
    qdiscs = [(q['dev'], q['kind'], q['handle']) for q in tcj(ns, 'qdisc', 'show')]
    return links, qdiscs, tcj(ns, 'filter', 'show', 'dev', 'e0', 'ingress')


def check_then_real(play, ns, task):
    """The task in check mode, then for real: both results."""
    results = play([dict(task, check_mode=True), task])
    for r in results:
        assert_no_traceback(r)
    return results


def assert_refused(results, obj, field, msg, before, ns):
    for r in results:
        assert r.get('failed'), r
        assert r['object'] == obj and r['field'] == field, r
        assert r['msg'] == '%s: field \'%s\': %s' % (obj, field, msg), r
        assert 'code' not in r, r  # refused before anything was sent: no kernel errno
    assert state(ns) == before


def refused_or_made(play, ns, task, symbol, obj, field, text):
    """``task`` in check mode, then for real: refused up front with ``text`` when this kernel lacks ``symbol`` (its
    configuration says so), made as usual when it has it. ``obj`` None: the object's label starts as the message's."""
    before = state(ns)
    results = check_then_real(play, ns, task)
    if not lacks(symbol):
        assert all(r['changed'] and not r.get('failed') for r in results), results
        return
    assert_refused(results, obj or results[0]['object'], field, text, before, ns)


def test_qdisc_kind_the_kernel_lacks(ns, play):
    task = {'edgenet.linux.tc_qdisc': {'netns': ns, 'config': [{'dev': 'e0', 'handle': '7:', 'kind': 'fq_codel'}]}}
    refused_or_made(play, ns, task, 'CONFIG_NET_SCH_FQ_CODEL', 'qdisc fq_codel 7: dev e0 parent root', 'kind',
                    'the kernel lacks fq_codel qdiscs (CONFIG_NET_SCH_FQ_CODEL is not set)')


def test_class_kind_the_kernel_lacks_check_mode(ns, play):
    """Check mode of a class whose qdisc an earlier task makes: its kind is named; one the kernel lacks fails."""
    task = {'edgenet.linux.tc_class': {'netns': ns, 'config': [
        {'dev': 'e0', 'classid': '1:10', 'parent': '1:', 'kind': 'hfsc', 'ls': {'m2': '1mbit'}}]}}
    before = state(ns)
    r = play([task], check=True)[0]
    assert_no_traceback(r)
    if not lacks('CONFIG_NET_SCH_HFSC'):
        assert r['changed'] and not r.get('failed'), r
        return
    assert_refused([r], 'class 1:10 dev e0', 'kind',
                   'the kernel lacks hfsc qdiscs (CONFIG_NET_SCH_HFSC is not set)', before, ns)


def test_filter_kind_the_kernel_lacks(ns, play):
    task = {'edgenet.linux.tc_filter': {'netns': ns, 'config': [
        {'dev': 'e0', 'parent': 'ingress', 'protocol': 'ip', 'prio': 10, 'handle': 1, 'kind': 'flower',
         'match': {'ip_proto': 'tcp', 'dport': 22}}]}}
    refused_or_made(play, ns, task, 'CONFIG_NET_CLS_FLOWER', 'filter flower prio 10 handle 0x1 dev e0 parent ingress',
                    'kind', 'the kernel lacks flower filters (CONFIG_NET_CLS_FLOWER is not set)')


def test_action_kind_the_kernel_lacks(ns, play):
    """A u32 filter (which the kernel has) with a gact action (which it may lack): the action is named."""
    task = {'edgenet.linux.tc_filter': {'netns': ns, 'config': [
        {'dev': 'e0', 'parent': 'ingress', 'protocol': 'ip', 'prio': 10, 'kind': 'u32',
         'match': {'ip_proto': 'tcp', 'dport': 22}, 'actions': [{'kind': 'gact', 'action': 'drop'}]}]}}
    before = state(ns)
    results = check_then_real(play, ns, task)
    if not lacks('CONFIG_NET_ACT_GACT') or lacks('CONFIG_NET_CLS_U32'):
        return  # (another kernel: the other tests of tc_filter cover gact)
    obj = results[0]['object']
    assert obj.startswith('filter u32 prio 10 '), results
    assert_refused(results, obj, 'actions[0].kind',
                   'the kernel lacks gact actions (CONFIG_NET_ACT_GACT is not set)', before, ns)


def test_link_kind_the_kernel_lacks(ns, play):
    task = {'edgenet.linux.link': {'netns': ns, 'config': [{'ifname': 'd0', 'kind': 'dummy'}]}}
    refused_or_made(play, ns, task, 'CONFIG_DUMMY', 'link d0', 'kind',
                    'the kernel lacks dummy devices (CONFIG_DUMMY is not set)')


def test_kinds_the_kernel_has_are_not_refused(ns, play):
    """The check refuses only on evidence: kinds the kernel has (tbf, u32 with mirred, veth) are created."""
    tbf = {'dev': 'e1', 'handle': '2:', 'kind': 'tbf', 'rate': '1mbit', 'burst': '10kb', 'latency': '50ms'}
    mirred = {'kind': 'mirred', 'action': 'redirect', 'dev': 'e1'}
    u32 = {'dev': 'e0', 'parent': 'ingress', 'protocol': 'ip', 'prio': 10, 'kind': 'u32',
           'match': {'ip_proto': 'tcp', 'dport': 22}, 'actions': [mirred]}
    tasks = [
        {'edgenet.linux.tc_qdisc': {'netns': ns, 'config': [tbf]}},
        {'edgenet.linux.tc_filter': {'netns': ns, 'config': [u32]}},
        {'edgenet.linux.link': {'netns': ns, 'config': [{'ifname': 'v0', 'kind': 'veth', 'veth': {'peer': 'v1'}}]}},
    ]
    for r in play(tasks):
        assert_no_traceback(r)
        assert r['changed'] and not r.get('failed'), r
    links, qdiscs, filters = state(ns)
    assert ('v0', 'veth') in links and ('e1', 'tbf', '2:') in qdiscs and filters


def test_u32_mark_match_the_kernel_lacks(ns, play):
    """Without CONFIG_CLS_U32_MARK the kernel takes a u32 filter with a mark match and silently leaves the mark out:
    the filter then matches every packet, and the next run wants to change it again. Refused up front now."""
    task = {'edgenet.linux.tc_filter': {'netns': ns, 'config': [
        {'dev': 'e0', 'parent': 'ingress', 'protocol': 'ip', 'prio': 10, 'kind': 'u32',
         'match': {'mark': '0x10/0xff'}, 'actions': [{'kind': 'mirred', 'action': 'redirect', 'dev': 'e1'}]}]}}
    refused_or_made(play, ns, task, 'CONFIG_CLS_U32_MARK', None, 'match.mark',
                    'the kernel lacks u32 mark matching (CONFIG_CLS_U32_MARK is not set)')
