# -*- coding: utf-8 -*-
"""_tc: rates, sizes, times and handles parsed exactly as tc (iproute2) parses them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _tc
from ansible_collections.edgenet.linux.plugins.module_utils._errors import EdgenetError


@pytest.mark.parametrize('text,bits', [
    ('10mbit', 10000000), ('1.5gbit', 1500000000), ('100kbps', 800000), ('8000bit', 8000),
    ('8000', 8000),  # a bare number is bits per second (tc get_rate64), checked against tc on this host
    (1000, 1000), ('1001bit', 1000),  # the kernel keeps whole bytes per second
    ('1Kibit', 1024), ('1MBps', 8000000), ('1mibps', 8 * 1024 * 1024), ('2TBit', 2000000000000),
    ('256KBit', 256000), (' 1.5mbit ', 1500000),
])
def test_rate(text, bits):
    assert _tc.rate(text) == bits


@pytest.mark.parametrize('text', ['', 'fast', '10 furlongs', '10mbitt', '-1mbit', '7bit', '0', True])
def test_rate_bad(text):
    with pytest.raises(EdgenetError) as e:
        _tc.rate(text, 'ceil')
    assert e.value.field == 'ceil'


@pytest.mark.parametrize('text,n', [
    ('1540', 1540), ('1540b', 1540), ('10kb', 10240), ('10k', 10240), ('1mb', 1048576), ('1m', 1048576),
    ('1gb', 1024 ** 3), ('8kbit', 1024), ('1mbit', 131072), (1600, 1600), ('1.5kb', 1536),
])
def test_size(text, n):
    assert _tc.size(text) == n


@pytest.mark.parametrize('text', ['10 kbps', 'big', '5gb', '-1'])
def test_size_bad(text):
    with pytest.raises(EdgenetError) as e:
        _tc.size(text, 'burst')
    assert e.value.field == 'burst'


@pytest.mark.parametrize('text,us', [
    ('10ms', 10000), ('1s', 1000000), ('100us', 100), ('100', 100), ('1.5ms', 1500), ('2sec', 2000000),
    ('3msecs', 3000), (250, 250),
])
def test_time(text, us):
    assert _tc.time(text) == us


@pytest.mark.parametrize('text', ['10min', 'soon', '1h'])
def test_time_bad(text):
    with pytest.raises(EdgenetError) as e:
        _tc.time(text)
    assert e.value.field == 'latency'


def test_ticks_match_tc_on_this_clock():
    # values read back from the kernel after `tc class add ... htb rate 1.5mbit` (default burst 1600 bytes)
    if _tc._clock()['tick_in_usec'] != 15.625:
        pytest.fail('this test expects the usual high-resolution scheduler clock (/proc/net/psched)')
    assert _tc.xmittime(187500, 1600) == 133328
    assert _tc.xmitsize(187500, 133328) == 1599  # what tc prints
    assert _tc.roundtrip(1500000, 1600) == 1599
    # TBF: tc lets the kernel compute the bucket (853333 ticks); pyroute2 truncates (853328): same bucket
    assert _tc.same_bucket(1500000, 10240, 853333) and _tc.same_bucket(1500000, 10240, 853328)
    assert _tc.same_bucket(1500000, 10239, 853328)  # the size tc prints, fed back
    assert not _tc.same_bucket(1500000, 10300, 853328)


@pytest.mark.parametrize('text,minor,out', [
    ('1:', False, '1:'), ('0001:', False, '1:'), ('1:10', True, '1:10'), ('A:Bc', True, 'a:bc'),
    ('1:0', None, '1:'),
])
def test_handle(text, minor, out):
    assert _tc.parse_handle(text, 'handle', minor=minor) == out
    assert _tc.handle_text(_tc.handle_int(out)) == out


@pytest.mark.parametrize('text,minor', [('1', None), ('0:', None), ('1:10', False), ('1:', True), ('x:', None),
                                        ('12345:', None), ('ffff:', False),
                                        # what int(x, 16) would take but tc does not: sign, underscore, 0x, spaces
                                        # inside, a second colon, no major
                                        ('+1:1', None), ('1_0:1', None), ('0x1:1', None), ('1: 1', None),
                                        ('1:1:', None), (':1', None), ('1:10000', None)])
def test_handle_bad(text, minor):
    with pytest.raises(EdgenetError):
        _tc.parse_handle(text, 'classid', minor=minor)
