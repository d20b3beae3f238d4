"""Heap retention (issue 19 item 5): a background sweep deletes heaps that nothing references and
no run used lately, --heap-store-max-bytes bounds the store, least recently used unreferenced heaps
first, and delete_heap drops a caller's own heap, never another namespace's. Over a heap directory
and an S3 bucket (SeaweedFS), and over SQLite and PostgreSQL metadata."""
import time
from pathlib import Path

import httpx
import pytest

from conftest import http_server, start_fails
from test_auth import AUDIENCE, ISSUER, KeySet, jwks_server

# A fraction of a day the tests can wait out: about 1.7 s.
RETENTION_DAYS = "0.00002"
NOT_FOUND = "was not found in the heap store"


class HeapDirectory:
    def __init__(self, path: Path):
        self.path = path

    def flags(self) -> list[str]:
        return ["--directory-path", str(self.path)]

    def sizes(self) -> dict[str, int]:
        if not self.path.exists():
            return {}
        return {file.name: file.stat().st_size for file in self.path.iterdir() if not file.name.startswith(".")}


class HeapBucket:
    def __init__(self, s3):
        self.s3, self.bucket = s3, s3.new_bucket()

    def flags(self) -> list[str]:
        return ["--s3-bucket", self.bucket]

    def sizes(self) -> dict[str, int]:
        listed = self.s3.client().list_objects_v2(Bucket=self.bucket)
        return {item["Key"]: item["Size"] for item in listed.get("Contents", [])}


@pytest.fixture(params=["directory", "s3"])
def heap_store(request, tmp_path, monkeypatch):
    if request.param == "directory":
        return HeapDirectory(tmp_path / "heaps")
    s3 = request.getfixturevalue("s3")
    monkeypatch.setenv("HOME", str(tmp_path))
    for name, value in s3.environment().items():
        monkeypatch.setenv(name, value)
    return HeapBucket(s3)


def exec_js(url: str, code: str, token: str | None = None, **body) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    # Waits for the run to end, however busy the machine.
    return httpx.post(f"{url}/api/exec", json={"code": code, "inline_wait_ms": 30000, **body}, headers=headers,
                      timeout=60)


def new_heap(url: str, code: str, **body) -> str:
    answer = exec_js(url, code, **body).json()
    assert answer["status"] == "completed", answer
    return answer["heap"]


