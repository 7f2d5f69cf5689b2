"""The sandbox's file API: ``/3/inbox``, ``/3/archive`` and ``/3/voucherfileconnections``.

Following Fortnox's OpenAPI spec and its documented behaviour:

* ``POST /3/inbox?folderId=inbox_v`` (or ``path=``) takes one ``multipart/form-data`` part
  named ``file`` and answers 201 ``{"File": {Id, Name, Size, Path, ArchiveFileId, ...}}``.
  Fortnox does not refuse a second file of the same name, and neither does the sandbox: an
  uploader that retries blindly leaves two files (which is what the export's tests look for).
* ``GET /3/inbox`` is the root folder, ``GET /3/inbox/{Id}`` a folder (its files and
  sub-folders) or, for a file's Id, the file's bytes.
* ``POST /3/voucherfileconnections?financialyear=Id`` with ``{"VoucherFileConnection":
  {FileId, VoucherSeries, VoucherNumber}}`` connects a file to a voucher of that year; the
  file then leaves the inbox for the archive's connected files. ``VoucherYear`` is read-only
  (the year comes from ``financialyear``). A file is connected to one voucher at most, since
  ``GET /3/voucherfileconnections/{FileId}`` answers one record.
* ``GET /3/archive/{Id}`` (or ``?fileid=``) gives any file's bytes.
* ``DELETE /3/inbox/{Id}`` removes a file that is not connected; ``DELETE
  /3/voucherfileconnections/{FileId}`` disconnects one (the file returns to its folder).

Handlers run under the tenant's lock, like every other /3/ handler.
"""

from __future__ import annotations

import uuid
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from include.fortnox_sandbox import jsonio
from include.fortnox_sandbox.api import (
    EMPTY_BODY,
    INVALID_PARAMETER,
    JSON_SYNTAX,
    NOT_FOUND,
    ApiError,
    ApiRequest,
    Reply,
    TenantApi,
    _paged,
    json_reply,
)
from include.fortnox_sandbox.tenants import (
    INBOX_FOLDERS,
    INBOX_ROOT_ID,
    FileConnection,
    StoredFile,
    Tenant,
)

# Top-level /3/ resources served here.
FILE_RESOURCES = frozenset({"inbox", "archive", "voucherfileconnections"})
MAX_FILE_NAME = 200


