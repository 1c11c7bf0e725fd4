# -*- coding: utf-8 -*-
"""edgenet.linux.address against a real kernel; the oracle is `ip -j address show`."""

import time

import pytest

from conftest import (assert_no_traceback, check_assumes_ipv6_then_real, check_real_again, collection_on_path,
                      diff_side, ipj, refused_in_process, sh, without_ipv6)

M = 'edgenet.linux.address'


def same(predicted, real):
    """check-mode ``after`` against the real run's: equal, except that a finite lifetime of an address the task
    does not touch may differ by a second. The kernel only reports the time left; each run reconstructs the
    configured value from the address's timestamp and /proc/uptime, whose second boundaries drift apart."""
    if len(predicted) != len(real):
        return False
    for p, r in zip(predicted, real):
        for field in ('valid_lft', 'preferred_lft'):
            if isinstance(p.get(field), int) and isinstance(r.get(field), int) and abs(p[field] - r[field]) <= 1:
                p = dict(p, **{field: r[field]})
        if p != r:
            return False
    return True


def mine(objs):
    """Drop what the kernel made (lo, IPv6 link-local) from a before/after list."""
    return [a for a in objs if a['dev'] != 'lo' and not a['address'].startswith('fe80:')]


def kernel_addrs(ns, dev=None):
    """{(dev, 'addr/len'): addr_info} from iproute2, without link-local and loopback."""
    out = {}
    for link in ipj(ns, 'address', 'show'):
        for a in link.get('addr_info', []):
            if a['scope'] == 'link' and a['family'] == 'inet6' or link['ifname'] == 'lo':
                continue
            if dev and link['ifname'] != dev:
                continue
            out[(link['ifname'], '%s/%s' % (a['local'], a['prefixlen']))] = a
    return out


def _without_ipv6_check(ns, params):
    """The module's engine in this process, with the module's own check of IPv6 on an address's device turned off, so
    that the kernel's refusal of an IPv6 address on a device with IPv6 disabled (EACCES, "IPv6 is disabled on this
    device") comes in the middle of a pipelined plan: a real refusal by the kernel, for the tests of the rollback.
    The run's failed result."""
    collection_on_path()
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.address import Address

    class Unchecked(Address):
        def _refuse_without_ipv6(self, ctx, first):
            return None

    return refused_in_process(Unchecked(), dict({'netns': ns, 'state': 'merged', 'dev': None}, **params))


def check_then_twice(play, task):
    """``task`` in check mode, then twice for real: the three results, none with a traceback."""
    check = play(task, check=True)[0]
    first, again = play([task, task])
    for r in (check, first, again):
        assert_no_traceback(r)
    return check, first, again


@pytest.fixture
def ns(netns):
    sh('ip', '-n', netns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    sh('ip', '-n', netns, 'link', 'set', 'v0', 'up')
    sh('ip', '-n', netns, 'link', 'set', 'v1', 'up')  # with carrier, the kernel adds IPv6 link-local addresses
    return netns


CONFIG = [
    {'dev': 'v0', 'address': '198.18.0.1/24'},
    {'dev': 'v0', 'address': 'fd42:ed6e:0:0::1/64', 'noprefixroute': True},
    {'dev': 'v0', 'address': '198.18.1.1/32', 'peer': '198.18.1.2', 'label': 'v0:p'},
    {'dev': 'v1', 'address': '198.18.2.1/24', 'valid_lft': 300, 'preferred_lft': 100},
]


def test_merged_check_apply_idempotent(ns, play):
    task = {M: {'netns': ns, 'config': CONFIG}}
    check, apply, again = play([task], check=True)[0], *play([task, task])
    for r in (check, apply, again):
        assert_no_traceback(r)
    # check mode: nothing in the kernel, but a prediction and a diff
    assert check['changed'] and mine(check['before']) == []
    assert len(check['commands']) == 4 and 'diff' in check
    # the real run: the kernel shows every address with its attributes
    k = kernel_addrs(ns)
    assert set(k) == {('v0', '198.18.0.1/24'), ('v0', 'fd42:ed6e::1/64'), ('v0', '198.18.1.1/32'),
                      ('v1', '198.18.2.1/24')}
    assert k[('v0', 'fd42:ed6e::1/64')].get('noprefixroute') is True
    assert k[('v0', '198.18.1.1/32')]['address'] == '198.18.1.2'
    assert k[('v0', '198.18.1.1/32')]['label'] == 'v0:p'
    assert k[('v1', '198.18.2.1/24')]['valid_life_time'] <= 300
    # check mode predicted exactly what the real run did
    assert same(check['after'], apply['after'])
    assert check['commands'] == apply['commands']
    assert apply['changed'] and '198.18' not in diff_side(apply, 'before') and '198.18.0.1/24' in diff_side(apply, 'after')
    # second run: no change, no commands
    assert again['changed'] is False and again['commands'] == []
    assert again['before'] == apply['after']


def test_check_mode_writes_nothing(ns, play):
    play({M: {'netns': ns, 'config': CONFIG[:1]}})
    before = kernel_addrs(ns)
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': CONFIG[1:]}}, check=True)[0]
    assert r['changed'] and len(r['commands']) == 4
    assert kernel_addrs(ns) == before


def test_merged_updates_lifetime_in_place(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    r = play({M: {'netns': ns, 'config': [{'dev': 'v1', 'address': '198.18.2.1/24', 'valid_lft': 'forever',
                                          'preferred_lft': 'forever'}]}})[0]
    assert r['changed'] and r['commands'] == ['ip -n %s address replace 198.18.2.1/24 dev v1' % ns]
    assert kernel_addrs(ns)[('v1', '198.18.2.1/24')]['valid_life_time'] == 4294967295


def test_replaced_resets_unnamed_fields(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    cfg = [{'dev': 'v0', 'address': 'fd42:ed6e::1/64'}, {'dev': 'v0', 'address': '198.18.1.1/32'}]
    check, real, again = play({M: {'netns': ns, 'state': 'replaced', 'config': cfg}}, check=True)[0], \
        *play([{M: {'netns': ns, 'state': 'replaced', 'config': cfg}}] * 2)
    assert same(check['after'], real['after']) and real['changed'] and not again['changed']
    k = kernel_addrs(ns)
    assert not k[('v0', 'fd42:ed6e::1/64')].get('noprefixroute')
    assert k[('v0', '198.18.1.1/32')]['label'] == 'v0'
    assert k[('v0', '198.18.1.1/32')].get('address', '198.18.1.1') == '198.18.1.1'  # peer gone: recreated
    assert ('v0', '198.18.0.1/24') in k  # replaced leaves other objects alone


def test_overridden_in_scope_only_and_keeps_kernel_objects(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    cfg = [{'dev': 'v0', 'address': '198.18.0.9/24'}]
    check = play({M: {'netns': ns, 'state': 'overridden', 'dev': 'v0', 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'state': 'overridden', 'dev': 'v0', 'config': cfg}}] * 2)
    assert same(check['after'], real['after']) and not again['changed']
    assert set(kernel_addrs(ns)) == {('v0', '198.18.0.9/24'), ('v1', '198.18.2.1/24')}
    # the link-local address of v0 and 127.0.0.1 on lo are still there
    links = dict((l['ifname'], l) for l in ipj(ns, 'address', 'show'))
    assert any(a['local'].startswith('fe80') for a in links['v0']['addr_info'])
    assert any(a['local'] == '127.0.0.1' for a in links['lo']['addr_info'])


def test_overridden_whole_namespace(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': [CONFIG[0]]}})[0]
    assert r['changed'] and set(kernel_addrs(ns)) == {('v0', '198.18.0.1/24')}
    links = dict((l['ifname'], l) for l in ipj(ns, 'address', 'show'))
    assert any(a['local'] == '127.0.0.1' for a in links['lo']['addr_info'])


def test_deleted_by_match_and_all(ns, play):
    # no finite lifetime here: an address the task does not name reports its reconstructed lifetime,
    # which can move by a second between two runs
    play({M: {'netns': ns, 'config': CONFIG[:3] + [{'dev': 'v1', 'address': '198.18.2.1/24'}]}})
    check = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'v0'}]}}, check=True)[0]
    assert len(kernel_addrs(ns)) == 4
    real, again = play([{M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'v0'}]}}] * 2)
    assert same(check['after'], real['after']) and real['changed'] and not again['changed']
    assert set(kernel_addrs(ns)) == {('v1', '198.18.2.1/24')}
    r = play({M: {'netns': ns, 'state': 'deleted'}})[0]
    assert r['changed'] and kernel_addrs(ns) == {}
    assert any(a['local'] == '127.0.0.1' for l in ipj(ns, 'address', 'show') for a in l['addr_info'])


