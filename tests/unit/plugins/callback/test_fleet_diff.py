# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet_diff callback on results made here: the order of a host's change set, no_log results, the grouping of
hosts that failed or could not be reached, Markdown escaping, and how the JSON/Markdown files are written. A real
ansible-playbook run with the callback over a lab is in tests/integration/test_fleet_diff.py (and test_fleet_scale.py,
test_runner.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import threading

import pytest

from ansible_collections.edgenet.linux.plugins.callback import fleet_diff
from ansible_collections.edgenet.linux.plugins.callback.fleet_diff import CallbackModule

CENSORED = "the output has been hidden due to the fact that 'no_log: true' was specified for this result"


class _Host(object):
    def __init__(self, name):
        self.name = name

    def get_name(self):
        return self.name


class _Task(object):
    def __init__(self, name, action):
        self.name = name
        self.action = action
        self.resolved_action = action

    def get_name(self):
        return self.name


class _Result(object):
    def __init__(self, host, task, action, result):
        self._host = _Host(host)
        self._task = _Task(task, action)
        self._result = result


def _ok(cb, host, task, action, **result):
    cb.v2_runner_on_ok(_Result(host, task, action, result))


@pytest.fixture
def cb():
    return CallbackModule()


def test_a_change_set_is_in_the_order_the_host_ran_its_tasks_not_grouped_by_module(cb):
    _ok(cb, 'h1', 'Links', 'edgenet.linux.link', changed=True, commands=['ip link add br0 type bridge'])
    _ok(cb, 'h1', 'Addresses', 'edgenet.linux.address', changed=True, commands=['ip address add 198.18.0.1/24 dev br0'])
    _ok(cb, 'h1', 'More links', 'edgenet.linux.link', changed=True, commands=['ip link set br0 up'])
    # h2 ran the same commands in another order: another change set
    _ok(cb, 'h2', 'Addresses', 'edgenet.linux.address', changed=True, commands=['ip address add 198.18.0.1/24 dev br0'])
    _ok(cb, 'h2', 'Links', 'edgenet.linux.link', changed=True, commands=['ip link add br0 type bridge'])
    _ok(cb, 'h2', 'More links', 'edgenet.linux.link', changed=True, commands=['ip link set br0 up'])
    data = cb.summary()
    by_host = dict((g['hosts'][0], [c['command'] for c in g['changes']]) for g in data['groups'])
    assert by_host['h1'] == ['ip link add br0 type bridge', 'ip address add 198.18.0.1/24 dev br0',
                             'ip link set br0 up']
    assert by_host['h2'] == ['ip address add 198.18.0.1/24 dev br0', 'ip link add br0 type bridge',
                             'ip link set br0 up']
    assert data['totals']['change_sets'] == 2
    # the per-module figures are unchanged
    link = data['hosts']['h1']['modules']['edgenet.linux.link']
    assert link['commands'] == ['ip link add br0 type bridge', 'ip link set br0 up']
    assert data['hosts']['h1']['commands'] == 3


def test_a_change_no_log_hides_is_listed_as_hidden_even_beside_commands_of_the_same_module(cb):
    _ok(cb, 'h1', 'Links', 'edgenet.linux.link', changed=True, commands=['ip link add br0 type bridge'])
    _ok(cb, 'h1', 'Secret link', 'edgenet.linux.link', changed=True, censored=CENSORED)
    # a loop with one censored item
    _ok(cb, 'h1', 'Loop', 'edgenet.linux.route', changed=True,
        results=[{'changed': True, 'commands': ['ip route add 198.18.9.0/24 dev br0']},
                 {'changed': True, 'censored': CENSORED},
                 {'changed': False, 'commands': []}])
    data = cb.summary()
    lines = cb.text(data)
    assert '    link: ip link add br0 type bridge' in lines
    assert '    link: changed (output hidden by no_log)' in lines
    assert '    route: ip route add 198.18.9.0/24 dev br0' in lines
    assert '    route: changed (output hidden by no_log)' in lines
    assert lines.index('    link: changed (output hidden by no_log)') < lines.index(
        '    route: ip route add 198.18.9.0/24 dev br0')
    assert data['groups'][0]['changes'][1] == {'module': 'edgenet.linux.link', 'command': None, 'hidden': True}
    # a change without commands that no_log did not hide says so
    _ok(cb, 'h2', 'Something', 'ansible.builtin.copy', changed=True, dest='/etc/x')
    assert '    copy: changed (no commands reported)' in cb.text(cb.summary())


def test_hosts_that_failed_or_could_not_be_reached_are_not_grouped_with_healthy_ones(cb):
    _ok(cb, 'ok1', 'Links', 'edgenet.linux.link', changed=False, commands=[])
    _ok(cb, 'ok2', 'Links', 'edgenet.linux.link', changed=False, commands=[])
    cb.v2_runner_on_unreachable(_Result('gone', 'Links', 'edgenet.linux.link', {'unreachable': True, 'msg': 'x'}))
    cb.v2_runner_on_failed(_Result('bad', 'Links', 'edgenet.linux.link', {'failed': True, 'msg': 'refused'}))
    data = cb.summary()
    groups = dict((tuple(g['hosts']), g) for g in data['groups'])
    assert set(groups) == {('ok1', 'ok2'), ('gone',), ('bad',)}
    assert groups[('gone',)]['unreachable'] and not groups[('ok1', 'ok2')]['unreachable']
    assert groups[('bad',)]['failed']
    lines = cb.text(data)
    assert '2 hosts (ok1, ok2): no changes' in lines
    assert '1 host (gone) [UNREACHABLE]: no changes' in lines
    assert '1 host (bad) [FAILED]: no changes' in lines  # (a refused call rolls back: no commands)
    assert '### 1 host(s): gone [UNREACHABLE]' in cb.markdown(data)


def test_markdown_escapes_host_names_and_fences_commands_with_backticks(cb):
    _ok(cb, 'a|b*c', 'Links', 'edgenet.linux.link', changed=True, commands=['echo ```x``` `y`'])
    md = cb.markdown(cb.summary())
    assert '| a\\|b\\*c |' in md
    assert '### 1 host(s): a\\|b\\*c' in md
    # the fence is longer than any run of backticks in the lines it holds
    assert '````\nlink: echo ```x``` `y`\n````' in md


def test_a_regular_file_is_replaced_whole_and_nothing_is_left_beside_it(tmp_path):
    path = tmp_path / 'plan.json'
    path.write_text('old')
    CallbackModule._write(str(path), 'new\n')
    assert path.read_text() == 'new\n'
    assert sorted(os.listdir(str(tmp_path))) == ['plan.json']
    # a file in a directory that does not exist yet
    deep = tmp_path / 'a' / 'b' / 'plan.md'
    CallbackModule._write(str(deep), 'md\n')
    assert deep.read_text() == 'md\n'


def test_a_symbolic_link_stays_and_its_target_gets_the_text(tmp_path):
    (tmp_path / 'real').mkdir()
    target = tmp_path / 'real' / 'target.json'
    target.write_text('old')
    link = tmp_path / 'link.json'
    link.symlink_to(target)
    CallbackModule._write(str(link), 'new\n')
    assert link.is_symlink() and target.read_text() == 'new\n'
    assert sorted(os.listdir(str(tmp_path / 'real'))) == ['target.json']
    # a dangling link: the file is made where it points
    dangling = tmp_path / 'dangling.json'
    dangling.symlink_to(tmp_path / 'real' / 'made.json')
    CallbackModule._write(str(dangling), 'made\n')
    assert dangling.is_symlink() and (tmp_path / 'real' / 'made.json').read_text() == 'made\n'


def test_a_fifo_or_a_device_is_written_into_never_replaced(tmp_path):
    fifo = tmp_path / 'fifo'
    os.mkfifo(str(fifo))
    got = []
    reader = threading.Thread(target=lambda: got.append(open(str(fifo)).read()))
    reader.daemon = True  # (a write that replaced the FIFO would leave it blocked in open())
    reader.start()
    CallbackModule._write(str(fifo), 'through the fifo\n')
    reader.join(10)
    assert got == ['through the fifo\n'] and stat.S_ISFIFO(os.stat(str(fifo)).st_mode)
    # a character device (written into, as a shell redirection does)
    CallbackModule._write(os.devnull, 'nothing\n')
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert sorted(os.listdir(str(tmp_path))) == ['fifo']


def test_a_directory_is_refused_and_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    with pytest.raises(IOError) as e:
        CallbackModule._write(str(tmp_path), 'x')
    assert 'directory' in str(e.value)
    assert os.listdir(str(tmp_path)) == []

    def refuse(*args):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(fleet_diff.os, 'rename', refuse)
    with pytest.raises(OSError):
        CallbackModule._write(str(tmp_path / 'plan.json'), 'x')
    assert os.listdir(str(tmp_path)) == []


def test_the_files_are_written_at_the_end_and_an_empty_path_writes_nothing(cb, tmp_path, monkeypatch):
    _ok(cb, 'h1', 'Links', 'edgenet.linux.link', changed=True, commands=['ip link add br0 type bridge'])
    options = {'json_path': str(tmp_path / 'plan.json'), 'markdown_path': '', 'show_commands': True}
    monkeypatch.setattr(cb, 'get_option', options.get)
    monkeypatch.chdir(str(tmp_path))
    shown = []
    monkeypatch.setattr(cb._display, 'display', lambda msg, *a, **k: shown.append(msg))
    monkeypatch.setattr(cb._display, 'banner', lambda msg, *a, **k: shown.append(msg))
    warned = []
    monkeypatch.setattr(cb._display, 'warning', lambda msg, *a, **k: warned.append(msg))
    cb.v2_playbook_on_stats(None)
    assert json.loads((tmp_path / 'plan.json').read_text())['totals']['commands'] == 1
    assert sorted(os.listdir(str(tmp_path))) == ['plan.json'] and warned == []
    assert '    link: ip link add br0 type bridge' in shown
