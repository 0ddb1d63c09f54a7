"""The landing area: finding deliveries and checking them against their manifests.

A delivery is `<landing>/<system>/<YYYY-MM-DD>/` with its files and a `_manifest.json`
that the source system writes last. No manifest: the delivery is still being written
and is not touched. A manifest that does not match the files refuses the delivery whole.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from extract.contract import FeedAgreement

MANIFEST_NAME = "_manifest.json"


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


def find_deliveries(landing_dir: Path, agreement: FeedAgreement) -> list[Delivery]:
    """Every dated folder of every known system, complete or not, oldest first."""
    deliveries = []
    for system in agreement.systems:
        system_dir = landing_dir / system
        if not system_dir.is_dir():
            continue
        for folder in system_dir.iterdir():
            try:
                business_date = date.fromisoformat(folder.name)
            except ValueError:
                continue  # not a delivery folder (e.g. a vendor's scratch directory)
            if folder.is_dir():
                deliveries.append(Delivery(system, business_date, folder))
    return sorted(deliveries, key=lambda d: (d.business_date, agreement.systems.index(d.system)))


def check_files_against_manifest(delivery: Delivery, manifest: Manifest, agreement: FeedAgreement) -> list[str]:
    """Problems with the delivery's file set and checksums (rows and totals are checked on parsing):
    a file of the agreement that the manifest leaves out, unless the agreement marks it optional,
    refuses the delivery as much as a file that does not match."""
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
        actual = sha256_of(delivery.path / name)
        if actual != manifest.files[name].sha256:
            problems.append(f"{name}: sha256 {actual} differs from the manifest's {manifest.files[name].sha256}")
    return problems
