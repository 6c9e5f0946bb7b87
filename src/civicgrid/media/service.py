"""Photos: only real images, checked and re-encoded with Pillow, EXIF removed, with thumbnails."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from civicgrid.config import Settings
from civicgrid.kit import scheduler
from civicgrid.kit.db import utcnow
from civicgrid.kit.storage import Storage, for_settings
from civicgrid.media.exceptions import BadDocument, BadPhoto, PhotoNotFound
from civicgrid.media.models import Document, Photo

FORMATS = {"JPEG", "PNG", "WEBP"}
THUMB_SIZE = (320, 320)
MAX_PHOTOS = 6  # photos of one report or one step


@dataclass
class CheckedImage:
    jpeg: bytes
    thumb: bytes
    width: int
    height: int
    gps: tuple[float, float] | None


def _gps_from_exif(img: Image.Image) -> tuple[float, float] | None:
    """The EXIF GPS position (lon, lat) in WGS-84, if the photo carries one."""
    try:
        gps = img.getexif().get_ifd(0x8825)
    except Exception:  # noqa: BLE001 - broken EXIF is simply no position
        return None
    if not gps or 2 not in gps or 4 not in gps:
        return None
    try:

        def degrees(v) -> float:
            d, m, s = (float(x) for x in v)
            return d + m / 60 + s / 3600

        lat, lon = degrees(gps[2]), degrees(gps[4])
        if gps.get(1) == "S":
            lat = -lat
        if gps.get(3) == "W":
            lon = -lon
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lon, lat


def check_images(
    photos: Sequence[tuple[str, bytes] | CheckedImage], settings: Settings
) -> list[CheckedImage]:
    """`check_image` for the photos of one report or step: at most MAX_PHOTOS, and at most
    `report_max_pixels` together, counted from the headers before any photo is decoded. Photos
    already checked (CheckedImage) pass as they are."""
    if len(photos) > MAX_PHOTOS:
        raise BadPhoto(f"最多 {MAX_PHOTOS} 张照片", f"at most {MAX_PHOTOS} photos")
    raw = [p for p in photos if not isinstance(p, CheckedImage)]
    total = sum(_pixels(data, settings) for _name, data in raw)
    if total > settings.report_max_pixels:
        raise BadPhoto(
            f"照片总像素过多 (合计 {total / 1e6:.0f} 百万像素, 最多 "
            f"{settings.report_max_pixels / 1e6:.0f} 百万像素), 请缩小照片后重试",
            f"the photos have too many pixels together ({total / 1e6:.0f} MP; at most "
            f"{settings.report_max_pixels / 1e6:.0f} MP): send smaller photos",
        )
    return [p if isinstance(p, CheckedImage) else check_image(p[1], settings, p[0]) for p in photos]


def _pixels(data: bytes, settings: Settings) -> int:
    """Width × height from the image's header (nothing decoded); 0 when it has none (the full
    check refuses such a file)."""
    if len(data) > settings.photo_max_bytes:
        return 0
    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
    except Exception:  # noqa: BLE001 - not an image: check_image says so properly
        return 0
    return w * h


def check_image(data: bytes, settings: Settings, name: str = "photo") -> CheckedImage:
    """Decode and re-encode an upload. Refuses anything that is not a whole JPEG, PNG or WebP
    within the size and pixel limits (decompression bombs included)."""
    if len(data) > settings.photo_max_bytes:
        mb = f"{settings.photo_max_bytes / 1024 / 1024:g}"
        raise BadPhoto(
            f"照片 {name} 超过 {mb} MB, 请缩小后重试",
            f"The photo {name} is larger than {mb} MB; send a smaller one.",
        )
    if not data:
        raise BadPhoto(f"照片 {name} 是空文件", f"The photo {name} is an empty file.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in FORMATS:
                raise BadPhoto(
                    f"照片 {name} 格式 {img.format} 不支持, 请用 JPEG、PNG 或 WebP",
                    f"The photo {name} is a {img.format} file; send JPEG, PNG or WebP.",
                )
            w, h = img.size
            if w * h > settings.photo_max_pixels:
                most = settings.photo_max_pixels / 1e6
                raise BadPhoto(
                    f"照片 {name} 像素过多 ({w}×{h}, 最多 {most:.0f} 百万像素), 请缩小后重试",
                    f"The photo {name} has too many pixels ({w}×{h}; at most {most:.0f} MP); "
                    "send a smaller one.",
                )
            gps = _gps_from_exif(img)
            img.load()
    except BadPhoto:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise BadPhoto(
            f"照片 {name} 不是完整有效的图片, 请用 JPEG、PNG 或 WebP",
            f"The photo {name} is not a whole, valid image; send JPEG, PNG or WebP.",
        ) from exc
    img = ImageOps.exif_transpose(img)
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85, optimize=True)
    thumb_img = img.copy()
    thumb_img.thumbnail(THUMB_SIZE)
    thumb = io.BytesIO()
    thumb_img.save(thumb, "JPEG", quality=80)
    return CheckedImage(out.getvalue(), thumb.getvalue(), img.width, img.height, gps)


@event.listens_for(Session, "after_commit")
def _files_kept(session: Session) -> None:
    session.info.pop("pending_files", None)


@event.listens_for(Session, "after_soft_rollback")
def _files_removed(session: Session, _previous) -> None:
    for store, key in session.info.pop("pending_files", []):
        store.delete(key)


def storage(settings: Settings) -> Storage:
    return for_settings(settings)


# Other domains that keep checked images in the store without a case photo row (work logs'
# photos, a spot check's photos until the check is finished) name their keys here, so that the
# sweep keeps them: each a function of the session answering the keys (and thumbnail keys) its
# rows refer to.
KEEPERS: list[Callable[[Session], Iterable[str]]] = []


def keep_referenced(
    keys_of: Callable[[Session], Iterable[str]],
) -> Callable[[Session], Iterable[str]]:
    """Register a function naming stored keys the sweep must keep (usable as a decorator)."""
    if keys_of not in KEEPERS:
        KEEPERS.append(keys_of)
    return keys_of


def sweep(session: Session, settings: Settings, *, grace_seconds: float = 0) -> list[str]:
    """Remove stored files that no photo row refers to and that are older than the grace.

    A process killed between writing a photo's files and committing its report leaves such
    files behind (the rollback that would remove them never runs). The grace keeps the files
    of a report another process is still writing: the `media-sweep` job runs this hourly with
    `media_sweep_grace_seconds` (an hour by default); `civicgrid media sweep` on demand.
    """
    store = storage(settings)
    referenced: set[str] = set()
    for key, thumb_key in session.execute(select(Photo.key, Photo.thumb_key)):
        referenced.update((key, thumb_key))
    referenced.update(session.scalars(select(Document.key)))
    for keys_of in KEEPERS:
        referenced.update(keys_of(session))
    before = time.time() - grace_seconds
    removed = []
    for key, modified in list(store.keys()):
        if key not in referenced and modified <= before:
            store.delete(key)
            removed.append(key)
    return removed


def _sweep_job(session: Session, settings: Settings) -> str:
    removed = sweep(session, settings, grace_seconds=settings.media_sweep_grace_seconds)
    return f"removed {len(removed)} photo files no report refers to"


SWEEP_JOB = scheduler.register(
    scheduler.Job(
        "media-sweep",
        every=dt.timedelta(hours=1),
        run=_sweep_job,
        lease=dt.timedelta(hours=1),
        read_only=True,  # it reads the photo rows and deletes files: no write lock held
        description="删除无案件引用的照片文件 / remove photo files no report refers to",
    )
)


@dataclass
class StoredImage:
    """A checked image whose files are stored already, under keys no photo row refers to yet
    (pending): stored before the write, so that no PUT or fsync happens inside it. If its
    report is never committed, `discard` removes the files, or else the sweep does later."""

    key: str
    thumb_key: str
    width: int
    height: int
    size: int
    sha256: str
    gps: tuple[float, float] | None

    def row(self) -> dict:
        return {
            "key": self.key,
            "thumb_key": self.thumb_key,
            "width": self.width,
            "height": self.height,
            "size": self.size,
            "sha256": self.sha256,
        }


def store(settings: Settings, image: CheckedImage | StoredImage) -> StoredImage:
    """Put a checked image's files in the store under new keys (outside any transaction)."""
    if isinstance(image, StoredImage):
        return image
    target = storage(settings)
    key = f"{utcnow():%Y%m%d}/{uuid.uuid4().hex}.jpg"
    thumb_key = key.replace(".jpg", ".thumb.jpg")
    target.put(key, image.jpeg)
    target.put(thumb_key, image.thumb)
    digest = hashlib.sha256(image.jpeg).hexdigest()
    size = len(image.jpeg)
    return StoredImage(key, thumb_key, image.width, image.height, size, digest, image.gps)