def test_gathered_feeds_back_as_config(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    assert not g['changed']
    mine = [a for a in g['gathered'] if a['address'] in ('198.18.0.1/24', '198.18.1.1/32')]
    assert mine[0] == {'dev': 'v0', 'address': '198.18.0.1/24', 'scope': 'global', 'label': 'v0',
                       'valid_lft': 'forever', 'preferred_lft': 'forever', 'noprefixroute': False}
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': g['gathered']}})[0]
    assert r['changed'] is False


def test_rendered_and_parsed_touch_nothing(ns, play):
    r = play({M: {'netns': ns, 'state': 'rendered', 'config': CONFIG}})[0]
    assert r['rendered'][2] == 'ip -n %s address add 198.18.1.1 peer 198.18.1.2/32 dev v0 label v0:p' % ns
    assert kernel_addrs(ns) == {}
    # the rendered commands really work when pasted
    for line in r['rendered']:
        sh(*line.split())
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    p = play({M: {'state': 'parsed', 'running_config': sh('ip', '-n', ns, '-j', 'address', 'show')}})[0]
    # ip -j prints the remaining lifetime: parsed reports that; gathered reconstructs the configured one
    for a in p['parsed'] + g['gathered']:
        if a['valid_lft'] != 'forever':
            a['valid_lft'] = a['preferred_lft'] = 'finite'
    assert mine(p['parsed']) == mine(g['gathered']) and len(mine(p['parsed'])) == 4


@pytest.mark.parametrize('item, field, text', [
    ({'dev': 'nosuch0', 'address': '198.18.0.1/24'}, 'dev', "device 'nosuch0' does not exist"),
    ({'dev': 'v0', 'address': '198.18.0.300/24'}, 'address', 'not an address with a valid prefix'),
    ({'dev': 'v0', 'address': '198.18.0.1'}, 'address', 'needs a prefix length'),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'preferred_lft': 600, 'valid_lft': 60}, 'preferred_lft', 'longer'),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'label': 'eth9'}, 'label', 'must start with the device name'),
    ({'dev': 'v0', 'address': 'fd42:ed6e::1/64', 'scope': 'link'}, 'scope', 'derives IPv6 address scope'),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'peer': 'fd42:ed6e::2'}, 'peer', 'same family'),
    # a fraction of a second was cut off silently (100.7 became 100)
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'valid_lft': 100.7}, 'valid_lft', "'100.7' is not a whole number"),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'valid_lft': 100, 'preferred_lft': 50.5}, 'preferred_lft',
     "'50.5' is not a whole number"),
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'valid_lft': 0}, 'valid_lft', 'give at least 1 second'),
    # the kernel neither counts down nor reports the preferred lifetime of an IPv4 address that never expires
    ({'dev': 'v0', 'address': '198.18.0.1/24', 'preferred_lft': 50}, 'preferred_lft', 'needs a finite valid_lft'),
    # the kernel discards 0.0.0.0 without a word (changed on every run), and refuses :: and a multicast address
    ({'dev': 'v0', 'address': '0.0.0.0/0'}, 'address', 'is the unspecified address'),
    ({'dev': 'v0', 'address': '0.0.0.0/8'}, 'address', 'is the unspecified address'),
    ({'dev': 'v0', 'address': '::/0'}, 'address', 'is the unspecified address'),
    ({'dev': 'v0', 'address': 'ff02::5/64'}, 'address', 'is a multicast address'),
])
def test_bad_input_is_refused_and_kernel_untouched(ns, play, item, field, text):
    before = kernel_addrs(ns)
    # the good item first: nothing may be applied when a later item is bad
    r = play({M: {'netns': ns, 'config': [{'dev': 'v1', 'address': '198.18.9.1/24'}, item]}})[0]
    assert r['failed'] and text in r['msg'] and ("field '%s'" % field) in r['msg'], r['msg']
    assert_no_traceback(r)
    assert kernel_addrs(ns) == before


def test_duplicate_keys_refused(ns, play):
    r = play({M: {'netns': ns, 'config': [CONFIG[0], {'dev': 'v0', 'address': '198.18.0.1/24', 'label': 'v0:x'}]}})[0]
    assert r['failed'] and 'config[1]' in r['msg'] and 'duplicate key' in r['msg'] and 'config[0]' in r['msg']
    assert "field 'address'" in r['msg'], r['msg']  # (it named 'dev', the first key field)
    assert kernel_addrs(ns) == {}


def test_unknown_netns_refused(play):
    r = play({M: {'netns': 'edgt-does-not-exist', 'state': 'gathered'}})[0]
    assert r['failed'] and "network namespace 'edgt-does-not-exist' does not exist" in r['msg']
    assert_no_traceback(r)


def test_transaction_rolls_back_when_third_of_five_fails(ns, play):
    """The kernel refuses the third address (IPv6 is disabled on v1); everything it applied is undone."""
    sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.v1.disable_ipv6=1')
    play({M: {'netns': ns, 'config': [{'dev': 'v1', 'address': '198.18.7.1/24'}]}})
    before = ipj(ns, 'address', 'show')
    cfg = [{'dev': 'v0', 'address': '198.18.3.1/24'},
           {'dev': 'v0', 'address': 'fd42:ed6e:3::1/64'},
           {'dev': 'v1', 'address': 'fd42:ed6e:4::1/64'},
           {'dev': 'v1', 'address': '198.18.4.1/24'},
           {'dev': 'v0', 'address': '198.18.5.1/24'}]
    r = _without_ipv6_check(ns, {'config': cfg})
    assert r['failed'], r
    # the plan went out pipelined: the kernel also made the two addresses after the refused one; all four go
    assert 'address fd42:ed6e:4::1/64 dev v1' in r['msg'] and 'rolled back the 4 change(s)' in r['msg']
    assert "field 'dev': v1 has IPv6 disabled" in r['msg'] and 'errno 13 EACCES' in r['msg'], r['msg']
    assert r['failed_command'] == ['ip -n %s address add fd42:ed6e:4::1/64 dev v1' % ns]
    assert r['rolled_back'] == ['ip -n %s address del %s dev %s' % (ns, a, d) for a, d in (
        ('198.18.5.1/24', 'v0'), ('198.18.4.1/24', 'v1'), ('fd42:ed6e:3::1/64', 'v0'), ('198.18.3.1/24', 'v0'))]
    after = ipj(ns, 'address', 'show')
    assert _flat(after) == _flat(before)


