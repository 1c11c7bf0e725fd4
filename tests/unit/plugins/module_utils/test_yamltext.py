# -*- coding: utf-8 -*-
"""_yamltext: the diff's YAML without PyYAML on the host; PyYAML (on the controller side of the test) is the
oracle: every document loads back to the same data, and real module data gives the same text."""

import yaml

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _yamltext

TRICKY = ['e0', '1:', '1:10', 'ffff:', 'ffff:fff1', '02:00:00:00:00:10', '198.18.0.1/24', 'fd42:ed6e::1/64', '::800',
          '800::10', '100-200', 'true', 'yes', 'no', 'on', 'off', 'null', '~', '', ' ', ' a', 'a ', 'a b', "it's",
          'x: y', 'a #b', '#x', '-', '-x', '-1', '+1', '0x10', '010', '0b101', '1_000', '1e3', '1.5', '.5', '.inf',
          '2026-11-21', '59:59', '1:2:3', '@x', '%x', '!x', '&x', '*x', '[x', '{x', '|', '>', '?x', 'tab\there',
          'line\nbreak', 'é', 'x:', 'y', 'n', '10mbit', 'ip', 'a/b', 'a@b']


@pytest.mark.parametrize('text', TRICKY)
def test_every_string_loads_back_as_itself(text):
    for doc in ([{'dev': text, text or 'k': [text, {'x': text}]}], {'k': text}, [text]):
        assert yaml.safe_load(_yamltext.dump(doc)) == doc, _yamltext.dump(doc)


def test_module_data_is_pyyaml_block_style_exactly():
    objs = [
        {'dev': 'e0', 'parent': '1:', 'protocol': 'ip', 'prio': 10, 'kind': 'u32', 'handle': '::800',
         'classid': '1:10', 'match': {'dst': '198.19.0.1/32', 'ip_proto': 'tcp', 'dport': 443},
         'actions': [{'kind': 'police', 'rate': 8000000, 'burst': 10240, 'conform': 'ok', 'exceed': 'drop'}]},
        {'ifname': 'vx100', 'kind': 'vxlan', 'state': 'up', 'mtu': 1450, 'address': '02:00:00:00:00:10',
         'vxlan': {'id': 100, 'local': '198.18.0.1', 'port': 4789, 'learning': False, 'vnifilter': True}},
        {'dev': 'br0', 'vlans': ['10', '20-30'], 'tunnels': [[10, 10010]], 'nested': [[], {}], 'none': None,
         'ratio': 0.5, 'loss': 1e-05, 'big': 1e+300, 'inf': float('inf')},
    ]
    assert _yamltext.dump(objs) == yaml.safe_dump(objs, default_flow_style=False, sort_keys=False)
    assert _yamltext.dump([]) == '[]\n' and _yamltext.dump({}) == '{}\n'
