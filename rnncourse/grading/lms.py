"""LMS download archives: which system made them, who each file belongs to, what it is.

Pure functions over the paths found in an extracted download (and the text of the files where
the name is not enough); :mod:`rnncourse.grading.collect` does the unpacking and the copying,
:mod:`rnncourse.grading.export` writes grades back. Canvas's and Moodle's formats below were
checked against the systems' own source code; Blackboard's against nbgrader's documentation
and public tools that read these downloads:

Canvas ("Download Submissions" of an assignment)
    One flat zip. Canvas's ``ContentZipper`` names each uploaded file
    ``<name>[_LATE]_<user id>_<file id>_<file name>`` where ``<name>`` is the student's sortable
    name lower-cased with everything but word characters removed (``"Smith, Jane"`` ->
    ``smithjane``), ``LATE`` marks a late submission, ``<user id>`` is the Canvas user id
    (``anon_<id>`` when the assignment is graded anonymously, and then there is no name),
    ``<file id>`` the attachment id (larger is newer) and ``<file name>`` the student's file,
    which Canvas renames ``<stem>-1<ext>``, ``-2``, ... when the student re-uploads a file of
    the same name (``Attachment.make_unique_filename``). Text entries and URLs come as
    ``<name>_<user id>_text.html`` / ``_link.html``. There is no submission time in the
    download, only the ``LATE`` marker. Sources:
    https://github.com/instructure/canvas-lms/blob/master/lib/content_zipper.rb
    (``get_filename``, ``add_upload_submission``, ``sanitize_user_name``) and
    https://github.com/instructure/canvas-lms/blob/master/app/models/attachment.rb
    (``make_unique_filename``).

Moodle ("Download all submissions" of an assignment)
    By default ("Download submissions in folders", the default since Moodle 3.1) one folder
    per participant and submission plugin, ``<Full name>_<participant id>_assignsubmission_file``
    (Moodle 4.1 and later; ``..._assignsubmission_file_`` with a trailing ``_`` before),
    holding the files unrenamed with their sub-folders; without folders the files are flat,
    ``<Full name>_<participant id>_assignsubmission_file_<file name>``. Underscores in the
    name become spaces; with blind marking the name is ``Participant``; a team submission is
    named after its group (``<group name>_<group id>``). The participant id is the
    assignment's own identifier (``assign_user_mapping``), the one the assignment's grading
    worksheet shows as ``Participant <id>``: it differs between assignments and is not the
    Moodle user id. The download carries no submission time. Sources:
    https://github.com/moodle/moodle ``mod/assign/classes/downloader.php``
    (``get_student_prefix``, ``load_submissionplugin_filelist``; 4.1 and later) and
    ``mod/assign/locallib.php`` (``download_submissions``, ``get_uniqueid_for_user``; before),
    and the help string ``downloadasfolders_help`` in ``mod/assign/lang/en/assign.php``
    ("Each submission is then put in a separate folder, with the folder structure kept for
    any subfolders, and files are not renamed").

Blackboard Learn (Grade Center, column menu, "Assignment File Download")
    One flat zip; every attempt of every selected student as
    ``<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file name>`` plus a receipt
    ``<assignment>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>.txt`` whose first lines are
    ``Name: <Full name> (<username>)``, ``Assignment: ...``, ``Date Submitted: ...`` and whose
    ``Files:`` section pairs each ``Original filename:`` with the stored ``Filename:``. The
    attempt time is the server's local time. nbgrader documents this naming as its example
    of an LMS download (``ps1_bitdiddle_attempt_2016-01-30-15-00-00_problem1.ipynb``, in the
    help of ``FileNameCollectorPlugin.named_regexp``, ``nbgrader/plugins/zipcollect.py``,
    https://github.com/jupyter/nbgrader); the download steps are those of
    https://github.com/vangef/BBGradebookOrganiser (``docs/instructions.md``) and the receipt
    layout follows public parsers of these files. Blackboard's own help page for the
    download was not available to check against.

The mapping file
    ``lms-students.csv`` in the course directory (instructor data, git-ignored) keeps, for
    every student collected from an LMS, the nbgrader student id beside the LMS's own id and
    name (:class:`Roster`). Collecting reads it first, so a student keeps the same nbgrader id
    in every download; the grade export reads it to put each grade on the right LMS row.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

#: The download formats :func:`detect` knows, and ``generic`` (a regular expression).
LMS_KINDS: tuple[str, ...] = ("canvas", "moodle", "blackboard")
ALL_KINDS: tuple[str, ...] = (*LMS_KINDS, "generic")

#: LMSs whose user ids in a download are per assignment (Moodle's participant ids).
PER_ASSIGNMENT_IDS: frozenset[str] = frozenset({"moodle"})

#: Files and folders an operating system or Jupyter adds to an archive: never submissions.
SYSTEM_NAMES = re.compile(
    r"(^|/)(__MACOSX|\.ipynb_checkpoints|__pycache__|\.git)(/|$)|(^|/)(\.DS_Store|Thumbs\.db"
    r"|desktop\.ini)$|(^|/)\._[^/]*$")

_CANVAS = re.compile(
    r"^(?:(?P<name>.*?)_)??(?:(?P<late>LATE)_)?(?P<user>\d+|anon_[A-Za-z0-9]+)_"
    r"(?:(?P<file_id>\d+)_(?P<file>.+)|(?P<entry>text\.html|link\.html))$")
_MOODLE = re.compile(
    r"^(?P<name>.+?)_(?P<user>\d+)_assignsubmission_(?P<plugin>[a-z0-9]+)(?:_(?P<file>.*))?$")
_BLACKBOARD = re.compile(
    r"^(?P<prefix>.+)_attempt_(?P<time>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})"
    r"(?:_(?P<file>.+)|(?P<receipt>\.txt))$")
_BLACKBOARD_TIME = "%Y-%m-%d-%H-%M-%S"


@dataclass(frozen=True, order=True)
class Identity:
    """A student as one LMS download names them.

    Attributes:
        lms: ``canvas``, ``moodle``, ``blackboard`` or ``generic``.
        user_id: Canvas user id (or ``anon_<id>``), Moodle participant id, Blackboard
            username, or the student id a ``--regexp`` captured.
        display_name: the name the download shows (Canvas: its sanitised sortable name).
    """

    lms: str
    user_id: str
    display_name: str = ""


@dataclass(frozen=True)
class ParsedFile:
    """One file of a download, with the student and the file name the LMS encoded in its path.

    Attributes:
        path: the path inside the extracted download (POSIX, relative).
        identity: whose file it is.
        filename: the student's own file name (the LMS prefix removed); for a file found in a
            folder the LMS named (Moodle's per-participant folders, an uploaded zip that was
            unpacked), its path below that folder.
        late: Canvas's ``LATE`` marker.
        attempt: when the attempt was made, naive, in the LMS server's local time (Blackboard).
        order: the LMS's upload order among one student's files (Canvas attachment id).
        receipt: a Blackboard receipt (``.txt``) rather than a submitted file.
    """

    path: str
    identity: Identity
    filename: str
    late: bool = False
    attempt: dt.datetime | None = None
    order: int = 0
    receipt: bool = False


# --- parsing one path ---------------------------------------------------------------------------


def _components(path: str) -> list[str]:
    return [p for p in PurePosixPath(path).parts if p not in ("", ".")]


def _remainder(parts: list[str], index: int, head: str) -> str:
    """The file below the component at ``index``; ``head`` is that component's own file part."""
    below = "/".join(parts[index + 1:])
    if not below:
        return head
    return below


