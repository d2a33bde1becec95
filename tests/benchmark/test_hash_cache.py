"""FileHashCache: no rehash while a file is unchanged, rehash when it changes, persistence, corrupt files,
two processes sharing one cache file."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from benchmark.hash_cache import CACHE_FORMAT, FileHashCache, HashCacheWarning

REPO = Path(__file__).resolve().parents[2]
PAST_NS = 1_600_000_000 * 10**9      # 2020-09-13: far outside any racy window


def write(path: Path, data: bytes, mtime_ns: int = PAST_NS) -> Path:
    path.write_bytes(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


class CountingHasher:
    def __init__(self):
        self.calls = 0

    def __call__(self, path: Path) -> str:
        self.calls += 1
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_unchanged_file_is_not_rehashed(tmp_path):
    f = write(tmp_path / "a.png", b"abc" * 1000)
    hasher = CountingHasher()
    cache = FileHashCache(hasher=hasher)
    first = cache(f)
    assert first == hashlib.sha256(b"abc" * 1000).hexdigest()
    assert cache.sha256(tmp_path / "." / "a.png") == first          # same resolved path
    assert (cache.hits, cache.misses, hasher.calls, len(cache)) == (1, 1, 1, 1)


def test_changed_file_is_rehashed(tmp_path):
    f = write(tmp_path / "a.png", b"one")
    cache = FileHashCache(hasher=CountingHasher())
    assert cache(f) == hashlib.sha256(b"one").hexdigest()
    write(f, b"three")                                              # other size, same mtime
    assert cache(f) == hashlib.sha256(b"three").hexdigest() and cache.misses == 2
    write(f, b"threE", mtime_ns=PAST_NS + 10**9)                     # same size, other mtime
    assert cache(f) == hashlib.sha256(b"threE").hexdigest() and cache.misses == 3
    time.sleep(0.05)       # let the file system's clock tick (coarse ctime granularity)
    write(f, b"thrEE", mtime_ns=PAST_NS + 10**9)                     # same size and mtime (cp -p): ctime differs
    assert cache(f) == hashlib.sha256(b"thrEE").hexdigest() and cache.misses == 4
    assert cache.hits == 0


def test_recently_modified_file_is_not_kept(tmp_path):
    f = tmp_path / "new.png"
    f.write_bytes(b"fresh")                                         # mtime = now
    cache = FileHashCache(hasher=CountingHasher(), racy_window_s=3600)
    assert cache(f) == cache(f) == hashlib.sha256(b"fresh").hexdigest()
    assert (cache.hits, cache.misses, len(cache)) == (0, 2, 0)
    with pytest.raises(ValueError, match="racy_window_s must be >= 0 seconds, got -1"):
        FileHashCache(racy_window_s=-1)


def test_persisted_cache_avoids_rehash_in_a_new_process_object(tmp_path):
    store = tmp_path / "cache" / "file-hashes.json"
    files = [write(tmp_path / f"{i}.png", bytes([i]) * 100) for i in range(5)]
    with FileHashCache(store) as cache:                              # default hasher and atomic writer
        digests = [cache(f) for f in files]
    doc = json.loads(store.read_text())
    assert doc["format"] == CACHE_FORMAT and len(doc["files"]) == 5
    hasher = CountingHasher()
    again = FileHashCache(store, hasher=hasher)
    assert [again(f) for f in files] == digests
    assert (again.hits, again.misses, hasher.calls) == (5, 0, 0)
    assert again.save() is False                                     # nothing new: no write


def test_missing_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        FileHashCache()(tmp_path / "nope.png")


@pytest.mark.parametrize("content, why", [
    ("{not json", "not valid JSON"),
    ('{"format": 99, "algorithm": "sha256", "files": {}}', "expected a sha256 hash cache of format 1"),
    ("[1, 2, 3]", "expected a sha256 hash cache"),
    (b"\xff\xfe\x00garbage", "cannot be read"),
])
def test_corrupt_cache_file_is_ignored_with_a_warning(tmp_path, content, why):
    store = tmp_path / "file-hashes.json"
    store.write_bytes(content if isinstance(content, bytes) else content.encode())
    f = write(tmp_path / "a.png", b"data")
    with pytest.warns(HashCacheWarning, match=why):
        cache = FileHashCache(store)
    assert cache(f) == hashlib.sha256(b"data").hexdigest()
    assert cache.save() is True
    assert len(json.loads(store.read_text())["files"]) == 1           # rewritten, valid


def test_malformed_entries_are_skipped(tmp_path):
    f = write(tmp_path / "a.png", b"data")
    good = FileHashCache(tmp_path / "c.json")
    good(f)
    good.save()
    doc = json.loads((tmp_path / "c.json").read_text())
    doc["files"]["/elsewhere/x.png"] = [1, 2, "x", "nothex"]
    (tmp_path / "c.json").write_text(json.dumps(doc))
    hasher = CountingHasher()
    with pytest.warns(HashCacheWarning, match="1 malformed entry; skipping them"):
        cache = FileHashCache(tmp_path / "c.json", hasher=hasher)
    cache(f)
    assert hasher.calls == 0 and len(cache) == 1


def test_save_merges_what_another_cache_saved_and_drops_stale_entries(tmp_path):
    store = tmp_path / "c.json"
    f1, f2, f3 = (write(tmp_path / f"{i}.png", bytes([i]) * 10) for i in (1, 2, 3))
    a, b = FileHashCache(store), FileHashCache(store)
    a(f1)
    a(f3)
    a.save()
    b(f2)
    f3.unlink()
    b.save()                                  # last writer: keeps a's f1, its own f2; drops the gone f3
    assert sorted(Path(k).name for k in json.loads(store.read_text())["files"]) == ["1.png", "2.png"]


def test_failed_write_keeps_the_old_file_and_the_digests(tmp_path):
    store = tmp_path / "c.json"
    f = write(tmp_path / "a.png", b"data")
    FileHashCache(store).save()               # nothing learnt: no file
    assert not store.exists()

    def full_disk(path, text):
        raise OSError(28, "No space left on device", str(path))

    cache = FileHashCache(store, writer=full_disk)
    cache(f)
    with pytest.raises(OSError, match="No space left"):
        cache.save()
    assert not store.exists() and cache(f) == hashlib.sha256(b"data").hexdigest() and cache.hits == 1


WORKER = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from benchmark.hash_cache import FileHashCache
    store, folder, tag = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    for i in range(15):
        f = folder / f"{tag}{i}.bin"
        f.write_bytes(os.urandom(20000))
        os.utime(f, ns=(1_600_000_000 * 10**9, 1_600_000_000 * 10**9))
        cache = FileHashCache(store)
        cache(f)
        cache.save()
""")


