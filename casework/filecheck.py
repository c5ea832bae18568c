"""What an uploaded file is, decided from its content (libmagic) and never from its name; refusals carry a message
for the person who sent it. Office files are zip archives: they are opened with `zipfile` (never extracted) and
refused when they would inflate past reason (a zip bomb) or carry macros."""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass

import magic

from casework.errors import InvalidInput

NAME_MAX = 160   # models.documents.NAME_MAX


@dataclass(frozen=True)
class FileType:
    label: str
    extension: str                       # the one a safe name gets
    extensions: frozenset[str] = frozenset()   # others that agree with the content ("jpeg" for a JPEG)

    def accepts(self, ext: str) -> bool:
        return ext == self.extension or ext in self.extensions


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT, ODS, ODP = (f"application/vnd.oasis.opendocument.{k}" for k in ("text", "spreadsheet", "presentation"))

# What a case file holds: documents, scans, photos, spreadsheets, e-mails. Nothing that runs, nothing a browser
# would render as a page (HTML, SVG, XML), no archives other than office files.
ALLOWED: dict[str, FileType] = {
    "application/pdf": FileType("PDF", "pdf"),
    "image/png": FileType("PNG image", "png"),
    "image/jpeg": FileType("JPEG image", "jpg", frozenset({"jpeg", "jpe"})),
    "image/gif": FileType("GIF image", "gif"),
    "image/webp": FileType("WebP image", "webp"),
    "image/heic": FileType("HEIC photo", "heic"),
    "image/heif": FileType("HEIF photo", "heif"),
    "image/tiff": FileType("TIFF image", "tif", frozenset({"tiff"})),
    "text/plain": FileType("text", "txt", frozenset({"text", "log", "md", "csv", "tsv"})),
    "text/csv": FileType("CSV", "csv", frozenset({"txt"})),
    "text/rtf": FileType("RTF document", "rtf"),
    "application/rtf": FileType("RTF document", "rtf"),
    "message/rfc822": FileType("e-mail", "eml"),
    "application/msword": FileType("Word 97-2003 document", "doc"),
    "application/vnd.ms-excel": FileType("Excel 97-2003 workbook", "xls"),
    "application/vnd.ms-outlook": FileType("Outlook message", "msg"),
    DOCX: FileType("Word document", "docx"),
    XLSX: FileType("Excel workbook", "xlsx"),
    PPTX: FileType("PowerPoint presentation", "pptx"),
    ODT: FileType("OpenDocument text", "odt"),
    ODS: FileType("OpenDocument spreadsheet", "ods"),
    ODP: FileType("OpenDocument presentation", "odp"),
}
ALLOWED_TEXT = "PDF, Word, Excel, PowerPoint, OpenDocument, RTF, text, CSV, e-mail (.eml, .msg) and images " \
               "(PNG, JPEG, GIF, WebP, HEIC, TIFF)"

PROGRAMS = {"application/x-dosexec", "application/vnd.microsoft.portable-executable", "application/x-executable",
            "application/x-sharedlib", "application/x-pie-executable", "application/x-mach-binary",
            "application/x-elf", "application/java-archive", "application/x-msi", "application/x-ms-shortcut",
            "application/vnd.android.package-archive", "application/x-java-applet"}
SCRIPTS = {"text/x-shellscript", "application/x-shellscript", "application/x-sh", "text/x-python", "text/x-perl",
           "text/x-php", "text/x-ruby", "text/x-lua", "text/x-tcl", "text/x-awk", "text/x-msdos-batch",
           "application/javascript", "text/javascript", "application/x-powershell", "text/x-java"}
PAGES = {"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml"}
ARCHIVES = {"application/zip", "application/x-7z-compressed", "application/x-rar", "application/vnd.rar",
            "application/x-rar-compressed", "application/gzip", "application/x-gzip", "application/x-bzip2",
            "application/x-xz", "application/x-tar", "application/zstd", "application/x-lzma",
            "application/x-iso9660-image", "application/vnd.ms-cab-compressed"}
