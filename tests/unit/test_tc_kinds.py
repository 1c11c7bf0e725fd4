# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tc value conversions (_tc) and the qdisc/class encoders, on in-memory data (no kernel)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _tc
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError
from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_class import TcClass
from ansible_collections.edgenet.linux.plugins.module_utils.resources.tc_qdisc import TcQdisc, codel_send, tc_ns


def test_rates_sizes_times_as_tc():
    assert _tc.rate('10mbit') == 10000000 and _tc.rate('100kbps') == 800000 and _tc.rate('1001bit') == 1000
    assert _tc.size('10kb') == 10240 and _tc.size('1kbit') == 128
    assert _tc.time('50ms') == 50000 and _tc.time(7) == 7
    assert _tc.rate('1.5gbit') == 1500000000 and _tc.rate('2Gbit') == 2000000000 and _tc.rate('1.5mbps') == 12000000
    assert _tc.time('1s') == 1000000 and _tc.time('1.5s') == 1500000 and _tc.time('250us') == 250
    assert _tc.time_ns('1.5ms') == 1500000 and _tc.time_ns('20') == 20000 and _tc.time_ns('30ns') == 30
    assert _tc.time_ns_text(20000000) == '20000us' and _tc.time_ns_text(1234567) == '1234567ns'


@pytest.mark.parametrize('text,u32,canon', [
    ('1%', 42949673, 1.0), ('0.5', 21474836, 0.5), ('0.3333%', 14315126, 0.3333), ('100', 0xFFFFFFFF, 100.0),
    ('0', 0, 0.0)])
def test_percent_scaled_like_tc(text, u32, canon):
    assert _tc.percent_u32(text) == u32
    assert _tc.percent(text) == canon
    assert _tc.percent_u32(_tc.u32_percent(u32)) == u32  # the canonical value maps back to the same u32


@pytest.mark.parametrize('value', ['101%', '-1', 'lots'])
def test_percent_bad(value):
    with pytest.raises(EdgenetError) as e:
        _tc.percent(value, 'loss')
    assert e.value.field == 'loss'


def test_fed_back_values_are_no_change():
    r = TcQdisc()
    have = {'dev': 'd0', 'parent': 'root', 'handle': '1:', 'kind': 'fq_codel', 'target': 3299, 'interval': 77777}
    want = r.normalize(dict(have), None)  # gathered output given as config
    assert want['target'] == 3298 and r.reconcile(have, dict(want))['target'] == 3299
    have = {'dev': 'd0', 'parent': 'root', 'handle': '1:', 'kind': 'netem', 'delay': 1233.984, 'jitter': 332.992}
    assert r.normalize(dict(have), None) == have
    # tc 6.1 made it from 1.234567ms 333us (ticks of whole microseconds): the same
    want = r.normalize(dict(have, delay='1.234567ms', jitter='333us'), None)
    assert want['delay'] == 1234.567 and r.reconcile(have, dict(want)) == have


def test_codel_times_are_fixed_points():
    assert _tc.codel_us(5000) == 4999 and _tc.codel_us(3300) == 3299
    for us in (1, 999, 3299, 4999, 99999, 123457):
        canon = _tc.codel_us(us)
        assert _tc.codel_us(codel_send(canon)) == canon  # what is sent comes back as the same value


def test_netem_tc_ticks():
    # tc 6.1 sends whole microseconds as 64 ns ticks: 333us is 5203 ticks, 332992 ns
    assert tc_ns(333000) == 332992 and tc_ns(1234567) == 1233984


