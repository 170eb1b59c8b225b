"""s3lite.xml: S3's XML bodies, parsed and built without I/O."""

from __future__ import annotations

from datetime import datetime, timezone
from xml.etree import ElementTree as ET

import pytest

from s3lite import xml
from s3lite.errors import S3Error
from s3lite.models import CommonPrefix, DeleteError, ObjectSummary

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def list_page(inner: str, *, ns: bool = True, url: bool = True) -> bytes:
    xmlns = f' xmlns="{NS}"' if ns else ""
    enc = "<EncodingType>url</EncodingType>" if url else ""
    return DECL + f"<ListBucketResult{xmlns}><Name>b</Name>{enc}{inner}</ListBucketResult>".encode()


def contents(key: str, size: int = 3, etag: str = "&quot;abc&quot;") -> str:
    return (
        f"<Contents><Key>{key}</Key><LastModified>2024-05-01T12:34:56.000Z</LastModified>"
        f"<ETag>{etag}</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass></Contents>"
    )


# -- ListObjectsV2 -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "key"),
    [
        ("a+b", "a b"),  # S3 writes a space as '+' ...
        ("a%2Bb", "a+b"),  # ... and a literal '+' as %2B
        ("100%25+sure%3F", "100% sure?"),
        ("dir%2Fsub/file", "dir/sub/file"),
        ("%C3%BC%E3%83%95%F0%9F%98%80", "üフ😀"),
        ("ctl%01%0D%0A%09", "ctl\x01\r\n\t"),  # keys XML itself could not carry
        ("amp%26lt%3B", "amp&lt;"),  # decoded once only
    ],
)
def test_url_encoded_keys_are_decoded(encoded: str, key: str) -> None:
    page = xml.parse_list_objects_v2(list_page(contents(encoded)))
    assert [o.key for o in page.objects] == [key]


def test_keys_are_not_decoded_without_encoding_type() -> None:
    page = xml.parse_list_objects_v2(list_page(contents("a+b%2B &amp; c"), url=False))
    assert [o.key for o in page.objects] == ["a+b%2B & c"]


def test_list_entry_fields() -> None:
    page = xml.parse_list_objects_v2(list_page(contents("k", size=12345)))
    assert page.objects == [
        ObjectSummary(
            key="k",
            size=12345,
            etag='"abc"',
            last_modified=datetime(2024, 5, 1, 12, 34, 56, tzinfo=timezone.utc),
            storage_class="STANDARD",
        )
    ]
    assert page.objects[0].last_modified.utcoffset() is not None
    assert page.prefixes == []
    assert page.next_token is None


def test_common_prefixes_are_decoded() -> None:
    body = list_page(
        contents("top+file")
        + "<CommonPrefixes><Prefix>a+dir/</Prefix></CommonPrefixes>"
        + "<CommonPrefixes><Prefix>plus%2Bdir%2F/</Prefix></CommonPrefixes>"
        + "<Delimiter>/</Delimiter>"
    )
    page = xml.parse_list_objects_v2(body)
    assert page.prefixes == [CommonPrefix("a dir/"), CommonPrefix("plus+dir//")]
    assert [o.key for o in page.objects] == ["top file"]


@pytest.mark.parametrize("ns", [True, False], ids=["namespaced", "plain"])
def test_namespaced_and_plain_documents_read_the_same(ns: bool) -> None:
    body = list_page(
        contents("k1")
        + contents("k2")
        + "<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>"
        + "<IsTruncated>true</IsTruncated><NextContinuationToken>tok/+=</NextContinuationToken>",
        ns=ns,
    )
    page = xml.parse_list_objects_v2(body)
    assert [o.key for o in page.objects] == ["k1", "k2"]
    assert page.prefixes == [CommonPrefix("p/")]
    assert page.next_token == "tok/+="  # tokens are opaque: never url-decoded


def test_prefixed_namespace_is_ignored() -> None:
    body = (
        f'<s3:ListBucketResult xmlns:s3="{NS}"><s3:EncodingType>url</s3:EncodingType>'
        "<s3:Contents><s3:Key>x+y</s3:Key><s3:LastModified>2024-01-01T00:00:00Z"
        "</s3:LastModified><s3:Size>1</s3:Size></s3:Contents></s3:ListBucketResult>"
    ).encode()
    page = xml.parse_list_objects_v2(body)
    assert [(o.key, o.size, o.storage_class) for o in page.objects] == [("x y", 1, None)]


