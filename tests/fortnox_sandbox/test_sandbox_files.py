"""The file API: inbox uploads (multipart), folders, the archive, voucher file connections,
their refusals, scopes, commit-then-drop, and the admin records the export's tests count."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import httpx
import pytest
from _sandbox_testkit import REDIRECT_URI, Sandbox
from test_sandbox_schema import response_schema, validate

from include.fortnox_sandbox import jsonio

pytestmark = pytest.mark.sandbox

# Bytes that break naive multipart handling: CRLF, a boundary-like line, non-UTF-8.
PDF = b"%PDF-1.4\r\n--boundary-like\r\n\x00\xff\xfe binary\r\n%%EOF\r\n"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def upload(
    sandbox: Sandbox, token: str, name: str, content: bytes = PDF, **params: str
) -> httpx.Response:
    return sandbox.http.post(
        "/3/inbox",
        params=params or {"folderId": "inbox_v"},
        files={"file": (name, content, "application/pdf")},
        headers=auth(token),
    )


def post_voucher(sandbox: Sandbox, token: str, comments: str = "") -> dict[str, Any]:
    body = {
        "Voucher": {
            "VoucherSeries": "A",
            "TransactionDate": "2025-12-31",
            "Description": "Med underlag",
            "Comments": comments,
            "VoucherRows": [{"Account": 5010, "Debit": 100}, {"Account": 1930, "Credit": 100}],
        }
    }
    answer = sandbox.http.post(
        "/3/vouchers", params={"financialyear": 2}, json=body, headers=auth(token)
    )
    assert answer.status_code == 201, answer.text
    voucher: dict[str, Any] = answer.json()["Voucher"]
    return voucher


def connect(
    sandbox: Sandbox, token: str, file_id: str, voucher: dict[str, Any], **extra: object
) -> httpx.Response:
    body = {
        "VoucherFileConnection": {
            "FileId": file_id,
            "VoucherSeries": voucher["VoucherSeries"],
            "VoucherNumber": str(voucher["VoucherNumber"]),
            **extra,
        }
    }
    return sandbox.http.post(
        "/3/voucherfileconnections",
        params={"financialyear": voucher["Year"]},
        json=body,
        headers=auth(token),
    )


def folder_names(sandbox: Sandbox, token: str, folder: str = "inbox_v") -> list[str]:
    answer = sandbox.http.get(f"/3/inbox/{folder}", headers=auth(token))
    assert answer.status_code == 200, answer.text
    return [f["Name"] for f in answer.json()["Folder"]["Files"]]


def test_upload_answers_a_file_row_and_keeps_the_exact_bytes(sandbox: Sandbox, token: str) -> None:
    answer = upload(sandbox, token, "hyresavi-december-å.pdf")
    assert answer.status_code == 201, answer.text
    validate(answer.json(), response_schema("/3/inbox", "201", "post"))
    row = answer.json()["File"]
    assert (row["Name"], row["Size"], row["Path"]) == (
        "hyresavi-december-å.pdf",
        len(PDF),
        "inbox/inbox_v",
    )
    assert row["Id"] and row["ArchiveFileId"] and row["Id"] != row["ArchiveFileId"]

    back = sandbox.http.get(f"/3/inbox/{row['Id']}", headers=auth(token))
    assert back.status_code == 200 and back.content == PDF
    assert back.headers["Content-Type"] == "application/pdf"
    assert "hyresavi-december-å.pdf" in folder_names(sandbox, token)

    root = sandbox.http.get("/3/inbox", headers=auth(token)).json()
    validate(root, response_schema("/3/inbox", "200"))
    assert {f["Id"] for f in root["Folder"]["Folders"]} >= {"inbox_v", "inbox_s"}
    folder = sandbox.http.get("/3/inbox/inbox_v", headers=auth(token)).json()
    validate(folder, response_schema("/3/inbox", "200"))


def test_the_same_name_twice_makes_two_files(sandbox: Sandbox, token: str) -> None:
    # Fortnox does not refuse it, so a blind retry leaves a duplicate: the export must not.
    first = upload(sandbox, token, "twice.pdf").json()["File"]["Id"]
    second = upload(sandbox, token, "twice.pdf").json()["File"]["Id"]
    assert first != second
    assert folder_names(sandbox, token).count("twice.pdf") == 2


def test_connect_moves_the_file_to_the_archive_once(sandbox: Sandbox, token: str) -> None:
    voucher = post_voucher(sandbox, token)
    file_id = upload(sandbox, token, "connect-me.pdf").json()["File"]["Id"]

    answer = connect(sandbox, token, file_id, voucher)
    assert answer.status_code == 201, answer.text
    validate(answer.json(), response_schema("/3/voucherfileconnections", "201", "post"))
    created = answer.json()["VoucherFileConnection"]
    assert created == {
        "@url": f"{sandbox.server.base_url}/3/voucherfileconnections/{file_id}",
        "FileId": file_id,
        "VoucherDescription": "Med underlag",
        "VoucherNumber": str(voucher["VoucherNumber"]),
        "VoucherSeries": "A",
        "VoucherYear": 2,
    }
    single = sandbox.http.get(f"/3/voucherfileconnections/{file_id}", headers=auth(token))
    validate(single.json(), response_schema("/3/voucherfileconnections/{FileId}", "200"))
    assert single.json()["VoucherFileConnection"] == created
    listed = sandbox.http.get("/3/voucherfileconnections", headers=auth(token)).json()
    validate(listed, response_schema("/3/voucherfileconnections", "200"))
    assert created in listed["VoucherFileConnections"]

    # It left the inbox for the archive, where its bytes are unchanged.
    assert "connect-me.pdf" not in folder_names(sandbox, token)
    archived = sandbox.http.get(f"/3/archive/{file_id}", headers=auth(token))
    assert archived.content == PDF
    by_param = sandbox.http.get("/3/archive", params={"fileid": file_id}, headers=auth(token))
    assert by_param.content == PDF
    archive = sandbox.http.get("/3/archive", headers=auth(token)).json()
    validate(archive, response_schema("/3/archive", "200"))
    assert file_id in {f["Id"] for f in archive["Folder"]["Files"]}

    again = connect(sandbox, token, file_id, voucher)
    assert again.status_code == 400
    assert "already connected" in again.json()["ErrorInformation"]["message"]


def test_connection_refusals(sandbox: Sandbox, token: str) -> None:
    voucher = post_voucher(sandbox, token)
    file_id = upload(sandbox, token, "refusals.pdf").json()["File"]["Id"]
    cases = [
        (connect(sandbox, token, "no-such-file", voucher), "File no-such-file not found"),
        (
            connect(sandbox, token, file_id, {**voucher, "VoucherNumber": 99999}),
            "Voucher A 99999 not found in financial year 2",
        ),
        (
            connect(sandbox, token, file_id, {**voucher, "Year": 1}),
            f"Voucher A {voucher['VoucherNumber']} not found in financial year 1",
        ),
    ]
    for answer, message in cases:
        assert answer.status_code == 400, answer.text
        assert answer.json()["ErrorInformation"]["message"] == message
        assert answer.json()["ErrorInformation"]["code"] == 2000588
    empty = sandbox.http.post("/3/voucherfileconnections", content=b"", headers=auth(token)).json()
    assert empty["ErrorInformation"]["code"] == 2001392
    missing = sandbox.http.get("/3/voucherfileconnections/no-such-file", headers=auth(token))
    assert missing.status_code == 404
    # Nothing was connected by the refusals.
    assert "refusals.pdf" in folder_names(sandbox, token)


def test_upload_refusals(sandbox: Sandbox, token: str) -> None:
    not_multipart = sandbox.http.post(
        "/3/inbox", content=PDF, headers={**auth(token), "Content-Type": "application/pdf"}
    )
    assert not_multipart.status_code == 400
    wrong_field = sandbox.http.post(
        "/3/inbox", files={"document": ("x.pdf", PDF)}, headers=auth(token)
    )
    assert wrong_field.json()["ErrorInformation"]["message"] == "No part named 'file' in the upload"
    assert upload(sandbox, token, "x.pdf", folderId="inbox_nope").status_code == 400
    assert upload(sandbox, token, "empty.pdf", b"").status_code == 400
    # By path and by the folder's name, as the spec's parameters allow.
    assert upload(sandbox, token, "p.pdf", path="inbox_v").json()["File"]["Path"] == "inbox/inbox_v"
    by_name = upload(sandbox, token, "n.pdf", path="Verifikationer").json()["File"]
    assert by_name["Path"] == "inbox/inbox_v"
    root = upload(sandbox, token, "root.pdf", path="inbox").json()["File"]
    assert root["Path"] == "inbox"


def test_delete_a_connection_and_a_file(sandbox: Sandbox, token: str) -> None:
    voucher = post_voucher(sandbox, token)
    file_id = upload(sandbox, token, "delete-me.pdf").json()["File"]["Id"]
    assert connect(sandbox, token, file_id, voucher).status_code == 201
    refused = sandbox.http.delete(f"/3/inbox/{file_id}", headers=auth(token))
    assert refused.status_code == 400  # connected: disconnect first
    assert (
        sandbox.http.delete(f"/3/voucherfileconnections/{file_id}", headers=auth(token)).status_code
        == 204
    )
    assert "delete-me.pdf" in folder_names(sandbox, token)  # back in its folder
    assert sandbox.http.delete(f"/3/inbox/{file_id}", headers=auth(token)).status_code == 204
    assert sandbox.http.get(f"/3/inbox/{file_id}", headers=auth(token)).status_code == 404


def test_file_endpoints_need_their_scopes(sandbox: Sandbox, tenant: int) -> None:
    code = sandbox.authorize(tenant, scope="bookkeeping")
    answer = sandbox.token(grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    bookkeeping_only = answer.json()["access_token"]
    for method, path, scope in (
        ("GET", "/3/inbox", "inbox"),
        ("GET", "/3/archive", "archive"),
        ("GET", "/3/voucherfileconnections", "connectfile"),
    ):
        refused = sandbox.http.request(method, path, headers=auth(bookkeeping_only))
        assert refused.status_code == 403, path
        assert refused.json()["ErrorInformation"]["message"] == f"Not authorised for scope {scope}"


def test_commit_then_drop_applies_to_uploads_and_connections(sandbox: Sandbox, token: str) -> None:
    voucher = post_voucher(sandbox, token)
    sandbox.http.post("/admin/faults", json={"commit_then_drop": 2})
    try:
        with pytest.raises(httpx.RemoteProtocolError):
            upload(sandbox, token, "dropped-upload.pdf")
        (file_id,) = [
            f["Id"]
            for f in sandbox.http.get("/3/inbox/inbox_v", headers=auth(token)).json()["Folder"][
                "Files"
            ]
            if f["Name"] == "dropped-upload.pdf"
        ]
        with pytest.raises(httpx.RemoteProtocolError):
            connect(sandbox, token, file_id, voucher)
    finally:
        sandbox.http.post("/admin/faults", json={"commit_then_drop": 0})
    # Both committed before the connection was dropped.
    single = sandbox.http.get(f"/3/voucherfileconnections/{file_id}", headers=auth(token))
    assert single.json()["VoucherFileConnection"]["VoucherNumber"] == str(voucher["VoucherNumber"])
    stats = sandbox.http.get("/admin/stats").json()["tenants"]
    mine = next(iter(s for s in stats.values() if s["files_uploaded"]))
    assert mine["commit_then_drop"] >= 2
    assert mine["file_connections_created"] >= 1


def test_admin_records_are_the_servers_own_count(sandbox: Sandbox, token: str, tenant: int) -> None:
    voucher = post_voucher(sandbox, token, comments="closing-key: records-1")
    file_id = upload(sandbox, token, "records.pdf").json()["File"]["Id"]
    connect(sandbox, token, file_id, voucher)
    records = jsonio.loads(sandbox.http.get("/admin/records").content)["Tenants"][str(tenant)]
    posted = [v for v in records["Vouchers"] if v["Comments"] == "closing-key: records-1"]
    assert len(posted) == 1
    assert posted[0]["VoucherNumber"] == voucher["VoucherNumber"]
    assert posted[0]["Rows"] == [
        {"Account": "5010", "Amount": Decimal("100.00")},
        {"Account": "1930", "Amount": Decimal("-100.00")},
    ]
    (stored,) = [f for f in records["Files"] if f["Id"] == file_id]
    assert stored == {
        "Id": file_id,
        "Name": "records.pdf",
        "Folder": "inbox_v",
        "Size": len(PDF),
        "Sha256": hashlib.sha256(PDF).hexdigest(),
        "Connected": True,
    }
    assert {
        "FileId": file_id,
        "VoucherSeries": "A",
        "VoucherNumber": voucher["VoucherNumber"],
        "VoucherYear": 2,
    } in records["FileConnections"]
