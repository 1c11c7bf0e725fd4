# -*- coding: utf-8 -*-
"""edgenet.linux.rule against a real kernel; the oracle is `ip -j -4/-6 rule show`."""

import json

import pytest

from conftest import assert_no_traceback, collection_on_path, diff_side, ipj, printed_then_real, sh

M = 'edgenet.linux.rule'
DEFAULTS4 = [(0, 'local'), (32766, 'main'), (32767, 'default')]
DEFAULTS6 = [(0, 'local'), (32766, 'main')]


def rules(ns):
    """Both families as iproute2 prints them."""
    return {4: ipj(ns, '-4', 'rule', 'show'), 6: ipj(ns, '-6', 'rule', 'show')}


def user_rules(ns):
    """{(family, priority, from): rule} without the kernel's default rules."""
    out = {}
    for fam, rs in rules(ns).items():
        for r in rs:
            if (r['priority'], r.get('table')) in DEFAULTS4 and r['src'] == 'all' and len(r) == 3:
                continue
            src = r['src'] if r['src'] == 'all' else '%s/%s' % (r['src'], r['srclen'])
            out[(fam, r['priority'], src)] = r
    return out


def sorted_rules(ns):
    """rules(ns), each family's list sorted by priority and then by content."""
    return dict((fam, sorted(rs, key=lambda r: (r['priority'], json.dumps(r, sort_keys=True))))
                for fam, rs in rules(ns).items())


def defaults_present(ns):
    rs = rules(ns)
    return ([(r['priority'], r['table']) for r in rs[4] if len(r) == 3 and (r['priority'], r.get('table')) in DEFAULTS4] == DEFAULTS4 and
            [(r['priority'], r['table']) for r in rs[6] if len(r) == 3 and (r['priority'], r.get('table')) in DEFAULTS4] == DEFAULTS6)


@pytest.fixture
def ns(netns):
    sh('ip', '-n', netns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    return netns


CONFIG = [
    {'priority': 100, 'from': '198.18.0.0/24', 'table': 100},
    {'priority': 100, 'from': '198.18.1.0/24', 'table': 101},
    {'priority': 110, 'fwmark': '0x10', 'fwmask': '0xff', 'to': '198.18.5.0/24', 'oif': 'v1', 'table': 'main'},
    {'priority': 120, 'iif': 'v0', 'action': 'unreachable'},
    {'priority': 130, 'fwmark': 7},
    {'priority': 140, 'iif': 'nosuch9', 'action': 'blackhole'},  # the device need not exist
    {'priority': 150, 'l3mdev': True},
    {'priority': 100, 'src': 'fd42:ed6e::/64', 'action': 'prohibit'},
    {'priority': 200, 'family': 6, 'table': 300},
]


def test_merged_check_apply_idempotent(ns, play):
    task = {M: {'netns': ns, 'config': CONFIG}}
    check, apply, again = play([task], check=True)[0], *play([task, task])
    for r in (check, apply, again):
        assert_no_traceback(r)
    assert check['changed'] and 'diff' in check and len(check['commands']) == len(CONFIG)
    assert check['before'] == []  # merged shows the rules it names (none exists yet), not the kernel's defaults
    k = user_rules(ns)
    assert set(k) == {(4, 100, '198.18.0.0/24'), (4, 100, '198.18.1.0/24'), (4, 110, 'all'), (4, 120, 'all'),
                      (4, 130, 'all'), (4, 140, 'all'), (4, 150, 'all'), (6, 100, 'fd42:ed6e::/64'), (6, 200, 'all')}
    assert k[(4, 100, '198.18.0.0/24')]['table'] == '100' and k[(4, 100, '198.18.1.0/24')]['table'] == '101'
    r = k[(4, 110, 'all')]
    assert (r['fwmark'], r['fwmask'], r['dst'], r['dstlen'], r['oif'], r['table']) == \
        ('0x10', '0xff', '198.18.5.0', 24, 'v1', 'main')
    assert k[(4, 120, 'all')]['iif'] == 'v0' and k[(4, 120, 'all')]['action'] == 'unreachable'
    assert k[(4, 130, 'all')]['fwmark'] == '0x7' and 'fwmask' not in k[(4, 130, 'all')]
    assert k[(4, 140, 'all')]['iif'] == 'nosuch9' and k[(4, 140, 'all')]['action'] == 'blackhole'
    assert 'l3mdev' in k[(4, 150, 'all')]
    assert k[(6, 100, 'fd42:ed6e::/64')]['action'] == 'prohibit' and k[(6, 200, 'all')]['table'] == '300'
    assert check['after'] == apply['after'] and check['commands'] == apply['commands']
    assert 'fwmark: 16' in diff_side(apply, 'after') and 'fwmark' not in diff_side(apply, 'before')
    assert again['changed'] is False and again['commands'] == [] and again['before'] == apply['after']
    assert defaults_present(ns)


def test_check_mode_writes_nothing(ns, play):
    before = rules(ns)
    r = play({M: {'netns': ns, 'config': CONFIG}}, check=True)[0]
    assert r['changed'] and rules(ns) == before


def test_change_is_delete_and_add(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    cfg = [{'priority': 100, 'from': '198.18.0.0/24', 'table': 102},
           {'priority': 120, 'iif': 'v0', 'action': 'prohibit'}]
    check = play({M: {'netns': ns, 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'config': cfg}}] * 2)
    assert real['commands'] == [
        'ip -n %s rule del priority 100 from 198.18.0.0/24 lookup 100' % ns,
        'ip -n %s rule del priority 120 iif v0 unreachable' % ns,
        'ip -n %s rule add priority 100 from 198.18.0.0/24 lookup 102' % ns,
        'ip -n %s rule add priority 120 iif v0 prohibit' % ns]
    assert check['after'] == real['after'] and not again['changed']
    k = user_rules(ns)
    assert k[(4, 100, '198.18.0.0/24')]['table'] == '102' and k[(4, 120, 'all')]['action'] == 'prohibit'
    assert len(k) == len(CONFIG)


def test_replaced_resets_attributes(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    cfg = [{'priority': 120, 'iif': 'v0'}, {'priority': 100, 'from': '198.18.1.0/24'}]
    check = play({M: {'netns': ns, 'state': 'replaced', 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'state': 'replaced', 'config': cfg}}] * 2)
    assert real['changed'] and check['after'] == real['after'] and not again['changed']
    k = user_rules(ns)
    assert k[(4, 120, 'all')]['table'] == 'main' and 'action' not in k[(4, 120, 'all')]
    assert k[(4, 100, '198.18.1.0/24')]['table'] == 'main'
    assert len(k) == len(CONFIG)


def test_overridden_family_scope_keeps_defaults_and_other_family(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    cfg = [{'priority': 300, 'from': 'fd42:ed6e:1::/64', 'table': 301}]
    check = play({M: {'netns': ns, 'state': 'overridden', 'family': 6, 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'state': 'overridden', 'family': 6, 'config': cfg}}] * 2)
    assert check['after'] == real['after'] and real['changed'] and not again['changed']
    k = user_rules(ns)
    assert set(x for x in k if x[0] == 6) == {(6, 300, 'fd42:ed6e:1::/64')}
    assert len([x for x in k if x[0] == 4]) == 7
    assert defaults_present(ns)
    # the whole namespace: only the given rule and the kernel's defaults are left
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': [CONFIG[0]]}})[0]
    assert r['changed'] and set(user_rules(ns)) == {(4, 100, '198.18.0.0/24')} and defaults_present(ns)


def test_deleted_by_match_and_all(ns, play):
    play({M: {'netns': ns, 'config': CONFIG}})
    task = {M: {'netns': ns, 'state': 'deleted', 'config': [{'priority': 100}]}}
    check = play(task, check=True)[0]
    real, again = play([task, task])
    assert check['after'] == real['after'] and len(real['commands']) == 3 and not again['changed']
    assert not any(x[1] == 100 for x in user_rules(ns)) and len(user_rules(ns)) == len(CONFIG) - 3
    r = play({M: {'netns': ns, 'state': 'deleted'}})[0]
    assert r['changed'] and user_rules(ns) == {} and defaults_present(ns)
    # the kernel's default rules cannot be deleted by name either
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'priority': 32766}]}})[0]
    assert not r['changed'] and defaults_present(ns)


