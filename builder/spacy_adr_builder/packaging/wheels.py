"""What a built wheel ships: every member, any file of the licensed data folder copied in
byte for byte, and the components that carry terminology.

A pipeline's components serialise what they were initialised with (resources leave
through `to_disk`), so a wheel carries the MedDRA concepts and the gazetteer's term list by
design; a raw data file inside it is an accident. `check_wheels` tells the two apart: it hashes
every wheel member (SHA-256, streamed) and compares it with the files of the data folder, which
are hashed only when some member has the same size (most never are), and reports the members of
the components whose factories carry terminology, with their sizes.

It also counts what a pipeline's `vocab/strings.json` holds: spaCy keeps every string of every
Doc made with the vocabulary (training and evaluation corpora included), so the words of the
training tweets, user handles among them, ship in that file unless it is pruned.
"""
import hashlib
import json
import os
import re
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Dict, List, Optional, Sequence, Union

_CHUNK = 1 << 20

# Factories whose serialised state holds terminology, and what it holds.
TERMINOLOGY_FACTORIES: Dict[str, str] = {
    "adr_meddra_linker": (
        "MedDRA concepts: kb.tsv (every LLT code and name, with its PT), index/ (vectors of the "
        "LLT names and of training mentions, with their codes)"
    ),
    "adr_concept_linker": (
        "concepts of its knowledge base: kb.tsv (every code and name, with its parent), index/ "
        "(vectors of the names and of training mentions, with their codes)"
    ),
    "adr_gazetteer": "term list: terms.txt (lexicon terms and MedDRA LLT names, one a line)",
    "adr_drug_mentions": "drug lexicon: lexicon.tsv (drug names from Task 3 train, CADEC and WebMD, each with its normalised drug)",
}
# Members whose lines are counted in the report (a term or a concept a line).
COUNTED_SUFFIXES = (".tsv", ".txt")
STRINGS_FILE = "vocab/strings.json"
_HANDLE = re.compile(r"^@\w{2,}$")
_URL = re.compile(r"^(https?://|www\.)", re.IGNORECASE)


@dataclass(frozen=True)
class WheelMember:
    """A file inside a wheel.

    name (str): Its path in the zip.
    size (int): Uncompressed size in bytes.
    sha256 (str): SHA-256 of its content.
    component (Optional[str]): The pipeline component whose folder holds it, if any.
    """

    name: str
    size: int
    sha256: str
    component: Optional[str] = None


@dataclass(frozen=True)
class DataFileInside:
    """A wheel member identical to a file of the data folder.

    member (str): The member's path in the zip.
    data_file (str): The data file, relative to the data folder.
    sha256 (str): Their common SHA-256.
    """

    member: str
    data_file: str
    sha256: str