def test_an_ipv6_address_on_a_device_without_ipv6_is_refused_before_anything_is_sent(ns, play):
    """The kernel refuses an IPv6 address on a device with IPv6 disabled (disable_ipv6, set in the task's namespace:
    EACCES, "IPv6 is disabled on this device"), link-local ones too, and on a device without IPv6 (an MTU below 1280
    removes it: EINVAL). The real run refuses it before anything is sent, naming the address and dev; the kernel is
    as it was. Check mode, which runs no earlier task of the play, warns with the same words that its prediction
    assumes an earlier task sets disable_ipv6 to 0 or raises the MTU, and predicts the address added, as it does
    for a device an earlier task makes (it refused it, so the --check of a play whose earlier task gives the device
    IPv6 failed where the real play succeeds). IPv4 addresses on those devices, and IPv6 ones on others, are made."""
    without_ipv6(ns)
    # (iproute2 prints the addrgenmode of a device's IPv6 part: v2 has none)
    assert [('inet6_addr_gen_mode' in ipj(ns, '-d', 'link', 'show', d)[0]) for d in ('v1', 'v2')] == [True, False]
    before = ipj(ns, 'address', 'show')
    good = {'dev': 'v0', 'address': '198.18.40.1/24'}
    disabled = 'v1 has IPv6 disabled (net.ipv6.conf.v1.disable_ipv6 = 1); the kernel refuses an IPv6 address on it ' \
               '(IPv6 is disabled on this device)'
    enable = 'sets net.ipv6.conf.v1.disable_ipv6 = 0'
    for item, why, assumed in (
            ({'dev': 'v1', 'address': 'fd42:ed6e:40::1/64'}, disabled, enable),
            ({'dev': 'v1', 'address': 'fe80::40/64'}, disabled, enable),
            ({'dev': 'v2', 'address': 'fd42:ed6e:40::2/64'},
             'v2 has no IPv6 (the kernel removes it from a device whose MTU is below 1280; this one has 1000); the '
             'kernel refuses an IPv6 address on it (Invalid argument)', 'raises the MTU of v2 to 1280 or more')):
        task = {M: {'netns': ns, 'config': [good, {'dev': 'v0', 'address': 'fd42:ed6e:41::1/64'}, item]}}
        check, real = play(task, check=True)[0], play(task)[0]
        label = 'address %s dev %s' % (item['address'], item['dev'])
        for r in (check, real):
            assert_no_traceback(r)
        assert real.get('failed') and real['object'] == label and real['field'] == 'dev', real
        assert real['msg'] == "%s: field 'dev': %s" % (label, why), real['msg']
        assert not real.get('rolled_back') and not real.get('failed_command'), real
        assert not check.get('failed') and check['changed'], check
        assert check['warnings'] == ['check mode: %s; this prediction assumes an earlier task of the play %s'
                                     % (real['msg'], assumed)], check
        assert [a for a in check['after'] if (a['dev'], a['address']) == (item['dev'], item['address'])], check
        assert _flat(ipj(ns, 'address', 'show')) == _flat(before)
    cfg = [{'dev': 'v1', 'address': '198.18.41.1/24'}, {'dev': 'v2', 'address': '198.18.42.1/24'},
           {'dev': 'v0', 'address': 'fd42:ed6e:41::1/64'}]
    check, first, again = check_then_twice(play, {M: {'netns': ns, 'config': cfg}})
    assert check['changed'] and first['changed'] and not again['changed'], (check, first, again)
    assert not check.get('warnings'), check
    assert set(kernel_addrs(ns)) == {('v1', '198.18.41.1/24'), ('v2', '198.18.42.1/24'), ('v0', 'fd42:ed6e:41::1/64')}


def test_check_mode_assumes_an_earlier_task_gives_the_device_ipv6(ns, play):
    """A play that gives devices IPv6 (sets disable_ipv6 to 0 on one, raises the MTU of another with the link
    module) and then adds IPv6 addresses to them: check mode, where those tasks changed nothing, warns and predicts
    what the real run then makes (it failed: the --check of the play failed where the play succeeds)."""
    without_ipv6(ns)
    cfg = [{'dev': 'v1', 'address': 'fd42:ed6e:42::1/64'}, {'dev': 'v2', 'address': 'fd42:ed6e:42::2/64'}]
    check_assumes_ipv6_then_real(play, ns, {M: {'netns': ns, 'config': cfg}},
                                 lambda: _flat(ipj(ns, 'address', 'show')))
    assert {('v1', 'fd42:ed6e:42::1/64'), ('v2', 'fd42:ed6e:42::2/64')} <= set(kernel_addrs(ns))


def _flat(links):
    return sorted((link['ifname'], a['local'], a['prefixlen']) for link in links for a in link['addr_info'])


def test_scope_above_255_refused_in_check_mode_too(ns, play):
    """scope is one byte of the ifaddrmsg: a larger number is bad input named by its field, in check mode too (it
    was accepted there, and the real run failed with a struct error)."""
    task = {M: {'netns': ns, 'config': [{'dev': 'v1', 'address': '198.18.9.1/24'},
                                        {'dev': 'v0', 'address': '198.18.5.1/24', 'scope': 300}]}}
    check, real = play(task, check=True)[0], play(task)[0]
    for r in (check, real):
        assert_no_traceback(r)
        assert r['failed'] and r['msg'] == "config[1]: field 'scope': 300 is out of range (0 to 255)", r
    assert kernel_addrs(ns) == {}


def secondaries(ns, dev='v0', ordered=True):
    """[(address, label, secondary)] of the IPv4 addresses of ``dev``, in the kernel's order (primaries first,
    in the order of their scopes and of their adds; secondaries in the order of their adds), or sorted."""
    found = [('%s/%s' % (a['local'], a['prefixlen']), a.get('label'), bool(a.get('secondary')))
             for link in ipj(ns, '-4', 'address', 'show', 'dev', dev) for a in link['addr_info']]
    return found if ordered else sorted(found)


@pytest.fixture
def subnet(ns):
    """198.18.1.1/24 on v0, the primary of its subnet; .2 and .3 its secondaries; 198.18.2.1/24 beside them."""
    for a in ('198.18.1.1/24', '198.18.1.2/24', '198.18.1.3/24', '198.18.2.1/24'):
        sh('ip', '-n', ns, 'address', 'add', a, 'dev', 'v0')
    assert secondaries(ns) == [('198.18.1.1/24', 'v0', False), ('198.18.2.1/24', 'v0', False),
                               ('198.18.1.2/24', 'v0', True), ('198.18.1.3/24', 'v0', True)]
    return ns


SECONDARY_RE_ADDED = [('198.18.2.1/24', 'v0', False), ('198.18.1.1/24', 'v0:p', False),
                      ('198.18.1.2/24', 'v0', True), ('198.18.1.3/24', 'v0', True)]


def test_re_adding_a_primary_keeps_its_secondaries(subnet, play):
    """A new label (scope, peer) deletes and re-adds the address. Deleting the primary address of a subnet makes the
    kernel delete its secondaries (promote_secondaries off, the default): they were lost, while check mode and
    after reported them. The plan deletes them first and adds them back after the primary; check mode says so."""
    ns = subnet
    cfg = [{'dev': 'v0', 'address': '198.18.1.1/24', 'label': 'v0:p'}, {'dev': 'v0', 'address': '198.18.1.3/24'}]
    check = play({M: {'netns': ns, 'config': cfg}}, check=True)[0]
    first, again = play([{M: {'netns': ns, 'config': cfg}}] * 2)
    for r in (check, first, again):
        assert_no_traceback(r)
    cmd = 'ip -n %s address ' % ns
    assert check['commands'] == first['commands'] == [
        cmd + 'del 198.18.1.3/24 dev v0', cmd + 'del 198.18.1.2/24 dev v0', cmd + 'del 198.18.1.1/24 dev v0',
        cmd + 'add 198.18.1.1/24 dev v0 label v0:p', cmd + 'add 198.18.1.2/24 dev v0',
        cmd + 'add 198.18.1.3/24 dev v0']
    assert secondaries(ns) == SECONDARY_RE_ADDED
    assert check['after'] == first['after'] and [(a['address'], a['label']) for a in first['after']] == [
        ('198.18.1.1/24', 'v0:p'), ('198.18.1.2/24', 'v0'), ('198.18.1.3/24', 'v0')]
    assert [a['address'] for a in first['before']] == ['198.18.1.1/24', '198.18.1.2/24', '198.18.1.3/24']
    # the diff shows the one address that changes
    assert 'v0:p' in diff_side(first, 'after') and '198.18.1.2/24' not in diff_side(first, 'after')
    assert not again['changed'] and again['commands'] == []


