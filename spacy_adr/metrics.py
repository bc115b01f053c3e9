"""The metrics files: JSON lists of flat rows under metrics/, one row per (task, variant, split)."""
import datetime
import json
import os
import platform
from pathlib import Path
from typing import Dict, Iterable, List, Union

ROW_KEY = ("task", "variant", "split")


def machine_description() -> str:
    """e.g. "2-core CPU (x86_64)": what a figure was measured on."""
    return f"{os.cpu_count()}-core CPU ({platform.machine()})"


def write_rows(path: Union[str, Path], rows: Iterable[Dict], *, command: str) -> List[Dict]:
    """Add rows to a metrics file, replacing earlier rows of the same task, variant and split.

    path (Union[str, Path]): The JSON file (created with its folder when missing).
    rows (Iterable[Dict]): Flat rows with at least "task", "variant" and "split".
    command (str): The command that produced the figures, stored in each row.
    RETURNS (List[Dict]): All rows now in the file.
    """
    path = Path(path)
    existing = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    stamp = {
        "command": command,
        "machine": machine_description(),
        "date": datetime.date.today().isoformat(),
    }
    new_rows = [{**row, **stamp} for row in rows]
    new_keys = {tuple(row[key] for key in ROW_KEY) for row in new_rows}
    kept = [row for row in existing if tuple(row.get(key) for key in ROW_KEY) not in new_keys]
    all_rows = kept + new_rows
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(all_rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return all_rows