@pytest.mark.parametrize(
    ("tail", "token"),
    [
        ("<IsTruncated>true</IsTruncated><NextContinuationToken>T1</NextContinuationToken>", "T1"),
        ("<IsTruncated>True</IsTruncated><NextContinuationToken>T2</NextContinuationToken>", "T2"),
        ("<IsTruncated>false</IsTruncated><NextContinuationToken>T3</NextContinuationToken>", None),
        ("<IsTruncated>false</IsTruncated>", None),
        ("", None),
    ],
)
def test_truncation_and_token(tail: str, token: str | None) -> None:
    assert xml.parse_list_objects_v2(list_page(contents("k") + tail)).next_token == token


def test_truncated_page_without_token_is_an_error_not_an_endless_loop() -> None:
    body = list_page(contents("k") + "<IsTruncated>true</IsTruncated>")
    with pytest.raises(S3Error) as info:
        xml.parse_list_objects_v2(body)
    assert info.value.code == "MalformedResponse"


def test_empty_listing() -> None:
    page = xml.parse_list_objects_v2(list_page("<KeyCount>0</KeyCount>"))
    assert (page.objects, page.prefixes, page.next_token) == ([], [], None)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"not xml at all",
        b"<html><body>502 Bad Gateway</body>",  # unclosed: not well-formed
        list_page(contents("k"))[:-30],  # cut off midway
        DECL + b"<ListBucketResult><Contents><Key>a\x01b</Key></Contents></ListBucketResult>",
        b"\xff\xfe<\x00a\x00>",
    ],
    ids=["empty", "blank", "text", "html", "truncated", "control-char", "garbage-bytes"],
)
def test_malformed_list_raises_s3error_not_parse_error(body: bytes) -> None:
    with pytest.raises(S3Error) as info:
        xml.parse_list_objects_v2(body)
    assert info.value.code == "MalformedResponse"
    assert not isinstance(info.value, ET.ParseError)
    assert info.value.__suppress_context__  # no parser traceback chained on


@pytest.mark.parametrize(
    "entry",
    [
        "<Contents><LastModified>2024-01-01T00:00:00Z</LastModified></Contents>",  # no Key
        "<Contents><Key>k</Key></Contents>",  # no LastModified
        "<Contents><Key>k</Key><LastModified>yesterday</LastModified></Contents>",
        "<Contents><Key>k</Key><LastModified>2024-01-01T00:00:00Z</LastModified>"
        "<Size>12 bytes</Size></Contents>",
    ],
    ids=["no-key", "no-date", "bad-date", "bad-size"],
)
def test_well_formed_but_wrong_listing_raises_s3error(entry: str) -> None:
    with pytest.raises(S3Error) as info:
        xml.parse_list_objects_v2(list_page(entry))
    assert info.value.code == "MalformedResponse"


# -- errors ------------------------------------------------------------------------------


def test_parse_error_document() -> None:
    body = DECL + (
        b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
        b"<Key>a/b</Key><RequestId>4442587FB7D0A2F9</RequestId><HostId>h=</HostId></Error>"
    )
    assert xml.parse_error(body) == xml.ErrorBody(
        "NoSuchKey", "The specified key does not exist.", "4442587FB7D0A2F9"
    )


def test_parse_namespaced_error_without_request_id() -> None:
    body = f'<Error xmlns="{NS}"><Code>SlowDown</Code><Message>Reduce</Message></Error>'.encode()
    assert xml.parse_error(body) == xml.ErrorBody("SlowDown", "Reduce", None)


@pytest.mark.parametrize("body", [b"<html>oops", b"Service Unavailable", b"<Error><Code>X"])
def test_unreadable_error_body_gives_empty_code_and_the_text(body: bytes) -> None:
    parsed = xml.parse_error(body)
    assert parsed.code == ""
    assert parsed.message == body.decode()
    assert parsed.request_id is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<Error><Code>InternalError</Code></Error>", True),
        (DECL + b"\n<Error><Code>InternalError</Code></Error>", True),
        (b'<Error xmlns="x"><Code>InternalError</Code></Error>', True),
        # S3 answers 200 at once and sends whitespace to keep a long copy alive.
        (b"\n" + b" " * 100 + b"\n" + DECL + b"<Error><Code>SlowDown</Code></Error>", True),
        (b"<CopyObjectResult><ETag>x</ETag></CopyObjectResult>", False),
        (DECL + b"<DeleteResult><Error><Key>k</Key></Error></DeleteResult>", False),
        (b"<ErrorDocument/>", False),
        (b"", False),
    ],
)
def test_is_error_body(body: bytes, expected: bool) -> None:
    assert xml.is_error_body(body) is expected