def discard(settings: Settings, images: Sequence[StoredImage]) -> None:
    """Remove stored images whose report was refused (what fails here the sweep removes)."""
    target = storage(settings)
    for image in images:
        for key in (image.key, image.thumb_key):
            try:
                target.delete(key)
            except Exception:  # noqa: BLE001 - the sweep is the second chance
                continue


def insert_stored(session: Session, rows: list[dict]) -> None:
    """Photo rows for stored images, one statement for all: each row is a StoredImage's `row()`
    with case_id, event_id and stage."""
    if rows:
        session.connection().execute(_INSERT_PHOTO, rows)


_INSERT_PHOTO = insert(Photo.__table__)


def attach(
    session: Session,
    settings: Settings,
    *,
    case_id: int,
    event_id: int | None,
    stage: str,
    image: CheckedImage,
) -> Photo:
    """Store a checked image for a case. The files are removed again if the transaction rolls
    back, so that no file outlives a failed report."""
    store = storage(settings)
    key = f"{case_id}/{uuid.uuid4().hex}.jpg"
    thumb_key = key.replace(".jpg", ".thumb.jpg")
    pending = session.info.setdefault("pending_files", [])
    pending.extend([(store, key), (store, thumb_key)])
    store.put(key, image.jpeg)
    store.put(thumb_key, image.thumb)
    photo = Photo(
        case_id=case_id,
        event_id=event_id,
        stage=stage,
        key=key,
        thumb_key=thumb_key,
        width=image.width,
        height=image.height,
        size=len(image.jpeg),
        sha256=hashlib.sha256(image.jpeg).hexdigest(),
    )
    session.add(photo)
    session.flush()
    return photo


