# -*- coding: utf-8 -*-
"""A route task about the routes its config names (merged, replaced, deleted with dsts) decodes only the routes
with those dsts and the device routes, not the whole table (Route._wanted): the same results as a gather of
every route, on the host kernel.

Each case runs the engine in this process twice, in two namespaces made alike (the same devices, the same 2,000
routes through gateways in three tables, device routes, a blackhole, a multipath route, a route with a realm the
module carries over, IPv6 routes with metrics, two default routes): once as the module runs, once with the
filter off (every route decoded, as before). Check mode, then the real run, then a re-run: the results (changed,
commands, before, after, diff, errors) must be equal, and so must the two kernels (``ip -j route show table all``,
the oracle). The decoded routes are counted too: a task naming 3 dsts decodes a handful, not 2,000 (the filter
starts once the dump has held more than twice the config's routes, so a re-check of a whole table is as before).
"""

import pytest

from conftest import collection_on_path, comparable, ipj, ns_and_twin, sh

collection_on_path()

from ansible_collections.edgenet.linux.plugins.module_utils import _engine, _errors  # noqa: E402
from ansible_collections.edgenet.linux.plugins.module_utils.resources import route as route_module  # noqa: E402
from ansible_collections.edgenet.linux.plugins.module_utils.resources.route import Route  # noqa: E402

N = 2000