# Headers libmagic may not name when a file is cut short; checked first, whatever libmagic says.
PROGRAM_HEADERS = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                   b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")

# Zip limits: far above any real office file, far below what would exhaust whoever opens it.
ZIP_MAX_MEMBERS = 5000
ZIP_MAX_TOTAL = 256 * 1024 * 1024      # uncompressed bytes, all members together
ZIP_MAX_RATIO = 100                     # uncompressed : compressed, for the archive as a whole
ZIP_RATIO_FROM = 10 * 1024 * 1024       # small files may compress better than that (empty sheets)

# Extensions replaced by the detected type's (others are kept as part of the name: "minutes 2.3" + ".pdf").
KNOWN_EXTENSIONS = {e for t in ALLOWED.values() for e in (t.extension, *t.extensions)} | {
    "exe", "dll", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "cpl", "hta", "lnk", "reg", "vbs", "vbe", "js",
    "jse", "wsf", "wsh", "ps1", "psm1", "sh", "bash", "py", "pl", "php", "rb", "jar", "apk", "app", "bin", "elf",
    "html", "htm", "xhtml", "shtml", "svg", "xml", "xsl", "zip", "7z", "rar", "gz", "tgz", "bz2", "xz", "tar",
    "iso", "img", "cab", "docm", "dotm", "xlsm", "xltm", "pptm", "potm", "ppsm", "dot", "xlt", "pdf_", "dat", "tmp"}
RESERVED_CHARACTERS = set('<>:"/\\|?*')
WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


@dataclass(frozen=True)
class Checked:
    """A file that may be stored: its content type, the type's label and a safe name."""

    content_type: str
    label: str
    name: str


def refuse(message: str) -> InvalidInput:
    return InvalidInput({"file": message})


def megabytes(n: int) -> str:
    """20971520 → '20 MB', 1536 → '1.5 KB' (binary units, as file managers on Windows show them)."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value >= 10 or value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def check(name: str | None, data: bytes, max_bytes: int) -> Checked:
    """Decide whether `data` may be stored and under which name.

    :raise InvalidInput: {"file": why} — empty, too big, a type not allowed, a damaged or inflating office file
    """
    if not data:
        raise refuse("the file is empty (0 bytes): choose the file again, or check it opens on your computer")
    if len(data) > max_bytes:
        raise refuse(f"the file is {megabytes(len(data))}, larger than the {megabytes(max_bytes)} limit")
    content_type = detect(data)
    kind = ALLOWED[content_type]
    safe = safe_name(name, kind)
    if content_type == "text/plain" and safe.lower().endswith(".csv"):
        content_type = "text/csv"
    return Checked(content_type, kind.label, safe)


def detect(data: bytes) -> str:
    """The allowed content type of `data`, from its content.

    :raise InvalidInput: a program, script, web page, SVG, archive or any type not on the allow-list
    """
    found = magic.from_buffer(data, mime=True) or "application/octet-stream"
    if data.startswith(PROGRAM_HEADERS) and not found.startswith("text/"):
        raise refuse("the file is a program (an executable), which may not be uploaded, whatever its name says")
    if data.startswith(b"#!"):
        raise refuse("the file is a script, which may not be uploaded")
    if data.startswith(b"PK\x03\x04") or found in ("application/zip", DOCX, XLSX, PPTX, ODT, ODS, ODP):
        return _office(data)
    if found in PROGRAMS:
        raise refuse("the file is a program (an executable), which may not be uploaded, whatever its name says")
    if found in SCRIPTS or found.startswith("text/x-script"):
        raise refuse("the file is a script, which may not be uploaded")
    if found.startswith("text/x-"):
        found = "text/plain"   # libmagic's guesses at plain text ("text/x-Algol68" for English prose)
    if found in PAGES:
        raise refuse("web pages, SVG and XML files may not be uploaded (they can carry scripts); "
                     "save it as PDF and upload that")
    if found in ARCHIVES:
        raise refuse("archives (zip, 7z, rar, gz ...) may not be uploaded: upload the files in it one by one")
    if found not in ALLOWED:
        raise refuse(f"files of this type ({found}) may not be uploaded; allowed: {ALLOWED_TEXT}")
    return found


def _office(data: bytes) -> str:
    """The office type of a zip archive, after checking it would not inflate past reason."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise refuse("the file is a damaged zip or office file and cannot be stored; "
                     "open it on your computer and save it again") from None
    if len(members) > ZIP_MAX_MEMBERS:
        raise refuse(f"the file holds {len(members)} parts, more than the {ZIP_MAX_MEMBERS} an office file may have")
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members) or 1
    if total > ZIP_MAX_TOTAL or (total > ZIP_RATIO_FROM and total / packed > ZIP_MAX_RATIO):
        raise refuse(f"the file would expand to {megabytes(total)} when opened ({total // packed}x its size): "
                     "it looks like a zip bomb and was refused")
    names = {m.filename for m in members}
    kind = _office_kind(archive, names)
    if kind is None:
        raise refuse("archives (zip) may not be uploaded: upload the files in it one by one")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise refuse("the file contains macros, which may not be uploaded: save it as a .docx or .xlsx without "
                     "macros (or as PDF) and upload that")
    _inflate_within(archive, members, total)
    return kind


