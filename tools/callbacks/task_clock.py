# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A callback for tools/measure_task_overhead.py, not part of the collection's plugins: it writes the
controller's clock at the start of each task, and at the end of the play, to the JSON file named by
TASK_CLOCK_OUT, as ``[[task name, monotonic seconds], ..., ['', end]]``. One task's cost is then the time
from its start to the next one's: forking the worker, the connection, the module on the host and the
result back, as the playbook pays it, with ansible-playbook's own start-up and exit left out.

Enabled with ANSIBLE_CALLBACK_PLUGINS=<this directory> and ANSIBLE_CALLBACKS_ENABLED=task_clock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: task_clock
type: aggregate
short_description: the start time of every task, for the per-task bench
description:
  - Writes the controller's monotonic clock at each task start and at the end of the play to the file
    named by the environment variable TASK_CLOCK_OUT.
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'task_clock'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.marks = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.marks.append([task.get_name(), time.monotonic()])

    def v2_playbook_on_stats(self, stats):
        self.marks.append(['', time.monotonic()])
        with open(os.environ['TASK_CLOCK_OUT'], 'w') as f:
            json.dump(self.marks, f)