def test_deleting_a_primary_keeps_its_secondaries(subnet, play, twin_netns):
    """state=deleted of the primary alone deletes that address, not the secondaries of its subnet (the kernel
    took them along); one of them becomes the primary. The printed commands do the same."""
    ns = subnet
    task = {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'v0', 'address': '198.18.1.1/24'}]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    for r in (check, real, again):
        assert_no_traceback(r)
    assert check['commands'] == real['commands'] and len(real['commands']) == 5 and not again['changed']
    assert check['after'] == real['after'] and [a['address'] for a in real['after']] == [
        '198.18.1.2/24', '198.18.1.3/24']
    assert secondaries(ns) == [('198.18.2.1/24', 'v0', False), ('198.18.1.2/24', 'v0', False),
                               ('198.18.1.3/24', 'v0', True)]
    # the commands, pasted into a namespace with the same addresses, make the same addresses
    twin = twin_netns
    sh('ip', '-n', twin, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    for a in ('198.18.1.1/24', '198.18.1.2/24', '198.18.1.3/24', '198.18.2.1/24'):
        sh('ip', '-n', twin, 'address', 'add', a, 'dev', 'v0')
    for line in real['commands']:
        words = line.split()
        sh(*(words[:2] + [twin] + words[3:]))
    assert secondaries(twin) == secondaries(ns)


def test_deleting_every_address_of_a_subnet_deletes_secondaries_first(subnet, play):
    """Deleting all of them: the secondaries go before their primary (the other way round, the kernel had already
    taken them along, and their own deletes failed)."""
    ns = subnet
    task = {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'v0'}]}}
    check = play(task, check=True)[0]
    real = play(task)[0]
    assert_no_traceback(real)
    assert not real.get('failed') and real['changed'], real
    # (what stays of what the config matches: the kernel's link-local address, never deleted)
    assert check['commands'] == real['commands'] and check['after'] == real['after']
    assert [a['address'].split('/')[0][:4] for a in real['after']] == ['fe80']
    assert [c.split()[-3] for c in real['commands']] == ['198.18.1.3/24', '198.18.1.2/24', '198.18.1.1/24',
                                                         '198.18.2.1/24']
    assert secondaries(ns) == []


def test_overridden_without_the_primary_keeps_the_secondaries_it_names(subnet, play):
    ns = subnet
    cfg = [{'dev': 'v0', 'address': '198.18.1.3/24'}, {'dev': 'v0', 'address': '198.18.2.1/24'}]
    task = {M: {'netns': ns, 'state': 'overridden', 'dev': 'v0', 'config': cfg}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    assert_no_traceback(real)
    assert check['commands'] == real['commands'] and same(check['after'], real['after']) and not again['changed']
    assert secondaries(ns) == [('198.18.2.1/24', 'v0', False), ('198.18.1.3/24', 'v0', False)]


def test_a_scope_change_of_a_primary_with_secondaries(subnet, play):
    """The kernel keeps one scope per subnet: the secondaries cannot be added back with their old scope. Refused
    before anything is sent, naming the primary and its field; with the secondaries given the new scope, it works."""
    ns = subnet
    before = secondaries(ns)
    task = {M: {'netns': ns, 'config': [{'dev': 'v0', 'address': '198.18.1.1/24', 'scope': 'link'}]}}
    for r in (play(task, check=True)[0], play(task)[0]):
        assert_no_traceback(r)
        assert r['failed'] and "address 198.18.1.1/24 dev v0: field 'scope'" in r['msg'], r
        assert '198.18.1.2/24' in r['msg'] and '198.18.1.3/24' in r['msg'], r['msg']
    assert secondaries(ns) == before
    cfg = [{'dev': 'v0', 'address': a, 'scope': 'link'} for a in ('198.18.1.1/24', '198.18.1.2/24', '198.18.1.3/24')]
    check = play({M: {'netns': ns, 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'config': cfg}}] * 2)
    assert_no_traceback(real)
    assert not real.get('failed') and check['commands'] == real['commands'] and check['after'] == real['after']
    assert not again['changed']
    assert [(a['local'], a['scope'], bool(a.get('secondary'))) for link in ipj(ns, '-4', 'address', 'show', 'dev', 'v0')
            for a in link['addr_info']] == [('198.18.1.1', 'link', False), ('198.18.2.1', 'global', False),
                                            ('198.18.1.2', 'link', True), ('198.18.1.3', 'link', True)]


def test_a_failure_after_a_primary_was_re_added_restores_the_subnet(subnet, play):
    """The rollback of a plan that re-added a primary and its secondaries puts back the addresses as they were."""
    ns = subnet
    before = secondaries(ns)
    sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.v1.disable_ipv6=1')
    cfg = [{'dev': 'v0', 'address': '198.18.1.1/24', 'label': 'v0:p'},
           {'dev': 'v1', 'address': '198.18.3.1/24', 'scope': 'link'},
           {'dev': 'v1', 'address': 'fd42:ed6e:3::2/64'}]  # IPv6 is disabled on v1: the kernel refuses it
    r = _without_ipv6_check(ns, {'config': cfg})
    assert r['failed'] and 'address fd42:ed6e:3::2/64 dev v1' in r['msg'] and 'rolled back' in r['msg'], r['msg']
    # (the same addresses, primaries and secondaries; those of the subnet in their order - the primary re-added goes
    # after the primary of the other subnet, which decides nothing)
    assert secondaries(ns, ordered=False) == sorted(before) and secondaries(ns, 'v1') == []
    assert [a for a in secondaries(ns) if a[0].startswith('198.18.1.')] == [
        a for a in before if a[0].startswith('198.18.1.')]