@dataclass
class ComponentContent:
    """The members of one pipeline component's folder.

    name (str): Component name.
    factory (str): Its factory ("" when the wheel has no readable config).
    folder (str): Its folder in the zip.
    size (int): Total uncompressed size of its members.
    terminology (str): What terminology it carries; "" for none.
    members (List[Dict[str, Any]]): Name and size of each member (and lines for term files
        of terminology components).
    """

    name: str
    factory: str
    folder: str
    size: int = 0
    terminology: str = ""
    members: List[Dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class VocabStrings:
    """What a pipeline's string store holds.

    member (str): The strings.json member.
    strings (int): Strings in it.
    user_handles (int): Of those, "@name" strings (Twitter user handles).
    urls (int): Of those, URLs.
    """

    member: str
    strings: int
    user_handles: int
    urls: int


@dataclass
class WheelContent:
    """One wheel's report.

    wheel (str): The wheel's path as given.
    size (int): The wheel file's size in bytes.
    members (List[WheelMember]): Every file in it.
    components (List[ComponentContent]): The pipeline components found in it.
    data_files_inside (List[DataFileInside]): Members identical to data files.
    vocab_strings (List[VocabStrings]): What each packaged pipeline's string store holds.
    """

    wheel: str
    size: int
    members: List[WheelMember]
    components: List[ComponentContent]
    data_files_inside: List[DataFileInside]
    vocab_strings: List[VocabStrings] = field(default_factory=list)

    @property
    def terminology(self) -> List[ComponentContent]:
        return [component for component in self.components if component.terminology]

    def messages(self) -> List[str]:
        """One failure message per data file found inside."""
        return [
            f"{self.wheel}: member {inside.member} is byte-identical to the data file "
            f"{inside.data_file} (sha256 {inside.sha256}): the wheel would ship licensed data as is"
            for inside in self.data_files_inside
        ]


@dataclass
class WheelCheck:
    """`check_wheels` outcome.

    data_dir (str): The data folder as given.
    wheels (List[WheelContent]): One report per wheel.
    data_files (int): Files in the data folder.
    data_files_hashed (int): Of those, how many had to be hashed.
    """

    data_dir: str
    wheels: List[WheelContent]
    data_files: int
    data_files_hashed: int

    @property
    def ok(self) -> bool:
        return not any(wheel.data_files_inside for wheel in self.wheels)

    def messages(self) -> List[str]:
        return [message for wheel in self.wheels for message in wheel.messages()]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "ok": self.ok,
            "data_dir": self.data_dir,
            "data_files": self.data_files,
            "data_files_hashed": self.data_files_hashed,
            "wheels": [
                {
                    "wheel": wheel.wheel,
                    "size": wheel.size,
                    "files": len(wheel.members),
                    "data_files_inside": [asdict(inside) for inside in wheel.data_files_inside],
                    "terminology": [asdict(component) for component in wheel.terminology],
                    "vocab_strings": [asdict(strings) for strings in wheel.vocab_strings],
                    "components": [
                        {key: value for key, value in asdict(component).items() if key != "members"}
                        for component in wheel.components
                    ],
                    "members": [asdict(member) for member in wheel.members],
                }
                for wheel in self.wheels
            ],
        }


