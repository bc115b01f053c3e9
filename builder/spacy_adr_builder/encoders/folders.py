"""The output folder of an encoder: whatever stands at its path is replaced."""
import shutil
from pathlib import Path


def clear_output_dir(output_dir: Path) -> None:
    """Remove a folder, file or symlink at `output_dir` (nothing there is fine) and make sure
    its parent exists, so that the encoder can be written there afresh."""
    if output_dir.is_symlink() or output_dir.is_file():
        output_dir.unlink()
    elif output_dir.exists():
        shutil.rmtree(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
