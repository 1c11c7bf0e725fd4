# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's per-object shortcuts (key_function, default_keys, settle_fields, rank-less order) give
the same results as the long way."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Engine, Op, Resource


class Entry(Resource):
    """Sparse keys (``vlan`` is usually absent), a key field ``side`` filled by defaults, settle on ``ttl``."""

    name = 'entry'
    keys = ('mac', 'vlan', 'side')
    sparse_keys = True
    options = {'mac': {'type': 'str'}, 'vlan': {'type': 'int'}, 'side': {'type': 'str'}, 'ttl': {'type': 'int'}}

    def __init__(self, have=()):
        self.have = [dict(o) for o in have]
        self.calls = {'defaults': 0, 'settle': 0}

    def defaults(self, obj):
        self.calls['defaults'] += 1
        return {'side': 'left', 'ttl': 64}

    def settle(self, want, obj):
        self.calls['settle'] += 1
        if 'ttl' in want and abs(obj.get('ttl', 0) - want['ttl']) <= 1:
            obj['ttl'] = want['ttl']
        return obj

    def gather(self, ctx):
        return [dict(o) for o in self.have]


def test_key_function_is_key():
    res = Entry()
    for obj in ({'mac': 'a'}, {'mac': 'a', 'vlan': 2, 'side': 'right'}, {}):
        assert res.key_function()(obj) == res.key(obj) == tuple(obj.get(k) for k in res.keys)

    class Custom(Entry):
        def key(self, obj):
            return (obj.get('mac'),)

    assert Custom().key_function()({'mac': 'a', 'vlan': 2}) == ('a',)

    class Dense(Resource):
        keys = ('a', 'b')

    assert Dense().key_function()({'a': 1}) == (1, None)  # a partial object (state=deleted)


def test_default_keys_skip_defaults_only_when_every_listed_key_is_given():
    config = [{'mac': 'a'}, {'mac': 'b', 'side': 'right'}, {'mac': 'c', 'vlan': 3}]
    slow = Entry()
    want = Engine(slow, Context({'state': 'merged'})).normalize_config(config)
    assert slow.calls['defaults'] == 3
    fast = Entry()
    fast.default_keys = ('side',)
    assert Engine(fast, Context({'state': 'merged'})).normalize_config(config) == want
    assert fast.calls['defaults'] == 2, 'not for the element that gives side'
    assert [w['side'] for w in want] == ['left', 'right', 'left']


def test_settle_fields_settle_only_the_objects_whose_element_gives_one():
    have = [{'mac': 'a', 'side': 'left', 'ttl': 63}, {'mac': 'b', 'side': 'left', 'ttl': 63},
            {'mac': 'c', 'side': 'left', 'ttl': 9}]
    config = [{'mac': 'a', 'ttl': 64}, {'mac': 'b'}, {'mac': 'c', 'ttl': 64}]
    results = []
    for fields in (None, ('ttl',)):
        res = Entry(have)
        res.settle_fields = fields
        eng = Engine(res, Context({'state': 'merged'}))
        want = eng.normalize_config(config)
        results.append((eng.settle(want, eng.gather()), res.calls['settle']))
    assert results[0][0] == results[1][0]
    assert [o['ttl'] for o in results[1][0]] == [64, 63, 9]
    assert (results[0][1], results[1][1]) == (3, 2)
    res = Entry(have)
    res.settle_fields = ('ttl',)
    eng = Engine(res, Context({'state': 'merged'}))
    objs = eng.gather()
    assert eng.settle(eng.normalize_config([{'mac': 'a'}]), objs) is objs and res.calls['settle'] == 0


def test_order_without_rank_keeps_the_plan_order_deletes_first():
    eng = Engine(Entry(), Context({'state': 'merged'}))
    ops = [Op('add', None, {'mac': 'z'}), Op('delete', {'mac': 'y'}), Op('add', None, {'mac': 'a'}),
           Op('delete', {'mac': 'b'}), Op('change', {'mac': 'c'}, {'mac': 'c', 'ttl': 1})]
    assert [op.obj['mac'] for op in eng.order(ops)] == ['y', 'b', 'z', 'a', 'c']

    class Ranked(Entry):
        def rank(self, obj):
            return 0 if obj['mac'] in 'ab' else 1

    assert [op.obj['mac'] for op in Engine(Ranked(), Context({})).order(ops)] == ['y', 'b', 'a', 'z', 'c']


def test_a_run_with_the_shortcuts_matches_the_long_way():
    have = [{'mac': 'a', 'side': 'left', 'ttl': 63}, {'mac': 'd', 'side': 'left', 'ttl': 64}]
    config = [{'mac': 'a', 'ttl': 64}, {'mac': 'b', 'vlan': 2}, {'mac': 'c', 'side': 'right', 'ttl': 70}]
    out = []
    for fast in (False, True):
        res = Entry(have)
        if fast:
            res.default_keys, res.settle_fields = ('side',), ('ttl',)
        for state in ('merged', 'replaced', 'overridden', 'deleted'):
            ctx = Context({'state': state, 'config': config}, check_mode=True)
            out.append(Engine(res, ctx).run(diff=True))
    assert out[:4] == out[4:]