def parse_canvas(path: str) -> ParsedFile | None:
    """Read Canvas's ``name[_LATE]_userid_fileid_filename`` from ``path`` (or a folder in it)."""
    parts = _components(path)
    for index, part in enumerate(parts):
        match = _CANVAS.match(part)
        if not match:
            continue
        name = match["name"] or ""
        if "/" in name:
            continue
        user = match["user"]
        filename = match["file"] or match["entry"]
        return ParsedFile(
            path=path, identity=Identity("canvas", user, name),
            filename=_remainder(parts, index, filename), late=bool(match["late"]),
            order=int(match["file_id"] or 0))
    return None


def parse_moodle(path: str) -> ParsedFile | None:
    """Read Moodle's ``Full name_id_assignsubmission_<plugin>_`` folder or flat file prefix."""
    parts = _components(path)
    for index, part in enumerate(parts):
        match = _MOODLE.match(part)
        if not match:
            continue
        head = match["file"] or ""
        if not head and index == len(parts) - 1:
            continue  # a folder name with no file below it
        filename = _remainder(parts, index, head)
        return ParsedFile(path=path, identity=Identity("moodle", match["user"],
                                                       match["name"].strip()),
                          filename=filename)
    return None


def parse_blackboard(path: str) -> ParsedFile | None:
    """Read Blackboard's ``assignment_username_attempt_datetime[_file]`` from ``path``.

    The username is taken as the last ``_``-separated word of the prefix; a receipt (parsed
    with :func:`parse_blackboard_receipt`) corrects it when the username itself has ``_``.
    """
    parts = _components(path)
    for index, part in enumerate(parts):
        match = _BLACKBOARD.match(part)
        if not match:
            continue
        try:
            attempt = dt.datetime.strptime(match["time"], _BLACKBOARD_TIME)
        except ValueError:
            continue
        prefix = match["prefix"]
        username = prefix.rsplit("_", 1)[-1]
        receipt = bool(match["receipt"]) and index == len(parts) - 1
        filename = "" if receipt else _remainder(parts, index, match["file"] or "")
        return ParsedFile(path=path, identity=Identity("blackboard", username, username),
                          filename=filename, attempt=attempt, receipt=receipt)
    return None