def _office_kind(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    if "[Content_Types].xml" in names:
        for part, kind in (("word/document.xml", DOCX), ("xl/workbook.xml", XLSX), ("ppt/presentation.xml", PPTX)):
            if part in names:
                return kind
        return None
    if "mimetype" in names and archive.getinfo("mimetype").file_size < 100:
        try:
            declared = archive.read("mimetype").decode("ascii", "replace").strip()
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error, OSError):
            return None
        return declared if declared in (ODT, ODS, ODP) else None
    return None


def _inflate_within(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], declared: int) -> None:
    """Read every part through a counter (nothing is written anywhere): a part that lies about its size, fails its
    checksum or is encrypted refuses the file."""
    budget = min(declared, ZIP_MAX_TOTAL) + 1
    try:
        for member in members:
            with archive.open(member) as part:
                while chunk := part.read(1024 * 1024):
                    budget -= len(chunk)
                    if budget < 0:
                        raise refuse("the file expands to more than its parts declare: refused as a zip bomb")
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error, EOFError, OSError):
        raise refuse("the file is a damaged, encrypted or unusual office file and cannot be stored; "
                     "open it on your computer and save it again") from None


def safe_name(raw: str | None, kind: FileType) -> str:
    """A file name safe on any system and in a Content-Disposition header: the last path part only, no control,
    format or reserved characters, no leading dots, at most NAME_MAX characters, with an extension that agrees
    with the content (replaced or added); "document.<ext>" when nothing usable is left."""
    text = unicodedata.normalize("NFC", raw or "")
    text = re.split(r"[/\\]", text)[-1]
    out = []
    for ch in text:
        category = unicodedata.category(ch)
        if category[0] == "Z" or ch in "\t\r\n":
            out.append(" ")
        elif category[0] == "C":   # control, format (U+202E flips "exe.pdf"), surrogates, unassigned
            continue
        else:
            out.append("_" if ch in RESERVED_CHARACTERS else ch)
    text = " ".join("".join(out).split()).strip(" .")
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    ext = ext.lower()
    if not kind.accepts(ext):
        if ext and ext not in KNOWN_EXTENSIONS:
            stem = text   # "minutes v2.3" keeps its ".3"
        ext = kind.extension
    stem = stem.strip(" .")[: NAME_MAX - len(ext) - 1].rstrip(" .")
    if not stem:
        stem = "document"
    elif stem.split(".")[0].lower() in WINDOWS_DEVICES:
        stem = f"_{stem}"
    return f"{stem}.{ext}"