@pytest.mark.slow
def test_two_processes_share_one_cache_file_without_tearing_it(tmp_path):
    store = tmp_path / "c.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(store), str(tmp_path), tag], env=env)
             for tag in ("a", "b")]
    reads = 0
    while any(p.poll() is None for p in procs):
        try:
            text = store.read_text()
        except FileNotFoundError:
            continue
        json.loads(text)                      # never a torn or half-written file
        reads += 1
        time.sleep(0.002)
    assert [p.returncode for p in procs] == [0, 0]
    names = {Path(k).name for k in json.loads(store.read_text())["files"]}
    assert {"a14.bin", "b14.bin"} & names   # the last writer's entries are there (and maybe more)
    assert names <= {f"{t}{i}.bin" for t in "ab" for i in range(15)}


def test_a_file_reached_through_a_symlinked_folder_is_one_entry(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    f = write(real / "a.png", b"data")
    link = tmp_path / "link"
    try:
        link.symlink_to(real, target_is_directory=True)
    except (OSError, NotImplementedError) as exc:
        pytest.skip(f"cannot create a symlink here: {exc}")
    cache = FileHashCache(hasher=CountingHasher())
    assert cache(link / "a.png") == cache(f) == cache(tmp_path / "link" / ".." / "real" / "a.png")
    assert (cache.misses, cache.hits, len(cache)) == (1, 2, 1)