class FileApi:
    """The file endpoints of one tenant; shares the tenant's lock with :class:`TenantApi`."""

    def __init__(self, api: TenantApi) -> None:
        self.api = api

    @property
    def tenant(self) -> Tenant:
        return self.api.tenant

    def handle(self, request: ApiRequest) -> Reply:
        return self.api.guarded(self._route, request)

    def _route(self, req: ApiRequest) -> Reply:
        parts = [p for p in req.path.split("/") if p]
        resource, rest = parts[0], parts[1:]
        routes = {
            ("GET", "inbox"): self.inbox,
            ("POST", "inbox"): self.upload,
            ("DELETE", "inbox"): self.delete_file,
            ("GET", "archive"): self.archive,
            ("GET", "voucherfileconnections"): self.connections,
            ("POST", "voucherfileconnections"): self.connect,
            ("DELETE", "voucherfileconnections"): self.disconnect,
        }
        handler = routes.get((req.method, resource))
        if handler is None:
            message = f"{req.method} is not supported on /3/{req.path}"
            raise ApiError(405, INVALID_PARAMETER, message)
        return handler(req, rest)

    # -- inbox --------------------------------------------------------------------------------

    def inbox(self, req: ApiRequest, rest: list[str]) -> Reply:
        if not rest:
            return json_reply(200, {"Folder": inbox_folder_json(self.tenant, INBOX_ROOT_ID, req)})
        if len(rest) == 1:
            if rest[0] == INBOX_ROOT_ID or rest[0] in INBOX_FOLDERS:
                return json_reply(200, {"Folder": inbox_folder_json(self.tenant, rest[0], req)})
            if rest[0] in self.tenant.files:
                return file_reply(self.tenant.files[rest[0]])
        raise ApiError(404, NOT_FOUND, f"No folder or file {'/'.join(rest)} in the inbox")

    def upload(self, req: ApiRequest, rest: list[str]) -> Reply:
        if rest:
            raise ApiError(405, INVALID_PARAMETER, "POST a file to /3/inbox?folderId=<folder>")
        folder = _folder_param(req)
        name, media_type, content = multipart_file(req)
        stored = StoredFile(
            id=str(uuid.uuid4()),
            archive_file_id=str(uuid.uuid4()),
            name=name,
            folder_id=folder,
            media_type=media_type,
            content=content,
        )
        self.tenant.files[stored.id] = stored
        return json_reply(201, {"File": file_row_json(stored, req)})

    def delete_file(self, req: ApiRequest, rest: list[str]) -> Reply:
        stored = self._file(rest)
        connection = self.tenant.file_connections.get(stored.id)
        if connection is not None:
            raise ApiError(
                400,
                INVALID_PARAMETER,
                f"File {stored.id} is connected to voucher {connection.series} "
                f"{connection.number}; remove the connection first",
            )
        del self.tenant.files[stored.id]
        return Reply(204, b"")

    # -- archive ------------------------------------------------------------------------------

    def archive(self, req: ApiRequest, rest: list[str]) -> Reply:
        wanted = rest[0] if len(rest) == 1 else req.query.get("fileid")
        if len(rest) > 1:
            raise ApiError(404, NOT_FOUND, f"Not found: /3/{req.path}")
        if not wanted:
            return json_reply(200, {"Folder": archive_folder_json(self.tenant, req)})
        for stored in self.tenant.files.values():
            if wanted in (stored.id, stored.archive_file_id):
                return file_reply(stored)
        raise ApiError(404, NOT_FOUND, f"File {wanted} not found in the archive")

    # -- voucher file connections ------------------------------------------------------------

    def connections(self, req: ApiRequest, rest: list[str]) -> Reply:
        if not rest:
            items = [file_connection_json(c, req) for c in self.tenant.file_connections.values()]
            return _paged(req.query, "VoucherFileConnections", items)
        connection = self.tenant.file_connections.get(rest[0]) if len(rest) == 1 else None
        if connection is None:
            raise ApiError(404, NOT_FOUND, f"No voucher file connection for file {rest[0]}")
        return json_reply(200, {"VoucherFileConnection": file_connection_json(connection, req)})

    def connect(self, req: ApiRequest, rest: list[str]) -> Reply:
        if rest:
            raise ApiError(405, INVALID_PARAMETER, "POST to /3/voucherfileconnections")
        data = wrapped_object(req, "VoucherFileConnection")
        year = self.api.year(req.query)
        file_id = _text(data, "FileId")
        series = _text(data, "VoucherSeries")
        number_value = data.get("VoucherNumber")
        number_text = str(number_value) if isinstance(number_value, int | str) else ""
        if isinstance(number_value, bool) or not number_text.isdigit():
            raise ApiError(
                400, INVALID_PARAMETER, "VoucherFileConnection: VoucherNumber is required"
            )
        number = int(number_text)
        stored = self.tenant.files.get(file_id)
        if stored is None:
            raise ApiError(400, INVALID_PARAMETER, f"File {file_id} not found")
        existing = self.tenant.file_connections.get(file_id)
        if existing is not None:
            raise ApiError(
                400,
                INVALID_PARAMETER,
                f"File {file_id} is already connected to voucher {existing.series} "
                f"{existing.number} (financial year {existing.year_id})",
            )
        found = [
            v
            for v, _ in self.tenant.vouchers(year)
            if v.series == series and int(v.number) == number
        ]
        if not found:
            raise ApiError(
                400,
                INVALID_PARAMETER,
                f"Voucher {series} {number} not found in financial year {year.id}",
            )
        connection = FileConnection(file_id, series, number, year.id, found[0].text)
        self.tenant.file_connections[file_id] = connection
        return json_reply(201, {"VoucherFileConnection": file_connection_json(connection, req)})

    def disconnect(self, req: ApiRequest, rest: list[str]) -> Reply:
        if len(rest) != 1 or rest[0] not in self.tenant.file_connections:
            raise ApiError(404, NOT_FOUND, f"No voucher file connection for {'/'.join(rest)}")
        del self.tenant.file_connections[rest[0]]
        return Reply(204, b"")

    def _file(self, rest: list[str]) -> StoredFile:
        stored = self.tenant.files.get(rest[0]) if len(rest) == 1 else None
        if stored is None:
            raise ApiError(404, NOT_FOUND, f"File {'/'.join(rest)} not found")
        return stored


# -- request parsing ------------------------------------------------------------------------


def _folder_param(req: ApiRequest) -> str:
    """``folderId`` or ``path`` (an Id, a name, or ``inbox/<id>``); the root without either."""
    value = (req.query.get("folderid") or req.query.get("path") or INBOX_ROOT_ID).strip("/")
    if value.startswith(f"{INBOX_ROOT_ID}/"):
        value = value[len(INBOX_ROOT_ID) + 1 :]
    if value == INBOX_ROOT_ID or value in INBOX_FOLDERS:
        return value
    by_name = {name.lower(): fid for fid, name in INBOX_FOLDERS.items()}
    if value.lower() in by_name:
        return by_name[value.lower()]
    raise ApiError(400, INVALID_PARAMETER, f"Unknown inbox folder {value!r}")


