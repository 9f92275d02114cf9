"""The manifest a selection task hands to the stage task, and the arguments of the two operators."""

from __future__ import annotations

import json

import pytest

from sparkify.operators import SelectNewObjectsOperator, StageToRedshiftOperator
from sparkify.s3copy.cached_staging import CachedStaging
from sparkify.s3copy.manifest import etags_key, is_empty_manifest, manifest_objects, selection_etags, selection_manifest
from sparkify.s3copy.objects import S3Object
from sparkify.s3copy.spec import Credentials

URI = "s3://sparkify-staging/manifests/m.manifest"
ROLE = Credentials(role_arn="arn:aws:iam::123456789012:role/copy")
OBJECTS = [S3Object("udacity-dend", "song_data/A/a.json", 120, "e1"), S3Object("other", "b.json", 7, "e2")]


def test_a_selection_manifest_holds_only_the_keys_redshift_documents_and_the_etags_go_beside_it():
    """COPY manifest keys: https://docs.aws.amazon.com/redshift/latest/dg/loading-data-files-using-manifest.html"""
    document = json.loads(selection_manifest(OBJECTS))
    assert set(document) == {"entries"}
    assert [set(entry) for entry in document["entries"]] == [{"url", "mandatory", "meta"}] * 2
    assert [set(entry["meta"]) for entry in document["entries"]] == [{"content_length"}] * 2
    assert document["entries"] == [
        {"url": "s3://udacity-dend/song_data/A/a.json", "mandatory": True, "meta": {"content_length": 120}},
        {"url": "s3://other/b.json", "mandatory": True, "meta": {"content_length": 7}},
    ]
    etags = selection_etags(OBJECTS)
    assert json.loads(etags) == {"s3://udacity-dend/song_data/A/a.json": "e1", "s3://other/b.json": "e2"}
    assert manifest_objects(selection_manifest(OBJECTS), etags, URI) == OBJECTS
    assert etags_key(URI) == URI + ".etags.json"


def test_nothing_selected_is_a_manifest_with_no_entries():
    assert json.loads(selection_manifest([])) == {"entries": []}
    assert is_empty_manifest(selection_manifest([]))
    assert manifest_objects(selection_manifest([]), None, URI) == []  # no ETags needed
    assert not is_empty_manifest(selection_manifest(OBJECTS))
    assert not is_empty_manifest(b"not json") and not is_empty_manifest(b'{"entries": null}')


@pytest.mark.parametrize(
    "document",
    [
        b"not json",
        b"[]",
        b'{"entries": [{"url": "s3://b/k", "mandatory": true}]}',  # no length
        b'{"entries": [{"url": "s3://b/k", "meta": {"content_length": "7"}}]}',
        b'{"entries": [{"url": "https://b/k", "meta": {"content_length": 7}}]}',
        b'{"entries": [{"url": "s3://b/", "meta": {"content_length": 7}}]}',
    ],
)
def test_a_document_that_is_no_selection_manifest_is_refused(document):
    with pytest.raises(ValueError, match=f"{URI} is not a selection manifest"):
        manifest_objects(document, b'{"s3://b/k": "e"}', URI)


@pytest.mark.parametrize(
    "etags",
    [None, b"not json", b"[]", b"{}", b'{"s3://b/other": "e"}', b'{"s3://b/k": 7}'],
    ids=["missing", "not-json", "not-a-mapping", "empty", "other-url", "not-a-string"],
)
def test_etags_that_do_not_cover_the_manifest_are_refused(etags):
    document = b'{"entries": [{"url": "s3://b/k", "mandatory": true, "meta": {"content_length": 7}}]}'
    with pytest.raises(ValueError, match=f"{URI}.etags.json is not the ETags of {URI}"):
        manifest_objects(document, etags, URI)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "Give s3_key .* or manifest"),
        ({"s3_key": "k", "manifest": URI}, "Give s3_key .* or manifest"),
        ({"s3_key": "k"}, "s3_key needs s3_bucket"),
        ({"manifest": "/tmp/m.manifest"}, "is not an s3://bucket/prefix URL"),
        ({"manifest": URI, "manifest_location": "s3://m/p/"}, "manifest loads the manifest given"),
        ({"s3_bucket": "b", "s3_key": "k", "staged_files_table": "f"}, "staged_files_table needs manifest"),
        ({"manifest": URI, "object_cache": CachedStaging("c")}, "manifest loads the manifest given"),
        ({"s3_bucket": "b", "s3_key": "k", "object_cache": CachedStaging("c")}, "object_cache needs manifest_location"),
        ({"s3_bucket": "b", "s3_key": "k", "object_cache": "c"}, "object_cache must be a CachedStaging"),
    ],
)
def test_the_stage_task_takes_keys_or_a_manifest(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StageToRedshiftOperator(task_id="s", table="staging_songs", **kwargs)


def test_the_stage_task_copies_a_templated_manifest_with_manifest():
    op = StageToRedshiftOperator(task_id="s", table="staging_songs", manifest="{{ ti.xcom_pull('select') }}")
    assert "manifest" in op.template_fields
    op.manifest = URI  # as rendered
    spec = op.build_spec([])
    assert (spec.bucket, spec.keys, spec.options.manifest) == ("sparkify-staging", ("manifests/m.manifest",), True)
    assert spec.copy_sql(spec.keys[0], ROLE).splitlines()[1] == f"FROM '{URI}'"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"manifest_location": "/tmp/manifests"}, "is not an s3://bucket/prefix URL"),
        ({"ledger_table": "bad name"}, "Invalid table name"),
        ({"listing_table": "bad name"}, "Invalid table name"),
    ],
)
def test_the_selection_task_checks_its_arguments_when_the_dag_is_parsed(kwargs, message):
    arguments = {
        "task_id": "select",
        "s3_bucket": "b",
        "s3_key": "song_data/",
        "ledger_table": "song_file_ledger",
        "manifest_location": "s3://m/p/",
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        SelectNewObjectsOperator(**arguments)
