# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""YAML text of a module's ``before``/``after`` for ``--diff``, without PyYAML.

Importing PyYAML and running its emitter cost a changed task 20-40 ms of the managed host's CPU, every
task of every host in a ``--check --diff`` run over a fleet.  The objects are plain data (lists, dicts,
strings, numbers, booleans), so a block emitter of a few lines writes the same text PyYAML's
``safe_dump(default_flow_style=False, sort_keys=False)`` does: mappings in their own key order, lists
of mappings as ``- key: value`` (not indented under their key), and a string quoted whenever YAML would
read it as something else (a number, ``1:10`` as a base-60 integer, ``yes``, a trailing ``:``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import re

_PLAIN = re.compile(r'^[A-Za-z0-9_./+:](?:[A-Za-z0-9_./:@+ -]*[A-Za-z0-9_./:@+-])?$')
# what YAML 1.1 resolves implicitly (PyYAML's resolver): ints (incl. base 60), floats, booleans, null, dates
_IMPLICIT = re.compile(r'''^(?:
    [-+]?0b[0-1_]+ | [-+]?0[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+ | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
  | [-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)? | [-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
  | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
  | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
  | yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
  | null|Null|NULL|~
  | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*
  | [0-9][0-9_]*[eE][-+]?[0-9]+
)$''', re.X)


def scalar(value):
    """One scalar as YAML text."""
    if value is None:
        return 'null'
    if value is True:
        return 'true'
    if value is False:
        return 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return '.nan'
        if math.isinf(value):
            return '.inf' if value > 0 else '-.inf'
        text = repr(value).lower()
        if '.' not in text and 'e' in text:
            text = text.replace('e', '.0e', 1)  # YAML 1.1 reads 1e-05 as a string
        return text
    text = str(value)
    if _PLAIN.match(text) and not text.endswith(':') and ': ' not in text and not _IMPLICIT.match(text):
        return text
    if all(' ' <= c <= '~' for c in text):
        return "'%s'" % text.replace("'", "''")
    return json.dumps(text)


def _emit(value, indent, out, in_list=False):
    pad = ' ' * indent
    if isinstance(value, dict):
        if not value:
            out.append('{}')
            return
        first = True
        for key, item in value.items():
            lead = '' if (first and in_list) else pad
            first = False
            out.append('%s%s:' % (lead, scalar(key)))
            if isinstance(item, dict) and item:
                out.append('\n')
                _emit(item, indent + 2, out)
            elif isinstance(item, list) and item:
                out.append('\n')
                _emit(item, indent, out)  # PyYAML: a list under a key is not indented
            else:
                out.append(' ')
                _emit(item, indent + 2, out)
                out.append('\n')
        return
    if isinstance(value, list):
        if not value:
            out.append('[]')
            return
        first = True
        for item in value:
            out.append('- ' if (first and in_list) else '%s- ' % pad)
            first = False
            if item and isinstance(item, (dict, list)):
                _emit(item, indent + 2, out, in_list=True)
            else:
                _emit(item, indent + 2, out)
                out.append('\n')
        return
    out.append(scalar(value))


def dump(value):
    """The YAML document of ``value``, ending in a newline (``[]\\n`` for an empty list)."""
    out = []
    _emit(value, 0, out)
    text = ''.join(out)
    return text if text.endswith('\n') else text + '\n'