def test_an_address_of_another_scope_than_its_subnet_is_refused_before_anything_is_sent(ns, play):
    """The kernel gives all IPv4 addresses of a subnet one scope, and refuses an address of another scope there
    (EINVAL, "ipv4: Invalid scope value") after the requests before it were sent: check mode showed it working.
    Refused before anything is sent, in check mode too, naming the address, its field and the address whose scope
    the subnet has: one the host has, or one the task adds before it. With the scope of its subnet, it works."""
    sh('ip', '-n', ns, 'address', 'add', '198.18.80.1/24', 'dev', 'v0', 'scope', 'link')
    before = kernel_addrs(ns)
    cases = [
        ([{'dev': 'v0', 'address': '198.18.81.1/24'}, {'dev': 'v0', 'address': '198.18.80.2/24'}],
         "address 198.18.80.2/24 dev v0: field 'scope': the kernel gives all addresses of a subnet one scope: "
         "198.18.80.1/24 on v0 has scope link (the host has it), and the kernel refuses this address with scope "
         "global; give it scope link, or delete 198.18.80.1/24 first"),
        ([{'dev': 'v1', 'address': '198.18.82.1/24', 'scope': 'host'}, {'dev': 'v1', 'address': '198.18.82.9/24'}],
         "address 198.18.82.9/24 dev v1: field 'scope': the kernel gives all addresses of a subnet one scope: "
         "198.18.82.1/24 on v1 has scope host (this task adds it before), and the kernel refuses this address with "
         "scope global; give it scope host, or delete 198.18.82.1/24 first"),
    ]
    for cfg, msg in cases:
        task = {M: {'netns': ns, 'config': cfg}}
        for r in (play(task, check=True)[0], play(task)[0]):
            assert_no_traceback(r)
            assert r['failed'] and r['msg'] == msg, r
            assert not r.get('rolled_back'), r  # (nothing was sent)
        assert kernel_addrs(ns) == before
    # a deleted address's scope no longer holds (its delete comes first), and the subnet's own scope works
    cfg = [{'dev': 'v0', 'address': '198.18.80.2/24', 'scope': 'link'},
           {'dev': 'v1', 'address': '198.18.82.1/24', 'scope': 'host'},
           {'dev': 'v1', 'address': '198.18.82.9/24', 'scope': 'host'}]
    check, first, again = check_then_twice(play, {M: {'netns': ns, 'config': cfg}})
    assert not first.get('failed') and check['commands'] == first['commands'] and check['after'] == first['after']
    assert not again['changed']
    got = kernel_addrs(ns)
    assert [got[k]['scope'] for k in (('v0', '198.18.80.1/24'), ('v0', '198.18.80.2/24'), ('v1', '198.18.82.1/24'),
                                      ('v1', '198.18.82.9/24'))] == ['link', 'link', 'host', 'host']
    task = {M: {'netns': ns, 'state': 'overridden', 'dev': 'v0', 'config': [{'dev': 'v0', 'address': '198.18.80.3/24'}]}}
    check, first, again = check_then_twice(play, task)
    assert not first.get('failed') and check['commands'] == first['commands'] == [
        'ip -n %s address del %s dev v0' % (ns, a) for a in ('198.18.80.2/24', '198.18.80.1/24')] + [
        'ip -n %s address add 198.18.80.3/24 dev v0' % ns], first['commands']
    assert not again['changed'] and kernel_addrs(ns, 'v0')[('v0', '198.18.80.3/24')]['scope'] == 'global'