def test_is_error_body_after_long_keep_alive_whitespace() -> None:
    # A copy that took minutes: S3 may have sent many whitespace bytes before the document.
    body = b" " * 4096 + DECL + b"<Error><Code>InternalError</Code></Error>"
    assert xml.is_error_body(body) is True


# -- multipart and copy -----------------------------------------------------------------


def test_parse_initiate_multipart() -> None:
    body = (
        DECL
        + (
            f'<InitiateMultipartUploadResult xmlns="{NS}"><Bucket>b</Bucket><Key>k</Key>'
            "<UploadId>VXBsb2FkIElE-._~</UploadId></InitiateMultipartUploadResult>"
        ).encode()
    )
    assert xml.parse_initiate_multipart(body) == "VXBsb2FkIElE-._~"


def test_initiate_without_upload_id_is_malformed() -> None:
    with pytest.raises(S3Error) as info:
        xml.parse_initiate_multipart(b"<InitiateMultipartUploadResult/>")
    assert info.value.code == "MalformedResponse"


@pytest.mark.parametrize("root", ["CopyObjectResult", "CopyPartResult"])
def test_parse_copy_result(root: str) -> None:
    body = (
        DECL
        + f'<{root} xmlns="{NS}"><LastModified>2024-01-01T00:00:00.000Z</LastModified>'
        f"<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag></{root}>".encode()
    )
    assert xml.parse_copy_result(body, root) == '"9b2cf535f27731c974343645a3985328"'


@pytest.mark.parametrize("etag", ["", "<ETag></ETag>", "<ETag/>", "<ETag>  </ETag>"])
def test_copy_result_without_an_etag_is_malformed_and_names_the_operation(etag: str) -> None:
    with pytest.raises(S3Error) as info:
        xml.parse_copy_result(f"<CopyPartResult>{etag}</CopyPartResult>".encode(), "UploadPartCopy")
    assert info.value.code == "MalformedResponse"
    assert str(info.value).endswith("UploadPartCopy response has no <ETag>")


@pytest.mark.parametrize(
    ("etag", "expected"),
    [("<ETag>&quot;a-2&quot;</ETag>", '"a-2"'), ("<ETag></ETag>", ""), ("<ETag/>", ""), ("", "")],
)
def test_complete_result_etag_may_be_empty_or_missing(etag: str, expected: str) -> None:
    body = (
        DECL
        + f'<CompleteMultipartUploadResult xmlns="{NS}"><Bucket>b</Bucket><Key>k</Key>'
        f"{etag}</CompleteMultipartUploadResult>".encode()
    )
    assert xml.parse_complete_multipart(body) == expected


def test_build_complete_multipart_sorts_parts_and_escapes_etags() -> None:
    body = xml.build_complete_multipart([(2, '"b"'), (10, '"c&d"'), (1, '"a"')])
    root = ET.fromstring(body)
    assert root.tag == f"{{{NS}}}CompleteMultipartUpload"
    parts = [
        (int(p.findtext(f"{{{NS}}}PartNumber") or 0), p.findtext(f"{{{NS}}}ETag"))
        for p in root.iter(f"{{{NS}}}Part")
    ]
    assert parts == [(1, '"a"'), (2, '"b"'), (10, '"c&d"')]


# -- DeleteObjects ---------------------------------------------------------------------

# Keys XML 1.0 can carry: they must come back exactly, whatever S3's parser normalises
# (a literal CR, or CR LF, would be read back as LF; a literal tab in attribute values
# would become a space).
XML_SAFE_KEYS = [
    "plain",
    "with space",
    "amp&lt;<>\"'",
    "cr\rinside",
    "crlf\r\nend",
    "lf\nonly",
    "tab\there",
    "trailing space ",
    " leading",
    "del\x7fchar",
    "c1\x85\x9fchars",
    "üñïçødé/ファイル/😀",
    "]]>cdata-end",
    "&#13;literal-reference-text",
]
# Keys XML 1.0 cannot carry at all, not even as character references (S3 answers
# MalformedXML to "&#x1;"); they must never reach a DeleteObjects body.
XML_UNSAFE_KEYS = ["ctl\x01", "esc\x1b[0m", "nul\x00", "vt\x0bff\x0c", "nonchar\ufffe"]