def test_hfsc_curves_as_tc_and_the_kernel():
    # m1/d/m2 (rates in bits, times in us); slopes and knee come back as the kernel reports them
    assert _tc.hfsc_curve({'m1': '1001kbit', 'd': '13ms', 'm2': '333kbit'}, 'rt') == \
        {'m1': _tc.hfsc_m(125125) * 8, 'd': 13000, 'm2': _tc.hfsc_m(41625) * 8}
    # tc's umax/dmax/rate form: concave when umax/dmax is above rate
    assert _tc.hfsc_curve({'umax': '1500b', 'dmax': '10ms', 'rate': '100kbit'}, 'rt') == \
        {'m1': 1200000, 'd': 10000, 'm2': 100000}
    # convex: no first slope, the knee at dmax - umax/rate
    assert _tc.hfsc_curve({'umax': '1500b', 'dmax': '200ms', 'rate': '100kbit'}, 'rt') == \
        {'m1': 0, 'd': _tc.hfsc_d(80000), 'm2': 100000}
    assert _tc.hfsc_curve('2mbit', 'ul') == {'m1': 0, 'd': 0, 'm2': 2000000}
    for m in (1, 7, 125, 41625, 125125, 12345678):  # the kernel's rounding is a fixed point
        assert _tc.hfsc_m(_tc.hfsc_m(m)) == _tc.hfsc_m(m)
    for d in (1, 13, 999, 13000, 77777):
        assert _tc.hfsc_d(_tc.hfsc_d(d)) == _tc.hfsc_d(d)


@pytest.mark.parametrize('curve,field', [
    ({'m1': '1mbit'}, 'rt.m2'), ({'m2': '1mbit', 'rate': '1mbit'}, 'rt'), ({'umax': 1500, 'rate': '1mbit'}, 'rt.dmax'),
    ({'m2': 'fast'}, 'rt.m2'), ({'x': 1}, 'rt')])
def test_hfsc_curve_bad(curve, field):
    with pytest.raises(EdgenetError) as e:
        _tc.hfsc_curve(curve, 'rt')
    assert e.value.field == field


def test_attributes_roundtrip():
    data = _tc.nla_u32(1, 7) + _tc.nla(2, b'abc') + _tc.nla_u64(3, 2 ** 40)
    a = _tc.nlas(data)
    assert _tc.get_u32(a, 1) == 7 and a[2] == b'abc' and _tc.get_u64(a, 3) == 2 ** 40 and len(data) % 4 == 0


def _q(**kw):
    r = TcQdisc()
    return r, r.normalize(dict(kw, dev='d0', handle='1:'), None)


def test_qdisc_encoders():
    r, o = _q(kind='prio', bands=4, priomap=[3, 2, 1, 0])
    assert o['priomap'] == [3, 2, 1, 0, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]
    assert r.tc_options(o) == struct.pack('<i16B', 4, *o['priomap'])
    r, o = _q(kind='hfsc', default='20')
    assert r.tc_options(o) == struct.pack('<H', 0x20)
    r, o = _q(kind='tbf', rate='1mbit', burst='10kb', limit=20000, peakrate='2mbit', mtu=1540)
    a = _tc.nlas(r.tc_options(o))
    assert _tc.get_u32(a, 6) == 10240 and _tc.get_u32(a, 7) == 1540  # TCA_TBF_BURST, TCA_TBF_PBURST
    limit, buffer_, mtu = struct.unpack_from('<III', a[1], 24)
    assert limit == 20000 and mtu == _tc.xmittime(250000, 1540)
    r, o = _q(kind='netem', delay='20ms', jitter='2ms', loss='1%', rate='10mbit')
    obj = dict(o, parent='root', limit=1000)
    back = {'kind': 'netem'}
    r._decode_netem(back, r.tc_options(obj))
    assert back == {'kind': 'netem', 'limit': 1000, 'delay': 20000, 'jitter': 2000, 'loss': 1.0,
                    'rate': 10000000}
    r, o = _q(kind='fq_codel', target='5ms')
    full = dict(r.defaults(o), **o)
    back = {'kind': 'fq_codel'}
    r._decode_codel(back, r.tc_options(full))
    # sent as the microseconds that land on the kernel's 1024 ns unit of 4999 us
    assert back['target'] == 5000 == codel_send(4999) and 'flows' in back
    back = {'kind': 'fq_codel'}
    r._decode_codel(back, r.tc_options(full, 'change'))
    assert 'flows' not in back  # the kernel refuses a flows change: it is not sent


