"""The landing area: finding deliveries and checking them against their manifests.

A delivery is `<landing>/<system>/<YYYY-MM-DD>/` with its files and a `_manifest.json`
that the source system writes last. No manifest: the delivery is still being written
and is not touched. A manifest that does not match the files refuses the delivery whole.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from extract.contract import FeedAgreement

MANIFEST_NAME = "_manifest.json"
DELIVERY_FOLDER = re.compile(r"\d{4}-\d{2}-\d{2}")
"""A delivery folder's name, as the agreement writes it: `YYYY-MM-DD`, nothing else (Python's
`date.fromisoformat` also reads `20260113` and `2026W032`, which would load a date twice)."""


class ManifestFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    rows: int
    sha256: str
    control_totals: dict[str, Decimal] = {}
    """Exact decimal sums; written as strings, as the agreement shows (`"-1234567.89"`)."""


class Manifest(BaseModel):
    """`_manifest.json`: read by the extract, written by the simulator (and the tests) from this one model."""

    model_config = ConfigDict(frozen=True)

    system: str
    business_date: date
    extracted_at: str | None = None
    files: dict[str, ManifestFile]

    def write(self, folder: Path) -> Path:
        """Write the manifest into its delivery folder; do it last, after every file."""
        path = folder / MANIFEST_NAME
        path.write_text(self.model_dump_json(indent=2, exclude_defaults=True) + "\n", encoding="utf-8")
        return path


class DeliveryRefused(Exception):
    """The delivery does not match its manifest or the agreement; nothing of it may be loaded."""

    def __init__(self, delivery: Delivery, problems: list[str]) -> None:
        self.delivery = delivery
        self.problems = problems
        super().__init__(f"{delivery.label} refused: " + "; ".join(problems))


@dataclass(frozen=True)
class Delivery:
    system: str
    business_date: date
    path: Path

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST_NAME

    @property
    def is_complete(self) -> bool:
        return self.manifest_path.is_file()

    @property
    def label(self) -> str:
        return f"{self.system}/{self.business_date.isoformat()}"

    def manifest_sha256(self) -> str:
        return sha256_of(self.manifest_path)

    def read_manifest(self) -> Manifest:
        try:
            manifest = Manifest.model_validate_json(self.manifest_path.read_bytes())
        except (ValidationError, ValueError) as exc:
            raise DeliveryRefused(self, [f"{MANIFEST_NAME} is not a valid manifest: {exc}"]) from exc
        problems = []
        if manifest.system != self.system:
            problems.append(f"{MANIFEST_NAME} names system {manifest.system!r}, the folder {self.system!r}")
        if manifest.business_date != self.business_date:
            problems.append(
                f"{MANIFEST_NAME} names business date {manifest.business_date}, the folder {self.business_date}"
            )
        if problems:
            raise DeliveryRefused(self, problems)
        return manifest


def sha256_of(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class LandingScan:
    """The delivery folders of the landing area, and what else is there (reported, left alone)."""

    deliveries: list[Delivery] = field(default_factory=list)
    strays: list[str] = field(default_factory=list)


def scan_landing(landing_dir: Path, agreement: FeedAgreement) -> LandingScan:
    """Every `YYYY-MM-DD` folder of every known system, complete or not, oldest first; every
    other entry of a system's folder is named in `strays` and left alone."""
    scan = LandingScan()
    for system in agreement.systems:
        system_dir = landing_dir / system
        if not system_dir.is_dir():
            continue
        for folder in sorted(system_dir.iterdir()):
            where = f"{system}/{folder.name}"
            if not folder.is_dir():
                scan.strays.append(f"{where}: not a folder; left alone")
                continue
            if not DELIVERY_FOLDER.fullmatch(folder.name):
                scan.strays.append(f"{where}: not a delivery folder (the agreement's are YYYY-MM-DD); left alone")
                continue
            try:
                business_date = date.fromisoformat(folder.name)
            except ValueError:
                scan.strays.append(f"{where}: not a date; left alone")
                continue
            scan.deliveries.append(Delivery(system, business_date, folder))
    scan.deliveries.sort(key=lambda d: (d.business_date, agreement.systems.index(d.system)))
    return scan


def find_deliveries(landing_dir: Path, agreement: FeedAgreement) -> list[Delivery]:
    """Every dated folder of every known system, complete or not, oldest first."""
    return scan_landing(landing_dir, agreement).deliveries


def symbolic_links(delivery: Delivery) -> list[str]:
    """A delivery holds regular files only: a symbolic link (which could point anywhere, out of
    the landing area too) refuses it, as does a delivery folder that is one."""
    if delivery.path.is_symlink():
        return [f"the delivery folder is a symbolic link (to {delivery.path.readlink()}): refused"]
    return [
        f"{entry.name}: a symbolic link (to {entry.readlink()}); a delivery holds regular files only"
        for entry in sorted(delivery.path.iterdir())
        if entry.is_symlink()
    ]


def check_files_against_manifest(
    delivery: Delivery, manifest: Manifest, agreement: FeedAgreement, checksum: Callable[[Path], str] = sha256_of
) -> list[str]:
    """Problems with the delivery's file set and checksums (rows and totals are checked on parsing):
    a file of the agreement that the manifest leaves out, unless the agreement marks it optional,
    refuses the delivery as much as a file that does not match.

    `checksum`: a file's SHA-256 (extract.load passes one that reads the file once for all its checks)."""
    problems = []
    landed = {p.name for p in delivery.path.iterdir() if p.is_file() and p.name != MANIFEST_NAME}
    for name in sorted(set(manifest.files) - landed):
        problems.append(f"{name}: listed in the manifest but not delivered")
    for name in sorted(landed - set(manifest.files)):
        problems.append(f"{name}: delivered but not listed in the manifest")
    listed = [agreement.feed_for(delivery.system, name) for name in manifest.files]
    for feed in agreement.files_of(delivery.system):
        if not feed.optional and feed not in listed:
            expected = f"{feed.name}-HH.{feed.format}" if feed.is_hourly else f"{feed.name}.{feed.format}"
            problems.append(
                f"{expected}: not in the manifest; the agreement (extract/feeds/feeds.yml) says {delivery.system} "
                "delivers it every business date (an empty file has its header row only)"
            )
    for name in sorted(set(manifest.files) & landed):
        if agreement.feed_for(delivery.system, name) is None:
            problems.append(f"{name}: not a file of the {delivery.system} agreement")
            continue
        actual = checksum(delivery.path / name)
        if actual != manifest.files[name].sha256:
            problems.append(f"{name}: sha256 {actual} differs from the manifest's {manifest.files[name].sha256}")
    return problems