def _table(ns):
    lines = ['link add v0 type veth peer name v1', 'link set v0 up', 'link set v1 up',
             'address add 198.18.0.1/24 dev v0', 'address add 198.18.1.1/24 dev v1',
             'address add fd42:ed6e::1/64 dev v0 nodad',
             'route add 198.18.50.0/24 dev v1', 'route add 198.18.51.0/24 dev v0 table 100',
             'route add blackhole 198.18.52.0/24',
             'route add 198.18.53.0/24 nexthop via 198.18.0.2 dev v0 nexthop via 198.18.1.2 dev v1',
             'route add 198.18.54.0/24 via 198.18.0.2 dev v0 realm 7',
             'route add default via 198.18.0.254 dev v0 table 100',
             'route add default via fd42:ed6e::fe dev v0 table 100',
             'route add fd42:ed6e:50::/64 via fd42:ed6e::2 dev v0 metric 10',
             'route add fd42:ed6e:50::/64 via fd42:ed6e::3 dev v0 metric 20']
    for i in range(N):
        table = ('', ' table 100', ' table 200')[i % 3]
        lines.append('route add 198.19.%d.%d/32 via 198.18.0.2%s' % (i // 256, i % 256, table))
    sh('ip', '-n', ns, '-batch', '-', input='\n'.join(lines) + '\n')
    return ns


ns, twin = ns_and_twin(_table)


def _oracle(ns):
    out = []
    for fam in ('-4', '-6'):
        for r in ipj(ns, fam, 'route', 'show', 'table', 'all'):
            r.pop('expires', None)
            out.append(r)
    return sorted(out, key=repr)


def _run(ns, state, config, check, unfiltered, monkeypatch, counts=None):
    params = {'netns': ns, 'state': state, 'config': config, 'table': None, 'family': None}
    with monkeypatch.context() as m:
        if unfiltered:
            m.setattr(Route, '_wanted', staticmethod(lambda ctx: None))
        ctx = _engine.Context(params, check_mode=check)
        res = Route()
        try:
            result = _engine.Engine(res, ctx).run(diff=True)
        except _errors.EdgenetError as e:
            result = {'error': str(e)}
        finally:
            ctx.close()
    if counts is not None:
        counts.append(len(res.__dict__.get('_all') or ()))
    return comparable(result, ns)


CASES = [
    # merged: a new route, a change of one of the 2,000, a route with a gateway and no dev (its device is looked up
    # among the device routes), a change of the route with a realm (carried over), a new IPv6 metric
    ('merged', [{'dst': '198.18.60.0/24', 'gateway': '198.18.0.9', 'dev': 'v0'},
                {'dst': '198.19.0.3/32', 'gateway': '198.18.0.2', 'table': 100, 'protocol': 'static'},
                {'dst': '198.18.61.0/24', 'gateway': '198.18.1.7'},
                {'dst': '198.18.54.0/24', 'gateway': '198.18.0.3', 'dev': 'v0'},
                {'dst': 'fd42:ed6e:50::/64', 'gateway': 'fd42:ed6e::4', 'dev': 'v0', 'metric': 30}]),
    # replaced: named fields only; the multipath route and a default route of table 100
    ('replaced', [{'dst': '198.18.53.0/24', 'gateway': '198.18.0.2', 'dev': 'v0'},
                  {'dst': 'default', 'gateway': '198.18.0.253', 'dev': 'v0', 'table': 100}]),
    # deleted by dst: every route with it (any table, any metric), and a dst nothing has
    ('deleted', [{'dst': 'fd42:ed6e:50::/64'}, {'dst': '198.19.1.1/32'}, {'dst': '198.18.99.0/24'}]),
    # deleted by dst and table
    ('deleted', [{'dst': '198.19.0.5/32', 'table': 200}, {'dst': '198.18.52.0/24', 'type': 'blackhole'}]),
    # a kernel route's key (the connected route of v0): refused, naming it, in both
    ('merged', [{'dst': '198.18.0.0/24', 'dev': 'v0', 'protocol': 'kernel', 'scope': 'link'}]),
    # a dst given another way (a host route without its length; the IPv4 default as 0.0.0.0/0)
    ('merged', [{'dst': '198.18.62.1', 'dev': 'v1'}, {'dst': '0.0.0.0/0', 'gateway': '198.18.0.252', 'dev': 'v0',
                                                      'table': 200}]),
]


@pytest.mark.parametrize('state,config', CASES)
def test_a_task_about_its_dsts_decodes_them_alone_with_the_same_results(ns, twin, monkeypatch, state, config):
    counts = []
    for check in (True, False, False):  # check mode, the real run, the re-run
        ours = _run(ns, state, config, check, False, monkeypatch, counts)
        every = _run(twin, state, config, check, True, monkeypatch)
        assert ours == every, (check, ours, every)
        assert _oracle(ns) == _oracle(twin)
    # a handful of routes decoded, not the 2,000: those of the dump's first 2 x len(config) + 64 messages (before
    # the filter starts: a config as large as the table never pays for it), then the named dsts, the device
    # routes and the kernel's
    assert max(counts) < 2 * len(config) + 64 + 40 < N / 10, counts


def test_a_dst_that_does_not_parse_decodes_every_route(ns, monkeypatch):
    """The filter is off when a dst does not parse (normalize names the element and the field)."""
    counts = []
    r = _run(ns, 'merged', [{'dst': '198.18.70.0/24', 'dev': 'v0'}, {'dst': '198.18.999.0/24', 'dev': 'v0'}],
             True, False, monkeypatch, counts)
    assert 'config[1]' in r['error'] and 'dst' in r['error'], r
    r = _run(ns, 'overridden', [], True, False, monkeypatch, counts)
    assert counts[-1] > N, counts  # overridden is about every route: all decoded


def test_the_filter_leaves_out_routes_through_gateways_only(ns, monkeypatch):
    """What the decoder keeps besides the named dsts: the routes without a gateway (device routes: the device of a
    route without a dev is one of them), never a route through a gateway it was not asked for."""
    seen = {}
    original = route_module._Decoder.decode

    def decode(self, buf, start, end):
        obj, owned = original(self, buf, start, end)
        if obj is not None:
            seen[(obj['table'], obj['family'], obj['dst'], obj['metric'])] = obj
        return obj, owned

    monkeypatch.setattr(route_module._Decoder, 'decode', decode)
    _run(ns, 'merged', [{'dst': '198.19.1.7/32', 'gateway': '198.18.0.2', 'table': 200}], True, False, monkeypatch)
    through = sorted(k for k, o in seen.items() if o.get('gateway') or o.get('nexthops'))
    # the first 2 x 1 + 64 messages of the dump are decoded as they come (the filter starts after them)
    assert (200, 4, '198.19.1.7/32', 0) in through and len(through) <= 2 * 1 + 64, through
    assert ('main', 4, '198.18.50.0/24', 0) in seen and (100, 4, '198.18.51.0/24', 0) in seen


def test_a_config_as_large_as_the_table_does_not_work_out_its_dsts(ns, monkeypatch):
    """A re-check of a whole table (a config of every route): the dump never holds more than twice the config, so
    the gather decodes every route as before and never parses the config's dsts for the filter."""
    calls = []
    original = Route._wanted_of
    monkeypatch.setattr(Route, '_wanted_of', staticmethod(lambda config: calls.append(len(config)) or original(config)))
    config = [{'dst': '198.19.%d.%d/32' % (i // 256, i % 256), 'gateway': '198.18.0.2',
               'table': ('main', 100, 200)[i % 3]} for i in range(N)]
    r = _run(ns, 'merged', config, True, False, monkeypatch)
    assert r['changed'] is False and calls == [], (r.get('commands'), calls)
    r = _run(ns, 'merged', config[:10], True, False, monkeypatch)
    assert r['changed'] is False and calls == [10], calls


def test_a_real_runs_after_comes_from_the_echoes_of_few_writes_and_a_dump_after_many(ns, twin, monkeypatch):
    """The engine reads the kernel's echoes of the writes for ``after`` when the table outnumbers the writes, and
    dumps the table again when it does not: the routes the filter passed over count as the table's, the kernel's own
    routes do not (a change of 1 of 2,000 reads its echo; a delete of every route dumps the emptied table, not
    2,000 echoes)."""
    used = []
    original = _engine.Engine.echoed_after

    def echoed_after(self, *args):
        used.append('echoes')
        return original(self, *args)

    monkeypatch.setattr(_engine.Engine, 'echoed_after', echoed_after)
    r = _run(ns, 'merged', [{'dst': '198.19.2.9/32', 'gateway': '198.18.0.3', 'table': 200}], False, False,
             monkeypatch)
    assert r.get('changed') and used == ['echoes'], (r, used)
    # every route of the table deleted (the kernel's own are not the module's, and do not count)
    r = _run(twin, 'overridden', [], False, False, monkeypatch)
    assert r.get('changed') and len(r['commands']) > N and used == ['echoes'], (len(r.get('commands', [])), used)
    assert not [x for x in ipj(twin, '-4', 'route', 'show', 'table', 'all') if x.get('gateway')]
