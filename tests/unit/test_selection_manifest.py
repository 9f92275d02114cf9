"""The manifest a selection task hands to the stage task, and the arguments of the two operators."""

from __future__ import annotations

import json

import pytest

from sparkify.operators import SelectNewObjectsOperator, StageToRedshiftOperator
from sparkify.s3copy.manifest import is_empty_manifest, manifest_objects, selection_manifest
from sparkify.s3copy.objects import S3Object
from sparkify.s3copy.spec import Credentials

URI = "s3://sparkify-staging/manifests/m.manifest"
ROLE = Credentials(role_arn="arn:aws:iam::123456789012:role/copy")
OBJECTS = [S3Object("udacity-dend", "song_data/A/a.json", 120, "e1"), S3Object("other", "b.json", 7, "e2")]


def test_a_selection_manifest_is_a_copy_manifest_whose_entries_carry_the_etag():
    document = json.loads(selection_manifest(OBJECTS))
    assert document == {
        "entries": [
            {
                "url": "s3://udacity-dend/song_data/A/a.json",
                "mandatory": True,
                "meta": {"content_length": 120, "etag": "e1"},
            },
            {"url": "s3://other/b.json", "mandatory": True, "meta": {"content_length": 7, "etag": "e2"}},
        ]
    }
    assert manifest_objects(selection_manifest(OBJECTS), URI) == OBJECTS


def test_nothing_selected_is_a_manifest_with_no_entries():
    assert json.loads(selection_manifest([])) == {"entries": []}
    assert is_empty_manifest(selection_manifest([])) and manifest_objects(selection_manifest([]), URI) == []
    assert not is_empty_manifest(selection_manifest(OBJECTS))
    assert not is_empty_manifest(b"not json") and not is_empty_manifest(b'{"entries": null}')


@pytest.mark.parametrize(
    "document",
    [
        b"not json",
        b"[]",
        b'{"entries": [{"url": "s3://b/k", "mandatory": true}]}',  # a user's manifest: no ETag
        b'{"entries": [{"url": "s3://b/k", "meta": {"content_length": "7", "etag": "e"}}]}',
        b'{"entries": [{"url": "https://b/k", "meta": {"content_length": 7, "etag": "e"}}]}',
        b'{"entries": [{"url": "s3://b/", "meta": {"content_length": 7, "etag": "e"}}]}',
    ],
)
def test_a_document_that_is_no_selection_manifest_is_refused(document):
    with pytest.raises(ValueError, match=f"{URI} is not a selection manifest"):
        manifest_objects(document, URI)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "Give s3_key .* or manifest"),
        ({"s3_key": "k", "manifest": URI}, "Give s3_key .* or manifest"),
        ({"s3_key": "k"}, "s3_key needs s3_bucket"),
        ({"manifest": "/tmp/m.manifest"}, "is not an s3://bucket/prefix URL"),
        ({"manifest": URI, "manifest_location": "s3://m/p/"}, "manifest loads the manifest given"),
        ({"s3_bucket": "b", "s3_key": "k", "staged_files_table": "f"}, "staged_files_table needs manifest"),
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
