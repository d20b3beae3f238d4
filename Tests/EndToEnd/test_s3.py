"""Heaps in S3 (--s3-bucket, --s3-prefix) against a real SeaweedFS that checks signatures: stored
and resumed through the bucket, damaged objects refused, S3 going away and coming back, bad
credentials and buckets refused at start, two servers storing one heap at once."""
import asyncio
import subprocess

import pytest

import conftest
from conftest import raw_server, run, run_js, start_fails
from s3_server import SECRET_KEY, seaweedfs


@pytest.fixture
def aws(s3, monkeypatch, tmp_path, binary):
    """The server's environment pointed at the session's SeaweedFS (servers run over HTTP, so
    they inherit it), with no ~/.aws files of the machine's."""
    monkeypatch.setattr(conftest, "current_transport", "http")
    monkeypatch.setenv("HOME", str(tmp_path))
    for name, value in s3.environment().items():
        monkeypatch.setenv(name, value)
    return s3


def in_bucket(bucket, tmp_path, *args):
    return raw_server("--s3-bucket", bucket, "--session-db-path", str(tmp_path / "sessions"), *args)


def test_heaps_are_objects_in_the_bucket_and_resume_after_a_restart(aws, tmp_path):
    bucket = aws.new_bucket()

    async def first_server():
        async with in_bucket(bucket, tmp_path) as session:
            first, is_error = await run_js(session, "var x = 1; x")
            assert (first["status"], first["result"], is_error) == ("completed", 1, False)
            return first["heap"]

    async def second_server(heap):
        async with in_bucket(bucket, tmp_path) as session:
            content, is_error = await run_js(session, "x += 1; x", heap=heap)
            assert (content["result"], is_error) == (2, False)
            return content["heap"]

    heap = run(first_server())
    assert aws.keys(bucket) == [heap]
    assert not (tmp_path / heap).exists()
    second = run(second_server(heap))
    assert aws.keys(bucket) == sorted([heap, second])


def test_two_servers_storing_the_same_heap_at_once_leave_one_object(aws, tmp_path):
    bucket = aws.new_bucket()

    async def one_server(name):
        async with raw_server("--s3-bucket", bucket, "--session-db-path", str(tmp_path / name)) as session:
            contents = await asyncio.gather(*(run_js(session, "var shared = [1, 2, 3]; shared.length") for _ in range(3)))
            assert all((content["result"], is_error) == (3, False) for content, is_error in contents)
            return {content["heap"] for content, _ in contents}

    async def scenario():
        return await asyncio.gather(one_server("a"), one_server("b"))

    first, second = run(scenario())
    assert first == second and len(first) == 1
    assert aws.keys(bucket) == sorted(first)


def test_the_prefix_is_put_before_every_key(aws, tmp_path):
    bucket = aws.new_bucket()

    async def scenario():
        async with in_bucket(bucket, tmp_path, "--s3-prefix", "team a/heaps/") as session:
            first, _ = await run_js(session, "var y = 'kept'")
            content, is_error = await run_js(session, "y", heap=first["heap"])
            assert (content["result"], is_error) == ("kept", False)
            return first["heap"], content["heap"]

    heaps = run(scenario())
    assert aws.keys(bucket) == sorted(f"team a/heaps/{heap}" for heap in set(heaps))


def test_a_damaged_object_is_refused_by_bucket_and_key_and_left_alone(aws, tmp_path):
    bucket = aws.new_bucket()
    client = aws.client()

    async def scenario():
        async with in_bucket(bucket, tmp_path, "--s3-prefix", "p/") as session:
            base, _ = await run_js(session, "var v = 1")
            key = f"p/{base['heap']}"
            damaged = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
            damaged[-5] ^= 0xFF
            client.put_object(Bucket=bucket, Key=key, Body=bytes(damaged))
            content, is_error = await run_js(session, "v", heap=base["heap"])
            assert is_error and f"heap {base['heap']} cannot be used" in content["error"]
            assert f"s3://{bucket}/{key} is damaged" in content["error"]
            assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == bytes(damaged)
            fresh, is_error = await run_js(session, "2 + 2")
            assert (fresh["result"], is_error) == (4, False)
    run(scenario())


def test_s3_going_away_fails_runs_with_the_reason_and_they_work_once_it_is_back(s3, monkeypatch, tmp_path, binary):
    monkeypatch.setattr(conftest, "current_transport", "http")
    monkeypatch.setenv("HOME", str(tmp_path))
    with seaweedfs() as own:
        for name, value in own.environment().items():
            monkeypatch.setenv(name, value)
        bucket = own.new_bucket()

        async def scenario():
            async with in_bucket(bucket, tmp_path) as session:
                first, _ = await run_js(session, "var z = 1; z")
                own.stop()
                content, is_error = await run_js(session, "z + 1", heap=first["heap"])
                assert is_error and f"S3 GET s3://{bucket}/{first['heap']} failed" in content["error"]
                assert "after 5 attempts" in content["error"] and "Failed to connect" in content["error"]
                stored, _ = await run_js(session, "var w = 5", inline_wait_ms=30000)
                assert stored["status"] == "failed", stored
                assert "the new heap could not be stored" in stored["error"] and f"s3://{bucket}/" in stored["error"]
                own.start()
                content, is_error = await run_js(session, "z + 1", heap=first["heap"])
                assert (content["result"], is_error) == (2, False)
                return first["heap"], content["heap"]

        heaps = run(scenario())
        assert own.keys(bucket) == sorted(set(heaps))