def test_valid_lft_alone_is_the_preferred_lifetime_too(ns, play):
    """A lone valid_lft was refused ("preferred_lft None is longer than valid_lft 100"): the preferred lifetime
    defaults to the valid one (the kernel refuses a longer one, so it cannot stay forever), as a new address, and
    merged over an address that never expires."""
    play({M: {'netns': ns, 'config': [{'dev': 'v0', 'address': '198.18.0.2/24'}]}})
    cfg = [{'dev': 'v0', 'address': '198.18.0.1/24', 'valid_lft': 100},
           {'dev': 'v0', 'address': 'fd42:ed6e::1/64', 'valid_lft': 200},
           {'dev': 'v0', 'address': '198.18.0.2/24', 'valid_lft': 300}]
    task = {M: {'netns': ns, 'config': cfg}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    for r in (check, real, again):
        assert_no_traceback(r)
        assert not r.get('failed'), r
    assert check['commands'] == real['commands'] == [
        'ip -n %s address add 198.18.0.1/24 dev v0 valid_lft 100 preferred_lft 100' % ns,
        'ip -n %s address add fd42:ed6e::1/64 dev v0 valid_lft 200 preferred_lft 200' % ns,
        'ip -n %s address replace 198.18.0.2/24 dev v0 valid_lft 300 preferred_lft 300' % ns]
    assert same(check['after'], real['after'])
    assert [(a['address'], a['valid_lft'], a['preferred_lft']) for a in real['after']] == [
        ('198.18.0.1/24', 100, 100), ('198.18.0.2/24', 300, 300), ('fd42:ed6e::1/64', 200, 200)]
    assert not again['changed'] and again['commands'] == []
    k = kernel_addrs(ns)
    for key, lft in ((('v0', '198.18.0.1/24'), 100), (('v0', 'fd42:ed6e::1/64'), 200), (('v0', '198.18.0.2/24'), 300)):
        assert lft - 10 < k[key]['valid_life_time'] <= lft and lft - 10 < k[key]['preferred_life_time'] <= lft, k[key]


def _deprecated(ns):
    return dict((key, bool(a.get('deprecated'))) for key, a in kernel_addrs(ns).items())


def test_a_deprecated_address_is_idempotent(ns, play):
    """preferred_lft 0 (a deprecated address) was read back as forever (IPv4, never expiring: the kernel reports
    both lifetimes forever and only the deprecated flag tells) or as its age (the time left is 0, and the age was
    added to it): every run changed it again. So was an address whose finite preferred lifetime was over."""
    cfg = [{'dev': 'v0', 'address': '198.18.0.1/24', 'preferred_lft': 0},
           {'dev': 'v0', 'address': '198.18.0.2/24', 'valid_lft': 200, 'preferred_lft': 0},
           {'dev': 'v0', 'address': 'fd42:ed6e::1/64', 'preferred_lft': 0},
           {'dev': 'v0', 'address': 'fd42:ed6e::2/64', 'valid_lft': 200, 'preferred_lft': 0},
           {'dev': 'v0', 'address': '198.18.0.3/24', 'valid_lft': 200, 'preferred_lft': 1},
           {'dev': 'v0', 'address': 'fd42:ed6e::3/64', 'valid_lft': 200, 'preferred_lft': 1}]
    task = {M: {'netns': ns, 'config': cfg}}
    check = play(task, check=True)[0]
    real = play(task)[0]
    for r in (check, real):
        assert_no_traceback(r)
        assert not r.get('failed') and r['changed'], r
    assert check['commands'] == real['commands'] and same(check['after'], real['after'])
    assert _deprecated(ns) == {('v0', '198.18.0.1/24'): True, ('v0', '198.18.0.2/24'): True,
                               ('v0', 'fd42:ed6e::1/64'): True, ('v0', 'fd42:ed6e::2/64'): True,
                               ('v0', '198.18.0.3/24'): False, ('v0', 'fd42:ed6e::3/64'): False}
    sh('sleep', '3')  # (beyond the slack of 2 seconds: the age of the addresses no longer passes for 0)
    assert all(_deprecated(ns).values())  # the preferred lifetime of the last two is over
    again, check_again = play(task)[0], play(task, check=True)[0]
    for r in (again, check_again):
        assert_no_traceback(r)
        assert not r['changed'] and r['commands'] == [], r
    assert [(a['address'], a['preferred_lft']) for a in again['after']] == [
        (a['address'], a['preferred_lft']) for a in sorted(cfg, key=lambda a: (':' in a['address'], a['address']))]
    # gathered shows them deprecated, and fed back as config changes nothing
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    assert sorted(a['address'] for a in mine(g['gathered']) if a['preferred_lft'] == 0) == sorted(
        a['address'] for a in cfg)
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': mine(g['gathered'])}})[0]
    assert not r['changed'] and r['commands'] == [], r
    # and an address made preferred again is no longer deprecated
    r = play({M: {'netns': ns, 'config': [{'dev': 'v0', 'address': '198.18.0.1/24', 'preferred_lft': 'forever'}]}})[0]
    assert r['changed'] and r['commands'] == ['ip -n %s address replace 198.18.0.1/24 dev v0' % ns]
    assert _deprecated(ns)[('v0', '198.18.0.1/24')] is False


def test_a_change_keeps_what_the_module_does_not_model(ns, play):
    """A change is a replace (NLM_F_REPLACE), and the kernel takes what the request leaves out as unset: an IPv4
    address lost its metric (its prefix route went to metric 0), an IPv6 address its nodad, home and mngtmpaddr
    flags, while check mode showed only the lifetime asked for. A write now carries them over, in the request, in
    the printed command (pasted, it keeps them) and through a re-add (a new label) and a rollback."""
    sh('ip', '-n', ns, 'address', 'add', '198.18.6.1/24', 'dev', 'v0', 'metric', '100', 'label', 'v0:m')
    sh('ip', '-n', ns, '-6', 'address', 'add', 'fd42:ed6e:6::1/64', 'dev', 'v0', 'metric', '200', 'nodad',
       'mngtmpaddr', 'home')
    lifetimes = {'valid_lft': 4000, 'preferred_lft': 3000}
    cfg = [dict({'dev': 'v0', 'address': '198.18.6.1/24', 'label': 'v0:m'}, **lifetimes),
           dict({'dev': 'v0', 'address': 'fd42:ed6e:6::1/64'}, **lifetimes)]
    task = {M: {'netns': ns, 'config': cfg}}
    check, first, again = check_then_twice(play, task)
    assert check['commands'] == first['commands'] == [
        'ip -n %s address replace 198.18.6.1/24 dev v0 label v0:m valid_lft 4000 preferred_lft 3000 metric 100' % ns,
        'ip -n %s address replace fd42:ed6e:6::1/64 dev v0 valid_lft 4000 preferred_lft 3000 metric 200 nodad home '
        'mngtmpaddr' % ns], first['commands']
    assert not again['changed'] and again['commands'] == [], again
    assert 'metric' not in diff_side(first, 'after') and 'nodad' not in diff_side(first, 'after')

    def kept():
        addrs = kernel_addrs(ns, 'v0')
        four, six = addrs[('v0', '198.18.6.1/24')], addrs[('v0', 'fd42:ed6e:6::1/64')]
        prefix = [r['metric'] for r in ipj(ns, 'route', 'show', '198.18.6.0/24')]
        return (four.get('metric'), four['label'], prefix, six.get('metric'), six.get('nodad'), six.get('home'),
                six.get('mngtmpaddr'), four['valid_life_time'] <= 4000, six['valid_life_time'] <= 4000)
    assert kept() == (100, 'v0:m', [100], 200, True, True, True, True, True)
    # a new label deletes and re-adds the address: it comes back with its metric
    task = {M: {'netns': ns, 'config': [dict(cfg[0], label='v0:n')]}}
    first = play(task)[0]
    assert first['commands'][-1].endswith('label v0:n valid_lft 4000 preferred_lft 3000 metric 100'), first['commands']
    assert kept()[:3] == (100, 'v0:n', [100])
    # a refusal later in the batch: the rollback puts the changed addresses back with what they had
    before = kernel_addrs(ns, 'v0')
    sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.v1.disable_ipv6=1')
    bad = [dict(cfg[0], label='v0:n', valid_lft=5000, preferred_lft=5000), dict(cfg[1], valid_lft=5000),
           {'dev': 'v1', 'address': 'fd42:ed6e:7::1/64'}]
    r = _without_ipv6_check(ns, {'config': bad})
    assert r['failed'] and 'rolled back the 2 change(s)' in r['msg'], r
    after = kernel_addrs(ns, 'v0')

    def strip(addrs):
        return dict((k, dict((f, v) for f, v in a.items() if not f.endswith('life_time'))) for k, a in addrs.items())
    assert strip(after) == strip(before)
    assert kept()[:7] == (100, 'v0:n', [100], 200, True, True, True)


def test_noprefixroute_of_an_ipv4_address_is_a_delete_and_an_add(ns, play):
    """The kernel's replace of an existing IPv4 address sets its lifetimes, metric and protocol only, not its flags:
    a replace with noprefixroute reported a change, left the flag and the prefix route as they were, and every run
    reported it again. It is now a delete and an add (with the secondaries put back), both ways; IPv6 changes in
    place."""
    sh('ip', '-n', ns, 'address', 'add', '198.18.8.1/24', 'dev', 'v0')
    sh('ip', '-n', ns, 'address', 'add', '198.18.8.2/24', 'dev', 'v0')  # (a secondary)
    sh('ip', '-n', ns, '-6', 'address', 'add', 'fd42:ed6e:8::1/64', 'dev', 'v0', 'nodad')
    for flag in (True, False):
        cfg = [{'dev': 'v0', 'address': '198.18.8.1/24', 'noprefixroute': flag},
               {'dev': 'v0', 'address': 'fd42:ed6e:8::1/64', 'noprefixroute': flag}]
        task = {M: {'netns': ns, 'config': cfg}}
        check, first, again = check_then_twice(play, task)
        assert check['commands'] == first['commands'] == [
            'ip -n %s address del 198.18.8.2/24 dev v0' % ns,
            'ip -n %s address del 198.18.8.1/24 dev v0' % ns,
            'ip -n %s address add 198.18.8.1/24 dev v0%s' % (ns, ' noprefixroute' if flag else ''),
            'ip -n %s address add 198.18.8.2/24 dev v0' % ns,
            'ip -n %s address replace fd42:ed6e:8::1/64 dev v0%s nodad' % (ns, ' noprefixroute' if flag else '')]
        assert same(mine(check['after']), mine(first['after'])) and not again['changed'], again
        addrs = kernel_addrs(ns, 'v0')
        assert [bool(addrs[('v0', a)].get('noprefixroute')) for a in ('198.18.8.1/24', 'fd42:ed6e:8::1/64')] == [flag] * 2
        assert ('v0', '198.18.8.2/24') in addrs
        prefix = [r['dst'] for r in ipj(ns, 'route', 'show', 'dev', 'v0') if r.get('protocol') == 'kernel']
        assert prefix == ([] if flag else ['198.18.8.0/24']), prefix


def test_peers_ipv6_and_a_peer_that_is_the_address(ns, play):
    """An IPv6 peer went to the kernel as the address itself (the request had no IFA_LOCAL): the kernel added the
    peer's address, the result showed none, and the next run failed. A peer equal to the address is no peer: the
    kernel shows none, so every run deleted and re-added the address."""
    cfg = [{'dev': 'v0', 'address': 'fd42:ed6e:9::1/128', 'peer': 'fd42:ed6e:9::2'},
           {'dev': 'v0', 'address': '198.18.9.1/32', 'peer': '198.18.9.1'}]
    task = {M: {'netns': ns, 'config': cfg}}
    check, first, again = check_then_twice(play, task)
    assert check['commands'] == first['commands'] == [
        'ip -n %s address add fd42:ed6e:9::1 peer fd42:ed6e:9::2/128 dev v0' % ns,
        'ip -n %s address add 198.18.9.1/32 dev v0' % ns], first['commands']
    assert not again['changed'] and again['commands'] == [], again
    assert same(mine(check['after']), mine(first['after']))
    assert [(a['address'], a.get('peer')) for a in mine(first['after'])] == [
        ('198.18.9.1/32', None), ('fd42:ed6e:9::1/128', 'fd42:ed6e:9::2')]
    addrs = kernel_addrs(ns, 'v0')
    assert addrs[('v0', 'fd42:ed6e:9::1/128')]['address'] == 'fd42:ed6e:9::2'
    assert ('v0', 'fd42:ed6e:9::2/128') not in addrs and 'address' not in addrs[('v0', '198.18.9.1/32')]
    # a new IPv6 peer: the address is deleted and added again
    task = {M: {'netns': ns, 'config': [dict(cfg[0], peer='fd42:ed6e:9::3')]}}
    first = play(task)[0]
    assert first['commands'] == ['ip -n %s address del fd42:ed6e:9::1 peer fd42:ed6e:9::2/128 dev v0' % ns,
                                 'ip -n %s address add fd42:ed6e:9::1 peer fd42:ed6e:9::3/128 dev v0' % ns]
    assert kernel_addrs(ns, 'v0')[('v0', 'fd42:ed6e:9::1/128')]['address'] == 'fd42:ed6e:9::3'


def test_a_re_add_and_a_rollback_keep_the_broadcast(ns, play):
    """An IPv4 address's broadcast (`brd +`) is kept by a replace, but a delete and an add (a new label, a rollback)
    lost it, while the commands and `rolled_back` said nothing of it."""
    sh('ip', '-n', ns, 'address', 'add', '198.18.10.1/24', 'brd', '+', 'dev', 'v0')

    def brd():
        return kernel_addrs(ns, 'v0')[('v0', '198.18.10.1/24')].get('broadcast')
    assert brd() == '198.18.10.255'
    task = {M: {'netns': ns, 'config': [{'dev': 'v0', 'address': '198.18.10.1/24', 'label': 'v0:b'}]}}
    check = play(task, check=True)[0]
    first, again = play([task, task])
    assert check['commands'] == first['commands'] == [
        'ip -n %s address del 198.18.10.1/24 dev v0' % ns,
        'ip -n %s address add 198.18.10.1/24 dev v0 label v0:b broadcast 198.18.10.255' % ns]
    assert not again['changed'] and brd() == '198.18.10.255'
    # a refusal later in the batch: the rollback adds it back with its broadcast
    sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.v1.disable_ipv6=1')
    r = _without_ipv6_check(ns, {'state': 'overridden', 'config': [{'dev': 'v1', 'address': 'fd42:ed6e:10::1/64'}]})
    assert r['failed'] and 'rolled back' in r['msg'], r
    assert 'ip -n %s address add 198.18.10.1/24 dev v0 label v0:b broadcast 198.18.10.255' % ns in r['rolled_back']
    assert brd() == '198.18.10.255'


def test_an_address_that_failed_dad_is_warned_of(ns, play):
    """v1 has the address first; on v0, the other end of the veth, the kernel keeps it flagged dadfailed and does
    not use it. The module counts it as present (as the kernel does) and says so when the task names it."""
    sh('ip', '-n', ns, '-6', 'address', 'add', 'fd42:ed6e:11::9/64', 'dev', 'v1')
    for _attempt in range(200):  # (v1's own duplicate address detection first, about a second)
        if not kernel_addrs(ns, 'v1')[('v1', 'fd42:ed6e:11::9/64')].get('tentative'):
            break
        time.sleep(0.05)
    sh('ip', '-n', ns, '-6', 'address', 'add', 'fd42:ed6e:11::9/64', 'dev', 'v0')
    for _attempt in range(200):
        if kernel_addrs(ns, 'v0')[('v0', 'fd42:ed6e:11::9/64')].get('dadfailed'):
            break
        time.sleep(0.05)
    assert kernel_addrs(ns, 'v0')[('v0', 'fd42:ed6e:11::9/64')].get('dadfailed')
    task = {M: {'netns': ns, 'config': [{'dev': 'v0', 'address': 'fd42:ed6e:11::9/64'}]}}
    for r in play(task, check=True) + play(task):
        assert_no_traceback(r)
        assert not r['changed'] and r['warnings'] == [
            'address fd42:ed6e:11::9/64 dev v0 failed duplicate address detection: another node on the link has it, '
            'and the kernel keeps it (flag dadfailed) but does not use it. The module counts it as present; delete it, '
            'and add it again once the other node no longer has it'], r
    r = play({M: {'netns': ns, 'config': [{'dev': 'v1', 'address': 'fd42:ed6e:11::9/64'}]}})[0]
    assert not r.get('warnings'), r


def test_an_element_of_another_device_than_the_option_dev_is_refused(ns, play):
    """With the module option dev, the task reads that device only: an element of another device is refused,
    naming both (as route refuses a route of another table). Before, the task wrote it without seeing what the
    device held: a second run failed with EEXIST, overridden deleted the device's addresses, deleted did nothing."""
    sh('ip', '-n', ns, 'address', 'add', '198.18.1.1/24', 'dev', 'v1')
    before = kernel_addrs(ns)
    for state in ('merged', 'overridden', 'deleted'):
        for check_mode in (True, False):
            r = play({M: {'netns': ns, 'dev': 'v0', 'state': state,
                          'config': [{'dev': 'v1', 'address': '198.18.1.77/24'}]}}, check=check_mode)[0]
            assert_no_traceback(r)
            assert r.get('failed') and r['field'] == 'dev' and 'acts only on v0 (option dev)' in r['msg'], r
            assert kernel_addrs(ns) == before


def test_an_ipv6_address_with_another_prefix_length(ns, play):
    """The kernel keeps one IPv6 address per device whatever its prefix length: the same address with another
    length is refused before anything is sent, in check mode too (merged and replaced would keep the old one; before,
    check mode showed the add and the kernel refused it, EEXIST). overridden, which deletes the old one first, makes
    it."""
    sh('ip', '-n', ns, 'address', 'add', 'fd42:ed6e::1/64', 'dev', 'v0', 'nodad')
    before = kernel_addrs(ns)
    for state in ('merged', 'replaced'):
        for check_mode in (True, False):
            r = play({M: {'netns': ns, 'state': state, 'config': [{'dev': 'v0', 'address': 'fd42:ed6e::1/48'}]}},
                     check=check_mode)[0]
            assert_no_traceback(r)
            assert r.get('failed') and r['field'] == 'address' and 'fd42:ed6e::1/64 stays on v0' in r['msg'], r
            assert kernel_addrs(ns) == before
    task = {M: {'netns': ns, 'state': 'overridden', 'dev': 'v0', 'config': [{'dev': 'v0', 'address': 'fd42:ed6e::1/48'}]}}
    r, again = play([task, task])
    assert r['changed'] and not again['changed'], r
    assert [k for k in kernel_addrs(ns) if k[0] == 'v0'] == [('v0', 'fd42:ed6e::1/48')]


def _temporary(ns, dev='v0'):
    """The addresses of ``dev`` that the kernel flags temporary (IPv6 privacy extensions)."""
    return sorted('%s/%s' % (a['local'], a['prefixlen']) for a in kernel_addrs(ns, dev).values() if a.get('temporary'))


def test_the_temporary_addresses_of_privacy_extensions_are_kept(ns, play):
    """With use_tempaddr=2, an address added with mngtmpaddr makes the kernel add a temporary address of its prefix.
    The temporary address has the IFA_PROTO of the address it derives from (0 here), so it was taken for one the user
    added: overridden deleted it (and the kernel made no new one). It is the kernel's: overridden keeps it, and
    deleted naming it keeps it with a warning."""
    sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.v0.use_tempaddr=2')
    sh('ip', '-n', ns, 'address', 'add', 'fd42:ed6e::1/64', 'dev', 'v0', 'mngtmpaddr', 'valid_lft', '3000',
       'preferred_lft', '2000')
    for _attempt in range(200):
        if _temporary(ns):
            break
        time.sleep(0.05)
    temporary = _temporary(ns)
    assert len(temporary) == 1 and temporary[0].startswith('fd42:ed6e::') and temporary[0].endswith('/64'), temporary
    task = {M: {'netns': ns, 'state': 'overridden', 'config': [
        {'dev': 'v0', 'address': 'fd42:ed6e::1/64', 'valid_lft': 3000, 'preferred_lft': 2000}]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    for r in (check, real, again):
        assert_no_traceback(r)
        assert not r.get('failed') and not r['changed'] and r['commands'] == [], r
    assert _temporary(ns) == temporary
    # gathered, before and after show it, as the kernel has it
    assert temporary[0] in [a['address'] for a in real['after']]
    assert same(check['after'], real['after'])
    # named by a deleted element: kept, and the task says why
    task = {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'v0', 'address': temporary[0]}]}}
    for r in play(task, check=True) + play(task):
        assert_no_traceback(r)
        assert not r['changed'] and r['commands'] == [], r
        assert r['warnings'] == ['address %s dev v0 is kept: it is a temporary address of IPv6 privacy extensions, '
                                 'which the kernel makes and replaces itself; state=deleted never deletes it'
                                 % temporary[0]], r
    # deleted without a config deletes the address the user added, not the temporary one (which the kernel then
    # deletes along with the address it derives from)
    r = play({M: {'netns': ns, 'state': 'deleted', 'dev': 'v0'}})[0]
    assert_no_traceback(r)
    assert r['commands'] == ['ip -n %s address del fd42:ed6e::1/64 dev v0' % ns], r


