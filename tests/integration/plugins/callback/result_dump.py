# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: appends every task result, as JSON lines, to $EDGENET_RESULTS."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: result_dump
type: aggregate
short_description: write task results as JSON lines (tests only)
description: Appends one JSON line per task result to the file named by the EDGENET_RESULTS environment variable.
'''

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'result_dump'
    CALLBACK_NEEDS_ENABLED = True

    def _dump(self, result, status):
        path = os.environ.get('EDGENET_RESULTS')
        if not path:
            return
        data = dict(result._result)
        data.pop('invocation', None)
        data['failed'] = status == 'failed'
        line = {'task': result._task.get_name(), 'host': result._host.get_name(), 'status': status,
                'result': data}
        with open(path, 'a') as f:
            f.write(json.dumps(line, default=str) + '\n')

    def v2_runner_on_ok(self, result):
        self._dump(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._dump(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._dump(result, 'skipped')
