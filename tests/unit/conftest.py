# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests: the engine, the normalizers and the resources' pure parts, on in-memory data (no kernel).

They import the collection as ``ansible_collections.edgenet.linux``: run them from the installed copy
(``make unit``, or ``python -m pytest tests/unit`` in build/collections/ansible_collections/edgenet/linux).
Run from a checkout, they use the copy that ``make install`` put in build/collections.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def _collections_root():
    parts = HERE.split(os.sep)
    if 'ansible_collections' in parts:
        return os.sep.join(parts[:len(parts) - parts[::-1].index('ansible_collections') - 1])
    return os.path.abspath(os.path.join(HERE, '..', '..', 'build', 'collections'))


if _collections_root() not in sys.path:
    sys.path.insert(0, _collections_root())