@pytest.mark.parametrize('item,field', [
    ({'kind': 'prio', 'bands': 1}, 'bands'), ({'kind': 'prio', 'priomap': [5]}, 'priomap'),
    ({'kind': 'tbf', 'rate': '1mbit', 'burst': 1000, 'limit': 1, 'peakrate': '2mbit'}, 'mtu'),
    ({'kind': 'tbf', 'rate': '2mbit', 'burst': 1000, 'limit': 1, 'peakrate': '1mbit', 'mtu': 1500}, 'peakrate'),
    ({'kind': 'netem', 'loss': '120%'}, 'loss'), ({'kind': 'netem', 'rate': 1}, 'rate'),
    ({'kind': 'fq_codel', 'flows': 0}, 'flows'), ({'kind': 'sfq', 'bands': 3}, 'bands'),
    ({'kind': 'cake', 'bandwidth': 'fast'}, 'bandwidth'), ({'kind': 'hfsc', 'default': 'zz'}, 'default'),
    ({'kind': 'htb', 'default': '-1'}, 'default'), ({'kind': 'hfsc', 'default': '-0x5'}, 'default')])
def test_qdisc_bad_input(item, field):
    with pytest.raises(EdgenetError) as e:
        _q(**item)
    assert e.value.field == field


@pytest.mark.parametrize('rate', [8000, 1000000, 1500000, 987654320, 20000000000, 34359738360])
def test_tbf_bucket_sizes_as_the_kernel_keeps_them(rate):
    """tbf_size is the largest size whose bucket the kernel keeps as the same ticks (psched_l2t_ns, then ns >> 6);
    the size tc prints for those ticks (whole microseconds) is a smaller bucket at high rates."""
    for size in (1, 1500, 1600, 10240, 101000, 1 << 20):
        ticks = _tc.tbf_ticks(rate, size)
        if ticks >= 1 << 31:
            continue  # (a bucket of more than 137 s: the dump's u32 runs out)
        kept = _tc.tbf_size(rate, ticks)
        assert kept >= size and _tc.tbf_ticks(rate, kept) == ticks and _tc.tbf_ticks(rate, kept + 1) > ticks
    assert _tc.tbf_ticks(20000000000, 100000) < _tc.tbf_ticks(20000000000, 101000) == 631
    if rate <= 1000000:  # a byte lasts more than a tick: a bucket between two sizes is none of them
        assert _tc.tbf_size(rate, _tc.tbf_ticks(rate, 1600) + 1) is None


