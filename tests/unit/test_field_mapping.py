"""Tests of how JSON objects map to target columns: jsonpaths files and 'auto' matching."""

from __future__ import annotations

import json

import pytest

from local_stack.redshift.s3copy.errors import CopyError
from local_stack.redshift.s3copy.field_mapping import (
    Extractor,
    auto_paths,
    jsonpaths,
    lower_case_keys,
    parse_jsonpath,
    path_extractor,
)
from local_stack.sample_data import EVENT_FIELDS

URI = "s3://udacity-dend/log_json_path.json"


def jsonpaths_extractors(document: bytes, uri: str, columns: list[str]) -> list[Extractor]:
    """The extractors the loader builds from a jsonpaths file."""
    return [path_extractor(path) for path in jsonpaths(document, uri, columns)]


def auto_extractors(columns: list[str], ignore_case: bool):
    """The extractors the loader builds for 'auto' (exact names) or 'auto ignorecase' (lower-cased keys)."""
    return [path_extractor(path) for path in auto_paths(columns)], lower_case_keys if ignore_case else lambda r: r


def document(*paths) -> bytes:
    return json.dumps({"jsonpaths": list(paths)}).encode()


# --- parse_jsonpath ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ("$['artist']", ("artist",)),
        ('$["artist"]', ("artist",)),
        ("$.artist", ("artist",)),
        ("$.a.b", ("a", "b")),
        ("$['a'][0]", ("a", 0)),
        ("$['a b']", ("a b",)),
        ("$['userId']", ("userId",)),
        ("$['a']['b']['c']", ("a", "b", "c")),
        ("$['a'][10][2]", ("a", 10, 2)),
        ("$['a'].b[1]", ("a", "b", 1)),
        ("$.a['b c'][3].d", ("a", "b c", 3, "d")),
        ("$[ 'a' ][ 2 ]", ("a", 2)),
        ("$._private$x", ("_private$x",)),
        ("$['1st']", ("1st",)),
        ("$['']", ("",)),
        ("$['it\"s']", ('it"s',)),
        ('$["it\'s"]', ("it's",)),
        ("$['a.b']", ("a.b",)),
        ("$.Artist_Name", ("Artist_Name",)),
    ],
)
def test_parse_jsonpath(path, steps):
    assert parse_jsonpath(path) == steps


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("artist", "must start with '$'"),
        ("", "must start with '$'"),
        (" $.a", "must start with '$'"),
        (None, "must start with '$'"),
        (5, "must start with '$'"),
        ("$", "must start with a member name"),
        ("$[0]", "must start with a member name"),
        ("$[0].a", "must start with a member name"),
        ("$.a b", "is not supported at position 4"),
        ("$.1a", "is not supported at position 2"),
        ("$['a", "is not supported at position 2"),
        ("$['a\"]", "is not supported at position 2"),
        ("$..a", "is not supported at position 2"),
        ("$.a[*]", "is not supported at position 4"),
        ("$.*", "is not supported at position 2"),
        ("$.a[-1]", "is not supported at position 4"),
        ("$.", "is not supported at position 2"),
        ("$.a.", "is not supported at position 4"),
        ("$['a']x", "is not supported at position 7"),
        ("$a", "is not supported at position 2"),
        ("$.a[?(@.b)]", "is not supported at position 4"),
        ("$[a]", "is not supported at position 2"),
    ],
)
def test_parse_jsonpath_rejects(path, message):
    with pytest.raises(ValueError) as info:
        parse_jsonpath(path)
    assert message in str(info.value)
    assert repr(path) in str(info.value)


# --- jsonpaths_extractors ----------------------------------------------------------------------

