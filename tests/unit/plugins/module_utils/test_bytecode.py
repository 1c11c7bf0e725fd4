# -*- coding: utf-8 -*-
# Copyright: edgenet.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_bytecode: the code a module compiled is kept per host and used again only when it is certainly this source's
code for this Python, in a directory only the user may write to; a cache that fails any check is compiled around,
never an error. Writes wait for allow_writes (a module calls it only outside check mode).

How a module's payload uses it (the finder of _zipimport): tests/unit/plugins/module_utils/test_zipimport.py and
tests/integration/test_payload_compile.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import sys

import pytest

from ansible_collections.edgenet.linux.plugins.module_utils import _bytecode

NAME = 'ansible_collections.edgenet.linux.plugins.module_utils.zz_made_up'
SOURCE = b'VALUE = 41\n\n\ndef inner():\n    def deeper():\n        return VALUE + 1\n    return deeper\n'
FILE = NAME + '.' + sys.implementation.cache_tag


def code_of(source=SOURCE, origin='/payload-1.zip/zz_made_up.py'):
    return compile(source, origin, 'exec', dont_inherit=True)


def run(code):
    scope = {}
    exec(code, scope)  # pylint: disable=exec-used
    return scope


@pytest.fixture
def where(tmp_path):
    return str(tmp_path / 'home' / '.cache' / 'edgenet.linux' / 'bytecode')


def written(where):
    cache = _bytecode.Cache(where)
    cache.allow_writes()
    cache.store(NAME, SOURCE, code_of())
    return os.path.join(where, FILE)


@pytest.fixture(autouse=True)
def bytecode_may_be_written(monkeypatch):
    monkeypatch.setattr(sys, 'dont_write_bytecode', False)  # (the test run's environment may set it)


def test_cache_dir_from_the_environment_or_the_users_home():
    assert _bytecode.cache_dir({'EDGENET_BYTECODE_CACHE': '/var/cache/x'}) == '/var/cache/x'
    for off in ('off', 'OFF', '', ' ', 'no', 'false', '0', 'none'):
        assert _bytecode.cache_dir({'EDGENET_BYTECODE_CACHE': off}) is None, off
    assert _bytecode.cache_dir({'EDGENET_BYTECODE_CACHE': 'relative/dir'}) is None  # (where would that be?)
    import pwd  # pylint: disable=import-outside-toplevel

    home = pwd.getpwuid(os.geteuid()).pw_dir
    # $HOME is not read: become may leave it at another user's home
    assert _bytecode.cache_dir({'HOME': '/somewhere/else'}) == os.path.join(home, '.cache', 'edgenet.linux', 'bytecode')