def test_gathered_feeds_back_and_rendered_works(ns, play):
    r = play({M: {'netns': ns, 'state': 'rendered', 'config': CONFIG}})[0]
    assert 'ip -n %s rule add priority 110 to 198.18.5.0/24 oif v1 fwmark 0x10/0xff lookup main' % ns in r['rendered']
    assert user_rules(ns) == {}
    for line in r['rendered']:  # the rendered commands really work when pasted
        sh(*line.split())
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': CONFIG}})[0]
    assert r['changed'] is False, r['commands']
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    assert {'priority': 130, 'family': 4, 'fwmark': 7, 'fwmask': 4294967295, 'action': 'lookup', 'table': 'main',
            'l3mdev': False} in g['gathered']
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': g['gathered']}})[0]
    assert r['changed'] is False


@pytest.mark.parametrize('item, field, text', [
    ({'priority': 100, 'from': '198.18.0.1/24'}, 'from', 'not a valid prefix'),
    ({'priority': 100, 'to': 'fd42:ed6e::/64', 'from': '198.18.0.0/24'}, 'to', 'is IPv6 but the rule is IPv4'),
    ({'priority': 100, 'fwmark': '0x1ffffffff'}, 'fwmark', 'out of range'),
    ({'priority': 100, 'fwmark': 'mark7'}, 'fwmark', 'not a number'),
    ({'priority': 100, 'fwmask': '0xff'}, 'fwmask', 'needs fwmark'),
    ({'priority': 100, 'fwmark': '0x100', 'fwmask': '0xff'}, 'fwmark', 'bits outside fwmask'),
    ({'priority': 100, 'action': 'blackhole', 'table': 100}, 'table', 'a blackhole rule has no table'),
    ({'priority': -1}, 'priority', 'out of range'),
    ({'priority': 100, 'table': 'nosuch'}, 'table', "unknown table 'nosuch'"),
    ({'priority': 100, 'l3mdev': True, 'table': 5}, 'l3mdev', 'takes no table'),
    ({'priority': 100, 'iif': 'a-very-long-device-name'}, 'iif', 'not a valid device name'),
    ({'priority': 100, 'protocol': 'nosuch'}, 'protocol', "unknown protocol 'nosuch'"),
    ({'priority': 100, 'protocol': 300}, 'protocol', 'out of range (0 to 255)'),
])
def test_bad_input_is_refused_and_kernel_untouched(ns, play, item, field, text):
    before = rules(ns)
    r = play({M: {'netns': ns, 'config': [{'priority': 90, 'table': 90}, item]}})[0]
    assert r['failed'] and text in r['msg'] and ("field '%s'" % field) in r['msg'], r['msg']
    assert_no_traceback(r)
    assert rules(ns) == before


def test_duplicate_keys_and_missing_priority_refused(ns, play):
    before = rules(ns)
    r = play({M: {'netns': ns, 'config': [CONFIG[0], {'priority': 100, 'from': '198.18.0.0/24', 'table': 5}]}})[0]
    assert r['failed'] and 'duplicate key' in r['msg'] and 'config[0]' in r['msg'] and 'config[1]' in r['msg']
    r2 = play({M: {'netns': ns, 'config': [{'from': '198.18.0.0/24', 'table': 5}]}})[0]
    assert r2['failed'] and 'priority' in r2['msg'] and 'missing' in r2['msg']
    for x in (r, r2):
        assert_no_traceback(x)
    assert rules(ns) == before


def _engine(ns, state, config, resource=None):
    """The module's engine in this process (the installed collection), for the tests that need a hook between
    the module's read and its write."""
    collection_on_path()
    from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Engine
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.rule import Rule

    ctx = Context({'netns': ns, 'state': state, 'config': config, 'family': None})
    try:
        return Engine(resource or Rule(), ctx).run()
    finally:
        ctx.close()