RECORD = {
    "artist": "Des'ree",
    "zero": 0,
    "no": False,
    "empty": "",
    "song": {"title": "You Gotta Be", "meta": {"year": 1994}, "tags": ["soul", "pop"]},
    "list": [10, {"x": "deep"}],
    "null": None,
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$['artist']", "Des'ree"),
        ("$.zero", 0),
        ("$.no", False),
        ("$.empty", ""),
        ("$.song", {"title": "You Gotta Be", "meta": {"year": 1994}, "tags": ["soul", "pop"]}),
        ("$.song.title", "You Gotta Be"),
        ("$['song']['meta']['year']", 1994),
        ("$.song.tags[1]", "pop"),
        ("$['list'][0]", 10),
        ("$['list'][1].x", "deep"),
        # missing or unreachable -> None
        ("$.missing", None),
        ("$.null", None),
        ("$.null.x", None),
        ("$.song.missing", None),
        ("$.song.missing.deeper", None),
        ("$.song.tags[2]", None),
        ("$.song.tags.x", None),
        ("$.artist.x", None),
        ("$.artist[0]", None),
        ("$.song[0]", None),
        ("$.list[1].x.y", None),
        ("$.zero.x", None),
        ("$.Artist", None),
    ],
)
def test_jsonpaths_extract_nested_and_missing(path, expected):
    (extract,) = jsonpaths_extractors(document(path), URI, ["col"])
    assert extract(RECORD) == expected


def test_jsonpaths_extractors_follow_column_order():
    paths = ["$['song']['title']", "$.artist", "$.list[0]", "$.nothing"]
    extractors = jsonpaths_extractors(document(*paths), URI, ["title", "artist", "first", "other"])
    assert [extract(RECORD) for extract in extractors] == ["You Gotta Be", "Des'ree", 10, None]
    assert [extract({}) for extract in extractors] == [None, None, None, None]


def test_jsonpaths_real_log_json_path_file():
    keys = list(EVENT_FIELDS)  # the eventsim keys, in staging_events column order
    names = [key.lower() for key in keys]
    data = json.dumps({"jsonpaths": [f"$['{k}']" for k in keys]}, indent=4).encode()
    record = {k: i for i, k in enumerate(keys)}
    extractors = jsonpaths_extractors(data, URI, names)
    assert [extract(record) for extract in extractors] == list(range(len(keys)))


@pytest.mark.parametrize(("paths", "columns"), [(["$.a", "$.b"], ["a"]), (["$.a"], ["a", "b", "c"]), ([], ["a"])])
def test_jsonpaths_wrong_number_of_paths(paths, columns):
    with pytest.raises(CopyError) as info:
        jsonpaths_extractors(document(*paths), URI, columns)
    message = str(info.value)
    assert URI in message
    assert f"has {len(paths)} paths" in message
    assert f"{len(columns)} target columns" in message
    assert f"({', '.join(columns)})" in message
    assert message == (
        f"The jsonpaths file {URI} has {len(paths)} paths but the load has {len(columns)} target columns "
        f"({', '.join(columns)}); they must match one for one."
    )


@pytest.mark.parametrize(
    ("data", "place"),
    [
        (b"not json", "line 1, position 1: not JSON ("),
        (b"", "line 1, position 1: not JSON ("),
        (b'{"jsonpaths": ["$.a" "$.b"]}', "line 1, position 22: not JSON ("),
        (b'{\n  "jsonpaths": [\n    "$.a"\n    "$.b"]\n}', "line 4, position 5: not JSON ("),
        (b'{"jsonpaths": ["$.\xff"]}', "line 1, position 19: not UTF-8 (byte 0xff)"),
        (b'{"jsonpaths":\n ["\xc3\xa9\xc3"]}', "line 2, position 5: not UTF-8 (byte 0xc3)"),
    ],
)
def test_jsonpaths_invalid_json_document_names_the_place(data, place):
    """File, line, position and 'not JSON' are the project's; only the bracketed detail is the parser's."""
    with pytest.raises(CopyError) as info:
        jsonpaths_extractors(data, URI, ["a"])
    assert str(info.value).startswith(f"The jsonpaths file {URI} is not valid: {place}")