def photos_of(session: Session, case_id: int) -> list[Photo]:
    return list(session.scalars(select(Photo).where(Photo.case_id == case_id).order_by(Photo.id)))


def mark_public(
    session: Session, *, case_id: int, photo_id: int, by: str, public: bool = True
) -> Photo:
    """Mark a photo of a case as reviewed for the public (or withdraw it), recording who and
    when: with public_photos=after_review only such photos are shown to anonymous readers.
    PhotoNotFound unless the photo belongs to the case. Marking it as it already is changes
    nothing (the first reviewer and time are kept)."""
    photo = session.get(Photo, photo_id)
    if photo is None or photo.case_id != case_id:
        raise PhotoNotFound(photo_id)
    if photo.public != public:
        photo.public, photo.public_at, photo.public_by = public, utcnow(), by
        session.flush()
    return photo


# --- documents (a notice's attachments): checked by content, stored under their own prefix ----

DOCUMENT_PREFIX = "documents/"
OOXML = {
    "word/": ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xl/": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "ppt/": ("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
}
LEGACY_OFFICE = {
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
}
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass
class CheckedDocument:
    data: bytes
    filename: str
    content_type: str
    image: bool


def _office_zip(data: bytes) -> tuple[str, str] | None:
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    for prefix, found in OOXML.items():
        if any(n.startswith(prefix) for n in names):
            return found
    return None


def check_document(data: bytes, filename: str, settings: Settings) -> CheckedDocument:
    """What a file is by its content, not its name: a PDF (a header and an end-of-file marker),
    an Office file (OOXML's zip with its parts, or the older OLE2 compound file of a .doc,
    .xls or .ppt) or an image (decoded and re-encoded as a photo). The name's extension must
    agree with the content. Refuses anything else, empty files and files above
    `document_max_bytes`."""
    name = (filename or "file").replace("\\", "/").rsplit("/", 1)[-1][:150] or "file"
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not data:
        raise BadDocument(f"文件 {name} 是空文件", f"the file {name} is empty")
    if len(data) > settings.document_max_bytes:
        mb = f"{settings.document_max_bytes / 1024 / 1024:g}"
        raise BadDocument(f"文件 {name} 超过 {mb} MB", f"the file {name} is larger than {mb} MB")
    refused = BadDocument(
        f"文件 {name} 的内容与类型不符或不受支持 (可上传 PDF、Office 文件和 JPEG/PNG/WebP 图片)",
        f"the content of {name} is not what its name says or is not accepted "
        "(PDF, Office files and JPEG/PNG/WebP images are)",
    )
    if data.startswith(b"%PDF-"):
        if ext != "pdf" or b"%%EOF" not in data[-2048:]:
            raise refused
        return CheckedDocument(data, name, "application/pdf", False)
    if data.startswith(b"PK\x03\x04"):
        found = _office_zip(data)
        if found is None or found[0] != ext:
            raise refused
        return CheckedDocument(data, name, found[1], False)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        if ext not in LEGACY_OFFICE:
            raise refused
        return CheckedDocument(data, name, LEGACY_OFFICE[ext], False)
    if ext in ("jpg", "jpeg", "png", "webp"):
        image = check_image(data, settings, name)  # re-encoded: nothing hidden survives
        stem = name.rsplit(".", 1)[0]
        return CheckedDocument(image.jpeg, f"{stem}.jpg", "image/jpeg", True)
    raise refused


def store_document(session: Session, settings: Settings, document: CheckedDocument) -> Document:
    """Put a checked document in the store with its row (what the sweep, backups and restores
    go by); the file is removed again if the transaction rolls back. The owner's row names it
    by its key."""
    target = storage(settings)
    suffix = document.filename.rsplit(".", 1)[-1].lower() if "." in document.filename else "bin"
    key = f"{DOCUMENT_PREFIX}{utcnow():%Y%m%d}/{uuid.uuid4().hex}.{suffix}"
    session.info.setdefault("pending_files", []).append((target, key))
    target.put(key, document.data)
    row = Document(
        key=key,
        content_type=document.content_type,
        size=len(document.data),
        sha256=hashlib.sha256(document.data).hexdigest(),
    )
    session.add(row)
    session.flush()
    return row


def read_document(settings: Settings, key: str) -> bytes:
    """A stored document's bytes."""
    return storage(settings).get(key)