def test_transaction_rolls_back_a_mixed_plan(ns, play):
    """A change (delete + add) and adds go out in one batch; the kernel refuses one add in the middle.

    The refusal is a real race: between the module's read and its write, another program (iproute2, run by the
    resource's own validate hook here) adds the rule at priority 160 that the plan adds too, so the kernel
    refuses the module's add (EEXIST). The kernel processes every request of the batch, so the delete and the
    adds before and after it were made: all of them are undone, and the kernel is as it was plus the other
    program's rule (up to the order of rules of one priority: the kernel puts a re-added rule after the others
    of its priority).
    """
    play({M: {'netns': ns, 'config': CONFIG[:2]}})
    _engine(ns, 'gathered', None)  # puts the collection on sys.path
    from ansible_collections.edgenet.linux.plugins.module_utils.resources.rule import Rule

    class Racing(Rule):
        def validate(self, ctx, plan, after):
            super(Racing, self).validate(ctx, plan, after)
            sh('ip', '-n', ns, 'rule', 'add', 'priority', '160', 'table', '5')

    cfg = [{'priority': 100, 'from': '198.18.0.0/24', 'table': 102},
           {'priority': 105, 'to': '198.18.7.0/24', 'table': 7},
           {'priority': 160, 'table': 5},
           {'priority': 170, 'src': 'fd42:ed6e:7::/64', 'table': 8}]
    before = rules(ns)
    with pytest.raises(Exception) as info:
        _engine(ns, 'merged', cfg, Racing())
    e = info.value
    assert type(e).__name__ == 'EdgenetError', repr(e)
    assert 'rule priority 160 (IPv4)' in str(e) and 'EEXIST' in str(e) and 'rolled back the 4 change(s)' in str(e), e
    assert e.extra['rollback_failed'] == [] and len(e.extra['rolled_back']) == 4
    assert e.extra['failed_command'] == ['ip -n %s rule add priority 160 lookup 5' % ns]
    sh('ip', '-n', ns, 'rule', 'del', 'priority', '160', 'table', '5')
    assert sorted_rules(ns) == dict((fam, sorted(rs, key=lambda r: (r['priority'], json.dumps(r, sort_keys=True))))
                                    for fam, rs in before.items())


def test_fwmark_zero_under_mask_zero_is_no_fwmark(ns, play):
    """The kernel stores fwmark 0/0 as no fwmark: the module does too, so the rule settles (second run changed=0)."""
    task = {M: {'netns': ns, 'config': [{'priority': 160, 'fwmark': 0, 'fwmask': 0, 'table': 5}]}}
    first, again = play([task, task])
    assert first['commands'] == ['ip -n %s rule add priority 160 lookup 5' % ns]
    assert again['changed'] is False and again['commands'] == []
    assert [r for r in ipj(ns, '-4', 'rule', 'show') if r['priority'] == 160] == \
        [{'priority': 160, 'src': 'all', 'table': '5'}]


UNMANAGED = ['priority 170 not from 198.18.0.0/24 table 5', 'priority 171 tos 0x04 table 5',
             'priority 172 ipproto tcp dport 22 table 5', 'priority 173 uidrange 100-200 table 5',
             'priority 174 goto 180', 'priority 175 table 5 suppress_prefixlength 0', 'priority 177 nop',
             'priority 178 table 5 realms 3', 'priority 179 table 5 realms 2/5']


def test_unmanaged_rules_are_shown_and_never_touched(ns, play):
    """Rules with selectors the module does not model are shown with `unmanaged` (not as the plainer rule
    they are not), and neither overridden nor deleted touches them, nor does a plain rule of the same priority."""
    for line in UNMANAGED:
        sh('ip', '-n', ns, 'rule', 'add', *line.split())
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    um = dict((r['priority'], r['unmanaged']) for r in g['gathered'] if 'unmanaged' in r)
    assert um == {170: 'not', 171: 'tos 0x04', 172: 'dport 22', 173: 'uidrange 100-200',
                  174: 'goto 180', 175: 'suppress_prefixlength 0', 177: 'nop', 178: 'realms 3',
                  179: 'realms 2/5'}, um  # (realms as iproute2 prints them)
    assert [r for r in g['gathered'] if r['priority'] == 170][0]['from'] == '198.18.0.0/24'
    assert [r for r in g['gathered'] if r['priority'] == 172][0]['ipproto'] == 'tcp'  # (as ip rule names it)
    before = rules(ns)
    # the kernel counts a plain rule at 171 as the same as the tos one (it compares tos only where the new rule
    # has one), and `from 198.18.0.0/24` at 170 as the same as `not from ...`: both adds are refused up front,
    # in check mode too, and nothing changes
    for cfg, other in (([{'priority': 171, 'table': 5}], 'rule priority 171 tos 0x04 (IPv4)'),
                       ([{'priority': 170, 'from': '198.18.0.0/24', 'table': 5}],
                        'rule priority 170 from 198.18.0.0/24 not (IPv4)')):
        for check in (True, False):
            r = play({M: {'netns': ns, 'config': cfg}}, check=check)[0]
            assert r['failed'] and 'EEXIST' in r['msg'] and ("counts '%s' as the same rule" % other) in r['msg'], r['msg']
            assert_no_traceback(r)
            assert rules(ns) == before
    # a plain rule at 172 is another rule than the ipproto one (compared exactly): it is added, and overridden
    # leaves every unmanaged rule alone
    cfg = [{'priority': 172, 'table': 5}]
    check = play({M: {'netns': ns, 'state': 'overridden', 'config': cfg}}, check=True)[0]
    real, again = play([{M: {'netns': ns, 'state': 'overridden', 'config': cfg}}] * 2)
    assert real['commands'] == ['ip -n %s rule add priority 172 lookup 5' % ns], real['commands']
    assert check['after'] == real['after'] and check['commands'] == real['commands'] and again['changed'] is False
    p172 = [r for r in ipj(ns, '-4', 'rule', 'show') if r['priority'] == 172]
    assert len(p172) == 2 and p172[0]['ipproto'] == 'tcp' and 'ipproto' not in p172[1], p172
    after_add = rules(ns)
    assert [x for x in before[4] if x['priority'] != 172] == [x for x in after_add[4] if x['priority'] != 172]
    # deleting the plain rule at 172 would hit the ipproto rule first (listed first): refused, nothing changed
    r = play({M: {'netns': ns, 'state': 'deleted'}})[0]
    assert r['failed'] and "'rule priority 172 ipproto tcp dport 22 (IPv4)', which stays" in r['msg'], r['msg']
    assert "rule priority 172 (IPv4)" in r['msg'] and "field 'priority'" in r['msg']
    assert_no_traceback(r)
    assert rules(ns) == after_add