def _sha256_stream(read) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: read(_CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


class DataFolderIndex:
    """The data folder's files by size; each file is hashed at most once, and only when asked
    about a size it has."""

    def __init__(self, data_dir: Union[str, Path]) -> None:
        """Index the files of a folder (recursively; empty files are left out: they hold no data).

        data_dir (Union[str, Path]): The data folder.
        """
        self.data_dir = Path(data_dir)
        if not self.data_dir.is_dir():
            raise FileNotFoundError(f"Data folder {self.data_dir} does not exist")
        self.by_size: Dict[int, List[Path]] = {}
        self.n_files = 0
        self._digests: Dict[Path, str] = {}
        for root, _, names in os.walk(self.data_dir):
            for name in names:
                path = Path(root) / name
                if not path.is_file():
                    continue
                self.n_files += 1
                size = path.stat().st_size
                if size:
                    self.by_size.setdefault(size, []).append(path)

    @property
    def n_hashed(self) -> int:
        return len(self._digests)

    def matches(self, size: int, sha256: str) -> List[str]:
        """Data files with this size and digest, relative to the folder ("/" separators).

        size (int): Size in bytes.
        sha256 (str): SHA-256, lowercase hex.
        RETURNS (List[str]): The matching files.
        """
        found = []
        for path in self.by_size.get(size, []):
            if path not in self._digests:
                with open(path, "rb") as file:
                    self._digests[path] = _sha256_stream(file.read)
            if self._digests[path] == sha256:
                found.append(path.relative_to(self.data_dir).as_posix())
        return found


def _pipeline_components(archive: zipfile.ZipFile) -> Dict[str, ComponentContent]:
    """Folder prefix -> component, from each packaged pipeline's config.cfg in the wheel
    (`PACKAGE/PACKAGE-VERSION/config.cfg`)."""
    from thinc.api import Config

    components: Dict[str, ComponentContent] = {}
    for name in archive.namelist():
        parts = PurePosixPath(name).parts
        if len(parts) != 3 or parts[2] != "config.cfg" or not parts[1].startswith(parts[0] + "-"):
            continue
        try:
            config = Config().from_str(archive.read(name).decode("utf-8"), interpolate=False)
        except Exception:  # not a spaCy config: fall back to folder names
            continue
        for component, settings in config.get("components", {}).items():
            folder = f"{parts[0]}/{parts[1]}/{component}/"
            factory = settings.get("factory", "") if isinstance(settings, dict) else ""
            components[folder] = ComponentContent(
                name=component, factory=factory, folder=folder,
                terminology=TERMINOLOGY_FACTORIES.get(factory, ""),
            )
    return components


def _component_of(member: str, components: Dict[str, ComponentContent]) -> Optional[ComponentContent]:
    for folder, component in components.items():
        if member.startswith(folder):
            return component
    # No readable config: a folder named like a terminology factory (the default pipe names).
    parts = PurePosixPath(member).parts
    for i, part in enumerate(parts[:-1]):
        if part in TERMINOLOGY_FACTORIES:
            folder = "/".join(parts[: i + 1]) + "/"
            components[folder] = ComponentContent(
                name=part, factory="", folder=folder, terminology=TERMINOLOGY_FACTORIES[part]
            )
            return components[folder]
    return None


def _count_lines(archive: zipfile.ZipFile, name: str) -> int:
    lines = 0
    with archive.open(name) as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            lines += chunk.count(b"\n")
    return lines


def _vocab_strings(archive: zipfile.ZipFile, name: str) -> Optional[VocabStrings]:
    try:
        strings = json.loads(archive.read(name).decode("utf-8"))
    except ValueError:
        return None
    if not isinstance(strings, list):
        return None
    strings = [string for string in strings if isinstance(string, str)]
    return VocabStrings(
        member=name, strings=len(strings),
        user_handles=sum(1 for string in strings if _HANDLE.match(string)),
        urls=sum(1 for string in strings if _URL.match(string)),
    )


def check_wheel(wheel: Union[str, Path], index: DataFolderIndex) -> WheelContent:
    """List a wheel's members, find data files inside, group the members by component.

    wheel (Union[str, Path]): The wheel (a zip).
    index (DataFolderIndex): The data folder.
    RETURNS (WheelContent): The report.
    """
    path = Path(wheel)
    members: List[WheelMember] = []
    inside: List[DataFileInside] = []
    vocab: List[VocabStrings] = []
    with zipfile.ZipFile(path) as archive:
        components = _pipeline_components(archive)
        for info in archive.infolist():
            if info.is_dir():
                continue
            with archive.open(info) as file:
                digest = _sha256_stream(file.read)
            component = _component_of(info.filename, components)
            members.append(WheelMember(info.filename, info.file_size, digest, component.name if component else None))
            for data_file in index.matches(info.file_size, digest) if info.file_size else []:
                inside.append(DataFileInside(info.filename, data_file, digest))
            if info.filename.endswith("/" + STRINGS_FILE):
                strings = _vocab_strings(archive, info.filename)
                if strings is not None:
                    vocab.append(strings)
            if component is not None:
                component.size += info.file_size
                entry: Dict[str, Any] = {"name": info.filename[len(component.folder):], "size": info.file_size}
                if component.terminology and info.filename.endswith(COUNTED_SUFFIXES):
                    entry["lines"] = _count_lines(archive, info.filename)
                component.members.append(entry)
    return WheelContent(
        wheel=str(wheel), size=path.stat().st_size, members=members,
        components=sorted(components.values(), key=lambda c: c.folder), data_files_inside=inside,
        vocab_strings=vocab,
    )


def check_wheels(wheels: Sequence[Union[str, Path]], data_dir: Union[str, Path]) -> WheelCheck:
    """Check built wheels against the licensed data folder.

    wheels (Sequence[Union[str, Path]]): The wheels.
    data_dir (Union[str, Path]): The data folder (SPACY_ADR_DATA).
    RETURNS (WheelCheck): Per wheel: every member, data files inside, terminology components.
    """
    index = DataFolderIndex(data_dir)
    reports = [check_wheel(wheel, index) for wheel in wheels]
    return WheelCheck(
        data_dir=str(data_dir), wheels=reports, data_files=index.n_files, data_files_hashed=index.n_hashed
    )