def test_a_rollback_puts_the_secondaries_back_in_their_order(ns, play):
    """The plan deletes the secondaries of a primary it re-adds (a new label) and adds them back; a later refusal
    rolls it all back. The rollback undoes the plan from its end, so it added the secondaries back newest first:
    their order changed, and with it the address the kernel promotes to primary when the primary goes. The
    secondaries are now deleted newest first, and come back in their order, with their label and metric."""
    sh('ip', '-n', ns, 'address', 'add', '198.18.0.1/24', 'dev', 'v0', 'metric', '20')
    sh('ip', '-n', ns, 'address', 'add', '198.18.0.2/24', 'dev', 'v0', 'label', 'v0:2')
    sh('ip', '-n', ns, 'address', 'add', '198.18.0.3/24', 'dev', 'v0', 'valid_lft', '900', 'preferred_lft', '800')
    sh('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.v1.disable_ipv6=1')
    before = secondaries(ns)
    assert before == [('198.18.0.1/24', 'v0', False), ('198.18.0.2/24', 'v0:2', True),
                      ('198.18.0.3/24', 'v0', True)]
    cfg = [{'dev': 'v0', 'address': '198.18.0.1/24', 'label': 'v0:new'}, {'dev': 'v0', 'address': '198.18.4.1/24'},
           {'dev': 'v1', 'address': 'fd42:ed6e:1::1/64'}]  # IPv6 is disabled on v1: the kernel refuses it
    check = play({M: {'netns': ns, 'config': cfg[:2]}}, check=True)[0]  # (check mode refuses the third one first)
    assert_no_traceback(check)
    r = _without_ipv6_check(ns, {'config': cfg})
    cmd = 'ip -n %s address ' % ns
    assert check['commands'][:2] == [cmd + 'del 198.18.0.3/24 dev v0', cmd + 'del 198.18.0.2/24 dev v0']
    assert [c.split()[4:6] for c in check['commands'][:3]] == [
        ['del', '198.18.0.3/24'], ['del', '198.18.0.2/24'], ['del', '198.18.0.1/24']], check['commands']
    assert r['failed'] and 'address fd42:ed6e:1::1/64 dev v1' in r['msg'] and 'rolled back' in r['msg'], r['msg']
    assert [c.split()[4:6] for c in r['rolled_back'][-3:]] == [
        ['add', '198.18.0.1/24'], ['add', '198.18.0.2/24'], ['add', '198.18.0.3/24']], r['rolled_back']
    assert secondaries(ns) == before and secondaries(ns, 'v1') == []
    k = kernel_addrs(ns, 'v0')
    assert k[('v0', '198.18.0.1/24')].get('metric') == 20 and ('v0', '198.18.4.1/24') not in k
    assert 0 < k[('v0', '198.18.0.3/24')]['valid_life_time'] <= 901