PARSERS = {"canvas": parse_canvas, "moodle": parse_moodle, "blackboard": parse_blackboard}


def blackboard_key(path: str) -> str | None:
    """``<prefix>_attempt_<time>`` of a Blackboard file or receipt: the attempt it belongs to."""
    for part in _components(path):
        match = _BLACKBOARD.match(part)
        if match:
            return f"{match['prefix']}_attempt_{match['time']}"
    return None


def is_system_file(path: str) -> bool:
    """Whether ``path`` is something an OS or Jupyter added (``__MACOSX/``, checkpoints, ...)."""
    return bool(SYSTEM_NAMES.search(path))


def detect(paths: Iterable[str]) -> tuple[str | None, dict[str, int]]:
    """Which LMS named these files: ``(kind or None, {kind: files matching its naming})``.

    The kind whose naming matches the most files wins; ``None`` when no file matches any, or
    when two kinds tie (then ``--lms`` must say which).
    """
    counts = dict.fromkeys(LMS_KINDS, 0)
    for path in paths:
        if is_system_file(path):
            continue
        for kind, parse in PARSERS.items():
            if parse(path) is not None:
                counts[kind] += 1
    best = max(counts.values())
    winners = [k for k, v in counts.items() if v == best]
    if best == 0 or len(winners) > 1:
        return None, counts
    return winners[0], counts


# --- Blackboard receipts ------------------------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    """What a Blackboard attempt receipt (``.txt``) says."""

    name: str
    username: str
    assignment: str
    submitted: str
    files: dict[str, str] = field(default_factory=dict)  # stored name -> original name


_RECEIPT_NAME = re.compile(r"^Name:\s*(?P<name>.*?)\s*\((?P<user>[^()\n]*)\)\s*$", re.M)
_RECEIPT_FIELD = re.compile(r"^(?P<key>Assignment|Date Submitted):\s*(?P<value>.*?)\s*$", re.M)
_RECEIPT_FILE = re.compile(
    r"^\s*Original filename:\s*(?P<original>.+?)\s*\n\s*Filename:\s*(?P<stored>.+?)\s*$", re.M)


def parse_blackboard_receipt(text: str) -> Receipt | None:
    """The fields of a Blackboard receipt, or ``None`` when ``text`` is not one."""
    name = _RECEIPT_NAME.search(text)
    if not name:
        return None
    fields = {m["key"]: m["value"] for m in _RECEIPT_FIELD.finditer(text)}
    files = {m["stored"]: m["original"] for m in _RECEIPT_FILE.finditer(text)}
    return Receipt(name=name["name"], username=name["user"].strip(),
                   assignment=fields.get("Assignment", ""),
                   submitted=fields.get("Date Submitted", ""), files=files)


# --- mapping a file to one of the assignment's notebooks ----------------------------------------

#: Suffixes that LMSs, browsers and file managers add to a re-uploaded or copied file's stem,
#: removed one at a time (Canvas ``-1`` or ``-<uuid>``, ``(1)``, `` copy``, ``Copy of ``).
_SUFFIXES = (
    re.compile(r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I),
    re.compile(r"-\d{1,3}$"),
    re.compile(r"\s*\(\d{1,3}\)$"),
    re.compile(r"[\s_-]+copy(\s*\d{1,3})?$", re.I),
    re.compile(r"^copy of\s+", re.I),
)


def _normal(stem: str) -> str:
    return re.sub(r"[\s_-]+", "_", stem.strip()).lower()


@dataclass(frozen=True)
class NotebookMatch:
    """How a submitted file maps to one of the assignment's notebooks."""

    notebook: str
    how: str  # "exact", "name", "content"

    @property
    def rank(self) -> int:
        """Name matches (2) beat content matches (1) when a student sent both."""
        return 1 if self.how == "content" else 2


