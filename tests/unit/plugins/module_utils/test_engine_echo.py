# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real run's ``after`` from the kernel's echoes of its writes (``Resource.echo``), without a kernel: when the
engine asks for echoes, how it builds ``after`` from them, and when it reads the "kernel" again instead."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.edgenet.linux.plugins.module_utils._engine import Context, Engine, Resource

NEW, DEL = 24, 25


class Echoing(Resource):
    """Objects keyed by ``name`` on the bulk path; the fake kernel echoes each write as JSON."""

    name = 'echoing'
    keys = ('name',)
    required = ('name',)
    options = {'name': {'type': 'str'}, 'value': {'type': 'int'}, 'group': {'type': 'str'}}
    scope_options = {'group': {'type': 'str'}}
    bulk = True
    echo = True

    def gather(self, ctx):
        ctx.nl.gathers += 1
        return [dict(o) for o in ctx.nl.kernel]

    def in_scope(self, obj, ctx):
        group = ctx.params.get('group')
        return group is None or obj.get('group') == group

    def sort_key(self, obj):
        return obj['name']

    def encode(self, ctx, op):
        return (DEL if op.action == 'delete' else NEW), op.action, op.obj

    def decode_echo(self, ctx, mtype, body):
        obj = json.loads(body)
        return mtype == DEL, None if obj.get('owner') == 'kernel' else obj


class FakeKernel(object):
    """The slice of the Netlink session the engine uses; ``echo`` says what the kernel echoes of a write
    (default: the written object)."""

    def __init__(self, objs, echo=None):
        self.kernel = [dict(o) for o in objs]
        self.gathers = 0
        self.asked = []  # per transact: whether echoes were asked for
        self.echo = echo or (lambda obj: [obj])

    def transact(self, requests, keep_going=False, echoes=None):
        self.asked.append(echoes is not None)
        for index, (mtype, action, obj) in enumerate(requests):
            self.kernel = [o for o in self.kernel if o['name'] != obj['name']]
            if action != 'delete':
                self.kernel.append(dict(obj))
            if echoes is not None:
                echoes.extend((index, mtype, json.dumps(e).encode()) for e in self.echo(obj))
        return list(range(len(requests))), []

    def close(self):
        pass


def run(have, config, state='merged', **kw):
    nl = FakeKernel(have, kw.pop('echo', None))
    params = {'state': state, 'config': config, 'netns': None, 'group': kw.pop('group', None)}
    result = Engine(Echoing(), Context(params, nl=nl)).run()
    return result, nl


FIVE = [{'name': 'n%d' % i, 'value': i} for i in range(5)]


def test_a_change_of_one_of_five_takes_after_from_the_echo():
    r, nl = run(FIVE, [{'name': 'n2', 'value': 20}])
    assert nl.asked == [True] and nl.gathers == 1
    # merged is about n2: before and after hold it alone
    assert r['before'] == [{'name': 'n2', 'value': 2}] and r['after'] == [{'name': 'n2', 'value': 20}]


def test_overridden_takes_the_whole_after_from_the_echoes():
    r, nl = run(FIVE, [dict(o, value=20) if o['name'] == 'n2' else o for o in FIVE], state='overridden')
    assert nl.asked == [True] and nl.gathers == 1
    assert r['after'] == sorted(nl.kernel, key=lambda o: o['name'])
    assert r['after'][2] == {'name': 'n2', 'value': 20}


def test_adds_and_deletes_keep_key_order():
    r, nl = run(FIVE, [{'name': 'n0', 'value': 0}, {'name': 'n1', 'value': 1}, {'name': 'n3', 'value': 3},
                       {'name': 'n4', 'value': 4}, {'name': 'a', 'value': 1}], state='overridden')
    assert nl.asked == [True] and nl.gathers == 1
    assert [o['name'] for o in r['after']] == ['a', 'n0', 'n1', 'n3', 'n4']
    assert r['after'] == sorted(nl.kernel, key=lambda o: o['name'])
    r, nl = run(FIVE, [{'name': 'n3'}, {'name': 'a', 'value': 1}, {'name': 'n1', 'value': 10}], state='replaced')
    assert nl.asked == [True] and nl.gathers == 1
    assert [o['name'] for o in r['before']] == ['n1', 'n3']
    assert r['after'] == [{'name': 'a', 'value': 1}, {'name': 'n1', 'value': 10}, {'name': 'n3'}]
    r, nl = run(FIVE, [{'name': 'n1'}], state='deleted')
    assert nl.asked == [True] and r['before'] == [FIVE[1]] and r['after'] == []


def test_a_plan_as_big_as_what_exists_reads_the_kernel_again():
    # writes at least as many as the objects: the echoes would cost more than a dump of the result
    r, nl = run(FIVE[:2], [{'name': 'x'}, {'name': 'y'}])
    assert nl.asked == [False] and nl.gathers == 2
    # (the dump has every object: after keeps those the task is about)
    assert r['before'] == [] and [o['name'] for o in r['after']] == ['x', 'y']
    r, nl = run(FIVE[:2], [{'name': 'x'}, {'name': 'y'}], state='overridden')
    assert nl.asked == [False] and nl.gathers == 2 and [o['name'] for o in r['after']] == ['x', 'y']
    assert [o['name'] for o in r['before']] == ['n0', 'n1']


def test_a_write_without_an_echo_reads_the_kernel_again():
    r, nl = run(FIVE, [{'name': 'n1', 'value': 7}], echo=lambda obj: [])
    assert nl.asked == [True] and nl.gathers == 2
    assert r['after'] == [{'name': 'n1', 'value': 7}]


def test_two_objects_of_one_key_read_the_kernel_again():
    # (a write to a key the kernel holds twice is refused before anything is sent: test_engine)
    # two objects under another key than the task's: the task is not about them, and the echo tells
    r, nl = run(FIVE + [{'name': 'n3', 'value': 33}], [{'name': 'n0', 'value': 9}])
    assert nl.asked == [True] and nl.gathers == 1 and r['after'] == [{'name': 'n0', 'value': 9}]


def test_echoes_of_objects_out_of_scope_or_kernel_owned_are_left_out():
    grouped = [dict(o, group='g') for o in FIVE]

    def echo(obj):
        return [obj, {'name': 'other', 'group': 'h'}, {'name': 'lo', 'group': 'g', 'owner': 'kernel'},
                {'name': 'made', 'group': 'g'}]
    r, nl = run(grouped, [{'name': 'n0', 'value': 5, 'group': 'g'}], group='g', echo=echo)
    assert nl.asked == [True] and nl.gathers == 1
    # an object in scope that the kernel reports of this task's writes is one the task made: it is shown
    assert r['after'] == [{'name': 'made', 'group': 'g'}, {'name': 'n0', 'value': 5, 'group': 'g'}]


def test_the_echo_is_the_kernels_word_not_the_plan():
    # the "kernel" stores something else than was asked (as a kernel rounds a rate): after says so, and check
    # mode's prediction is what was asked
    def echo(obj):
        return [dict(obj, value=obj.get('value', 0) + 1)]
    r, nl = run(FIVE, [{'name': 'n1', 'value': 10}], echo=echo)
    assert nl.gathers == 1 and r['after'] == [{'name': 'n1', 'value': 11}]