def test_deleted_naming_a_link_local_address_deletes_it(ns, play):
    """Link-local IPv6 addresses are never deleted by overridden or by a deleted element that selects by device. One
    that a deleted element names by dev and address was kept without a word; it is deleted now, unless the kernel
    made it: then the task warns."""
    play({M: {'netns': ns, 'config': [{'dev': 'v1', 'address': 'fe80::9/64'}]}})
    ll = dict(((a['local'], a.get('protocol')) for link in ipj(ns, '-6', 'address', 'show', 'dev', 'v1')
               for a in link['addr_info']))
    assert 'fe80::9' in ll and len(ll) == 2, ll
    own = next(a for a in ll if a != 'fe80::9')
    # overridden and a selector by device keep it
    other = [{'dev': 'v1', 'address': '198.18.5.1/24'}]
    for task in ({M: {'netns': ns, 'state': 'overridden', 'dev': 'v1', 'config': other}},
                 {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'v1'}]}}):
        r = play(task)[0]
        assert_no_traceback(r)
        assert not any('fe80' in c for c in r['commands']), r
    assert sorted(a['local'] for link in ipj(ns, '-6', 'address', 'show', 'dev', 'v1')
                  for a in link['addr_info']) == sorted(ll)
    task = {M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'v1', 'address': 'fe80::9/64'}]}}
    _check, real, _again = check_real_again(play, task)
    assert real['changed'] and real['commands'] == ['ip -n %s address del fe80::9/64 dev v1' % ns], real
    assert [a['local'] for link in ipj(ns, '-6', 'address', 'show', 'dev', 'v1') for a in link['addr_info']] == [own]
    # the kernel's own link-local address, named: kept, with a warning
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'dev': 'v1', 'address': own + '/64'}]}})[0]
    assert_no_traceback(r)
    assert not r['changed'] and r['warnings'] == [
        'address %s/64 dev v1 is kept: the kernel made it (its protocol says so); state=deleted never deletes it'
        % own], r
    assert [a['local'] for link in ipj(ns, '-6', 'address', 'show', 'dev', 'v1') for a in link['addr_info']] == [own]


def test_two_point_to_point_addresses_of_one_local_address(ns, play):
    """The kernel holds two IPv4 addresses of one local address and prefix length with different peers; the module
    keeps one address per dev and address, so a write to them is refused. The error gives the command that removes
    each one (the delete names the peer); with one removed, the task works."""
    sh('ip', '-n', ns, 'address', 'add', '198.18.9.1', 'peer', '198.18.9.2/32', 'dev', 'v1')
    sh('ip', '-n', ns, 'address', 'add', '198.18.9.1', 'peer', '198.18.9.3/32', 'dev', 'v1')

    def held():
        return [(a['local'], a.get('address')) for a in ipj(ns, '-4', 'address', 'show', 'dev', 'v1')[0]['addr_info']]

    assert held() == [('198.18.9.1', '198.18.9.2'), ('198.18.9.1', '198.18.9.3')]
    tasks = [{M: {'netns': ns, 'state': 'deleted',
                  'config': [{'dev': 'v1', 'address': '198.18.9.1/32', 'peer': '198.18.9.3'}]}},
             {M: {'netns': ns, 'state': 'overridden', 'dev': 'v1',
                  'config': [{'dev': 'v1', 'address': '198.18.9.1/32', 'peer': '198.18.9.2'}]}}]
    commands = ['ip -n %s address del 198.18.9.1 peer 198.18.9.%d/32 dev v1' % (ns, n) for n in (2, 3)]
    for task in tasks:
        for check_mode in (True, False):
            r = play(task, check=check_mode)[0]
            assert_no_traceback(r)
            assert r.get('failed') and 'the kernel holds 2 objects of this key' in r['msg'], r
            assert r['msg'].endswith('each is removed by its own command: %s; %s' % tuple(commands)), r['msg']
            assert held() == [('198.18.9.1', '198.18.9.2'), ('198.18.9.1', '198.18.9.3')]
    sh(*commands[1].split())
    assert held() == [('198.18.9.1', '198.18.9.2')]
    r = play(tasks[1])[0]
    assert_no_traceback(r)
    assert not r.get('failed') and not r['changed'], r