def match_by_name(filename: str, notebooks: Sequence[str]) -> NotebookMatch | None:
    """The notebook ``filename`` names, after removing resubmission suffixes and case.

    >>> match_by_name("gru_cell-1.ipynb", ["gru_cell.ipynb"]).notebook
    'gru_cell.ipynb'
    >>> match_by_name("GRU cell (2).ipynb", ["gru_cell.ipynb"]).how
    'name'
    """
    base = PurePosixPath(filename).name
    if base in notebooks:
        return NotebookMatch(base, "exact")
    stem, dot, ext = base.rpartition(".")
    if not dot or ext.lower() != "ipynb":
        return None
    wanted = {_normal(PurePosixPath(nb).stem): nb for nb in notebooks}
    seen = {stem}
    frontier = [stem]
    while frontier:
        current = frontier.pop()
        if _normal(current) in wanted:
            return NotebookMatch(wanted[_normal(current)], "name")
        for pattern in _SUFFIXES:
            shorter = pattern.sub("", current, count=1)
            if shorter and shorter not in seen:
                seen.add(shorter)
                frontier.append(shorter)
    return None


def notebook_grade_ids(content: bytes) -> set[str] | None:
    """The nbgrader ``grade_id`` s of a notebook's cells, or ``None`` if it is not a notebook."""
    try:
        nb = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None
    ids = set()
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
        nbgrader = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
        if isinstance(nbgrader, dict) and isinstance(nbgrader.get("grade_id"), str):
            ids.add(nbgrader["grade_id"])
    return ids


def match_by_content(content: bytes, grade_ids: Mapping[str, set[str]]) -> NotebookMatch | None:
    """The notebook whose cells (nbgrader ``grade_id`` s) the file carries, if one stands out.

    A renamed copy of a released notebook keeps the cell metadata nbgrader grades by, so it
    is recognised whatever its name; ``grade_ids`` maps each notebook to its cells' ids.
    """
    found = notebook_grade_ids(content)
    if not found:
        return None
    overlap = sorted(((len(found & ids), nb) for nb, ids in grade_ids.items()), reverse=True)
    if not overlap or overlap[0][0] == 0:
        return None
    if len(overlap) > 1 and overlap[1][0] == overlap[0][0]:
        return None
    return NotebookMatch(overlap[0][1], "content")


# --- student ids ----------------------------------------------------------------------------------