def delete_heap(url: str, heap: str, token: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.delete(f"{url}/api/heaps/{heap}", headers=headers, timeout=30)


def wait_until(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the sweep did not get there in time"
        time.sleep(0.2)


def test_a_sweep_deletes_old_unreferenced_heaps_and_keeps_referenced_ones(heap_store, metadata_store):
    """Every run stored a heap and none was ever deleted. Now, with one execution kept, the heaps a
    session log, a tag or the kept execution name stay; the other old one goes, and resuming it
    fails as not found."""
    with http_server("--http-port", "0", *heap_store.flags(), *metadata_store, "--max-stored-executions", "1",
                     "--heap-retention-days", RETENTION_DAYS, "--heap-sweep-interval", "0.2") as url:
        logged = new_heap(url, "var logged = 1", session="kept")
        tagged = new_heap(url, "var tagged = 2", tags={"keep": "yes"})
        old = new_heap(url, "var old = 3")
        newest = new_heap(url, "var newest = 4")
        assert len({logged, tagged, old, newest}) == 4
        wait_until(lambda: old not in heap_store.sizes())
        time.sleep(1)  # more sweeps: nothing else goes
        assert set(heap_store.sizes()) == {logged, tagged, newest}

        gone = exec_js(url, "old", heap=old)
        assert gone.status_code == 404 and NOT_FOUND in gone.json()["error"]
        resumed = exec_js(url, "logged", heap=logged, session="kept").json()
        assert (resumed["status"], resumed["result"]) == ("completed", 1)


def test_a_heap_resumed_lately_is_kept_past_its_age(heap_store, metadata_store):
    with http_server("--http-port", "0", *heap_store.flags(), *metadata_store, "--max-stored-executions", "1",
                     "--heap-retention-days", "0.00005", "--heap-sweep-interval", "0.2") as url:
        used, unused = new_heap(url, "var used = 1"), new_heap(url, "var unused = 2")
        new_heap(url, "var last = 3")  # the kept execution now names this one
        started = time.monotonic()
        while time.monotonic() - started < 6:
            # Resuming from `used` every second keeps it (the runs fail, so they store no heap).
            assert exec_js(url, "throw 1", heap=used).json()["status"] == "failed"
            time.sleep(1)
        stored = heap_store.sizes()
        assert used in stored and unused not in stored


def test_the_size_bound_deletes_least_recently_used_unreferenced_heaps_until_under(heap_store, tmp_path):
    metadata = ["--session-db-path", str(tmp_path / "sessions")]
    with http_server("--http-port", "0", *heap_store.flags(), *metadata, "--max-stored-executions", "1") as url:
        tagged = new_heap(url, "var tagged = 'x'.repeat(1000)", tags={"keep": "yes"})
        made = []
        for n in range(4):
            time.sleep(1.1)  # S3 records store times to the second: one heap per second orders them
            made.append(new_heap(url, f"var heap{n} = {n}"))
    sizes = heap_store.sizes()
    assert set(sizes) == {tagged, *made}
    # Room for the tagged heap and the two used last, so the two oldest unreferenced heaps go.
    bound = sizes[tagged] + sizes[made[2]] + sizes[made[3]]
    with http_server("--http-port", "0", *heap_store.flags(), *metadata, "--max-stored-executions", "1",
                     "--heap-store-max-bytes", str(bound), "--heap-sweep-interval", "0.2") as url:
        wait_until(lambda: made[1] not in heap_store.sizes())
        time.sleep(1)
        assert set(heap_store.sizes()) == {tagged, made[2], made[3]}
        assert sum(heap_store.sizes().values()) <= bound
    # Bounded below what the referenced heaps alone take: every unreferenced one goes, they stay.
    with http_server("--http-port", "0", *heap_store.flags(), *metadata, "--max-stored-executions", "1",
                     "--heap-store-max-bytes", "1", "--heap-sweep-interval", "0.2") as url:
        wait_until(lambda: set(heap_store.sizes()) == {tagged, made[3]})
        answer = exec_js(url, "tagged.length", heap=tagged).json()
        assert answer.get("result") == 1000, answer


@pytest.fixture
def two_callers(tmp_path, metadata_store):
    """A stateful server checking tokens: yields (url, alice's token, bob's token, the heap directory)."""
    keys = KeySet()
    heaps = tmp_path / "heaps"
    with jwks_server(keys) as jwks_url:
        with http_server("--http-port", "0", "--jwks-url", jwks_url, "--jwt-issuer", ISSUER, "--jwt-audience", AUDIENCE,
                         "--directory-path", str(heaps), *metadata_store) as url:
            yield url, keys.token("alice"), keys.token("bob"), heaps


def test_delete_heap_deletes_the_callers_heap_and_not_another_namespaces(two_callers):
    url, alice, bob = two_callers[:3]
    heaps = two_callers[3]
    secret = exec_js(url, "var secret = 'alice'", alice).json()["heap"]

    refused = delete_heap(url, secret, bob)
    assert refused.status_code == 404 and NOT_FOUND in refused.json()["error"], refused.text
    assert (heaps / secret).exists(), "bob's request left alice's heap alone"

    deleted = delete_heap(url, secret, alice)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"heap": secret, "deleted": True, "message": "The heap was deleted."}
    assert not (heaps / secret).exists()
    gone = exec_js(url, "secret", alice, heap=secret)
    assert gone.status_code == 404 and NOT_FOUND in gone.json()["error"]
    again = delete_heap(url, secret, alice)
    assert again.status_code == 404 and NOT_FOUND in again.json()["error"]

    bad = delete_heap(url, "not-a-heap", alice)
    assert bad.status_code == 400 and "delete_heap: parameter 'heap'" in bad.json()["error"], bad.text


def test_a_heap_both_made_stays_for_the_other_when_one_deletes_it(two_callers):
    url, alice, bob = two_callers[:3]
    heaps = two_callers[3]
    shared = {exec_js(url, "var same = [1, 2, 3]", token, tags={"who": name}).json()["heap"]
              for name, token in [("alice", alice), ("bob", bob)]}
    assert len(shared) == 1, "identical content is one heap"
    heap = shared.pop()

    dropped = delete_heap(url, heap, bob).json()
    assert dropped["deleted"] is False and "bytes stay" in dropped["message"], dropped
    assert (heaps / heap).exists()
    assert exec_js(url, "same", bob, heap=heap).status_code == 404, "bob can no longer resume it"
    kept = exec_js(url, "same.length", alice, heap=heap).json()
    assert (kept["status"], kept["result"]) == ("completed", 3)

    assert delete_heap(url, heap, alice).json()["deleted"] is True
    assert not (heaps / heap).exists()


@pytest.mark.parametrize("args, message", [
    (["--heap-retention-days", "0"], "--heap-retention-days must be a number of days above 0 (fractions allowed), got 0.0"),
    (["--heap-retention-days", "nan"], "--heap-retention-days must be a number of days above 0"),
    (["--heap-store-max-bytes", "0"], "--heap-store-max-bytes must be at least 1 (bytes), got 0"),
    (["--heap-sweep-interval", "5"], "--heap-sweep-interval needs --heap-retention-days or --heap-store-max-bytes"),
    (["--heap-retention-days", "1", "--heap-sweep-interval", "0.01"], "--heap-sweep-interval must be 0.1 to 604800"),
    (["--stateless", "--heap-store-max-bytes", "100"], "--stateless conflicts with --heap-retention-days"),
    (["--max-stored-executions", "0"], "--max-stored-executions must be between 1 and 10000000; got 0"),
])
def test_bad_retention_flags_are_refused_with_the_reason(args, message):
    assert message in start_fails(*args)