@pytest.mark.parametrize('spec', [(2, 8, 64), (2, 0, 0), (1, 24, 0), (1, 0, 96), (2, 40, 1000), (0, 18, 64)])
@pytest.mark.parametrize('rate', [8000, 1500000, 10000000, 987654320, 20000000000])
def test_tbf_bucket_sizes_with_a_link_layer(rate, spec):
    """With a ratespec's link layer, overhead and mpu the kernel times the adjusted length (psched_l2t_ns: plus the
    overhead, at least the mpu, ATM cells of 53 bytes for every 48 begun); tbf_size is still the largest size of the
    same ticks, and every size below it down to the next bucket's has those ticks too."""
    atm, overhead, mpu = spec[0] == 2, spec[1], spec[2]
    assert _tc.wire_len(100, spec) == (-(-max(100 + overhead, mpu) // 48) * 53 if atm else max(100 + overhead, mpu))
    for size in (1, 64, 1500, 1600, 10240, 101000, 1 << 20):
        if _tc.wire_len(size, spec) * 8.0 / rate > 130:
            continue  # (a bucket of more than 137 s: the dump's u32 runs out)
        ticks = _tc.tbf_ticks(rate, size, spec)
        assert ticks == _tc.tbf_ticks(rate, _tc.wire_len(size, spec))
        kept = _tc.tbf_size(rate, ticks, spec)
        if kept is None:  # (only a size below the mpu's: no largest size is one of its bucket's alone)
            assert _tc.wire_len(size, spec) == max(mpu, _tc.wire_len(size, spec)) and size + overhead <= mpu
            continue
        assert kept >= size and _tc.tbf_ticks(rate, kept, spec) == ticks and _tc.tbf_ticks(rate, kept + 1, spec) > ticks
    # the bucket tc makes of 10240 bytes at 10mbit with mpu 64 overhead 8 linklayer atm, which tc prints as 11341
    ticks = _tc.tbf_ticks(10000000, 10240, (2, 8, 64))
    assert _tc.xmitsize(1250000, ticks) == 11341 and _tc.tbf_size(10000000, ticks, (2, 8, 64)) == 10264


def test_tbf_merged_change_sends_the_kept_bucket():
    r = TcQdisc()
    ticks = _tc.tbf_ticks(20000000000, 101000)  # as the kernel dumps a bucket made from 101000 bytes
    have = {'dev': 'd0', 'parent': 'root', 'handle': '1:', 'kind': 'tbf', 'rate': 20000000000,
            'burst': _tc.xmitsize(2500000000, ticks), 'limit': 200000}
    r._ticks[(('d0', 'root'), 'burst')] = ticks
    assert have['burst'] == 100000  # what tc prints, and gathered returns
    want = r.normalize({'dev': 'd0', 'handle': '1:', 'kind': 'tbf', 'limit': 210000}, None)
    want['parent'] = 'root'
    ops = r.plan_change(have, r.reconcile(have, r.overlay(have, want)), None)
    assert [op.action for op in ops] == ['change'] and ops[0].after['burst'] == 100000
    sent = _tc.get_u32(_tc.nlas(r.tc_options(ops[0].after, 'change')), 6)  # TCA_TBF_BURST
    assert _tc.tbf_ticks(20000000000, sent) == ticks and 101000 <= sent < 101160
    assert r.render(_Ctx(), ops[0])[0].endswith('tbf rate 20000000000bit burst %d limit 210000' % sent)


class _Ctx(object):
    @staticmethod
    def cmd(tool, *args):
        return ' '.join([tool] + [str(a) for a in args])


def test_merged_kind_change_starts_from_the_new_kinds_defaults():
    r = TcQdisc()
    have = {'dev': 'd0', 'parent': 'root', 'handle': '1:', 'kind': 'tbf', 'rate': 1000000, 'burst': 10240,
            'limit': 50000}
    assert r.overlay(have, {'dev': 'd0', 'parent': 'root', 'kind': 'bfifo'}) == \
        {'dev': 'd0', 'parent': 'root', 'handle': '1:', 'kind': 'bfifo', 'limit': 1514000}
    assert r.overlay(have, {'dev': 'd0', 'parent': 'root', 'kind': 'tbf', 'limit': 1}) == dict(have, limit=1)


def _c(**kw):
    r = TcClass()
    return r, r.normalize(dict(kw, dev='d0', classid='1:10', parent='1:'), None)


def test_class_kinds_and_encoders():
    r, o = _c(rt={'m2': '1mbit'}, ls={'m1': '2mbit', 'd': '10ms', 'm2': '1mbit'})
    assert o['kind'] == 'hfsc' and o['rt'] == {'m1': 0, 'd': 0, 'm2': 1000000}
    a = _tc.nlas(r.tc_options(o))
    assert struct.unpack('<III', a[2]) == (250000, 10000, 125000) and 3 not in a
    back = {}
    r._decode_hfsc(back, a)
    assert back == {'rt': o['rt'], 'ls': o['ls']}
    r, o = _c(sc={'m2': '1mbit'})
    assert o['rt'] == o['ls'] and 'sc' not in o
    r, o = _c(weight=10, lmax=3000)
    assert o['kind'] == 'qfq' and _tc.nlas(r.tc_options(o)) == {1: struct.pack('<I', 10), 2: struct.pack('<I', 3000)}
    r, o = _c(kind='drr', quantum=3000)
    assert r.tc_options(o) == _tc.nla_u32(1, 3000)
    r, o = _c(rate='1mbit', overhead=24)
    full = dict(r.defaults(o), **o)
    back = {'dev': 'd0', 'classid': '1:10'}
    r._decode_htb(back, _tc.nlas(r.tc_options(full)))
    assert back['overhead'] == 24 and back['rate'] == 1000000 and back['burst'] == full['burst']


@pytest.mark.parametrize('rate,ceil', [('1mbit', None), ('100kbps', '1gbit'), ('1gbit', None), ('1.5gbit', '2gbit'),
                                       ('10gbit', None), ('33333kbit', '77777kbit')])
def test_htb_default_buckets_are_sent_as_tc_sends_them(rate, ceil):
    # q_htb.c: buffer = tc_calc_xmittime(rate, rate / get_hz() + mtu 1600), the time truncated to whole
    # microseconds before it becomes ticks; the printed default (a size) sent again would lose one more
    r, o = _c(rate=rate, **({'ceil': ceil} if ceil else {}))
    full = dict(r.defaults(o), **o)
    buffer_, cbuffer = struct.unpack_from('<II', _tc.nlas(r.tc_options(full))[1], 24)
    clock = _tc._clock()

    def tc_default(bits):
        rb = bits // 8
        return int(int(1e6 * (rb // clock['hz'] + 1600) / rb) * clock['tick_in_usec'])
    assert (buffer_, cbuffer) == (tc_default(full['rate']), tc_default(full['ceil']))
    # a burst given by the user is sent as that size
    given = dict(full, burst=20000, cburst=30000)
    buffer_, cbuffer = struct.unpack_from('<II', _tc.nlas(r.tc_options(given))[1], 24)
    assert (buffer_, cbuffer) == (_tc.xmittime(full['rate'] // 8, 20000), _tc.xmittime(full['ceil'] // 8, 30000))


@pytest.mark.parametrize('item,field', [
    ({'weight': 1025}, 'weight'), ({'weight': 0}, 'weight'), ({'lmax': 100}, 'lmax'),
    ({'kind': 'qfq', 'rate': '1mbit'}, 'rate'), ({'rt': {'m2': 0}}, 'rt.m2'), ({'sc': {'m2': '1mbit'}, 'rt': {'m2': 1}}, 'sc'),
    ({'rate': '1mbit', 'overhead': 70000}, 'overhead')])
def test_class_bad_input(item, field):
    with pytest.raises(EdgenetError) as e:
        _c(**item)
    assert e.value.field == field


def test_memoized_parsing_keeps_errors_and_types():
    # a value parsed once is the same value again; a refused value is refused every time, naming each caller's
    # field; a bool is never taken for the int it equals
    assert _tc.rate('1gbit') == _tc.rate('1gbit') == 1000000000
    for field in ('rate', 'ceil'):
        with pytest.raises(EdgenetError) as e:
            _tc.rate('1qbit', field)
        assert e.value.field == field
    assert _tc.size(1) == 1
    with pytest.raises(EdgenetError):
        _tc.size(True)
    assert _tc.parse_handle('1:10', 'classid', minor=True) == '1:10'
    with pytest.raises(EdgenetError) as e:
        _tc.parse_handle('1:10', 'parent', minor=False)  # the same text, another rule
    assert e.value.field == 'parent'
    with pytest.raises(EdgenetError):
        _tc.parse_handle(['1:'], 'parent')  # unhashable: parsed (and refused) as before


def test_htb_class_options_layout():
    # the precompiled TCA_HTB_PARMS is two struct tc_ratespec, then buffer, cbuffer, quantum, level, prio
    r = TcClass()
    o = dict(r.defaults({'dev': 'd0', 'classid': '1:10', 'kind': 'htb', 'rate': 8000000, 'ceil': 16000000}),
             dev='d0', classid='1:10', parent='1:', kind='htb', rate=8000000, prio=3, overhead=4)
    a = _tc.nlas(r.tc_options(o))
    parms = a[1]
    assert parms[:12] == _tc.ratespec(1000000, 4) and parms[12:24] == _tc.ratespec(2000000, 4)
    assert struct.unpack_from('<IIIII', parms, 24) == (_tc.xmittime(1000000, o['burst']),
                                                       _tc.xmittime(2000000, o['cburst']), o['quantum'], 0, 3)
    back = {'dev': 'd0', 'classid': '1:10'}
    r._decode_htb(back, a)
    assert [back[f] for f in ('rate', 'ceil', 'prio', 'quantum', 'overhead')] == [8000000, 16000000, 3, o['quantum'], 4]
    assert back['burst'] == _tc.roundtrip(8000000, o['burst']) and back['cburst'] == _tc.roundtrip(16000000, o['cburst'])