def test_writes_wait_for_allow_writes_then_the_code_is_used_again(where):
    cache = _bytecode.Cache(where)
    assert cache.load(NAME, SOURCE, '/p.zip/x.py') is None  # nothing there yet; and nothing made by a read
    cache.store(NAME, SOURCE, code_of())
    assert not os.path.exists(where)  # check mode ends here: nothing written
    cache.allow_writes()
    path = os.path.join(where, FILE)
    assert stat.S_IMODE(os.stat(where).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(where) == [FILE]  # (no temporary file left)

    again = _bytecode.Cache(where).load(NAME, SOURCE, '/payload-2.zip/zz_made_up.py')
    assert again is not None
    scope = run(again)
    assert scope['VALUE'] == 41 and scope['inner']()() == 42
    # the file names are this payload's, nested functions too (tracebacks), not the one it was compiled in
    assert again.co_filename == '/payload-2.zip/zz_made_up.py'
    assert scope['inner'].__code__.co_filename == '/payload-2.zip/zz_made_up.py'
    assert scope['inner']().__code__.co_filename == '/payload-2.zip/zz_made_up.py'


def test_after_allow_writes_a_store_writes_at_once(where):
    cache = _bytecode.Cache(where)
    cache.allow_writes()
    cache.store(NAME, SOURCE, code_of())
    assert os.listdir(where) == [FILE]


def test_another_source_is_compiled_again_and_replaces_the_file(where):
    written(where)
    changed = SOURCE.replace(b'41', b'40')
    cache = _bytecode.Cache(where)
    assert cache.load(NAME, changed, '/p.zip/x.py') is None
    cache.allow_writes()
    cache.store(NAME, changed, code_of(changed))
    assert os.listdir(where) == [FILE]
    assert run(_bytecode.Cache(where).load(NAME, changed, '/p.zip/x.py'))['VALUE'] == 40
    assert _bytecode.Cache(where).load(NAME, SOURCE, '/p.zip/x.py') is None


@pytest.mark.parametrize('damage', ['magic', 'hash', 'crc', 'torn', 'empty', 'garbage', 'not code'])
def test_a_file_that_is_not_this_sources_code_for_this_python_is_not_used(where, damage):
    path = written(where)
    with open(path, 'rb') as f:
        data = bytearray(f.read())
    n = len(_bytecode.TAG)
    if damage == 'magic':  # another Python's bytecode
        data[n] ^= 0xff
    elif damage == 'hash':
        data[n + 4] ^= 0xff
    elif damage == 'crc':  # a byte of the code changed on disk
        data[-3] ^= 0xff
    elif damage == 'torn':
        data = data[:len(data) // 2]
    elif damage == 'empty':
        data = b''
    elif damage == 'garbage':
        data = os.urandom(len(data))
    else:  # a valid file whose marshal data is not a code object
        import marshal  # pylint: disable=import-outside-toplevel
        import zlib  # pylint: disable=import-outside-toplevel

        body = marshal.dumps({'not': 'code'})
        head = _bytecode.Cache(where)._header(SOURCE)  # pylint: disable=protected-access
        data = head + zlib.crc32(body).to_bytes(4, 'big') + body
    with open(path, 'wb') as f:
        f.write(bytes(data))
    assert _bytecode.Cache(where).load(NAME, SOURCE, '/p.zip/x.py') is None


def test_a_directory_others_may_write_to_is_not_used(where):
    path = written(where)
    os.chmod(where, 0o777)
    cache = _bytecode.Cache(where)
    assert cache.load(NAME, SOURCE, '/p.zip/x.py') is None
    cache.allow_writes()
    before = os.stat(path).st_mtime_ns
    cache.store(NAME, SOURCE.replace(b'41', b'7'), code_of(SOURCE.replace(b'41', b'7')))
    assert os.stat(path).st_mtime_ns == before and os.listdir(where) == [FILE]  # nothing written into it


def test_a_file_others_may_write_to_is_not_used(where):
    path = written(where)
    os.chmod(path, 0o666)
    assert _bytecode.Cache(where).load(NAME, SOURCE, '/p.zip/x.py') is None


def test_a_symlink_is_not_followed(where, tmp_path):
    path = written(where)
    # the directory as a symlink to a directory that has the file
    link = str(tmp_path / 'link')
    os.symlink(where, link)
    assert _bytecode.Cache(link).load(NAME, SOURCE, '/p.zip/x.py') is None
    cache = _bytecode.Cache(link)
    cache.allow_writes()
    cache.store(NAME + '2', SOURCE, code_of())
    assert sorted(os.listdir(where)) == [FILE]
    # the file as a symlink to a good file
    os.rename(path, path + '.real')
    os.symlink(path + '.real', path)
    assert _bytecode.Cache(where).load(NAME, SOURCE, '/p.zip/x.py') is None


def test_a_file_or_directory_of_another_user_is_not_used(where):
    assert os.geteuid() == 0, 'the tests run as root (README: Requirements); this one gives a file to another user'
    path = written(where)
    os.chown(path, 65534, 65534)
    assert _bytecode.Cache(where).load(NAME, SOURCE, '/p.zip/x.py') is None
    os.chown(path, 0, 0)
    assert _bytecode.Cache(where).load(NAME, SOURCE, '/p.zip/x.py') is not None
    os.chown(where, 65534, 65534)
    assert _bytecode.Cache(where).load(NAME, SOURCE, '/p.zip/x.py') is None


def test_dont_write_bytecode_is_honoured(where, monkeypatch):
    monkeypatch.setattr(sys, 'dont_write_bytecode', True)
    cache = _bytecode.Cache(where)
    cache.store(NAME, SOURCE, code_of())
    cache.allow_writes()
    assert not os.path.exists(where)


def test_a_cache_that_cannot_be_made_fails_nothing(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('')
    cache = _bytecode.Cache(str(blocker / 'bytecode'))  # under a file: cannot be made
    cache.allow_writes()
    cache.store(NAME, SOURCE, code_of())
    assert cache.load(NAME, SOURCE, '/p.zip/x.py') is None
    off = _bytecode.Cache(None)
    off.allow_writes()
    off.store(NAME, SOURCE, code_of())
    assert off.load(NAME, SOURCE, '/p.zip/x.py') is None