def multipart_file(req: ApiRequest) -> tuple[str, str, bytes]:
    """(file name, media type, bytes) of the ``file`` part of a multipart/form-data body."""
    content_type = req.content_type
    if not content_type.lower().startswith("multipart/form-data"):
        raise ApiError(
            400, EMPTY_BODY, "Upload the file as multipart/form-data with a part named 'file'"
        )
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + req.body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise ApiError(400, EMPTY_BODY, "The multipart body could not be read")
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") != "file":
            continue
        name = part.get_filename() or ""
        if not name.strip():
            raise ApiError(400, INVALID_PARAMETER, "The file part has no file name")
        if len(name) > MAX_FILE_NAME or "/" in name:
            raise ApiError(
                400, INVALID_PARAMETER, f"File name longer than {MAX_FILE_NAME} or with '/'"
            )
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        if not content:
            raise ApiError(400, EMPTY_BODY, f"File {name} is empty")
        return name, part.get_content_type(), content
    raise ApiError(400, EMPTY_BODY, "No part named 'file' in the upload")


def wrapped_object(req: ApiRequest, key: str) -> dict[str, object]:
    """The object under ``key`` of a JSON body (errors like Fortnox's)."""
    if not req.body.strip():
        raise ApiError(400, EMPTY_BODY, "Request body is empty")
    try:
        payload = jsonio.loads(req.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, JSON_SYNTAX, f"Invalid JSON in request body: {exc}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get(key), dict):
        raise ApiError(400, EMPTY_BODY, f'Request body must be {{"{key}": {{...}}}}')
    data: dict[str, object] = payload[key]
    return data


def _text(data: dict[str, object], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, INVALID_PARAMETER, f"VoucherFileConnection: {name} is required")
    return value


# -- answers ----------------------------------------------------------------------------------


def file_reply(stored: StoredFile) -> Reply:
    return Reply(200, stored.content, content_type=stored.media_type or "application/octet-stream")


def file_row_json(stored: StoredFile, req: ApiRequest) -> dict[str, object]:
    """A ``Folder_FileRow``: what an upload answers and a folder lists."""
    in_folder = stored.folder_id != INBOX_ROOT_ID
    return {
        "@url": f"{req.base_url}/3/inbox/{stored.id}",
        "ArchiveFileId": stored.archive_file_id,
        "Comments": "",
        "Id": stored.id,
        "Name": stored.name,
        "Path": f"{INBOX_ROOT_ID}/{stored.folder_id}" if in_folder else INBOX_ROOT_ID,
        "Size": len(stored.content),
    }


def inbox_folder_json(tenant: Tenant, folder_id: str, req: ApiRequest) -> dict[str, object]:
    """A ``Folder``: the files still in it (connected files have moved to the archive)."""
    files = [
        file_row_json(f, req)
        for f in tenant.files.values()
        if f.folder_id == folder_id and f.id not in tenant.file_connections
    ]
    folders: list[dict[str, object]] = []
    url = f"{req.base_url}/3/inbox"
    if folder_id == INBOX_ROOT_ID:
        folders = [
            {"@url": f"{url}/{fid}", "Id": fid, "Name": name} for fid, name in INBOX_FOLDERS.items()
        ]
    else:
        url = f"{url}/{folder_id}"
    return {
        "@url": url,
        "Email": f"inbox.{tenant.tenant_id}@sandbox.invalid",
        "Files": files,
        "Folders": folders,
        "Id": folder_id,
        "Name": INBOX_FOLDERS.get(folder_id, "Inbox"),
    }


def archive_folder_json(tenant: Tenant, req: ApiRequest) -> dict[str, object]:
    """The archive's connected files (the sandbox keeps them in one flat folder)."""
    files = [
        file_row_json(tenant.files[file_id], req)
        for file_id in tenant.file_connections
        if file_id in tenant.files
    ]
    return {"@url": f"{req.base_url}/3/archive", "Files": files, "Folders": [], "Name": "root"}


def file_connection_json(connection: FileConnection, req: ApiRequest) -> dict[str, object]:
    return {
        "@url": f"{req.base_url}/3/voucherfileconnections/{connection.file_id}",
        "FileId": connection.file_id,
        "VoucherDescription": connection.description,
        "VoucherNumber": str(connection.number),
        "VoucherSeries": connection.series,
        "VoucherYear": connection.year_id,
    }