def test_gathered_unmanaged_rules_feed_back_as_no_change(ns, play):
    """gathered shows the rules with selectors or actions the module does not model with `unmanaged` (and goto, nop
    or 'action N' as their action); fed back as config (merged, replaced, overridden; check mode too) the task
    failed (unmanaged was no option, those actions no choice). Such an element now names that rule: no change, no
    command, and the rule stays as iproute2 shows it. One naming a rule the host lacks, or giving such a rule
    another table or action, is refused naming the field, before anything is sent, in check mode too."""
    for line in UNMANAGED + ['priority 176 type anycast']:
        sh('ip', '-n', ns, 'rule', 'add', *line.split())
    sh('ip', '-n', ns, 'rule', 'add', 'priority', '100', 'from', '198.18.0.0/24', 'table', '100')
    gathered = play({M: {'netns': ns, 'state': 'gathered'}})[0]['gathered']
    odd = [r for r in gathered if 'unmanaged' in r]
    assert len(odd) == 10 and [r for r in odd if r['priority'] == 176] == [
        {'priority': 176, 'family': 4, 'action': 'action 4', 'l3mdev': False, 'unmanaged': 'action 4'}], odd
    assert [r['action'] for r in odd if r['priority'] in (174, 177)] == ['goto', 'nop'], odd
    before = sorted_rules(ns)
    for state, config in (('merged', gathered), ('replaced', gathered), ('overridden', gathered),
                          ('merged', odd), ('overridden', [r for r in gathered if r not in odd])):
        task = {M: {'netns': ns, 'state': state, 'config': config}}
        for check in (True, False):
            r = play(task, check=check)[0]
            assert_no_traceback(r)
            assert not r.get('failed') and not r['changed'] and r['commands'] == [], (state, check, r)
            assert sorted_rules(ns) == before
    # an element that names no rule of the host, or would change one: refused, naming the field
    tos = [r for r in odd if r['priority'] == 171][0]
    for element, field, text in (
            (dict(tos, unmanaged='tos 0x08'), 'unmanaged', 'the host has no such rule, and the module cannot make a '
                                                           'rule with selectors or actions it does not manage '
                                                           '(unmanaged: tos 0x08)'),
            (dict(tos, table=6), 'table', "it never changes it: the host's rule has table 5, this element 6"),
            ({'priority': 174, 'action': 'lookup', 'table': 5, 'unmanaged': 'goto 180'}, 'action',
             "the host's rule has action goto, this element lookup"),
            ({'priority': 190, 'action': 'goto'}, 'action', "'goto' is not an action of this module")):
        for check in (True, False):
            r = play({M: {'netns': ns, 'config': [{'priority': 90, 'table': 90}, element]}}, check=check)[0]
            assert_no_traceback(r)
            assert r['failed'] and r.get('field', field) == field and ("field '%s'" % field) in r['msg'], r
            assert text in r['msg'], r['msg']
            assert sorted_rules(ns) == before
    r = play({M: {'netns': ns, 'state': 'rendered', 'config': odd[:1]}})[0]
    assert r['failed'] and "field 'unmanaged'" in r['msg'] and 'nor render the command' in r['msg'], r


def test_ipproto_by_name_or_number(ns, play):
    """A rule's IP protocol (ipproto) was shown only in unmanaged, by number ('ipproto 6'), where ip rule shows
    'ipproto tcp', and could not be given. It is a selector now, shown as ip rule names it (the host's name for the
    number, or the number where there is none) in before/after/gathered, commands and messages; a name, an alias
    and the number are the same rule, so a run with the other spelling changes nothing."""
    names = [{'priority': 200, 'ipproto': 'tcp', 'table': 5}, {'priority': 201, 'ipproto': 17, 'table': 5},
             {'priority': 202, 'family': 6, 'ipproto': 'ipv6-icmp', 'action': 'prohibit'},
             {'priority': 203, 'ipproto': 200, 'table': 5}, {'priority': 204, 'ipproto': 'SCTP', 'table': 5}]
    check = play({M: {'netns': ns, 'config': names}}, check=True)[0]
    first, again = play([{M: {'netns': ns, 'config': names}}] * 2)
    for r in (check, first, again):
        assert_no_traceback(r)
    p = 'ip -n %s ' % ns
    assert first['commands'] == check['commands'] == [
        p + 'rule add priority 200 ipproto tcp lookup 5', p + 'rule add priority 201 ipproto udp lookup 5',
        p + '-6 rule add priority 202 ipproto ipv6-icmp prohibit', p + 'rule add priority 203 ipproto 200 lookup 5',
        p + 'rule add priority 204 ipproto sctp lookup 5'], first['commands']
    assert check['after'] == first['after'] and not again['changed'] and again['commands'] == []
    shown = dict((r['priority'], r['ipproto']) for r in first['after'])
    assert shown == {200: 'tcp', 201: 'udp', 202: 'ipv6-icmp', 203: 200, 204: 'sctp'}, shown
    kernel = dict((r['priority'], r.get('ipproto')) for fam in (4, 6) for r in rules(ns)[fam] if r['priority'] >= 200
                  and r['priority'] < 210)
    assert kernel == {200: 'tcp', 201: 'udp', 202: 'ipv6-icmp', 203: 'ipproto-200', 204: 'sctp'}, kernel
    # the other spelling of each (number for name, name for number, iproute2's ipproto-N): the same rules
    other = [{'priority': 200, 'ipproto': '6', 'table': 5}, {'priority': 201, 'ipproto': 'udp', 'table': 5},
             {'priority': 202, 'family': 6, 'ipproto': 58, 'action': 'prohibit'},
             {'priority': 203, 'ipproto': 'ipproto-200', 'table': 5}, {'priority': 204, 'ipproto': 132, 'table': 5}]
    for r in play([{M: {'netns': ns, 'state': 'overridden', 'config': other}}], check=True) + \
            play([{M: {'netns': ns, 'state': 'replaced', 'config': other}}]):
        assert_no_traceback(r)
        assert not r.get('failed') and not r['changed'] and r['commands'] == [], r
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': g['gathered']}})[0]
    assert not r.get('failed') and not r['changed'], r
    # a plain rule of priority 200 is another rule; its delete would hit the tcp one first, which stays
    sh('ip', '-n', ns, 'rule', 'add', 'priority', '200', 'lookup', '5')
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'priority': 200, 'ipproto': 0}]}})[0]
    assert r['failed'] and "'rule priority 200 ipproto tcp (IPv4)', which stays" in r['msg'], r['msg']
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'priority': 200}, {'priority': 201, 'ipproto': 17}]}})[0]
    assert_no_traceback(r)
    assert r['changed'] and not [x for x in rules(ns)[4] if x['priority'] in (200, 201)], r


