# -*- coding: utf-8 -*-
"""testinfra, over SSH into the lab host: tc shows the trees converge.yml asked the qos role for."""

import json
import re


def test_htb_tree(host):
    qdisc = host.check_output('tc -d qdisc show dev qos0')
    assert re.search(r'qdisc htb 1: root .*default 0x30', qdisc), qdisc
    classes = host.check_output('tc -d class show dev qos0')
    assert len(re.findall(r'^class htb ', classes, re.M)) == 4, classes
    assert re.search(r'class htb 1:1 root .*rate 10Mbit ceil 10Mbit', classes), classes
    assert re.search(r'class htb 1:20 parent 1:1 prio 1 .*rate 6Mbit ceil 10Mbit', classes), classes


def test_u32_filters(host):
    shown = json.loads(host.check_output('tc -j filter show dev qos0'))
    flows = sorted((f['pref'], f['options']['flowid']) for f in shown if f.get('options', {}).get('flowid'))
    assert flows == [(1, '1:10'), (2, '1:20')], shown
    text = host.check_output('tc -d filter show dev qos0')
    assert re.search(r'match 00b80000/00fc0000 at 0', text), text  # DSCP 46 (EF)
    assert re.search(r'match 00000016/0000ffff at 20', text), text  # TCP port 22


def test_tbf(host):
    qdisc = host.check_output('tc -d qdisc show dev qos1')
    assert re.search(r'qdisc tbf 2: root .*rate 5Mbit burst 20Kb', qdisc), qdisc
