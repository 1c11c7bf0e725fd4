# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleet_diff: what changed (or would change) on every host, per module, and which hosts share a change set."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: fleet_diff
type: aggregate
short_description: a per-host, per-module summary of what changed or would change, with hosts grouped
version_added: 0.1.0
author: edgenet.linux maintainers (@edgenet)
description:
  - At the end of a playbook run, prints a table with one row per host and one column per module that
    changed something (or would have, under C(--check)), and the number of C(commands) each module reported
    for that host.
  - Then groups the hosts by their change set (the C(commands) lines of every task, in the order the host ran the
    tasks) and prints each distinct set once with the hosts that share it. A host that could not be reached, or had
    a failed task, is grouped only with hosts in the same condition.
  - A change whose result C(no_log) hides is listed as such (C(changed, output hidden by no_log)), without its
    commands.
  - The same data can be written as JSON and as Markdown, for a change review or a ticket.
  - Works with C(--check), with C(serial) (it sums every batch) and with loops (each item's C(commands) count).
  - Modules without C(commands) in their result appear in the table when they report C(changed).
requirements:
  - enable it in the configuration (C(callbacks_enabled = edgenet.linux.fleet_diff))
options:
  json_path:
    description:
      - Write the summary as JSON to this file at the end of the run.
      - Not written when unset or empty. C(~) is expanded; a relative path is taken from the current directory.
      - A regular file is replaced as a whole (written next to it, then renamed), also through a symbolic link (the
        link stays). Anything else that exists at the path (C(/dev/stdout), a FIFO) is written into, never replaced.
    type: str
    env:
      - name: EDGENET_FLEET_DIFF_JSON
    ini:
      - section: callback_fleet_diff
        key: json_path
  markdown_path:
    description:
      - Write the summary as Markdown to this file at the end of the run.
      - Not written when unset or empty; written as C(json_path) is.
    type: str
    env:
      - name: EDGENET_FLEET_DIFF_MARKDOWN
    ini:
      - section: callback_fleet_diff
        key: markdown_path
  show_commands:
    description:
      - Print the command lines of each change set under it.
      - When false only the table and the group sizes are printed (the files always have every line).
    type: bool
    default: true
    env:
      - name: EDGENET_FLEET_DIFF_SHOW_COMMANDS
    ini:
      - section: callback_fleet_diff
        key: show_commands
'''

import errno
import json
import os
import re

from ansible import context
from ansible.plugins.callback import CallbackBase

SHORT_PREFIXES = ('edgenet.linux.', 'ansible.builtin.', 'ansible.legacy.')
_BACKTICKS = re.compile('`+')
_MARKDOWN_SPECIAL = re.compile(r'[\\|`*]')


def _no_commands(module, result):
    """The change entry of a ``result`` that changed something without ``commands`` (hidden: no_log censored it)."""
    change = {'module': module, 'command': None}
    if 'censored' in result:
        change['hidden'] = True
    return change


def _md(text):
    """``text`` in a Markdown table cell or heading: its ``|``, backticks, ``*`` and backslashes escaped."""
    return _MARKDOWN_SPECIAL.sub(r'\\\g<0>', text)


def short_name(module):
    for prefix in SHORT_PREFIXES:
        if module.startswith(prefix):
            return module[len(prefix):]
    return module


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'edgenet.linux.fleet_diff'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        # host -> {'modules': {module: entry}, 'changes': [change, in the order the host ran its tasks],
        #          'failed': n, 'unreachable': bool}
        self.hosts = {}
        self.modules = []      # modules that changed something somewhere, in first-seen order
        self.playbooks = []
        self.check_mode = False

    # -- collecting ------------------------------------------------------------------------------------
    def v2_playbook_on_start(self, playbook):
        self.playbooks.append(os.path.basename(getattr(playbook, '_file_name', '') or ''))
        try:
            self.check_mode = bool(context.CLIARGS.get('check', False))
        except Exception:  # pylint: disable=broad-except
            self.check_mode = False

    def _host(self, name):
        return self.hosts.setdefault(name, {'modules': {}, 'changes': [], 'failed': 0, 'unreachable': False})

    @staticmethod
    def _module(result):
        task = result._task
        return getattr(task, 'resolved_action', None) or task.action

    @staticmethod
    def _changes(module, data):
        """(changed, commands, changes) of one result: its loop items' in order, or its own. A change without
        ``commands`` is one entry with command None (``hidden`` when no_log censored its result)."""
        items = data.get('results') if isinstance(data.get('results'), list) else [data]
        changed = bool(data.get('changed'))
        commands, changes = [], []
        for item in items:
            if not isinstance(item, dict):
                continue
            cmds = item.get('commands')
            cmds = [str(c) for c in cmds] if isinstance(cmds, list) else []
            commands.extend(cmds)
            changes.extend({'module': module, 'command': c} for c in cmds)
            if item.get('changed') and not cmds:
                changes.append(_no_commands(module, item))
            changed = changed or bool(item.get('changed'))
        if changed and not changes:  # (a loop whose items say nothing of it)
            changes.append(_no_commands(module, data))
        return changed, commands, changes

    def _record(self, result, failed=False):
        host = self._host(result._host.get_name())
        module = self._module(result)
        changed, commands, changes = self._changes(module, result._result)
        if failed:
            host['failed'] += 1
        if not (changed or commands or failed):
            return
        entry = host['modules'].setdefault(module, {'changed': False, 'failed': False, 'tasks': [], 'commands': []})
        entry['changed'] = entry['changed'] or changed
        entry['failed'] = entry['failed'] or failed
        entry['tasks'].append(result._task.get_name())
        entry['commands'].extend(commands)
        host['changes'].extend(changes)
        if module not in self.modules:
            self.modules.append(module)

    def v2_runner_on_ok(self, result):
        self._host(result._host.get_name())
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._host(result._host.get_name())

    def v2_runner_on_unreachable(self, result):
        self._host(result._host.get_name())['unreachable'] = True

    # -- summarizing -----------------------------------------------------------------------------------
    def summary(self):
        hosts = {}
        groups = {}
        by_command = {}
        for name in sorted(self.hosts):
            h = self.hosts[name]
            modules = {}
            for module in self.modules:
                entry = h['modules'].get(module)
                if entry:
                    modules[module] = {'changed': entry['changed'], 'failed': entry['failed'],
                                       'tasks': entry['tasks'], 'commands': entry['commands']}
            changes = [dict(c) for c in h['changes']]
            for change in changes:
                if change['command'] is not None:
                    by_command.setdefault((change['module'], change['command']), []).append(name)
            hosts[name] = {'changed': any(m['changed'] for m in modules.values()),
                           'commands': sum(len(m['commands']) for m in modules.values()),
                           'failed': h['failed'], 'unreachable': h['unreachable'], 'modules': modules}
            # (hosts that failed or could not be reached share a group only with hosts in the same condition)
            key = json.dumps([changes, h['unreachable'], bool(h['failed'])], sort_keys=True)
            group = groups.setdefault(key, {'hosts': [], 'changes': changes, 'unreachable': h['unreachable'],
                                            'failed': bool(h['failed'])})
            group['hosts'].append(name)
        group_list = sorted(groups.values(), key=lambda g: (-len(g['hosts']), g['hosts']))
        for g in group_list:
            g['count'] = len(g['hosts'])
        commands = [{'module': m, 'command': c, 'hosts': hs, 'count': len(hs)}
                    for (m, c), hs in sorted(by_command.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
        return {
            'version': 1,
            'check_mode': self.check_mode,
            'playbooks': self.playbooks,
            'modules': list(self.modules),
            'hosts': hosts,
            'totals': {'hosts': len(hosts), 'changed_hosts': sum(1 for h in hosts.values() if h['changed']),
                       'commands': sum(h['commands'] for h in hosts.values()),
                       'change_sets': sum(1 for g in group_list if g['changes'])},
            'groups': group_list,
            'commands': commands,
        }

    @staticmethod
    def _cell(entry):
        if not entry:
            return '-'
        if entry['failed']:
            return 'FAILED'
        if entry['commands']:
            return str(len(entry['commands']))
        return 'changed' if entry['changed'] else '-'

    def table(self, data):
        columns = [short_name(m) for m in data['modules']]
        head = ['host'] + columns + ['commands']
        rows = []
        for name, h in sorted(data['hosts'].items()):
            row = [name] + [self._cell(h['modules'].get(m)) for m in data['modules']]
            row.append('UNREACHABLE' if h['unreachable'] else str(h['commands']))
            rows.append(row)
        widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]

        def fmt(row):
            return '  '.join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

        return [fmt(head), fmt(['-' * w for w in widths])] + [fmt(r) for r in rows]

    @staticmethod
    def _condition(group):
        """What a group's hosts share besides their changes: unreachable, a failed task."""
        said = [what for what in ('unreachable', 'failed') if group[what]]
        return ' [%s]' % ', '.join(said).upper() if said else ''

    @staticmethod
    def _line(change):
        if change['command'] is None:
            return '%s: changed (%s)' % (short_name(change['module']), 'output hidden by no_log' if change.get('hidden')
                                         else 'no commands reported')
        return '%s: %s' % (short_name(change['module']), change['command'])

    def text(self, data, show_commands=True):
        verb = 'would change' if data['check_mode'] else 'changed'
        t = data['totals']
        lines = ['FLEET DIFF (%s): %d of %d host(s) %s, %d command(s), %d distinct change set(s)'
                 % ('check mode' if data['check_mode'] else 'applied', t['changed_hosts'], t['hosts'], verb,
                    t['commands'], t['change_sets'])]
        if not data['hosts']:
            return lines
        lines.append('')
        lines.extend(self.table(data))
        lines.append('')
        for g in data['groups']:
            who = '%d host%s (%s)%s' % (g['count'], '' if g['count'] == 1 else 's', ', '.join(g['hosts']),
                                        self._condition(g))
            if not g['changes']:
                lines.append('%s: no changes' % who)
                continue
            lines.append('%s: %d change(s)' % (who, len(g['changes'])))
            if show_commands:
                lines.extend('    ' + self._line(c) for c in g['changes'])
        shared = [c for c in data['commands'] if c['count'] > 1]
        if show_commands and shared and t['change_sets'] > 1:
            lines += ['', 'Commands that several hosts share:']
            lines.extend('%d hosts: %s' % (c['count'], self._line(c)) for c in shared)
        for what in ('failed', 'unreachable'):
            bad = [name for name, h in sorted(data['hosts'].items()) if h[what]]
            if bad:
                lines.append('%s: %s' % (what.upper(), ', '.join(bad)))
        return lines

    def markdown(self, data):
        verb = 'would change' if data['check_mode'] else 'changed'
        t = data['totals']
        out = ['# Fleet diff', '',
               '%d of %d host(s) %s, %d command(s), %d distinct change set(s).'
               % (t['changed_hosts'], t['hosts'], verb, t['commands'], t['change_sets']), '']
        head = ['host'] + [short_name(m) for m in data['modules']] + ['commands']
        out.append('| ' + ' | '.join(head) + ' |')
        out.append('|' + ' --- |' * len(head))
        for name, h in sorted(data['hosts'].items()):
            row = [_md(name)] + [self._cell(h['modules'].get(m)) for m in data['modules']]
            row.append('UNREACHABLE' if h['unreachable'] else str(h['commands']))
            out.append('| ' + ' | '.join(row) + ' |')
        out += ['', '## Change sets', '']
        for g in data['groups']:
            out.append('### %d host(s): %s%s' % (g['count'], ', '.join(_md(h) for h in g['hosts']),
                                                 self._condition(g)))
            out.append('')
            if not g['changes']:
                out += ['No changes.', '']
                continue
            lines = [self._line(c) for c in g['changes']]
            fence = '`' * max([3] + [len(run) + 1 for line in lines for run in _BACKTICKS.findall(line)])
            out.append(fence)
            out.extend(lines)
            out += [fence, '']
        return '\n'.join(out) + '\n'

    @staticmethod
    def _write(path, text):
        """Write ``text`` to ``path``: a regular file (or none yet) is replaced whole, through a symbolic link too
        (the link stays); anything else that exists there (a device such as /dev/stdout, a FIFO) is written into."""
        path = os.path.abspath(os.path.expanduser(path))
        if os.path.isdir(path):
            raise IOError(errno.EISDIR, 'it is a directory')
        if os.path.exists(path) and not os.path.isfile(path) or os.path.islink(path) and not os.path.exists(path):
            with open(path, 'w') as f:  # (a device, a FIFO; a dangling link: made where it points)
                f.write(text)
            return
        path = os.path.realpath(path)
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory)
        tmp = '%s.tmp.%d' % (path, os.getpid())
        try:
            with open(tmp, 'w') as f:
                f.write(text)
            os.rename(tmp, path)
        except BaseException:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            raise

    def v2_playbook_on_stats(self, stats):
        data = self.summary()
        self._display.banner('FLEET DIFF')
        for line in self.text(data, show_commands=self.get_option('show_commands')):
            self._display.display(line)
        for option, render in (('json_path', lambda d: json.dumps(d, indent=2, sort_keys=True) + '\n'),
                               ('markdown_path', self.markdown)):
            path = self.get_option(option)
            if not path:
                continue
            try:
                self._write(path, render(data))
            except (IOError, OSError) as e:
                self._display.warning('fleet_diff: cannot write %s: %s' % (path, e))