def test_an_explicit_null_is_not_given_with_choices_too(ns, play):
    """`table: null` was taken as not given, and `action: null` refused by Ansible's argument check ("value of action
    must be one of: lookup, ..., got: None"), as any option with choices given null (family, a module's state, a
    neighbour's state). Null is "not given" for all of them now: the task is the one without those fields."""
    given = {'priority': 150, 'table': 5, 'action': None, 'family': None, 'fwmark': None, 'ipproto': None}
    task = {M: {'netns': ns, 'state': None, 'family': None, 'config': [given]}}
    check = play(task, check=True)[0]
    first, again = play([task, task])
    for r in (check, first, again):
        assert_no_traceback(r)
        assert not r.get('failed'), r
    assert check['commands'] == first['commands'] == ['ip -n %s rule add priority 150 lookup 5' % ns], first
    assert not again['changed'] and check['after'] == first['after']
    assert [x for x in rules(ns)[4] if x['priority'] == 150] == [{'priority': 150, 'src': 'all', 'table': '5'}]
    plain = play({M: {'netns': ns, 'config': [{'priority': 150, 'table': 5}]}})[0]
    assert not plain['changed'], plain
    # another module's option with choices: a neighbour's state (default permanent)
    entry = {'dev': 'v0', 'dst': '198.18.0.9', 'lladdr': '02:00:00:00:00:09', 'state': None, 'router': None}
    r = play({'edgenet.linux.neighbor': {'netns': ns, 'state': None, 'config': [entry]}})[0]
    assert not r.get('failed') and r['commands'] == [
        'ip -n %s neigh replace 198.18.0.9 lladdr 02:00:00:00:00:09 dev v0 nud permanent protocol static' % ns], r
    assert [n['state'] for n in ipj(ns, 'neigh', 'show', '198.18.0.9')] == [['PERMANENT']]


def test_two_rules_of_one_identity_are_left_alone_or_refused(ns, play):
    """The kernel keeps two rules of one priority and selectors that differ in their table: a task that one of them
    is changes nothing (it used to be planned against the last one), and a write to them is refused before anything
    is sent, in check mode too (a change or delete would have meant one of them and shown the other gone)."""
    sh('ip', '-n', ns, 'rule', 'add', 'pref', '100', 'from', '198.18.5.0/24', 'table', '10')
    sh('ip', '-n', ns, 'rule', 'add', 'pref', '100', 'from', '198.18.5.0/24', 'table', '20')
    before = sorted_rules(ns)
    one = {'priority': 100, 'from': '198.18.5.0/24'}
    for table in (10, 20):
        task = {M: {'netns': ns, 'config': [dict(one, table=table)]}}
        for r in play([task], check=True) + play([task]):
            assert_no_traceback(r)
            assert not r.get('failed') and not r['changed'] and r['commands'] == [], r
            assert [x['table'] for x in r['before']] == [10, 20] and r['before'] == r['after']
    for state, config, action in (('merged', [dict(one, table=30)], 'change'), ('deleted', [{'priority': 100}], 'delete'),
                                  ('overridden', [dict(one, table=10)], 'delete')):
        task = {M: {'netns': ns, 'state': state, 'family': 4, 'config': config}}
        for r in play([task], check=True) + play([task]):
            assert_no_traceback(r)
            assert r['failed'] and r['msg'].startswith(
                "rule priority 100 from 198.18.5.0/24 (IPv4): field 'table': the kernel holds 2 objects of this key "
                "(table 10; table 20)"), r['msg']
            assert 'this task would %s: nothing was changed' % action in r['msg'], r['msg']
            assert '`ip rule del` with its table or action deletes one' in r['msg'], r['msg']
        assert sorted_rules(ns) == before


def test_deletes_remove_exactly_their_own_rule(ns, play):
    """The kernel deletes the first rule of a priority whose attributes include the request's: with
    `iif v0 lookup 5` listed before `lookup 5`, a plain `ip rule del priority 160 lookup 5` removes the iif
    rule. The module refuses to delete only the plain one (check mode says so too), and deleting both works
    whatever the kernel's order: the more specific one goes first."""
    sh('ip', '-n', ns, 'rule', 'add', 'priority', '160', 'iif', 'v0', 'table', '5')
    sh('ip', '-n', ns, 'rule', 'add', 'priority', '160', 'table', '5')
    before = rules(ns)
    keep = [{'priority': 160, 'iif': 'v0', 'table': 5}]
    for check in (True, False):
        r = play({M: {'netns': ns, 'state': 'overridden', 'config': keep}}, check=check)[0]
        assert r['failed'] and "which stays" in r['msg'] and 'rule priority 160 iif v0 (IPv4)' in r['msg'], r['msg']
        assert_no_traceback(r)
        assert rules(ns) == before
    task = {M: {'netns': ns, 'state': 'deleted', 'config': [{'priority': 160}]}}
    check = play(task, check=True)[0]
    real = play(task)[0]
    assert real['commands'] == ['ip -n %s rule del priority 160 iif v0 lookup 5' % ns,
                                'ip -n %s rule del priority 160 lookup 5' % ns], real['commands']
    assert check['commands'] == real['commands'] and check['after'] == real['after']
    assert [r for r in ipj(ns, '-4', 'rule', 'show') if r['priority'] == 160] == []
    # the other way round in the kernel's list, and one kept: the plain one can go, the iif one stays
    sh('ip', '-n', ns, 'rule', 'add', 'priority', '160', 'table', '5')
    sh('ip', '-n', ns, 'rule', 'add', 'priority', '160', 'iif', 'v0', 'table', '5')
    r, again = play([{M: {'netns': ns, 'state': 'overridden', 'config': keep}}] * 2)
    assert r['commands'] == ['ip -n %s rule del priority 160 lookup 5' % ns] and again['changed'] is False
    assert [x.get('iif') for x in ipj(ns, '-4', 'rule', 'show') if x['priority'] == 160] == ['v0']