def parse_delete(body: bytes) -> tuple[bool, list[str]]:
    root = ET.fromstring(body)
    assert root.tag == f"{{{NS}}}Delete"
    quiet = root.findtext(f"{{{NS}}}Quiet") == "true"
    keys = [obj.findtext(f"{{{NS}}}Key") or "" for obj in root.iter(f"{{{NS}}}Object")]
    return quiet, keys


def test_delete_keys_round_trip_through_elementtree() -> None:
    quiet, keys = parse_delete(xml.build_delete_objects(XML_SAFE_KEYS))
    assert quiet
    assert keys == XML_SAFE_KEYS


@pytest.mark.parametrize("key", XML_SAFE_KEYS)
def test_each_safe_key_round_trips_alone(key: str) -> None:
    assert parse_delete(xml.build_delete_objects([key]))[1] == [key]


@pytest.mark.parametrize("key", XML_UNSAFE_KEYS, ids=repr)
def test_build_delete_objects_never_writes_malformed_xml(key: str) -> None:
    """A key XML cannot carry is refused with a clear ValueError (the client deletes
    such keys one by one, by URL); it must not poison the whole batch with a body
    S3 rejects as MalformedXML."""
    try:
        body = xml.build_delete_objects(["ok", key])
    except ValueError:
        return
    parse_delete(body)  # raises ParseError if the document is not well-formed


def test_delete_objects_carries_each_given_etag_escaped_and_quoted() -> None:
    etags = {"a": '"abc"', "w&<x>": 'W/"e&1"'}
    root = ET.fromstring(xml.build_delete_objects(["a", "b", "w&<x>"], etags))
    sent = [
        (o.findtext(f"{{{NS}}}Key"), o.findtext(f"{{{NS}}}ETag"))
        for o in root.iter(f"{{{NS}}}Object")
    ]
    assert sent == [("a", '"abc"'), ("b", None), ("w&<x>", 'W/"e&1"')]


def test_parse_delete_result_keeps_precondition_failed() -> None:
    body = (
        DECL
        + (
            f'<DeleteResult xmlns="{NS}"><Error><Key>k</Key><Code>PreconditionFailed</Code>'
            "<Message>At least one of the pre-conditions you specified did not hold</Message>"
            "</Error></DeleteResult>"
        ).encode()
    )
    [error] = xml.parse_delete_result(body)
    assert (error.key, error.code) == ("k", "PreconditionFailed")


def test_parse_delete_result_reports_failures_only() -> None:
    body = (
        DECL
        + (
            f'<DeleteResult xmlns="{NS}"><Deleted><Key>gone</Key></Deleted>'
            "<Error><Key>a&amp;b</Key><Code>AccessDenied</Code><Message>Access Denied</Message>"
            "</Error><Error><Key>c</Key><Code>InternalError</Code><Message>x</Message></Error>"
            "</DeleteResult>"
        ).encode()
    )
    assert xml.parse_delete_result(body) == [
        DeleteError("a&b", "AccessDenied", "Access Denied"),
        DeleteError("c", "InternalError", "x"),
    ]


def test_parse_quiet_delete_result() -> None:
    assert xml.parse_delete_result(DECL + b"<DeleteResult/>") == []


# -- timestamps --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:34:56.000Z", datetime(2024, 5, 1, 12, 34, 56, tzinfo=timezone.utc)),
        ("2024-05-01T12:34:56Z", datetime(2024, 5, 1, 12, 34, 56, tzinfo=timezone.utc)),
        ("2024-05-01T12:34:56+00:00", datetime(2024, 5, 1, 12, 34, 56, tzinfo=timezone.utc)),
        ("2024-05-01T12:34:56", datetime(2024, 5, 1, 12, 34, 56, tzinfo=timezone.utc)),
    ],
)
def test_parse_timestamp(text: str, expected: datetime) -> None:
    parsed = xml.parse_timestamp(text)
    assert parsed == expected
    assert parsed.tzinfo is not None


def test_bad_timestamp_is_malformed_response() -> None:
    with pytest.raises(S3Error) as info:
        xml.parse_timestamp("01/05/2024")
    assert info.value.code == "MalformedResponse"


# -- ListMultipartUploads and ListParts -------------------------------------------------