@pytest.mark.parametrize(
    ("data", "place"),
    [
        (b'{"jsonpaths": ["$.a",]}', "line 1, position 21"),
        (b'{"jsonpaths": ["$.a" ,  ]}', "line 1, position 22"),
        (b'{\n  "jsonpaths": [\n    "$.a",\n  ]\n}', "line 3, position 10"),
        (b'{"jsonpaths": ["$.a"],}', "line 1, position 22"),
    ],
)
def test_jsonpaths_trailing_comma_is_reported_the_same_on_every_python(data, place):
    """Python 3.13 names a trailing comma where 3.10-3.12 expect a value after it, one column later."""
    with pytest.raises(CopyError) as info:
        jsonpaths_extractors(data, URI, ["a"])
    assert str(info.value) == f"The jsonpaths file {URI} is not valid: {place}: not JSON (trailing comma)"


@pytest.mark.parametrize("data", [b'{"paths": ["$.a"]}', b"{}", b'{"JSONPaths": ["$.a"]}'])
def test_jsonpaths_missing_key(data):
    with pytest.raises(CopyError) as info:
        jsonpaths_extractors(data, URI, ["a"])
    assert str(info.value) == f"The jsonpaths file {URI} is not valid: 'jsonpaths'"


@pytest.mark.parametrize("data", [b'{"jsonpaths": "$.a"}', b'{"jsonpaths": {"a": "$.a"}}', b'{"jsonpaths": null}'])
def test_jsonpaths_not_a_list(data):
    with pytest.raises(CopyError, match="is not valid: 'jsonpaths' is not a list"):
        jsonpaths_extractors(data, URI, ["a"])


@pytest.mark.parametrize("data", [b'["$.a"]', b'"$.a"', b"42"])
def test_jsonpaths_document_not_an_object(data):
    with pytest.raises(CopyError) as info:
        jsonpaths_extractors(data, URI, ["a"])
    assert str(info.value) == f"The jsonpaths file {URI} is not valid: the document is not a JSON object"


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("artist", "must start with '$'"),
        (7, "must start with '$'"),
        ("$.a[*]", "is not supported"),
        ("$", "must start with a member"),
    ],
)
def test_jsonpaths_bad_path_in_the_document(path, detail):
    with pytest.raises(CopyError) as info:
        jsonpaths_extractors(document("$.ok", path), URI, ["a", "b"])
    assert str(info.value).startswith(f"The jsonpaths file {URI} is not valid: JSONPath ")
    assert detail in str(info.value)


# --- auto_extractors ---------------------------------------------------------------------------


def test_auto_matches_exact_case_only():
    extractors, prepare = auto_extractors(["artist", "userid", "ts"], ignore_case=False)
    record = {"artist": "Muse", "userId": "8", "TS": 1, "ts": 2}
    assert [extract(prepare(record)) for extract in extractors] == ["Muse", None, 2]


def test_auto_prepare_is_identity():
    _, prepare = auto_extractors(["a"], ignore_case=False)
    record = {"A": 1, "a": 2}
    assert prepare(record) == {"A": 1, "a": 2}


def test_auto_ignorecase_matches_any_case():
    extractors, prepare = auto_extractors(["artist", "userid", "iteminsession", "missing"], ignore_case=True)
    record = {"Artist": "Muse", "userId": "8", "ITEMINSESSION": 3}
    assert [extract(prepare(record)) for extract in extractors] == ["Muse", "8", 3, None]


def test_auto_ignorecase_lower_cases_keys_only():
    _, prepare = auto_extractors(["a"], ignore_case=True)
    assert prepare({"UserId": "ABC", "Nested": {"Inner": 1}}) == {"userid": "ABC", "nested": {"Inner": 1}}


def test_auto_does_not_descend_into_nested_objects():
    extractors, prepare = auto_extractors(["title"], ignore_case=False)
    assert extractors[0](prepare({"song": {"title": "x"}})) is None


def test_auto_extractors_keep_falsy_values():
    extractors, prepare = auto_extractors(["a", "b", "c", "d"], ignore_case=True)
    assert [e(prepare({"A": 0, "B": False, "C": "", "D": None})) for e in extractors] == [0, False, "", None]
