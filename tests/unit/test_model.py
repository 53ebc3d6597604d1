"""Deterministic document ids."""

from __future__ import annotations

from logferry.model import IdMaker, ObjectRef, doc_id

REF = ObjectRef("bucket", "AWSLogs/x.log.gz", etag='"abc"')


def test_ids_are_deterministic_and_distinct_per_offset_and_sub_index() -> None:
    make = IdMaker(REF)
    ids = {make(offset, sub) for offset in range(0, 5000, 7) for sub in range(3)}
    assert len(ids) == len(range(0, 5000, 7)) * 3
    unquoted = ObjectRef("bucket", "AWSLogs/x.log.gz", etag="abc")
    assert make(42) == doc_id(REF, 42) == IdMaker(unquoted)(42)


def test_ids_differ_by_bucket_key_and_revision() -> None:
    others = [
        ObjectRef("bucket2", REF.key, etag="abc"),
        ObjectRef(REF.bucket, REF.key + "x", etag="abc"),
        ObjectRef(REF.bucket, REF.key, etag="abd"),
        ObjectRef(REF.bucket, REF.key, version_id="v1", etag="abc"),
    ]
    assert len({doc_id(ref, 0) for ref in [REF, *others]}) == 5


def test_ids_fit_the_search_engines_limit() -> None:
    assert len(doc_id(REF, 2**40, 99)) < 64