def uploads_page(inner: str, *, url: bool = True) -> bytes:
    enc = "<EncodingType>url</EncodingType>" if url else ""
    return (
        DECL
        + f'<ListMultipartUploadsResult xmlns="{NS}"><Bucket>b</Bucket>{enc}{inner}'
        "</ListMultipartUploadsResult>".encode()
    )


def upload_entry(key: str, upload_id: str = "u1") -> str:
    return (
        f"<Upload><Key>{key}</Key><UploadId>{upload_id}</UploadId>"
        "<Initiator><ID>x</ID></Initiator><StorageClass>STANDARD</StorageClass>"
        "<Initiated>2024-05-01T12:34:56.000Z</Initiated></Upload>"
    )


def test_parse_list_multipart_uploads_entries_and_last_page() -> None:
    body = uploads_page(
        "<IsTruncated>false</IsTruncated>"
        + upload_entry("a%20b/c%2B.bin", "id-1")
        + upload_entry("z", "id-2")
    )
    uploads, marker = xml.parse_list_multipart_uploads(body)
    assert marker is None
    assert [(u.key, u.upload_id) for u in uploads] == [("a b/c+.bin", "id-1"), ("z", "id-2")]
    assert uploads[0].initiated == datetime(2024, 5, 1, 12, 34, 56, tzinfo=timezone.utc)


def test_parse_list_multipart_uploads_keys_raw_without_encoding_type() -> None:
    uploads, _ = xml.parse_list_multipart_uploads(uploads_page(upload_entry("a+b"), url=False))
    assert uploads[0].key == "a+b"


def test_parse_list_multipart_uploads_truncated_gives_both_markers() -> None:
    body = uploads_page(
        upload_entry("k%2F1", "id-9")
        + "<IsTruncated>true</IsTruncated><NextKeyMarker>k%2F1</NextKeyMarker>"
        "<NextUploadIdMarker>id-9</NextUploadIdMarker>"
    )
    assert xml.parse_list_multipart_uploads(body)[1] == ("k/1", "id-9")


def test_parse_list_multipart_uploads_empty_and_malformed() -> None:
    assert xml.parse_list_multipart_uploads(uploads_page("")) == ([], None)
    with pytest.raises(S3Error) as info:
        xml.parse_list_multipart_uploads(uploads_page("<IsTruncated>true</IsTruncated>"))
    assert info.value.code == "MalformedResponse"
    with pytest.raises(S3Error) as info:
        xml.parse_list_multipart_uploads(uploads_page("<Upload><Key>k</Key></Upload>"))
    assert info.value.code == "MalformedResponse"


def parts_page(inner: str) -> bytes:
    return (
        DECL
        + f'<ListPartsResult xmlns="{NS}"><Bucket>b</Bucket><Key>k</Key>'
        f"<UploadId>u</UploadId>{inner}</ListPartsResult>".encode()
    )


def part_entry(number: int, size: int = 5242880) -> str:
    return (
        f"<Part><PartNumber>{number}</PartNumber>"
        "<LastModified>2024-05-01T12:34:56.000Z</LastModified>"
        f"<ETag>&quot;etag{number}&quot;</ETag><Size>{size}</Size></Part>"
    )


def test_parse_list_parts_entries_and_last_page() -> None:
    parts, marker = xml.parse_list_parts(
        parts_page("<IsTruncated>false</IsTruncated>" + part_entry(1) + part_entry(2, 7))
    )
    assert marker is None
    assert [(p.number, p.etag, p.size) for p in parts] == [
        (1, '"etag1"', 5242880),
        (2, '"etag2"', 7),
    ]
    assert parts[1].last_modified == datetime(2024, 5, 1, 12, 34, 56, tzinfo=timezone.utc)


def test_parse_list_parts_truncated_gives_the_next_marker() -> None:
    body = parts_page(
        part_entry(1)
        + "<IsTruncated>true</IsTruncated><NextPartNumberMarker>1</NextPartNumberMarker>"
    )
    assert xml.parse_list_parts(body)[1] == 1


@pytest.mark.parametrize(
    "inner",
    [
        "<IsTruncated>true</IsTruncated>",  # no marker: would loop for ever
        "<Part><PartNumber>x</PartNumber></Part>",
        "<Part><PartNumber>1</PartNumber><Size>1</Size></Part>",  # no ETag
    ],
)
def test_malformed_list_parts_raises_s3error(inner: str) -> None:
    with pytest.raises(S3Error) as info:
        xml.parse_list_parts(parts_page(inner))
    assert info.value.code == "MalformedResponse"