def protocols(ns):
    """{family: [(priority, table, protocol)]} in the kernel's order, as `ip -d -j rule show` prints them (with
    `unspec` for a rule without a protocol)."""
    return dict((fam, [(r['priority'], r.get('table'), r.get('protocol')) for r in ipj(ns, '-d', fam, 'rule', 'show')])
                for fam in ('-4', '-6'))


def test_protocol_is_part_of_a_rule(ns, twin_netns, play):
    """A rule's protocol (`ip rule add ... proto openr`: a routing daemon's rule) is gathered, and it is part of the
    rule's identity: the kernel keeps `priority 101 lookup 5` and `priority 101 lookup 5 proto openr` as two rules.
    Gathered rules feed back with changed=0 (before, the two were one key, and the daemon's rule showed as
    the plain one); overridden deletes the daemon's rule only when config does not list it, naming it (with
    `proto`, so that exactly that rule goes), and a rule is added with the protocol config gives it."""
    sh('ip', '-n', twin_netns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    for n in (ns, twin_netns):
        sh('ip', '-n', n, 'rule', 'add', 'priority', '101', 'table', '5')
        sh('ip', '-n', n, 'rule', 'add', 'priority', '101', 'table', '5', 'proto', 'openr')
    g = play({M: {'netns': ns, 'state': 'gathered'}})[0]
    assert_no_traceback(g)
    assert [r for r in g['gathered'] if r['priority'] == 101] == [
        {'priority': 101, 'family': 4, 'action': 'lookup', 'table': 5, 'l3mdev': False},
        {'priority': 101, 'family': 4, 'action': 'lookup', 'table': 5, 'l3mdev': False, 'protocol': 'openr'}]
    assert [(r['priority'], r.get('protocol')) for r in g['gathered'] if r['priority'] != 101] == [
        (0, 'kernel'), (32766, 'kernel'), (32767, 'kernel'), (0, 'kernel'), (32766, 'kernel')]
    before = protocols(ns)
    fed = play({M: {'netns': ns, 'state': 'overridden', 'config': g['gathered']}})[0]
    assert fed['changed'] is False and fed['commands'] == [] and protocols(ns) == before, fed
    # listed with its protocol, the daemon's rule stays (a number is the name: 99 is openr)
    keep = [{'priority': 101, 'table': 5}, {'priority': 101, 'table': 5, 'protocol': 99}]
    r = play({M: {'netns': ns, 'state': 'overridden', 'config': keep}})[0]
    assert r['changed'] is False and protocols(ns) == before, r
    # not listed, it is deleted by its protocol; a new rule gets the protocol config gives (check mode predicts
    # it, its commands pasted into the twin make the same rules, a second run changes nothing)
    cfg = [{'priority': 101, 'table': 5}, {'priority': 102, 'table': 6, 'protocol': 'bgp'},
           {'priority': 103, 'table': 7, 'protocol': 'unspec'}]
    real = printed_then_real(play, {M: {'netns': ns, 'state': 'overridden', 'config': cfg}}, ns, twin_netns,
                             protocols)
    assert real['commands'] == ['ip -n %s rule del priority 101 lookup 5 proto openr' % ns,
                                'ip -n %s rule add priority 102 lookup 6 proto bgp' % ns,
                                'ip -n %s rule add priority 103 lookup 7' % ns], real['commands']
    assert [x for x in protocols(ns)['-4'] if x[0] not in (0, 32766, 32767)] == [
        (101, '5', 'unspec'), (102, '6', 'bgp'), (103, '7', 'unspec')]
    assert "protocol: openr" in diff_side(real, 'before') and "protocol: openr" not in diff_side(real, 'after')


def _both(ns, twin, *lines):
    """The same rules (``ip rule`` argument lines) in ``ns`` and its twin (which gets the fixture's veth too)."""
    if not any(link['ifname'] == 'v0' for link in ipj(twin, 'link', 'show')):
        sh('ip', '-n', twin, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    for n in (ns, twin):
        for line in lines:
            sh('ip', '-n', n, *line.split())


def test_deleted_selectors_of_match_all_values_select_rules_without_the_field(ns, play):
    """In a state=deleted selector, a value that matches every packet (from/to all, 0.0.0.0/0, fwmark 0, protocol
    unspec) selects the rules that do not have that field. Before, it was dropped from the selector, which then
    selected more: `{to: all, protocol: bgp}` deleted a bgp rule that has a `to`, and `{from: all}` every rule."""
    for line in ('rule add priority 13 to 198.18.9.0/24 lookup main proto bgp', 'rule add priority 14 lookup main proto bgp',
                 'rule add priority 15 from 198.18.9.1 lookup 100', 'rule add priority 16 lookup 100',
                 'rule add priority 17 fwmark 5 lookup 7', 'rule add priority 18 lookup 7',
                 'rule add priority 19 lookup 9', 'rule add priority 19 lookup 9 proto bgp',
                 '-6 rule add priority 20 from fd42:ed6e:9::/64 lookup 100'):
        sh('ip', '-n', ns, *line.split())
    for selector, gone in (({'to': 'all', 'protocol': 'bgp'}, [(14, 'bgp'), (19, 'bgp')]),
                           ({'from': '0.0.0.0/0', 'table': 100}, [(16, 'unspec')]),
                           ({'from': 'all', 'table': 100, 'family': 6}, []),
                           ({'fwmark': 0, 'table': 7}, [(18, 'unspec')]),
                           ({'priority': 19, 'protocol': 'unspec'}, [(19, 'unspec')])):
        before = protocols(ns)
        task = {M: {'netns': ns, 'state': 'deleted', 'config': [selector]}}
        check = play(task, check=True)[0]
        assert_no_traceback(check)
        assert protocols(ns) == before
        r = play(task)[0]
        assert_no_traceback(r)
        assert check['commands'] == r['commands'] and r['changed'] == bool(gone), (selector, r)
        expected = dict(before, **{'-4': [x for x in before['-4'] if (x[0], x[2]) not in gone]})
        assert len(expected['-4']) == len(before['-4']) - len(gone)
        assert protocols(ns) == expected, (selector, r['commands'])


def test_from_default_is_all(ns, play):
    """`from: default` (and `to: default`) is iproute2's word for all. Before, check mode showed the rule and the
    real run failed with a Python error."""
    task = {M: {'netns': ns, 'config': [{'priority': 400, 'from': 'default', 'to': 'any', 'table': 40}]}}
    check = play(task, check=True)[0]
    r, again = play([task, task])
    for x in (check, r, again):
        assert_no_traceback(x)
    assert check['after'] == r['after'] and r['commands'] == ['ip -n %s rule add priority 400 lookup 40' % ns], r
    assert not again['changed']
    assert [x for x in ipj(ns, '-4', 'rule', 'show') if x['priority'] == 400] == \
        [{'priority': 400, 'src': 'all', 'table': '40'}]


@pytest.mark.parametrize('made, element, oracle', [
    # a lookup rule made a blackhole: no table goes with it (before: check mode kept the table, the request
    # carried it and the kernel kept it hidden)
    ('rule add priority 10 lookup 7', {'priority': 10, 'action': 'blackhole'},
     {'priority': 10, 'src': 'all', 'action': 'blackhole'}),
    # a table given to a blackhole rule makes it a lookup (before: every run deleted and added it again)
    ('-6 rule add priority 14 blackhole', {'priority': 14, 'family': 6, 'table': 5},
     {'priority': 14, 'src': 'all', 'table': '5'}),
    # l3mdev given to a lookup rule drops its table (before: the kernel refused, l3mdev and table exclude each other)
    ('rule add priority 11 oif v0 lookup main', {'priority': 11, 'oif': 'v0', 'l3mdev': True},
     {'priority': 11, 'src': 'all', 'oif': 'v0', 'l3mdev': None}),
    # an l3mdev rule, or a prohibit rule, made a lookup without a table looks up main, as documented (before: the
    # kernel picked an unused table, which check mode did not show)
    ('rule add priority 20 l3mdev', {'priority': 20, 'l3mdev': False}, {'priority': 20, 'src': 'all', 'table': 'main'}),
    ('rule add priority 21 prohibit', {'priority': 21, 'action': 'lookup'},
     {'priority': 21, 'src': 'all', 'table': 'main'}),
])
def test_merged_action_table_and_l3mdev_decide_each_other(ns, twin_netns, play, made, element, oracle):
    """merged lays an element over the rule as one element says it: its action, table or l3mdev decides the
    others. Check mode predicts the real run, the printed commands make the same rule, a second run is changed=0."""
    _both(ns, twin_netns, made)
    fam = '-6' if element.get('family') == 6 else '-4'
    real = printed_then_real(play, {M: {'netns': ns, 'config': [element]}}, ns, twin_netns, sorted_rules)
    assert real['changed']
    got = [x for x in ipj(ns, fam, 'rule', 'show') if x['priority'] == element['priority']]
    if 'l3mdev' in oracle:  # (iproute2 6.1 prints l3mdev as a bare key: a null)
        assert [dict(x, l3mdev=None) for x in got if 'l3mdev' in x] == [oracle], got
    else:
        assert got == [oracle], got


def test_adds_are_refused_as_the_kernel_compares_realms_and_tos(ns, play):
    """The kernel compares a rule's realms (and tos, dscp) with a rule being added only where the new rule has
    them: a rule of one priority and table without them is refused (EEXIST). Refused before anything is sent, in
    check mode too. Before, check mode showed the add, and the real run failed and rolled back."""
    sh('ip', '-n', ns, 'rule', 'add', 'priority', '508', 'realms', '3/4', 'lookup', '50')
    before = sorted_rules(ns)
    task = {M: {'netns': ns, 'config': [{'priority': 490, 'table': 49}, {'priority': 508, 'table': 50}]}}
    for check_mode in (True, False):
        r = play(task, check=check_mode)[0]
        assert_no_traceback(r)
        assert r.get('failed') and r['object'] == 'rule priority 508 (IPv4)' and r['field'] == 'priority', r
        assert 'EEXIST' in r['msg'] and 'realms 3/4' in r['msg'] and not r.get('rolled_back'), r
        assert sorted_rules(ns) == before
    # one more selector makes another rule for the kernel
    task[M]['config'][1]['from'] = '198.18.50.0/24'
    r, again = play([task, task])
    assert not r.get('failed') and r['changed'] and not again['changed'], r


def test_many_rules_of_one_priority(ns, play):
    """Rules of one priority (per-source rules, say) are checked against each other once each, not each against
    all: 2,000 of them are added in one run, and deleted in one (before, the checks compared every pair: 3,000 took
    13 s to add and 9,000 took 7 s to delete, which is now 0.2 s and 0.8 s)."""
    config = [{'priority': 1000, 'from': '198.18.%d.%d/32' % (i // 250, i % 250 + 1), 'table': 100 + i % 3}
              for i in range(2000)]
    r, again = play([{M: {'netns': ns, 'config': config}}] * 2)
    assert_no_traceback(r)
    assert r['changed'] and not again['changed'], again.get('msg')
    assert len([x for x in ipj(ns, '-4', 'rule', 'show') if x['priority'] == 1000]) == 2000
    # and deleted, each delete removing exactly its own rule (a rule of the priority with another selector stays)
    sh('ip', '-n', ns, 'rule', 'add', 'priority', '1000', 'iif', 'v0', 'lookup', '9')
    keep = {'priority': 1000, 'iif': 'v0', 'table': 9}
    r = play({M: {'netns': ns, 'state': 'overridden', 'family': 4, 'config': [keep]}})[0]
    assert_no_traceback(r)
    assert len(r['commands']) == 2000 and [x for x in ipj(ns, '-4', 'rule', 'show') if x['priority'] == 1000] == \
        [{'priority': 1000, 'src': 'all', 'iif': 'v0', 'table': '9'}], r.get('msg')


def test_a_default_rule_made_again_without_protocol_is_that_rule(ns, play):
    """A kernel default rule deleted and made again by `ip rule add` has no protocol. An element of its shape names
    it, as it names the kernel's: before, the module added the kernel's (protocol kernel) beside it, a second rule
    that neither it nor `ip rule del` could remove."""
    sh('ip', '-n', ns, 'rule', 'del', 'priority', '32766')
    sh('ip', '-n', ns, 'rule', 'add', 'priority', '32766', 'lookup', 'main')
    before = protocols(ns)
    for state in ('merged', 'replaced', 'overridden'):
        r = play({M: {'netns': ns, 'state': state, 'family': 4,
                      'config': [{'priority': 0, 'table': 'local'}, {'priority': 32766, 'table': 'main'},
                                 {'priority': 32767, 'table': 'default'}]}})[0]
        assert_no_traceback(r)
        assert not r['changed'] and r['commands'] == [], (state, r)
        assert protocols(ns) == before


def test_an_ipv6_rule_32767_is_the_users(ns, play):
    """IPv6 has no kernel rule at priority 32767: one there is the user's, changed and deleted as any other (before,
    it was taken for the kernel's: kept by deleted and overridden, and a change was refused)."""
    add = {M: {'netns': ns, 'config': [{'priority': 32767, 'family': 6, 'table': 'default'}]}}
    r, again = play([add, add])
    assert r['changed'] and not again['changed']
    assert [x for x in ipj(ns, '-6', 'rule', 'show') if x['priority'] == 32767] == \
        [{'priority': 32767, 'src': 'all', 'table': 'default'}]
    r = play({M: {'netns': ns, 'state': 'replaced', 'config': [{'priority': 32767, 'family': 6, 'table': 5}]}})[0]
    assert_no_traceback(r)
    assert r['changed'] and [x for x in ipj(ns, '-6', 'rule', 'show') if x['priority'] == 32767] == \
        [{'priority': 32767, 'src': 'all', 'table': '5'}], r
    r = play({M: {'netns': ns, 'state': 'deleted', 'config': [{'priority': 32767, 'family': 6}]}})[0]
    assert r['changed'] and not [x for x in ipj(ns, '-6', 'rule', 'show') if x['priority'] == 32767], r
    assert defaults_present(ns)


def test_a_changed_rule_that_others_of_its_priority_followed_warns(ns, play):
    """The kernel adds a changed rule again after the other rules of its priority, which are tried in order: the
    run warns, naming them (check mode too)."""
    sh('ip', '-n', ns, 'rule', 'add', 'priority', '100', 'from', '198.18.0.0/16', 'lookup', '10')
    sh('ip', '-n', ns, 'rule', 'add', 'priority', '100', 'from', '198.18.1.0/24', 'lookup', '11')
    task = {M: {'netns': ns, 'config': [{'priority': 100, 'from': '198.18.0.0/16', 'table': 12}]}}
    for check_mode in (True, False):
        r = play(task, check=check_mode)[0]
        assert_no_traceback(r)
        assert any("rule priority 100 from 198.18.0.0/16 (IPv4): the kernel cannot change a rule in place" in w
                   and "'rule priority 100 from 198.18.1.0/24 (IPv4)' now come(s) before it" in w
                   for w in r.get('warnings', [])), r
    assert [x.get('srclen') for x in ipj(ns, '-4', 'rule', 'show') if x['priority'] == 100] == [24, 16]
    # the last rule of its priority moves nowhere: no warning
    task[M]['config'][0]['table'] = 13
    r = play(task)[0]
    assert r['changed'] and not [w for w in r.get('warnings', []) if 'in place' in w], r


def test_fwmark_0_under_a_full_mask_is_printed_with_its_mask(ns, twin_netns, play):
    """`fwmark 0/0xffffffff` (packets without a mark) is printed with its mask: `ip rule add ... fwmark 0x0` sends no
    mask, and the kernel takes mark 0 without one for no mark at all (the pasted command made a rule of every
    packet)."""
    _both(ns, twin_netns)
    element = {'priority': 301, 'fwmark': 0, 'fwmask': '0xffffffff', 'table': 30}
    real = printed_then_real(play, {M: {'netns': ns, 'config': [element]}}, ns, twin_netns, sorted_rules)
    assert real['commands'] == ['ip -n %s rule add priority 301 fwmark 0x0/0xffffffff lookup 30' % ns]
    assert [x for x in ipj(ns, '-4', 'rule', 'show') if x['priority'] == 301] == \
        [{'priority': 301, 'src': 'all', 'fwmark': '0', 'table': '30'}]  # (iproute2 prints no mask of all ones)


@pytest.mark.parametrize('item, field, text', [
    ({'priority': 100, 'iif': 'x\u0000y'}, 'iif', 'not a valid device name'),
    ({'priority': 100, 'oif': 'x\ty'}, 'oif', 'not a valid device name'),
    ({'priority': 100, 'protocol': True}, 'protocol', 'is not a protocol'),
    ({'priority': 100, 'table': True}, 'table', 'is not a table'),
])
def test_more_bad_input(ns, play, item, field, text):
    """A NUL or a control character in a device name (the kernel stores the name up to the NUL: the rule was
    another one), and a YAML boolean for a protocol or a table (taken as 1), are refused."""
    before = rules(ns)
    r = play({M: {'netns': ns, 'config': [item]}})[0]
    assert_no_traceback(r)
    assert r.get('failed') and text in r['msg'] and r['field'] == field, r
    assert rules(ns) == before