def test_missing_or_wrong_credentials_and_unknown_buckets_are_refused_at_start(aws, monkeypatch, tmp_path):
    bucket = aws.new_bucket()
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    message = start_fails("--s3-bucket", bucket, "--session-db-path", str(tmp_path))
    assert f"--s3-bucket {bucket}: the bucket '{bucket}' refuses these credentials (403" in message
    assert "SignatureDoesNotMatch" in message and "not-the-secret" not in message
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    message = start_fails("--s3-bucket", "no-such-bucket-here", "--session-db-path", str(tmp_path))
    assert "the bucket 'no-such-bucket-here' does not exist" in message
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    message = start_fails("--s3-bucket", bucket, "--session-db-path", str(tmp_path))
    assert "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in message


def test_credentials_from_a_profile_in_the_shared_files(aws, monkeypatch, tmp_path):
    bucket = aws.new_bucket()
    environment = aws.environment()
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text(
        f"[heaps]\naws_access_key_id = {environment['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {environment['AWS_SECRET_ACCESS_KEY']}\n")
    (tmp_path / ".aws" / "config").write_text(f"[profile heaps]\nendpoint_url = {environment['AWS_ENDPOINT_URL_S3']}\n")
    monkeypatch.setenv("AWS_PROFILE", "heaps")

    async def scenario():
        async with in_bucket(bucket, tmp_path) as session:
            content, is_error = await run_js(session, "'from a profile'")
            assert (content["result"], is_error) == ("from a profile", False)
            return content["heap"]

    heap = run(scenario())
    monkeypatch.setenv("AWS_PROFILE", "nobody")
    assert "AWS_PROFILE names the profile 'nobody'" in start_fails("--s3-bucket", bucket, "--session-db-path",
                                                                  str(tmp_path))
    monkeypatch.delenv("AWS_PROFILE")
    assert aws.keys(bucket) == [heap]


def test_the_cache_keeps_copies_answers_without_s3_and_refetches_a_damaged_copy(s3, monkeypatch, tmp_path, binary):
    monkeypatch.setattr(conftest, "current_transport", "http")
    monkeypatch.setenv("HOME", str(tmp_path))
    cache = tmp_path / "cache"
    with seaweedfs() as own:
        for name, value in own.environment().items():
            monkeypatch.setenv(name, value)
        bucket = own.new_bucket()

        async def scenario():
            async with in_bucket(bucket, tmp_path, "--cache-dir", str(cache)) as session:
                first, _ = await run_js(session, "var c = 1; c")
                heap = first["heap"]
                assert own.keys(bucket) == [heap] and (cache / heap).is_file()
                # A damaged copy is dropped and the heap read again from the bucket.
                damaged = bytearray((cache / heap).read_bytes())
                damaged[-5] ^= 0xFF
                (cache / heap).write_bytes(bytes(damaged))
                second, is_error = await run_js(session, "c + 1", heap=heap)
                assert (second["result"], is_error) == (2, False)
                assert (cache / heap).read_bytes() != bytes(damaged)
                # With S3 gone, a cached heap still resumes; storing the new one is what fails.
                own.stop()
                content, _ = await run_js(session, "c + 2", heap=heap, inline_wait_ms=30000)
                assert "cannot be used" not in content.get("error", ""), content
                assert content["status"] == "failed" and "the new heap could not be stored" in content["error"]
                own.start()
                return heap, second["heap"]

        heaps = run(scenario())
        assert own.keys(bucket) == sorted(heaps)


def test_the_cache_stays_within_its_bound(aws, tmp_path):
    bucket = aws.new_bucket()
    cache = tmp_path / "cache"

    async def scenario():
        async with in_bucket(bucket, tmp_path, "--cache-dir", str(cache), "--cache-max-bytes", "400000") as session:
            heaps = []
            for index in range(6):
                content, is_error = await run_js(session, f"var big{index} = 'x'.repeat(60000) + {index}")
                assert not is_error, content
                heaps.append(content["heap"])
            return heaps

    heaps = run(scenario())
    cached = [path for path in cache.iterdir() if path.name in heaps]
    assert sum(path.stat().st_size for path in cache.iterdir()) <= 400000
    assert 0 < len(cached) < len(heaps)
    # The most recent heap is kept; every heap is in the bucket.
    assert (cache / heaps[-1]).is_file() and set(heaps) <= set(aws.keys(bucket))


def test_s3_flags_conflict_with_other_stores_and_are_checked(binary, tmp_path):
    for args, expected in [
        (["--stateless", "--s3-bucket", "heaps"], "--stateless and --s3-bucket conflict"),
        (["--s3-bucket", "heaps", "--directory-path", str(tmp_path)], "--s3-bucket and --directory-path conflict"),
        (["--s3-prefix", "p/"], "--s3-prefix needs --s3-bucket"),
        (["--s3-bucket", "Bad_Name"], "a bucket name is 3-63 lowercase letters"),
        (["--s3-bucket", "heaps", "--s3-prefix", "a/../b"], "no '.' or '..' segments"),
        (["--cache-dir", str(tmp_path)], "--cache-dir needs --s3-bucket"),
        (["--s3-bucket", "heaps", "--cache-max-bytes", "1000"], "--cache-max-bytes needs --cache-dir"),
        (["--s3-bucket", "heaps", "--cache-dir", str(tmp_path), "--cache-max-bytes", "0"],
         "--cache-max-bytes must be at least 1"),
    ]:
        completed = subprocess.run([binary, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
        assert completed.returncode != 0 and expected in completed.stderr, completed.stderr