def slug(text: str) -> str:
    """A lower-case ASCII id from a name: ``"Zoë O'Neil"`` -> ``"zoe-oneil"``.

    >>> slug("Jane Smith")
    'jane-smith'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = re.sub(r"['`]", "", ascii_text.lower())
    return re.sub(r"[^a-z0-9@.+]+", "-", ascii_text).strip("-.+@")[:64]


def base_student_id(identity: Identity) -> str:
    """The nbgrader id a new student gets before collisions are resolved."""
    user = slug(identity.user_id) or "x"
    if identity.lms == "canvas":
        if identity.user_id.startswith("anon_"):
            return f"anon-{slug(identity.user_id[5:])}"
        return slug(identity.display_name) or f"canvas-{user}"
    if identity.lms == "moodle":
        name = identity.display_name
        if not name or name.lower() == "participant":
            return f"participant-{user}"
        return slug(name) or f"moodle-{user}"
    if identity.lms == "blackboard":
        return user
    return identity.user_id


# --- the mapping file -----------------------------------------------------------------------------

ROSTER_FILE = "lms-students.csv"
ROSTER_COLUMNS: tuple[str, ...] = ("student_id", "lms", "lms_user_id", "display_name",
                                   "assignment")


@dataclass
class RosterEntry:
    """One row of the mapping file.

    ``assignment`` is empty except for LMSs whose ids are per assignment (Moodle). Columns the
    instructor adds (``sis_user_id``, ``sis_login_id``, ``section``, ...) are kept in
    ``extra`` and written back unchanged; the Canvas export uses those three when present.
    """

    student_id: str
    lms: str
    lms_user_id: str
    display_name: str = ""
    assignment: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.lms, self.lms_user_id, self.assignment)


class RosterError(ValueError):
    """The mapping file cannot be read; the message says where."""


class Roster:
    """The mapping between nbgrader student ids and LMS ids (``lms-students.csv``)."""

    def __init__(self, entries: Iterable[RosterEntry] = ()) -> None:
        self.entries: list[RosterEntry] = list(entries)

    @classmethod
    def load(cls, path: Path) -> Roster:
        """Read ``path``; a missing file is an empty roster."""
        path = Path(path)
        if not path.exists():
            return cls()
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in ("student_id", "lms", "lms_user_id")
                       if c not in (reader.fieldnames or [])]
            if missing:
                raise RosterError(f"{path}: missing column(s) {', '.join(missing)}")
            entries = []
            for line, row in enumerate(reader, start=2):
                if not (row.get("student_id") or "").strip():
                    raise RosterError(f"{path}, line {line}: empty student_id")
                extra = {k: v or "" for k, v in row.items()
                         if k not in ROSTER_COLUMNS and k is not None}
                entries.append(RosterEntry(
                    row["student_id"].strip(), (row["lms"] or "").strip(),
                    (row["lms_user_id"] or "").strip(), (row.get("display_name") or "").strip(),
                    (row.get("assignment") or "").strip(), extra))
        return cls(entries)

    def save(self, path: Path) -> Path:
        """Write the roster (sorted, extra columns kept), replacing ``path`` atomically."""
        path = Path(path)
        extra_columns = sorted({k for e in self.entries for k in e.extra})
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow([*ROSTER_COLUMNS, *extra_columns])
            for e in sorted(self.entries, key=lambda e: (e.student_id, e.lms, e.assignment,
                                                         e.lms_user_id)):
                writer.writerow([e.student_id, e.lms, e.lms_user_id, e.display_name,
                                 e.assignment, *(e.extra.get(k, "") for k in extra_columns)])
        tmp.replace(path)
        return path

    def find(self, lms: str, student_id: str, assignment: str = "") -> RosterEntry | None:
        """The entry of ``student_id`` for ``lms`` (for Moodle: for that ``assignment``)."""
        scope = assignment if lms in PER_ASSIGNMENT_IDS else ""
        for e in self.entries:
            if e.lms == lms and e.student_id == student_id and e.assignment == scope:
                return e
        return None

    def student_ids(self) -> set[str]:
        return {e.student_id for e in self.entries}

    def assign(self, identities: Iterable[Identity], assignment: str) -> dict[Identity, str]:
        """nbgrader ids for ``identities``, adding new students to the roster.

        A known LMS id keeps its nbgrader id. A new Moodle participant id whose name belongs
        to exactly one student of other assignments is that student (Moodle's ids change per
        assignment). Anyone else gets :func:`base_student_id`, with ``-<LMS id>`` appended
        when another student already has it.
        """
        by_key = {e.key: e for e in self.entries}
        used = self.student_ids()
        result: dict[Identity, str] = {}
        claimed: set[str] = set()  # ids given in this call
        for identity in sorted(set(identities)):
            scope = assignment if identity.lms in PER_ASSIGNMENT_IDS else ""
            known = by_key.get((identity.lms, identity.user_id, scope))
            if known is not None:
                if not known.display_name and identity.display_name:
                    known.display_name = identity.display_name
                result[identity] = known.student_id
                claimed.add(known.student_id)
                continue
            student = self._same_moodle_student(identity, assignment, claimed)
            if student is None:
                base = base_student_id(identity)
                student = base
                if student in used or student in claimed:
                    student = f"{base}-{slug(identity.user_id) or 'x'}"
                counter = 2
                while student in used or student in claimed:
                    student = f"{base}-{slug(identity.user_id) or 'x'}-{counter}"
                    counter += 1
            entry = RosterEntry(student, identity.lms, identity.user_id, identity.display_name,
                                scope)
            self.entries.append(entry)
            by_key[entry.key] = entry
            used.add(student)
            claimed.add(student)
            result[identity] = student
        return result

    def _same_moodle_student(self, identity: Identity, assignment: str,
                             claimed: set[str]) -> str | None:
        if identity.lms != "moodle" or not identity.display_name \
                or identity.display_name.lower() == "participant":
            return None
        names = {e.student_id for e in self.entries
                 if e.lms == "moodle" and e.display_name == identity.display_name
                 and e.assignment != assignment}
        if len(names) != 1:
            return None
        student = names.pop()
        taken_here = any(e.lms == "moodle" and e.assignment == assignment
                         and e.student_id == student for e in self.entries)
        return None if taken_here or student in claimed else student


def local_to_utc(moment: dt.datetime, timezone: str) -> dt.datetime:
    """A naive local time of the LMS server as naive UTC (nbgrader's convention)."""
    from zoneinfo import ZoneInfo

    aware = moment.replace(tzinfo=ZoneInfo(timezone))
    return aware.astimezone(dt.UTC).replace(tzinfo=None)
